//! The demo's summary: one struct, printed as a table and written as JSON.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::DemoArgs;
use super::outcome::{Decisions, OrderKey};
use super::plan::Plan;
use super::submit::Submitted;

/// How latency is measured, said in the output so nobody has to guess.
pub const LATENCY_METHOD: &str = "client clock when the request with the order's last document \
     was sent, to the first final receipt (800/300/100) in the database";

/// Orders of one final status, by customs code.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StatusCount {
    /// Orders.
    pub orders: u64,
    /// Orders per customs code (an order may have several).
    pub codes: BTreeMap<String, u64>,
}

/// Latency percentiles, seconds.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    /// What is measured.
    pub method: &'static str,
    /// Median.
    pub p50_seconds: f64,
    /// 99th percentile.
    pub p99_seconds: f64,
    /// Slowest.
    pub max_seconds: f64,
}

/// Where to look next.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Urls {
    /// The intake API.
    pub intake_api: String,
    /// The intake's Prometheus endpoint.
    pub intake_metrics: String,
    /// The clearance's Prometheus endpoint.
    pub clearance_metrics: String,
    /// The review UI, when `--review-url` is given.
    pub review_ui: Option<String>,
    /// The review service's Prometheus endpoint, when `--review-url` is given.
    pub review_metrics: Option<String>,
}

/// A review account made for the demo.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Officer {
    /// Login name.
    pub username: String,
    /// `officer` or `supervisor`.
    pub role: &'static str,
    /// Its generated password: printed in the table once, never written to the JSON file.
    #[serde(skip)]
    pub password: String,
}

/// The whole summary.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Generator seed (order numbers are `DM{seed:016X}{index:010}`).
    pub seed: String,
    /// Orders generated and submitted.
    pub orders_submitted: u64,
    /// Orders whose three documents were all accepted (202).
    pub orders_accepted: u64,
    /// What the generator expects, by kind of order.
    pub expected: BTreeMap<&'static str, u64>,
    /// Valid documents sent.
    pub documents_submitted: u64,
    /// Valid documents refused, by answer (status and error code).
    pub http_rejections: BTreeMap<String, u64>,
    /// Deliberately invalid documents sent.
    pub invalid_documents_sent: u64,
    /// Their answers, by status and error code.
    pub invalid_document_answers: BTreeMap<String, u64>,
    /// Requests sent, and retries after 429/503.
    pub requests: u64,
    /// Retries after 429 or 503.
    pub retries: u64,
    /// Accepted orders with a final decision.
    pub orders_decided: u64,
    /// Released (800).
    pub released: StatusCount,
    /// Held for review (300).
    pub held: StatusCount,
    /// Rejected (100).
    pub rejected: StatusCount,
    /// Of the rejected, orders closed without a declaration (a document never arrived).
    pub closed_incomplete: u64,
    /// Dead letters written during the run, by error code.
    pub dead_letters: BTreeMap<String, u64>,
    /// Seconds from the first request to the last answer.
    pub submit_seconds: f64,
    /// Seconds from the first request to the last decision.
    pub decide_seconds: f64,
    /// Decided orders per second over `decide_seconds`.
    pub throughput_orders_per_second: f64,
    /// Per-order latency.
    pub latency: Latency,
    /// Where to look next.
    pub urls: Urls,
    /// The review accounts to log in with.
    pub officers: Vec<Officer>,
}

/// What the summary is made of.
#[derive(Debug)]
pub struct Inputs<'a> {
    /// Generator seed.
    pub seed: u64,
    /// The flags.
    pub args: &'a DemoArgs,
    /// What was planned.
    pub plan: &'a Plan,
    /// What the intake answered.
    pub submitted: &'a Submitted,
    /// The accepted orders.
    pub accepted: &'a [OrderKey],
    /// What clearance decided.
    pub decisions: &'a Decisions,
    /// Generator expectations by kind.
    pub expected: BTreeMap<&'static str, u64>,
    /// The review accounts.
    pub officers: Vec<Officer>,
}

/// The `q`-quantile (nearest rank) of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn latency(decisions: &Decisions) -> Latency {
    let mut seconds: Vec<f64> = decisions
        .decided
        .iter()
        .map(|d| (d.decided_ms - d.submitted_ms) as f64 / 1000.0)
        .collect();
    seconds.sort_by(f64::total_cmp);
    Latency {
        method: LATENCY_METHOD,
        p50_seconds: quantile(&seconds, 0.50),
        p99_seconds: quantile(&seconds, 0.99),
        max_seconds: seconds.last().copied().unwrap_or(0.0),
    }
}

fn urls(args: &DemoArgs) -> Urls {
    let intake = args.intake_url.trim_end_matches('/');
    let review = args
        .review_url
        .as_deref()
        .map(|url| url.trim_end_matches('/'))
        .filter(|url| !url.is_empty());
    Urls {
        intake_api: format!("{intake}/v1"),
        intake_metrics: args.intake_metrics_url.clone(),
        clearance_metrics: args.clearance_metrics_url.clone(),
        review_ui: review.map(|url| format!("{url}/")),
        review_metrics: review.map(|url| format!("{url}/metrics")),
    }
}

impl Summary {
    /// Builds the summary.
    pub fn new(inputs: Inputs<'_>) -> Self {
        let Inputs {
            seed,
            args,
            plan,
            submitted,
            accepted,
            decisions,
            expected,
            officers,
        } = inputs;
        let (mut released, mut held, mut rejected) = Default::default();
        let mut closed_incomplete = 0;
        for decision in &decisions.decided {
            let bucket: &mut StatusCount = match decision.status {
                800 => &mut released,
                300 => &mut held,
                _ => &mut rejected,
            };
            bucket.orders += 1;
            for code in &decision.codes {
                *bucket.codes.entry(code.clone()).or_default() += 1;
            }
            closed_incomplete += u64::from(decision.without_declaration);
        }
        let started_ms = submitted.started_at.timestamp_millis();
        let last_decision_ms = decisions.decided.iter().map(|d| d.decided_ms).max();
        let decide_seconds = last_decision_ms.map_or(0.0, |ms| (ms - started_ms) as f64 / 1000.0);
        let decided = decisions.decided.len() as u64;
        Self {
            seed: format!("{seed:016X}"),
            orders_submitted: plan.orders.len() as u64,
            orders_accepted: accepted.len() as u64,
            expected,
            documents_submitted: plan.documents,
            http_rejections: submitted.refused.clone(),
            invalid_documents_sent: plan.invalid_documents,
            invalid_document_answers: submitted.invalid_answers.clone(),
            requests: submitted.requests,
            retries: submitted.retries,
            orders_decided: decided,
            released,
            held,
            rejected,
            closed_incomplete,
            dead_letters: decisions.dead_letters.clone(),
            submit_seconds: (submitted.finished_at - submitted.started_at).as_seconds_f64(),
            decide_seconds,
            throughput_orders_per_second: if decide_seconds > 0.0 {
                decided as f64 / decide_seconds
            } else {
                0.0
            },
            latency: latency(decisions),
            urls: urls(args),
            officers,
        }
    }

    /// The summary as an aligned plain-text table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let mut row = |label: &str, value: String| {
            let _ = writeln!(out, "  {label:<34} {value}");
        };
        let map = |m: &BTreeMap<String, u64>| {
            if m.is_empty() {
                "none".to_owned()
            } else {
                m.iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let status = |s: &StatusCount| format!("{} ({})", s.orders, map(&s.codes));
        let expected = self
            .expected
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        row("seed", self.seed.clone());
        row("orders submitted", self.orders_submitted.to_string());
        row("  generator expects", expected);
        row(
            "orders accepted (3 of 3 documents)",
            self.orders_accepted.to_string(),
        );
        row("documents submitted", self.documents_submitted.to_string());
        row(
            "HTTP rejections (valid documents)",
            map(&self.http_rejections),
        );
        row(
            "invalid documents sent",
            self.invalid_documents_sent.to_string(),
        );
        row("  answers", map(&self.invalid_document_answers));
        row(
            "requests / retries (429, 503)",
            format!("{} / {}", self.requests, self.retries),
        );
        row("orders decided", self.orders_decided.to_string());
        row("  released (800)", self.released.orders.to_string());
        row("  held for review (300)", status(&self.held));
        row("  rejected (100)", status(&self.rejected));
        row(
            "  of which closed incomplete",
            self.closed_incomplete.to_string(),
        );
        row("dead letters", map(&self.dead_letters));
        row("submit time", format!("{:.1} s", self.submit_seconds));
        row(
            "throughput",
            format!(
                "{:.0} orders/s (first submit to last decision, {:.1} s)",
                self.throughput_orders_per_second, self.decide_seconds
            ),
        );
        row(
            "latency p50 / p99 / max",
            format!(
                "{:.2} s / {:.2} s / {:.2} s",
                self.latency.p50_seconds, self.latency.p99_seconds, self.latency.max_seconds
            ),
        );
        row("  measured", self.latency.method.to_owned());
        row("intake API", self.urls.intake_api.clone());
        if let Some(review) = &self.urls.review_ui {
            row("review UI", review.clone());
        }
        row("metrics: intake", self.urls.intake_metrics.clone());
        row("         clearance", self.urls.clearance_metrics.clone());
        if let Some(metrics) = &self.urls.review_metrics {
            row("         review", metrics.clone());
        }
        for officer in &self.officers {
            row(
                &format!("review login ({})", officer.role),
                format!("{} / {}", officer.username, officer.password),
            );
        }
        if !self.officers.is_empty() {
            row(
                "",
                "passwords shown once (only hashes are kept); the next run sets new ones"
                    .to_owned(),
            );
        }
        format!("\nbondgate demo summary\n{out}")
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::super::outcome::Decision;
    use super::*;

    fn demo_args(flags: &[&str]) -> DemoArgs {
        let cli = crate::Cli::try_parse_from([&["bondgate", "demo"], flags].concat()).unwrap();
        match cli.command {
            crate::Command::Demo(args) => args,
            other => panic!("parsed as {other:?}"),
        }
    }

    fn decision(status: i32, codes: &[&str], submitted_ms: i64, decided_ms: i64) -> Decision {
        Decision {
            status,
            codes: codes.iter().map(|c| (*c).to_owned()).collect(),
            without_declaration: false,
            decided_ms,
            submitted_ms,
        }
    }

    #[test]
    fn summary_counts_statuses_and_keeps_passwords_out_of_the_json() {
        // Goal: the summary's numbers and the JSON file's shape, which users script against.
        // Method: three decisions and one dead letter through `Summary::new`, then the JSON keys
        // and the table lines.
        let args = demo_args(&["--review-url", "http://127.0.0.1:8081/"]);
        let started_at = chrono::DateTime::from_timestamp_millis(1_000_000).unwrap();
        let submitted = Submitted {
            started_at,
            finished_at: started_at + chrono::Duration::seconds(2),
            documents_accepted: vec![3, 3, 3],
            last_sent_ms: vec![1_000_000; 3],
            refused: BTreeMap::new(),
            invalid_answers: BTreeMap::from([("400 bg.request.malformed".to_owned(), 1)]),
            retries: 0,
            requests: 4,
        };
        let decisions = Decisions {
            decided: vec![
                decision(800, &[], 1_000_000, 1_001_000),
                decision(300, &["-900203"], 1_000_000, 1_002_000),
                decision(100, &["-621005"], 1_000_000, 1_004_000),
            ],
            dead_letters: BTreeMap::from([("bad_payload".to_owned(), 1)]),
        };
        let summary = Summary::new(Inputs {
            seed: 0xAB,
            args: &args,
            plan: &Plan::default(),
            submitted: &submitted,
            accepted: &[],
            decisions: &decisions,
            expected: BTreeMap::from([("clean", 1)]),
            officers: vec![Officer {
                username: "demo.officer".to_owned(),
                role: "officer",
                password: "s3cret-password".to_owned(),
            }],
        });
        assert_eq!(
            (
                summary.released.orders,
                summary.held.orders,
                summary.rejected.orders
            ),
            (1, 1, 1)
        );
        assert_eq!(summary.decide_seconds, 4.0);
        assert_eq!(summary.throughput_orders_per_second, 0.75);
        assert_eq!(summary.latency.p50_seconds, 2.0);

        let json = serde_json::to_value(&summary).unwrap();
        for key in [
            "ordersSubmitted",
            "ordersDecided",
            "released",
            "held",
            "rejected",
            "deadLetters",
            "throughputOrdersPerSecond",
            "latency",
            "urls",
            "officers",
        ] {
            assert!(json.get(key).is_some(), "{key} missing from {json}");
        }
        assert_eq!(json["rejected"]["codes"]["-621005"], 1);
        assert_eq!(json["latency"]["p99Seconds"], 4.0);
        assert_eq!(json["urls"]["reviewUi"], "http://127.0.0.1:8081/");
        assert_eq!(
            json["urls"]["reviewMetrics"],
            "http://127.0.0.1:8081/metrics"
        );
        assert_eq!(json["officers"][0]["username"], "demo.officer");
        assert!(!json.to_string().contains("s3cret-password"));

        let table = summary.table();
        assert!(table.contains("held for review (300)"), "{table}");
        assert!(table.contains("demo.officer / s3cret-password"), "{table}");
        assert!(table.contains("http://127.0.0.1:8081/metrics"), "{table}");
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&values, 0.5), 50.0);
        assert_eq!(quantile(&values, 0.99), 99.0);
        assert_eq!(quantile(&[3.0], 0.99), 3.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }
}
