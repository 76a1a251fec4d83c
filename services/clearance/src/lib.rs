//! The clearance pipeline of bondgate: consumes `cbec.documents.v1` and turns documents into
//! decisions, stock movements, declarations and receipts, in batches, with an exactly-once effect
//! (positions are stored in the same PostgreSQL transaction as the batch's effects).
//!
//! Modules, in the order a record meets them: [`consumer`] (poll, batch, rebalance),
//! [`decode`] (bytes to typed documents or dead letters), [`pipeline`] (one batch, one
//! transaction), [`state`] (what is stored, locks), [`plan`] (the rules of the batch, pure),
//! [`persist`] (set-based writes), [`positions`] (fencing), then [`relay`] (the outbox) and
//! [`sweeper`] (incomplete orders).

pub mod config;
pub mod consumer;
pub mod decode;
pub mod failpoint;
pub mod metrics;
pub mod persist;
pub mod pipeline;
pub mod plan;
pub mod positions;
pub mod relay;
pub mod state;
pub mod sweeper;

use crate::config::Config;
use crate::consumer::{ClearanceContext, LoopSettings};
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::plan::Reference;
use crate::positions::PositionsKey;
use anyhow::Context as _;
use bondgate_storage::reference::SharedReference;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// Runs the service until `shutdown` completes (SIGTERM, Ctrl-C) or a part of it fails.
/// On shutdown the current batch finishes and commits, and the relay publishes what it holds.
pub async fn run(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.clearance.listen)
        .await
        .with_context(|| format!("binding {}", config.clearance.listen))?;
    run_with_listener(config, listener, shutdown).await
}

/// As [`run`], with `/metrics`, `/healthz` and `/readyz` served on an already bound `listener`
/// (tests bind port 0 and read the address before starting the service).
pub async fn run_with_listener(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    if config.security.uses_dev_keys() {
        tracing::warn!(
            "using the public development keys for personal data: set [security] in production"
        );
    }
    let db = bondgate_storage::connect(&config.database)
        .await
        .context("connecting to PostgreSQL")?;
    let pool = bondgate_storage::pool(&db).clone();
    let registry = bondgate_telemetry::registry("clearance");
    let metrics = Metrics::register(&registry)?;
    let (reference, refresh) = start_reference(&config, &pool).await?;
    let pipeline = Arc::new(build_pipeline(
        &config,
        pool.clone(),
        &reference,
        metrics.clone(),
    )?);
    tracing::info!(listen = %listener.local_addr()?, "clearance ops endpoints up");
    let ops = tokio::spawn(serve_ops(
        listener,
        registry,
        pool.clone(),
        config.kafka.brokers.clone(),
    ));

    let consumer = build_consumer(&config, pipeline.clone())?;
    let producer = bondgate_kafka::producer(
        &config.kafka,
        &format!("{}-relay", config.clearance.instance_id),
    )?;
    let (wake, stop_relay) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let relay = tokio::spawn(relay::run(
        pool.clone(),
        producer,
        relay_settings(&config)?,
        metrics.clone(),
        wake.clone(),
        stop_relay.clone(),
    ));
    let stop = Arc::new(AtomicBool::new(false));
    // Also stops the consumer thread when this future is dropped instead of awaited to the end
    // (a cancelled task, a runtime shutting down): a blocking thread nobody stops would keep the
    // runtime, and the process, alive.
    let _stop_on_drop = StopOnDrop(stop.clone());
    let settings = loop_settings(&config);
    let (stop_loop, wake_loop) = (stop.clone(), wake.clone());
    let mut consumer_thread = tokio::task::spawn_blocking(move || {
        consumer::run_loop(&consumer, &settings, &stop_loop, &wake_loop)
    });

    let outcome = tokio::select! {
        result = &mut consumer_thread => result.context("consumer thread panicked")?,
        () = shutdown => {
            tracing::info!("shutting down: finishing the current batch");
            stop.store(true, Ordering::SeqCst);
            consumer_thread.await.context("consumer thread panicked")?
        }
    };
    stop_relay.notify_one();
    let _ = tokio::time::timeout(Duration::from_secs(30), relay).await;
    ops.abort();
    refresh.abort();
    outcome
}

/// Sets the consumer loop's stop flag when dropped.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Loads the account book and positive list from the database, the one source every service
/// decides on, and refreshes them every `clearance.reference_refresh_ms` until the returned task
/// is aborted.
pub async fn start_reference(
    config: &Config,
    pool: &sqlx::PgPool,
) -> anyhow::Result<(SharedReference, tokio::task::JoinHandle<()>)> {
    let reference = SharedReference::load(pool)
        .await
        .context("loading the account book and positive list")?;
    let data = reference.current();
    tracing::info!(
        items = data.account_book.len(),
        tariff_lines = data.positive_list.len(),
        "reference data loaded"
    );
    let interval = Duration::from_millis(config.clearance.reference_refresh_ms);
    let refresh = reference.spawn_refresh(pool.clone(), interval);
    Ok((reference, refresh))
}

/// The pipeline, deciding on the reference data current at start. (It holds its own copy in
/// `plan::Reference` until `Pipeline` takes the [`SharedReference`] and reads `current()` once
/// per batch; the refresh then reaches the decisions.)
fn build_pipeline(
    config: &Config,
    pool: sqlx::PgPool,
    shared: &SharedReference,
    metrics: Metrics,
) -> anyhow::Result<Pipeline> {
    let data = shared.current();
    let reference = Reference {
        account_book: data.account_book.clone(),
        positive_list: data.positive_list.clone(),
        rules: config.rules.clone(),
        buyer_hash_key: config.security.buyer_hash_key()?,
    };
    Ok(Pipeline {
        pool,
        cipher: config.security.cipher()?,
        reference,
        metrics,
        positions: PositionsKey {
            group_id: config.clearance.group_id.clone(),
            topic: config.kafka.topics.documents.clone(),
            instance_id: config.clearance.instance_id.clone(),
        },
        customs_code: config.clearance.customs_code.clone(),
    })
}

fn build_consumer(
    config: &Config,
    pipeline: Arc<Pipeline>,
) -> anyhow::Result<BaseConsumer<ClearanceContext>> {
    // Assigned partitions only, never subscribed: it joins no group.
    let checker: BaseConsumer = bondgate_kafka::consumer_config(
        &config.kafka,
        &format!("{}.log-check", config.clearance.group_id),
        &format!("{}-log-check", config.clearance.instance_id),
    )
    .create()?;
    let context = ClearanceContext::new(tokio::runtime::Handle::current(), pipeline, checker);
    let consumer: BaseConsumer<ClearanceContext> = bondgate_kafka::consumer_config(
        &config.kafka,
        &config.clearance.group_id,
        &config.clearance.instance_id,
    )
    .create_with_context(context)?;
    consumer.subscribe(&[&config.kafka.topics.documents])?;
    Ok(consumer)
}

fn loop_settings(config: &Config) -> LoopSettings {
    let c = &config.clearance;
    LoopSettings {
        batch_size_max: c.batch_size_max.max(1),
        batch_linger: Duration::from_millis(c.batch_linger_ms),
        sweep_interval: Duration::from_millis(c.sweep_interval_ms),
        incomplete_window_ms: c.incomplete_window_ms,
        outage_max: Duration::from_millis(c.outage_max_ms),
        retry_backoff_max: Duration::from_millis(c.retry_backoff_max_ms),
    }
}

fn relay_settings(config: &Config) -> anyhow::Result<relay::RelaySettings> {
    Ok(relay::RelaySettings {
        receipts_topic: config.kafka.topics.receipts.clone(),
        dead_letter_topic: config.kafka.topics.dead_letters.clone(),
        batch_max: config.clearance.relay_batch_max,
        interval: Duration::from_millis(config.clearance.relay_interval_ms),
    })
}

async fn serve_ops(
    listener: tokio::net::TcpListener,
    registry: prometheus::Registry,
    pool: sqlx::PgPool,
    brokers: String,
) -> std::io::Result<()> {
    let readiness: bondgate_telemetry::ReadinessCheck = Arc::new(move || {
        let pool = pool.clone();
        let brokers = brokers.clone();
        Box::pin(async move {
            sqlx::query("SELECT 1")
                .execute(&pool)
                .await
                .map_err(|e| format!("database: {e}"))?;
            broker_reachable(&brokers).await
        })
    });
    axum::serve(
        listener,
        bondgate_telemetry::ops_router(registry, readiness),
    )
    .await
}

/// The first bootstrap broker accepts TCP connections.
async fn broker_reachable(brokers: &str) -> Result<(), String> {
    let first = brokers.split(',').next().unwrap_or_default().to_owned();
    tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(&first),
    )
    .await
    .map_err(|_| format!("broker {first}: timeout"))?
    .map(|_| ())
    .map_err(|e| format!("broker {first}: {e}"))
}
