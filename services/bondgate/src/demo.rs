//! `bondgate demo`: pushes a realistic sale-day load through the running system, the way
//! merchants would, and reports what came out.
//!
//! It assumes the local stack is up, migrated and seeded, and that `bondgate-intake` and
//! `bondgate-clearance` run, and `bondgate-review` for the review UI (`scripts/demo` does all
//! of that). Steps:
//!
//! 1. one API key per seed enterprise, created in the database ([`bondgate_intake::keys`]), and
//!    the two review accounts with fresh passwords ([`officers`]);
//! 2. N orders from the load generator (its default mix, review thresholds reachable, no bad
//!    records: bad bytes cannot go through HTTP; see [`generator_config`]), planned into
//!    requests of at most 100 documents of one sender ([`plan`]), plus about 1 % deliberately
//!    invalid documents in requests of their own;
//! 3. the requests go to `POST /v1/documents`, C at a time, each with its sender's key
//!    ([`submit`]);
//! 4. it polls the database until every accepted order has a final receipt (800, 300 or 100)
//!    or the timeout passes ([`outcome`]), then prints a summary ([`report`]) and revokes the
//!    keys it made.
//!
//! Progress goes to stderr ([`progress`]: a bar on a terminal, a line every 5 s otherwise), the
//! summary to stdout.

mod officers;
mod outcome;
mod plan;
mod progress;
mod report;
mod submit;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use bondgate_domain::config::RulesConfig;
use bondgate_intake::keys;
use bondgate_loadtest::generate::{ExpectedOutcome, GeneratorConfig};
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;

use crate::database::DatabaseArgs;
use crate::error::InputError;
use crate::seed::{SEED_ENTERPRISES, parse_enterprises};

/// Most orders one demo run generates (the plan is held in memory, about 3 KB per order).
pub const ORDERS_MAX: u32 = 1_000_000;
/// Most concurrent requests.
pub const CONCURRENCY_MAX: usize = 256;

/// Flags of `bondgate demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Orders to generate (each is an order, a payment and a waybill).
    #[arg(long, default_value_t = 20_000)]
    pub orders: u32,
    /// Also write the summary as JSON to this file.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Base URL of the intake API.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub intake_url: String,
    /// Prometheus endpoint of the intake service, on its ops listener (shown in the summary).
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://127.0.0.1:8090/metrics"
    )]
    pub intake_metrics_url: String,
    /// Prometheus endpoint of the clearance service (shown in the summary).
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://127.0.0.1:9091/metrics"
    )]
    pub clearance_metrics_url: String,
    /// Base URL of the review UI (its `/metrics` is shown too); omitted from the summary when
    /// not given.
    #[arg(long, value_name = "URL", env = "BONDGATE_REVIEW_URL")]
    pub review_url: Option<String>,
    /// Requests in flight at once.
    #[arg(long, value_name = "C", default_value_t = 8)]
    pub concurrency: usize,
    /// Give up waiting for decisions after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub decision_timeout_seconds: u64,
    /// Generator seed; default: the current time in milliseconds, so order numbers never
    /// collide with an earlier run.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where the database is.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

impl DemoArgs {
    fn validate(&self) -> Result<(), InputError> {
        if !(1..=ORDERS_MAX).contains(&self.orders) {
            return Err(InputError::Value {
                flag: "--orders",
                detail: format!("must be 1 to {ORDERS_MAX}, got {}", self.orders),
            });
        }
        if !(1..=CONCURRENCY_MAX).contains(&self.concurrency) {
            return Err(InputError::Value {
                flag: "--concurrency",
                detail: format!("must be 1 to {CONCURRENCY_MAX}, got {}", self.concurrency),
            });
        }
        if !self.intake_url.starts_with("http://") && !self.intake_url.starts_with("https://") {
            return Err(InputError::Value {
                flag: "--intake-url",
                detail: format!("must be an http:// URL, got {:?}", self.intake_url),
            });
        }
        Ok(())
    }
}

/// The generator's default mix without bad records (they cannot travel over HTTP), and with
/// baskets allowed up to the per-order limit.
///
/// By default the generator keeps clean orders below clearance's review threshold (dutiable
/// value 4,000 CNY), so nothing would be held and the review UI would stay empty. Here it
/// believes there is no such threshold, while clearance applies its default one: the large
/// clean baskets (a few percent, mostly heavy buyers') are held for review (300), as on a real
/// sale day. Tax, limits and the other rules stay as clearance applies them.
pub fn generator_config(seed: u64) -> GeneratorConfig {
    let mut rules = RulesConfig::default();
    rules.risk.hold_dutiable_value_min_cny = None;
    GeneratorConfig {
        seed,
        order_no_prefix: "DM".to_owned(),
        bad_record_fraction: 0.0,
        rules,
        ..GeneratorConfig::default()
    }
}

/// The review threshold clearance applies by default (see [`generator_config`]).
fn review_threshold_cny() -> Option<Decimal> {
    RulesConfig::default().risk.hold_dutiable_value_min_cny
}

/// The name of an expected outcome in the summary; a clean order at or above the review
/// threshold is expected to be held.
fn expected_name(order: &plan::PlannedOrder, threshold_cny: Option<Decimal>) -> &'static str {
    match order.expected {
        ExpectedOutcome::Clean
            if threshold_cny.is_some_and(|min| order.limit_amount_cny >= min) =>
        {
            "review"
        }
        ExpectedOutcome::Clean => "clean",
        ExpectedOutcome::QuotaContested => "quota_contested",
        ExpectedOutcome::Mismatch { .. } => "mismatch",
        ExpectedOutcome::OverLimit => "over_limit",
    }
}

/// Creates one key per seed enterprise; returns the keys by enterprise code and their ids.
async fn create_keys(
    db: &DatabaseConnection,
    seed: u64,
) -> anyhow::Result<(HashMap<String, String>, Vec<String>)> {
    let enterprises = parse_enterprises(SEED_ENTERPRISES.as_bytes())
        .map_err(|problems| anyhow::anyhow!("seed enterprises: {}", problems.join("; ")))?;
    let mut by_code = HashMap::new();
    let mut ids = Vec::new();
    for enterprise in enterprises {
        let code = enterprise.code.to_string();
        let created = keys::create(db, &code, &format!("demo {seed:016X}"))
            .await
            .with_context(|| {
                format!("creating an API key for {code} (did `bondgate seed` run?)")
            })?;
        ids.push(created.id.to_string());
        by_code.insert(code, created.key);
    }
    Ok((by_code, ids))
}

/// Runs `bondgate demo`.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    args.validate()?;
    let seed = args.seed.unwrap_or_else(|| {
        u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or_default()
    });
    let db = bondgate_storage::connect(&args.database.config())
        .await
        .with_context(|| format!("connecting to {}", args.database.display_url()))?;
    let (keys_by_code, key_ids) = create_keys(&db, seed).await?;
    let officers = officers::ensure(bondgate_storage::pool(&db)).await?;
    eprintln!(
        "demo: seed {seed:016X}, {} orders, {} API keys created, review accounts {}",
        args.orders,
        key_ids.len(),
        officers
            .iter()
            .map(|o| o.username.as_str())
            .collect::<Vec<_>>()
            .join(" and ")
    );

    let plan = plan::plan(generator_config(seed), args.orders)?;
    let submitted = Box::pin(submit::submit(
        &args.intake_url,
        &keys_by_code,
        &plan,
        args.concurrency,
    ))
    .await?;
    for id in &key_ids {
        // The keys served their purpose; a failed revocation only leaves an unused key behind.
        if let Err(error) = keys::revoke(&db, id).await {
            eprintln!("demo: could not revoke key {id}: {error}");
        }
    }

    let accepted = submitted.accepted_orders(&plan);
    let timeout = Duration::from_secs(args.decision_timeout_seconds);
    let pool = bondgate_storage::pool(&db);
    let waited = outcome::wait(pool, &accepted, timeout).await?;
    let decisions = outcome::collect(pool, &accepted, submitted.started_at).await?;
    db.close().await?;

    let threshold = review_threshold_cny();
    let mut expected = BTreeMap::new();
    for order in &plan.orders {
        *expected.entry(expected_name(order, threshold)).or_insert(0) += 1;
    }
    let officers = officers
        .into_iter()
        .map(|o| report::Officer {
            username: o.username,
            role: o.role.as_str(),
            password: o.password.unwrap_or_default(),
        })
        .collect();
    let summary = report::Summary::new(report::Inputs {
        seed,
        args: &args,
        plan: &plan,
        submitted: &submitted,
        accepted: &accepted,
        decisions: &decisions,
        expected,
        officers,
    });
    print!("{}", summary.table());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&summary)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let outcome::Waited::TimedOut { decided } = waited {
        anyhow::bail!(
            "timed out after {} s waiting for decisions: {} of {} accepted orders have none; \
             is bondgate-clearance running and consuming (see .stack/logs/clearance.log)?",
            args.decision_timeout_seconds,
            accepted.len() - decided,
            accepted.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_mix_sends_some_orders_to_review() {
        // Goal: the review UI has declarations to show after a demo. Method: plan the default
        // mix and count clean orders at or above clearance's review threshold.
        let plan = plan::plan(generator_config(11), 5_000).unwrap();
        let threshold = review_threshold_cny();
        let review = plan
            .orders
            .iter()
            .filter(|order| expected_name(order, threshold) == "review")
            .count();
        assert!(
            (25..=1_000).contains(&review),
            "{review} of 5000 expected held"
        );
    }
}
