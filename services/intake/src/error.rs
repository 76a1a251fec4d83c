//! Errors of the HTTP API: each has a status, a stable machine-readable code and, for refused
//! documents, every problem found with its record index and field path. Bodies never carry
//! internals (database or broker messages are logged, not returned).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The `error` object of every error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable code, e.g. `bg.request.too_many_records`, `ceb.dtd_forbidden`, `bg.auth.forbidden`.
    pub code: String,
    /// Human-readable summary.
    pub message: String,
}

/// One problem of a refused request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ApiProblem {
    /// Stable code: a customs code where one exists, else `bg.format.*`, `bg.match.*`,
    /// `bg.request.*`, `ceb.*`.
    pub code: String,
    /// 0-based index of the record in the request (absent for problems of the whole request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// CEB field path, e.g. `orderHead.goodsValue` or `orderList[0].price`.
    pub path: String,
    /// Human-readable explanation.
    pub message: String,
}

impl ApiProblem {
    /// A problem of record `index` (or of the whole request when `None`).
    pub fn new(
        code: impl Into<String>,
        index: Option<usize>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code: code.into(),
            index,
            path: path.into(),
            message: message.into(),
        }
    }
}

/// The JSON body of every 4xx and 5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorResponse {
    /// What went wrong, in one code.
    pub error: ErrorBody,
    /// Every problem found (empty when the error concerns the request as a whole).
    pub problems: Vec<ApiProblem>,
}

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Bad request syntax (malformed JSON or XML, invalid UTF-8): 400.
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: String,
        /// Summary.
        message: String,
        /// Details.
        problems: Vec<ApiProblem>,
    },
    /// The documents are well-formed but invalid: 422 with every problem.
    #[error("{message}")]
    Unprocessable {
        /// Stable code.
        code: String,
        /// Summary.
        message: String,
        /// Details.
        problems: Vec<ApiProblem>,
    },
    /// The body is larger than allowed: 413.
    #[error("body larger than {limit_bytes} bytes")]
    TooLarge {
        /// The limit in force.
        limit_bytes: usize,
    },
    /// The `Content-Type` is not the one the route takes: 415.
    #[error("unsupported content type; expected {expected}")]
    UnsupportedMediaType {
        /// What the route expects.
        expected: &'static str,
    },
    /// No valid API key: 401.
    #[error("a valid API key is required")]
    Unauthorized,
    /// The key's enterprise may not submit or read this: 403 `bg.auth.forbidden`.
    #[error("{message}")]
    Forbidden {
        /// Summary.
        message: String,
        /// The offending records, when documents were submitted.
        problems: Vec<ApiProblem>,
    },
    /// Nothing is known under this key: 404.
    #[error("{message}")]
    NotFound {
        /// Stable code.
        code: &'static str,
        /// Summary.
        message: String,
    },
    /// The resource exists but cannot be given in its current state: 409.
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Summary.
        message: String,
    },
    /// The key is over its rate limit: 429 with `Retry-After`.
    #[error("rate limit exceeded")]
    RateLimited {
        /// Seconds until the key's next request would be allowed.
        retry_after_seconds: u64,
    },
    /// The broker (or the database) did not answer in time: 503 with `Retry-After`.
    #[error("{message}")]
    Unavailable {
        /// Stable code (`bg.broker.unavailable`, `bg.database.unavailable`, `bg.request.timeout`,
        /// `bg.parser.busy`, `bg.service.stopping`).
        code: &'static str,
        /// Summary.
        message: String,
        /// Seconds to wait before retrying.
        retry_after_seconds: u32,
    },
    /// A defect or an unexpected failure: 500, details only in the log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 422 with one problem of the whole request.
    pub fn unprocessable(code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Unprocessable {
            code: code.to_owned(),
            problems: vec![ApiProblem::new(code, None, "", message.clone())],
            message,
        }
    }

    /// A 400 with one problem of the whole request.
    pub fn bad_request(code: &str, path: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::BadRequest {
            code: code.to_owned(),
            problems: vec![ApiProblem::new(code, None, path, message.clone())],
            message,
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code of this error.
    pub fn code(&self) -> &str {
        match self {
            Self::BadRequest { code, .. } | Self::Unprocessable { code, .. } => code,
            Self::TooLarge { .. } => "bg.request.too_large",
            Self::UnsupportedMediaType { .. } => "bg.request.unsupported_media_type",
            Self::Unauthorized => "bg.auth.unauthorized",
            Self::Forbidden { .. } => "bg.auth.forbidden",
            Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unavailable { code, .. } => code,
            Self::RateLimited { .. } => "bg.request.rate_limited",
            Self::Internal(_) => "bg.internal",
        }
    }

    fn into_body(self) -> ErrorResponse {
        let code = self.code().to_owned();
        let message = match &self {
            Self::Internal(_) => "internal error; see the service log".to_owned(),
            other => other.to_string(),
        };
        let problems = match self {
            Self::BadRequest { problems, .. }
            | Self::Unprocessable { problems, .. }
            | Self::Forbidden { problems, .. } => problems,
            _ => Vec::new(),
        };
        ErrorResponse {
            error: ErrorBody { code, message },
            problems,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match &self {
            Self::RateLimited {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            Self::Unavailable {
                retry_after_seconds,
                ..
            } => Some(u64::from(*retry_after_seconds)),
            _ => None,
        };
        if let Self::Internal(detail) = &self {
            tracing::error!(detail, "request failed");
        }
        let mut response = (status, axum::Json(self.into_body())).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"bondgate\""),
            );
        }
        response
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(error: sea_orm::DbErr) -> Self {
        tracing::warn!(%error, "database error");
        Self::Unavailable {
            code: "bg.database.unavailable",
            message: "the database is not available; retry later".to_owned(),
            retry_after_seconds: 5,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        tracing::warn!(%error, "database error");
        Self::Unavailable {
            code: "bg.database.unavailable",
            message: "the database is not available; retry later".to_owned(),
            retry_after_seconds: 5,
        }
    }
}
