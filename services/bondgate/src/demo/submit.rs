//! Sends the planned requests to `POST /v1/documents`, `concurrency` at a time, each with the
//! key of its sender. 429 and 503 answers are retried after their `Retry-After` (at most
//! [`ATTEMPTS_MAX`] attempts), as a merchant's client would; other answers are final.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};

use super::outcome::OrderKey;
use super::plan::{Plan, Request};
use super::progress::Progress;

/// Attempts per request (the first one included).
pub const ATTEMPTS_MAX: u32 = 10;
/// Longest wait before a retry, whatever `Retry-After` says.
const RETRY_WAIT_MAX: Duration = Duration::from_secs(10);
/// Per-request timeout (the intake answers 503 after 15 s by default).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The final answer to one request.
#[derive(Debug, Clone)]
struct Answer {
    /// `202`, `422 bg.request.invalid`, `transport error`...
    label: String,
    accepted: bool,
    /// When the attempt that got this answer was sent.
    sent_at: DateTime<Utc>,
    retries: u32,
}

/// What the submission achieved.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// When the first request was sent.
    pub started_at: DateTime<Utc>,
    /// When the last answer came.
    pub finished_at: DateTime<Utc>,
    /// Per order: how many of its documents were accepted.
    pub documents_accepted: Vec<u8>,
    /// Per order: when the request carrying its last accepted document was sent, ms.
    pub last_sent_ms: Vec<i64>,
    /// Valid documents refused, by answer (`status code`): should stay empty.
    pub refused: BTreeMap<String, u64>,
    /// Answers to the deliberately invalid documents, by answer.
    pub invalid_answers: BTreeMap<String, u64>,
    /// Retries after 429 or 503.
    pub retries: u64,
    /// Requests sent (retries not counted).
    pub requests: u64,
}

impl Submitted {
    /// The orders whose three documents were all accepted, with their submit time.
    pub fn accepted_orders(&self, plan: &Plan) -> Vec<OrderKey> {
        plan.orders
            .iter()
            .enumerate()
            .filter(|(index, _)| self.documents_accepted[*index] == 3)
            .map(|(index, order)| OrderKey {
                ebp_code: order.ebp_code.clone(),
                order_no: order.order_no.clone(),
                submitted_ms: self.last_sent_ms[index],
            })
            .collect()
    }

    fn record(&mut self, request: &Request, answer: &Answer) {
        self.retries += u64::from(answer.retries);
        self.requests += 1;
        if request.invalid.is_some() {
            *self
                .invalid_answers
                .entry(answer.label.clone())
                .or_default() += 1;
        } else if answer.accepted {
            for &order in &request.orders {
                let order = order as usize;
                self.documents_accepted[order] += 1;
                let sent_ms = answer.sent_at.timestamp_millis();
                self.last_sent_ms[order] = self.last_sent_ms[order].max(sent_ms);
            }
        } else {
            *self.refused.entry(answer.label.clone()).or_default() += request.orders.len() as u64;
        }
    }
}

/// `status error.code` of an error body, or just the status.
async fn label(response: reqwest::Response) -> String {
    let status = response.status().as_u16();
    let code = response
        .bytes()
        .await
        .ok()
        .and_then(|body| serde_json::from_slice::<serde_json::Value>(&body).ok())
        .and_then(|body| body["error"]["code"].as_str().map(str::to_owned));
    match code {
        Some(code) => format!("{status} {code}"),
        None => status.to_string(),
    }
}

/// Sends one request until it gets a final answer.
async fn send(client: &reqwest::Client, url: &str, key: &str, request: &Request) -> Answer {
    let mut retries = 0;
    loop {
        let sent_at = Utc::now();
        let result = client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(AUTHORIZATION, format!("Bearer {key}"))
            .body(request.body.clone())
            .send()
            .await;
        let (label, wait) = match result {
            Ok(response) if response.status() == StatusCode::ACCEPTED => {
                return Answer {
                    label: "202".to_owned(),
                    accepted: true,
                    sent_at,
                    retries,
                };
            }
            Ok(response) => {
                let retriable = matches!(
                    response.status(),
                    StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                );
                let wait = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .map_or(Duration::from_secs(1), Duration::from_secs);
                (label(response).await, retriable.then_some(wait))
            }
            Err(error) => (
                format!("transport error ({})", error_kind(&error)),
                Some(Duration::from_secs(1)),
            ),
        };
        match wait {
            Some(wait) if retries + 1 < ATTEMPTS_MAX => {
                retries += 1;
                tokio::time::sleep(wait.min(RETRY_WAIT_MAX)).await;
            }
            _ => {
                return Answer {
                    label,
                    accepted: false,
                    sent_at,
                    retries,
                };
            }
        }
    }
}

fn error_kind(error: &reqwest::Error) -> &'static str {
    if error.is_connect() {
        "connect"
    } else if error.is_timeout() {
        "timeout"
    } else {
        "other"
    }
}

/// The progress line's detail: refusals and retries only when there are some, so that the bar
/// fits an 80-column terminal.
fn progress_detail(submitted: &Submitted) -> String {
    let mut detail = "documents answered".to_owned();
    let refused: u64 = submitted.refused.values().sum();
    if refused > 0 {
        detail += &format!(", {refused} valid refused");
    }
    if submitted.retries > 0 {
        detail += &format!(", {} retries", submitted.retries);
    }
    detail
}

/// Sends every request of `plan`; `keys` maps a sender's customs code to its API key.
pub async fn submit(
    intake_url: &str,
    keys: &HashMap<String, String>,
    plan: &Plan,
    concurrency: usize,
) -> anyhow::Result<Submitted> {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(concurrency)
        .build()
        .context("building the HTTP client")?;
    let url = format!("{}/v1/documents", intake_url.trim_end_matches('/'));
    for request in &plan.requests {
        anyhow::ensure!(
            keys.contains_key(&request.sender),
            "no API key for sender {} (is it in the seed enterprises?)",
            request.sender
        );
    }
    let mut submitted = Submitted {
        started_at: Utc::now(),
        finished_at: Utc::now(),
        documents_accepted: vec![0; plan.orders.len()],
        last_sent_ms: vec![i64::MIN; plan.orders.len()],
        refused: BTreeMap::new(),
        invalid_answers: BTreeMap::new(),
        retries: 0,
        requests: 0,
    };
    let mut progress = Progress::new("submitting", plan.documents + plan.invalid_documents);
    let mut answers = futures::stream::iter(plan.requests.iter())
        .map(|request| {
            let (client, url) = (&client, url.as_str());
            async move {
                (
                    request,
                    send(client, url, &keys[&request.sender], request).await,
                )
            }
        })
        .buffer_unordered(concurrency);
    let mut done = 0;
    while let Some((request, answer)) = answers.next().await {
        submitted.record(request, &answer);
        done += request.documents();
        progress.update(done, &progress_detail(&submitted));
    }
    progress.finish(done, &progress_detail(&submitted));
    submitted.finished_at = Utc::now();
    Ok(submitted)
}
