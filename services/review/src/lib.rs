//! Customs officers' review UI and API of bondgate.
//!
//! Declarations the pipeline held for manual review (status 300) wait here for an officer, who
//! releases them (800), rejects them (100, with a customs code and a reason) or sends them to
//! inspection (500). Each decision is one PostgreSQL transaction that changes the declaration
//! (optimistic concurrency on its `version`), moves stock and quota as the pipeline would, writes
//! the receipt to the outbox (clearance's relay publishes it on `cbec.receipts.v1`) and appends
//! to the hash-chained audit log. Modules:
//!
//! * [`officers`], [`sessions`], [`throttle`] — accounts (argon2id), sessions and CSRF tokens,
//!   failed-login lockouts;
//! * [`queue`], [`detail`] (with [`documents`] and the pure [`compare`]), [`search`] — reading;
//! * [`actions`] — decisions, assignment, reveals; [`audit`] — the chain and its verification
//!   ([`audit::verify`]);
//! * [`http`] — router, extractors, UI handlers, JSON API, OpenAPI; [`ui`] — the pages (maud),
//!   [`i18n`] — zh-CN first, English second;
//! * [`config`], [`metrics`], [`error`]; [`Application`] wires them together.

pub mod actions;
pub mod audit;
pub mod compare;
pub mod config;
pub mod detail;
pub mod documents;
pub mod error;
pub mod http;
pub mod i18n;
pub mod metrics;
pub mod officers;
pub mod queue;
pub mod search;
pub mod sessions;
pub mod throttle;
pub mod ui;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use bondgate_telemetry::ReadinessCheck;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

pub use config::{Config, ReviewConfig};

use crate::http::AppState;
use crate::metrics::Metrics;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database is unreachable.
    #[error("database")]
    Database(#[from] bondgate_storage::StorageError),
    /// A security key is invalid.
    #[error("security keys")]
    Crypto(#[from] bondgate_storage::crypto::CryptoError),
    /// Metrics could not be registered.
    #[error("metrics")]
    Metrics(#[from] prometheus::Error),
    /// A setting is invalid.
    #[error("configuration")]
    Proxy(#[from] http::client::BadProxy),
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

/// The built service: a bound listener, its router, and the state its background tasks need.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Connects to the database and binds the listen address.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let db = bondgate_storage::connect(&config.database).await?;
        Self::build_with(config, bondgate_storage::pool(&db).clone()).await
    }

    /// As [`Application::build`], with an existing pool.
    pub async fn build_with(config: Config, pool: PgPool) -> Result<Self, StartupError> {
        if config.security.uses_dev_keys() {
            tracing::warn!("security keys are the public development keys: set [security]");
        }
        let review = config.review.clone();
        let registry = bondgate_telemetry::registry("review");
        let state = AppState {
            cipher: config.security.cipher()?,
            buyer_hash_key: Arc::new(config.security.buyer_hash_key()?),
            metrics: Metrics::register(&registry)?,
            login_gate: Arc::new(Semaphore::new(review.login_concurrency_max.max(1))),
            trusted_proxies: Arc::new(http::client::trusted_proxies(&review.trusted_proxies)?),
            rules: Arc::new(config.rules.clone()),
            config: Arc::new(review.clone()),
            pool: pool.clone(),
        };
        let router = http::router(state.clone(), registry, readiness(pool));
        let listener = TcpListener::bind(&review.listen_address)
            .await
            .map_err(|source| StartupError::Bind {
                address: review.listen_address.clone(),
                source,
            })?;
        Ok(Self {
            listener,
            router,
            state,
        })
    }

    /// The database pool.
    pub fn pool(&self) -> &PgPool {
        &self.state.pool
    }

    /// The bound address (the port when `:0` was asked for).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight. The queue-depth
    /// gauge, the purge of expired sessions and forgotten failed logins, and the scheduled full
    /// verification of the audit chain run beside the server and stop with it.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let background = [
            tokio::spawn(refresh_queue_depth(self.state.clone())),
            tokio::spawn(purge_sessions(self.state.clone())),
            tokio::spawn(verify_audit_chain(self.state.clone())),
        ];
        // Peer addresses: failed logins are counted per client.
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await;
        background.iter().for_each(JoinHandle::abort);
        served
    }
}

/// Ready when the database answers (review talks to no broker: receipts go through the
/// outbox, which clearance's relay publishes).
fn readiness(pool: PgPool) -> ReadinessCheck {
    Arc::new(move || {
        let pool = pool.clone();
        Box::pin(async move {
            sqlx::query("SELECT 1")
                .execute(&pool)
                .await
                .map(|_| ())
                .map_err(|e| format!("database: {e}"))
        })
    })
}

async fn refresh_queue_depth(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_millis(
        state.config.queue_depth_refresh_ms.max(100),
    ));
    loop {
        every.tick().await;
        match queue::depth(&state.pool).await {
            Ok(depths) => {
                for status in [300, 500] {
                    let depth = depths
                        .iter()
                        .find(|(s, _)| *s == status)
                        .map_or(0, |(_, n)| *n);
                    state
                        .metrics
                        .queue_depth
                        .with_label_values(&[status.to_string().as_str()])
                        .set(depth);
                }
            }
            Err(error) => tracing::warn!(%error, "queue depth not refreshed"),
        }
    }
}

async fn purge_sessions(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_millis(
        state.config.session_purge_interval_ms.max(1_000),
    ));
    loop {
        every.tick().await;
        match sessions::purge_expired(&state.pool).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired sessions deleted"),
            Err(error) => tracing::warn!(%error, "expired sessions not purged"),
        }
        match throttle::purge(&state.pool, state.config.login_throttle_rows_max).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "forgotten failed-login counts deleted"),
            Err(error) => tracing::warn!(%error, "failed-login counts not purged"),
        }
    }
}

/// Verifies the whole audit chain at start and then every `audit_full_verify_interval_ms`,
/// unless another replica just did. The head hash in the log is the anchor that detects
/// entries cut off the end later.
async fn verify_audit_chain(state: AppState) {
    let interval_ms = state.config.audit_full_verify_interval_ms.max(1_000);
    let mut every = tokio::time::interval(Duration::from_millis(interval_ms));
    // Slightly less than the interval, so a replica's own last run is never "just now".
    let due_seconds = interval_ms as f64 / 1_000.0 * 0.9;
    loop {
        every.tick().await;
        match audit::verify::verify_full_if_due(&state.pool, due_seconds).await {
            Ok(Some(head)) => tracing::info!(
                entries = head.entries,
                audit_head = %head.head_hash,
                "audit chain verified"
            ),
            Ok(None) => tracing::debug!("audit chain verified recently by another replica"),
            Err(audit::VerifyError::Broken { .. }) => {}
            Err(error) => tracing::warn!(%error, "audit chain not verified"),
        }
    }
}
