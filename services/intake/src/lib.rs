//! Merchant intake API of bondgate: CEB XML and JSON documents over HTTP.
//!
//! Merchants submit documents (`POST /v1/documents` as JSON, `POST /v1/ceb` as CEB XML) with a
//! per-enterprise API key. Intake validates every record with the domain parsers (formats,
//! lengths, the order's own arithmetic), checks that the key's enterprise is the sender, produces
//! the records to `cbec.documents.v1` (idempotent producer, `acks=all`, key `ebpCode/orderNo`)
//! and answers 202 with deterministic tracking ids only once the broker acknowledged all of them.
//! It also answers an order's status and receipt timeline, its rebuilt CEB621, and a
//! pre-flight check against the database's account book and positive list (refreshed every
//! `reference_refresh_ms`) and the configured `[rules]`, as the pipeline decides. Modules:
//!
//! * [`submission`] — bytes to validated records (pure); [`parse_pool`] — where CEB XML is
//!   parsed: on blocking threads, a bounded number at once, abandoned with its request;
//! * [`authorization`] — who may send them (the domain's rules on the key's enterprise);
//! * [`keys`] — API keys: create, revoke, list, authenticate;
//! * [`publish`] — the producer; [`orders`] — reading orders back; [`check`] — the pre-flight;
//! * [`http`] — router, handlers, auth extractor, OpenAPI; [`error`] — error bodies;
//! * [`config`], [`metrics`], [`rate_limit`]; [`Application`] wires them together.

pub mod authorization;
pub mod check;
pub mod config;
pub mod error;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod orders;
pub mod parse_pool;
pub mod publish;
pub mod rate_limit;
pub mod submission;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use bondgate_storage::reference::{ReferenceError, SharedReference};
use bondgate_telemetry::ReadinessCheck;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::{Config, IntakeConfig};

use crate::http::AppState;
use crate::metrics::Metrics;
use crate::parse_pool::ParsePool;
use crate::publish::Publisher;
use crate::rate_limit::RateLimiter;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database is unreachable.
    #[error("database")]
    Database(#[from] bondgate_storage::StorageError),
    /// The producer could not be created.
    #[error("kafka producer")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The data key is invalid.
    #[error("security.data_key_hex")]
    Crypto(#[from] bondgate_storage::crypto::CryptoError),
    /// The account book or positive list cannot be read from the database.
    #[error("reference data")]
    Reference(#[from] ReferenceError),
    /// Metrics could not be registered.
    #[error("metrics")]
    Metrics(#[from] prometheus::Error),
    /// The listen address cannot be bound.
    #[error("cannot listen on {address}")]
    Bind {
        /// The address.
        address: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The built service: a bound listener, its router, and the signal its work stops on.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    router: Router,
    /// `/metrics`, `/healthz`, `/readyz` on their own address.
    ops_listener: TcpListener,
    ops_router: Router,
    /// Cancelled when shutdown begins: parses in flight give up instead of holding the drain.
    stopping: CancellationToken,
    /// Reloads the reference data now and then; stops with the application.
    refresh: RefreshTask,
}

/// The reference data's refresh task, aborted when dropped (when the application stops, or is
/// dropped without running).
#[derive(Debug)]
struct RefreshTask(tokio::task::JoinHandle<()>);

impl Drop for RefreshTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Application {
    /// Connects to the database, creates the producer, binds the listen address.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let db = bondgate_storage::connect(&config.database).await?;
        Self::build_with(config, db).await
    }

    /// As [`Application::build`], with an existing database connection.
    pub async fn build_with(config: Config, db: DatabaseConnection) -> Result<Self, StartupError> {
        if config.security.uses_dev_keys() {
            tracing::warn!("security keys are the public development keys: set [security]");
        }
        let cipher = config.security.cipher()?;
        let intake = config.intake.clone();
        let publisher = Publisher::new(
            &config.kafka,
            Duration::from_millis(intake.produce_timeout_ms),
        )?;
        let (reference, refresh) = start_reference(&db, intake.reference_refresh_ms).await?;
        let registry = bondgate_telemetry::registry("intake");
        let metrics = Metrics::register(&registry)?;
        let readiness = readiness(db.clone(), publisher.clone());
        let stopping = CancellationToken::new();
        let parses = ParsePool::new(
            intake.xml_parses_max,
            Duration::from_millis(intake.xml_parse_wait_ms),
            intake.retry_after_seconds,
            stopping.clone(),
        );
        let state = AppState {
            limiter: Arc::new(RateLimiter::new(
                intake.rate_limit_per_second,
                intake.rate_limit_burst,
            )),
            config: Arc::new(intake.clone()),
            db,
            publisher,
            cipher,
            reference,
            rules: Arc::new(config.rules.clone()),
            metrics,
            parses,
        };
        let router = http::router(state);
        let ops_router = http::ops_router(registry, readiness);
        let listener = bind(&intake.listen_address).await?;
        let ops_listener = bind(&intake.ops_listen_address).await?;
        Ok(Self {
            listener,
            router,
            ops_listener,
            ops_router,
            stopping,
            refresh,
        })
    }

    /// The bound address (the port when `:0` was asked for).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The ops listener's bound address.
    pub fn ops_local_addr(&self) -> std::io::Result<SocketAddr> {
        self.ops_listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight; a CEB parse in
    /// flight stops at once (its request gets 503 `bg.service.stopping`), so neither the drain
    /// nor the runtime's wait for blocking threads is held up by one.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // The reference data is refreshed for as long as the API serves, then the task stops.
        let (stopping, _refresh) = (self.stopping, self.refresh);
        let signal = async move {
            shutdown.await;
            stopping.cancel();
        };
        // The ops endpoints answer until the API has drained, then stop too.
        let drained = CancellationToken::new();
        let ops = axum::serve(self.ops_listener, self.ops_router)
            .with_graceful_shutdown(drained.clone().cancelled_owned());
        let api = async move {
            let served = axum::serve(self.listener, self.router)
                .with_graceful_shutdown(signal)
                .await;
            drained.cancel();
            served
        };
        let (api, ops) = tokio::join!(api, ops);
        api.and(ops)
    }
}

/// Loads the account book and positive list from the database and keeps them fresh.
async fn start_reference(
    db: &DatabaseConnection,
    refresh_ms: u64,
) -> Result<(SharedReference, RefreshTask), StartupError> {
    let pool = bondgate_storage::pool(db);
    let reference = SharedReference::load(pool).await?;
    let data = reference.current();
    tracing::info!(
        items = data.account_book.len(),
        tariff_lines = data.positive_list.len(),
        "reference data loaded"
    );
    if data.account_book.is_empty() {
        tracing::warn!(
            "the account book is empty: every order line will be refused until `bondgate seed` runs"
        );
    }
    let task = reference.spawn_refresh(pool.clone(), Duration::from_millis(refresh_ms));
    Ok((reference, RefreshTask(task)))
}

async fn bind(address: &str) -> Result<TcpListener, StartupError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| StartupError::Bind {
            address: address.to_owned(),
            source,
        })
}

/// Ready when the database answers a ping and the broker answers a metadata request.
fn readiness(db: DatabaseConnection, publisher: Publisher) -> ReadinessCheck {
    Arc::new(move || {
        let db = db.clone();
        let publisher = publisher.clone();
        Box::pin(async move {
            db.ping().await.map_err(|e| format!("database: {e}"))?;
            publisher.check_broker(Duration::from_secs(2)).await
        })
    })
}
