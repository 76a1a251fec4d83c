//! Errors of the review service. Each has an HTTP status and a stable machine-readable code; the
//! JSON API answers them as `{"error": {"code", "message"}}`, the UI renders them as a page
//! ([`crate::http::pages`]). Bodies never carry internals: database messages are logged.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The `error` object of every error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable code, e.g. `bg.auth.csrf`, `bg.review.version_conflict`.
    pub code: String,
    /// Human-readable summary (English).
    pub message: String,
}

/// The JSON body of every 4xx and 5xx answer of `/v1/review`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: ErrorBody,
    /// With `bg.review.version_conflict`: the declaration's version now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i32>,
    /// With `bg.review.version_conflict`: the declaration's status now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_status: Option<i32>,
    /// With `bg.auth.throttled`: seconds until a login may be tried again (as `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// Malformed request (body, query): 400.
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// Summary.
        message: String,
    },
    /// Well-formed but invalid (reason missing, unknown customs code): 422.
    #[error("{message}")]
    Invalid {
        /// Stable code.
        code: &'static str,
        /// Summary.
        message: String,
    },
    /// No valid session: 401.
    #[error("a valid session is required; log in")]
    Unauthorized,
    /// Wrong username or password, or a disabled officer: 401.
    #[error("wrong username or password")]
    LoginFailed,
    /// A form or unsafe API call without the session's CSRF token: 403.
    #[error("the CSRF token is missing or wrong; reload the page and try again")]
    Csrf,
    /// The officer's role or assignment does not allow this: 403.
    #[error("{message}")]
    Forbidden {
        /// Stable code (`bg.auth.forbidden`, `bg.review.assigned_elsewhere`).
        code: &'static str,
        /// Summary.
        message: String,
    },
    /// Nothing under this id: 404.
    #[error("{message}")]
    NotFound {
        /// Stable code.
        code: &'static str,
        /// Summary.
        message: String,
    },
    /// The declaration changed since it was read, or its state does not allow this: 409.
    #[error("{message}")]
    Conflict {
        /// Stable code (`bg.review.version_conflict`, `bg.review.not_under_review`,
        /// `bg.review.illegal_transition`).
        code: &'static str,
        /// Summary.
        message: String,
        /// The declaration's version now.
        current_version: Option<i32>,
        /// The declaration's status now.
        current_status: Option<i32>,
    },
    /// Too many failed logins of this username or from this client: 429 with `Retry-After`; the
    /// password was not checked.
    #[error("too many failed logins; try again in {retry_after_seconds} s")]
    Throttled {
        /// Seconds until the lockout ends.
        retry_after_seconds: u64,
    },
    /// The body is larger than allowed: 413.
    #[error("body larger than {limit_bytes} bytes")]
    TooLarge {
        /// The limit in force.
        limit_bytes: usize,
    },
    /// The database is unreachable or timed out, or the request took too long: 503.
    #[error("{message}")]
    Unavailable {
        /// Stable code (`bg.database.unavailable`, `bg.request.timeout`).
        code: &'static str,
        /// Summary.
        message: String,
    },
    /// A defect: 500, details only in the log.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_SECONDS: u32 = 5;

impl ReviewError {
    /// A 422 with a code and message.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            message: message.into(),
        }
    }

    /// A 403 `bg.auth.forbidden`: the role does not allow `what`.
    pub fn role(what: &str) -> Self {
        Self::Forbidden {
            code: "bg.auth.forbidden",
            message: format!("your role may not {what}"),
        }
    }

    /// A 404 for a declaration id.
    pub fn no_declaration(id: i64) -> Self {
        Self::NotFound {
            code: "bg.review.not_found",
            message: format!("no declaration {id}"),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized | Self::LoginFailed => StatusCode::UNAUTHORIZED,
            Self::Csrf | Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Invalid { code, .. }
            | Self::Forbidden { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unavailable { code, .. } => code,
            Self::Unauthorized => "bg.auth.unauthorized",
            Self::LoginFailed => "bg.auth.login_failed",
            Self::Csrf => "bg.auth.csrf",
            Self::TooLarge { .. } => "bg.request.too_large",
            Self::Throttled { .. } => "bg.auth.throttled",
            Self::Internal(_) => "bg.internal",
        }
    }

    /// The message shown to the caller (internals stay in the log).
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => "internal error; see the service log".to_owned(),
            other => other.to_string(),
        }
    }

    /// Logs what the caller does not see; call once when the error becomes a response.
    pub fn log(&self) {
        if let Self::Internal(detail) = self {
            tracing::error!(detail, "request failed");
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorResponse {
        let (current_version, current_status) = match self {
            Self::Conflict {
                current_version,
                current_status,
                ..
            } => (*current_version, *current_status),
            _ => (None, None),
        };
        ErrorResponse {
            error: ErrorBody {
                code: self.code().to_owned(),
                message: self.public_message(),
            },
            current_version,
            current_status,
            retry_after_seconds: self.retry_after_seconds(),
        }
    }

    fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            Self::Throttled {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            _ => None,
        }
    }

    /// Headers every answer of this error carries (`Retry-After`, `WWW-Authenticate`).
    pub fn decorate(&self, response: &mut Response) {
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after_seconds() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        match self.status() {
            StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            }
            StatusCode::UNAUTHORIZED => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"bondgate-review\""),
                );
            }
            _ => {}
        }
    }
}

impl IntoResponse for ReviewError {
    fn into_response(self) -> Response {
        self.log();
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        self.decorate(&mut response);
        response
    }
}

/// PostgreSQL SQLSTATEs worth a retry: serialization failure, deadlock, lock timeout, too many
/// connections, admin shutdown, cannot connect now.
const RETRIABLE_SQLSTATES: &[&str] = &["40001", "40P01", "55P03", "53300", "57P01", "57P03"];

impl From<sqlx::Error> for ReviewError {
    fn from(error: sqlx::Error) -> Self {
        let retriable = match &error {
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|code| RETRIABLE_SQLSTATES.contains(&code.as_ref())),
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            _ => false,
        };
        if retriable {
            tracing::warn!(%error, "database unavailable");
            Self::Unavailable {
                code: "bg.database.unavailable",
                message: "the database is not available; retry later".to_owned(),
            }
        } else {
            Self::Internal(format!("database: {error}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internals_never_reach_the_body() {
        let error = ReviewError::Internal("password=hunter2 in a query".to_owned());
        let body = serde_json::to_string(&error.body()).unwrap();
        assert!(!body.contains("hunter2"), "{body}");
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn conflicts_carry_the_current_version() {
        let error = ReviewError::Conflict {
            code: "bg.review.version_conflict",
            message: "changed".into(),
            current_version: Some(3),
            current_status: Some(800),
        };
        let body = serde_json::to_value(error.body()).unwrap();
        assert_eq!(body["currentVersion"], 3);
        assert_eq!(body["currentStatus"], 800);
        assert_eq!(body["error"]["code"], "bg.review.version_conflict");
    }

    #[test]
    fn throttled_logins_say_when_to_retry() {
        let error = ReviewError::Throttled {
            retry_after_seconds: 120,
        };
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "120");
        let error = ReviewError::Throttled {
            retry_after_seconds: 120,
        };
        let body = serde_json::to_value(error.body()).unwrap();
        assert_eq!(body["error"]["code"], "bg.auth.throttled");
        assert_eq!(body["retryAfterSeconds"], 120);
    }
}
