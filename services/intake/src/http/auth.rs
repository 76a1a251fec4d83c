//! The `Authenticated` extractor: a valid API key (`Authorization: Bearer bg_...` or
//! `X-Api-Key: bg_...`) within its rate limit.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::http::AppState;
use crate::keys::{self, Principal};

/// Header carrying the key when `Authorization` is not used.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The caller, authenticated and within its rate limit.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

fn presented_key(parts: &Parts) -> Option<&str> {
    if let Some(value) = parts.headers.get(AUTHORIZATION) {
        let text = value.to_str().ok()?.trim();
        let (scheme, key) = text.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| key.trim());
    }
    parts
        .headers
        .get(API_KEY_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = presented_key(parts).ok_or(ApiError::Unauthorized)?;
        let principal = keys::authenticate(&state.db, key)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        if let Err(wait) = state.limiter.check(principal.key_id) {
            // Rounded up, and at least 1: a client that waits as told is let in, and a wait
            // shorter than a second never becomes `Retry-After: 0` (retry at once, be refused).
            return Err(ApiError::RateLimited {
                retry_after_seconds: (wait.as_secs_f64().ceil() as u64).max(1),
            });
        }
        Ok(Self(principal))
    }
}
