//! `bondgate demo`: pushes a realistic sale-day load through the running system, the way
//! merchants would, and reports what came out.
//!
//! It assumes the local stack is up, migrated and seeded, and that `bondgate-intake` and
//! `bondgate-clearance` run (`scripts/demo` does all of that). Steps:
//!
//! 1. one API key per seed enterprise, created in the database ([`bondgate_intake::keys`]);
//! 2. N orders from the load generator (its default mix, no bad records: bad bytes cannot go
//!    through HTTP), planned into requests of at most 100 documents of one sender
//!    ([`plan`]), plus about 1 % deliberately invalid documents in requests of their own;
//! 3. the requests go to `POST /v1/documents`, C at a time, each with its sender's key
//!    ([`submit`]);
//! 4. it polls the database until every accepted order has a final receipt (800, 300 or 100)
//!    or the timeout passes ([`outcome`]), then prints a summary ([`report`]) and revokes the
//!    keys it made.

mod outcome;
mod plan;
mod report;
mod submit;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use bondgate_intake::keys;
use bondgate_loadtest::generate::{ExpectedOutcome, GeneratorConfig};
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
    /// Prometheus endpoint of the clearance service (shown in the summary).
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://127.0.0.1:9091/metrics"
    )]
    pub clearance_metrics_url: String,
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

/// The generator's default mix without bad records (they cannot travel over HTTP).
pub fn generator_config(seed: u64) -> GeneratorConfig {
    GeneratorConfig {
        seed,
        order_no_prefix: "DM".to_owned(),
        bad_record_fraction: 0.0,
        ..GeneratorConfig::default()
    }
}

/// The name of an expected outcome in the summary.
fn expected_name(expected: ExpectedOutcome) -> &'static str {
    match expected {
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
    eprintln!(
        "demo: seed {seed:016X}, {} orders, {} API keys created",
        args.orders,
        key_ids.len()
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

    let mut expected = BTreeMap::new();
    for order in &plan.orders {
        *expected.entry(expected_name(order.expected)).or_insert(0) += 1;
    }
    let summary = report::Summary::new(report::Inputs {
        seed,
        args: &args,
        plan: &plan,
        submitted: &submitted,
        accepted: &accepted,
        decisions: &decisions,
        expected,
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
