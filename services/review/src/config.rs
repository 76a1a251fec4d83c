//! Configuration of the review service: `[review]`, `[database]`, `[security]` and `[rules]`,
//! layered by `bondgate-config` (defaults, file, `BONDGATE__*` env vars).

use bondgate_domain::config::RulesConfig;
use bondgate_storage::DatabaseConfig;
use bondgate_storage::crypto::SecurityConfig;
use serde::{Deserialize, Serialize};

/// Everything the review service reads.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Config {
    /// The service's own settings.
    #[serde(default)]
    pub review: ReviewConfig,
    /// PostgreSQL (declarations, officers, sessions, audit log, the receipts outbox).
    #[serde(default)]
    pub database: DatabaseConfig,
    /// Keys for personal data: stored documents are opened for the detail page, and buyer ID
    /// numbers are hashed for search.
    #[serde(default)]
    pub security: SecurityConfig,
    /// The customs rules (the same section as clearance's): the arithmetic tolerance of the
    /// document comparison on the detail page.
    #[serde(default)]
    pub rules: RulesConfig,
}

// Review talks to no broker; its sections' fields stand alone.
impl bondgate_config::Validate for Config {
    fn problems(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Listen address, sessions and the limits of the UI and API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewConfig {
    /// Address of the UI, the `/v1/review` API, `/openapi.json`, `/metrics`, `/healthz` and
    /// `/readyz` (intake listens on 8080, clearance's ops endpoints on 9091).
    pub listen_address: String,
    /// A session ends this long after login, whatever happens in between (one working day).
    pub session_ttl_seconds: u64,
    /// Sessions an officer may hold at once; logging in again ends the oldest beyond this.
    pub sessions_per_officer_max: u32,
    /// Mark the session cookie `Secure` (set it whenever the service is behind TLS).
    pub cookie_secure: bool,
    /// Queue rows per page unless asked otherwise.
    pub page_size: u32,
    /// Most queue rows per page a client may ask for.
    pub page_size_max: u32,
    /// Deepest queue page (keeps OFFSET scans bounded; filters narrow the queue instead).
    pub page_max: u32,
    /// Largest accepted request body (forms and JSON), in bytes; larger is 413.
    pub body_bytes_max: usize,
    /// A request still unanswered after this long gets 503 `bg.request.timeout`.
    pub request_timeout_ms: u64,
    /// Password checks (argon2id, about 19 MiB each) running at once; further logins wait.
    pub login_concurrency_max: usize,
    /// How often the queue-depth gauge is refreshed from the database.
    pub queue_depth_refresh_ms: u64,
    /// How often expired sessions are deleted, and forgotten failed-login counts with them.
    pub session_purge_interval_ms: u64,
    /// Failed logins of one username, each within `login_failure_window_seconds` of the one
    /// before, after which that username is locked out (unknown usernames alike, so a lockout
    /// does not tell which accounts exist).
    pub login_username_failures_max: u32,
    /// Failed logins from one client address (an IPv4 address or an IPv6 /64) before it is
    /// locked out. Higher than the username's: officers behind one NAT share an address.
    pub login_client_failures_max: u32,
    /// Failures are forgotten when there has been none for this long (counted from the end of
    /// the last lockout).
    pub login_failure_window_seconds: u64,
    /// The first lockout lasts this long; each further failure doubles it.
    pub login_lockout_base_seconds: u64,
    /// The longest lockout.
    pub login_lockout_max_seconds: u64,
    /// Most failed-login counts kept; beyond it the purge drops those soonest forgotten.
    pub login_throttle_rows_max: u64,
    /// Reverse proxies (IP addresses or CIDR networks) whose `X-Forwarded-For` names the client
    /// for the failed-login counts; empty: the peer address is the client, the header ignored.
    pub trusted_proxies: Vec<String>,
    /// How often the whole audit chain is verified from its first entry (the audit page verifies
    /// only entries newer than the last verified one, and the rows it shows).
    pub audit_full_verify_interval_ms: u64,
    /// Most new audit entries one view of the audit page verifies; the rest on the next view.
    pub audit_verify_rows_max: u64,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        Self {
            listen_address: "127.0.0.1:8081".to_owned(),
            session_ttl_seconds: 8 * 3600,
            sessions_per_officer_max: 8,
            cookie_secure: false,
            page_size: 25,
            page_size_max: 100,
            page_max: 400,
            body_bytes_max: 16 * 1024,
            request_timeout_ms: 15_000,
            login_concurrency_max: 4,
            queue_depth_refresh_ms: 5_000,
            session_purge_interval_ms: 300_000,
            login_username_failures_max: 5,
            login_client_failures_max: 30,
            login_failure_window_seconds: 900,
            login_lockout_base_seconds: 60,
            login_lockout_max_seconds: 3_600,
            login_throttle_rows_max: 100_000,
            trusted_proxies: Vec::new(),
            audit_full_verify_interval_ms: 3_600_000,
            audit_verify_rows_max: 10_000,
        }
    }
}
