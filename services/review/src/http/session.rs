//! How callers are recognised.
//!
//! * The UI uses the session cookie `bg_review_session` (HttpOnly, SameSite=Strict, Path=/,
//!   `Secure` when `cookie_secure`). Every form carries the session's CSRF token in a hidden
//!   `csrf` field, checked by [`Posted`] before the handler runs; the login form, which has no
//!   session yet, carries a token that must equal the `bg_review_login` cookie (double submit).
//! * The JSON API takes `Authorization: Bearer <token>` (from `POST /v1/review/sessions`), which
//!   a browser never sends on its own, so no CSRF token is needed; or the UI's cookie, in which
//!   case every unsafe method must also send the session's CSRF token in `X-CSRF-Token`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

use crate::error::ReviewError;
use crate::http::AppState;
use crate::http::client::ClientAddress;
use crate::http::pages;
use crate::http::redirect::local_target;
use crate::i18n::{LANG_COOKIE, Lang};
use crate::sessions::{self, Session};
use crate::throttle::{self, Key};

/// The session cookie.
pub const SESSION_COOKIE: &str = "bg_review_session";
/// The login form's CSRF cookie.
pub const LOGIN_CSRF_COOKIE: &str = "bg_review_login";
/// Header of the CSRF token for cookie-authenticated API calls.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name`, from every `Cookie` header.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, `max_age_seconds` (0 deletes).
pub fn set_cookie(name: &str, value: &str, max_age_seconds: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}"
    );
    HeaderValue::from_str(&text).expect("cookie names and hex values are valid header text")
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let text = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = text.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// An API caller: its session and how it authenticated.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The session.
    pub session: Session,
    /// True when it came with a bearer token (no CSRF token needed).
    pub bearer: bool,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ReviewError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ReviewError> {
        let (token, is_bearer) = match bearer(&parts.headers) {
            Some(token) => (token, true),
            None => (
                cookie(&parts.headers, SESSION_COOKIE).ok_or(ReviewError::Unauthorized)?,
                false,
            ),
        };
        let session = sessions::find(&state.pool, token)
            .await?
            .ok_or(ReviewError::Unauthorized)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !is_bearer && !safe {
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            if !session.csrf_matches(presented) {
                return Err(ReviewError::Csrf);
            }
        }
        Ok(Self {
            session,
            bearer: is_bearer,
        })
    }
}

impl FromRequestParts<AppState> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(cookie(&parts.headers, LANG_COOKIE).map_or_else(Lang::default, Lang::from_tag))
    }
}

/// A page's viewer: a live session from the cookie, else a redirect to the login page.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The session.
    pub session: Session,
    /// The UI language.
    pub lang: Lang,
}

/// Why a page cannot be shown.
#[derive(Debug)]
pub enum PageRejection {
    /// No session: to the login page, then back to `next`.
    Login {
        /// Where to go after logging in (a local path).
        next: String,
    },
    /// Anything else, rendered as an error page.
    Error(ReviewError, Lang),
}

impl IntoResponse for PageRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Login { next } => {
                let query =
                    serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
                Redirect::to(&format!("/login?{query}")).into_response()
            }
            Self::Error(error, lang) => pages::error_page(error, lang),
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = cookie(&parts.headers, LANG_COOKIE).map_or_else(Lang::default, Lang::from_tag);
        let next = if parts.method == Method::GET {
            local_target(parts.uri.path_and_query().map(|p| p.as_str()))
        } else {
            local_target(None)
        };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(PageRejection::Login { next });
        };
        match sessions::find(&state.pool, token).await {
            Ok(Some(session)) => Ok(Self { session, lang }),
            Ok(None) => Err(PageRejection::Login { next }),
            Err(error) => Err(PageRejection::Error(error.into(), lang)),
        }
    }
}

/// The hidden field every form carries.
#[derive(Debug, serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A form posted by a logged-in officer, its CSRF token checked before the handler runs.
#[derive(Debug)]
pub struct Posted<T> {
    /// Who posted it.
    pub viewer: Viewer,
    /// The form's fields.
    pub form: T,
}

/// Reads a body of at most `limit` bytes; more is 413.
pub async fn body_bytes(request: Request, limit: usize) -> Result<Bytes, ReviewError> {
    axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| ReviewError::TooLarge { limit_bytes: limit })
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Posted<T> {
    type Rejection = PageRejection;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let lang = viewer.lang;
        let bytes = body_bytes(
            Request::from_parts(parts, body),
            state.config.body_bytes_max,
        )
        .await
        .map_err(|error| PageRejection::Error(error, lang))?;
        let field: CsrfField = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| PageRejection::Error(ReviewError::Csrf, lang))?;
        if !viewer.session.csrf_matches(&field.csrf) {
            return Err(PageRejection::Error(ReviewError::Csrf, lang));
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|error| {
            PageRejection::Error(
                ReviewError::BadRequest {
                    code: "bg.request.form",
                    message: format!("the form does not parse: {error}"),
                },
                lang,
            )
        })?;
        Ok(Self { viewer, form })
    }
}

/// The username a failed login is counted and audited under: the attempted one when it is
/// shaped like a username, else one shared name (such attempts cannot match an account).
fn attempted(username: &str) -> String {
    if crate::officers::valid_username(username) {
        username.to_owned()
    } else {
        "(invalid username)".to_owned()
    }
}

/// A login attempt: who claims to be whom, from where.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The username, trimmed.
    pub username: &'a str,
    /// The password as typed.
    pub password: &'a str,
    /// The client's counted address.
    pub client: &'a ClientAddress,
}

/// Checks a password (at most `login_concurrency_max` at once) and opens a session. While the
/// username or the client is locked out the attempt is refused ([`ReviewError::Throttled`])
/// before the password is checked. `None`: wrong username or password, or a disabled account;
/// the failure is counted, and audited only when it starts a lockout.
pub async fn log_in(
    state: &AppState,
    attempt: &Attempt<'_>,
) -> Result<Option<(String, Session)>, ReviewError> {
    let keys = [
        Key::username(&attempted(attempt.username)),
        Key::client(&attempt.client.0),
    ];
    refuse_if_locked(state, &keys).await?;
    let permit = state
        .login_gate
        .acquire()
        .await
        .map_err(|_| ReviewError::Internal("login gate closed".to_owned()))?;
    // Attempts that queued at the gate while a lockout began are refused too, so a burst of
    // guesses gets at most as many password checks as the gate lets through at once.
    refuse_if_locked(state, &keys).await?;
    let verified = crate::officers::verify(&state.pool, attempt.username, attempt.password)
        .await
        .map_err(|error| match error {
            crate::officers::OfficerError::Db(db) => ReviewError::from(db),
            other => ReviewError::Internal(other.to_string()),
        })?;
    drop(permit);
    match verified {
        Some(officer) => open_session(state, &officer, &keys[0]).await.map(Some),
        None => {
            count_failure(state, attempt, &keys).await?;
            Ok(None)
        }
    }
}

async fn refuse_if_locked(state: &AppState, keys: &[Key]) -> Result<(), ReviewError> {
    match throttle::locked(&state.pool, keys).await? {
        Some(retry_after_seconds) => {
            state.metrics.logins.with_label_values(&["throttled"]).inc();
            Err(ReviewError::Throttled {
                retry_after_seconds,
            })
        }
        None => Ok(()),
    }
}

/// Opens the session, forgets the username's failed logins, audits the login.
async fn open_session(
    state: &AppState,
    officer: &crate::officers::Verified,
    username_key: &Key,
) -> Result<(String, Session), ReviewError> {
    let ttl = chrono::Duration::seconds(
        i64::try_from(state.config.session_ttl_seconds).unwrap_or(i64::MAX / 1_000),
    );
    let mut tx = state.pool.begin().await?;
    let opened =
        sessions::open(&mut tx, officer, ttl, state.config.sessions_per_officer_max).await?;
    throttle::forget(&mut tx, username_key).await?;
    let entry = crate::audit::NewEntry {
        actor: officer.username.clone(),
        action: "login",
        subject: "session".to_owned(),
        reason: String::new(),
        detail: serde_json::json!({}),
    };
    crate::audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    state.metrics.logins.with_label_values(&["success"]).inc();
    Ok(opened)
}

/// Counts a failed login against each key; a lockout it starts is audited, once.
async fn count_failure(
    state: &AppState,
    attempt: &Attempt<'_>,
    keys: &[Key],
) -> Result<(), ReviewError> {
    let policies = throttle::Policies::of(&state.config);
    let mut tx = state.pool.begin().await?;
    let started = throttle::record_failure(&mut tx, keys, &policies).await?;
    for lockout in &started {
        crate::audit::append(&mut tx, &lockout_entry(attempt, lockout)).await?;
    }
    tx.commit().await?;
    state.metrics.logins.with_label_values(&["failure"]).inc();
    for lockout in &started {
        let scope = lockout.key.scope.as_str();
        state
            .metrics
            .login_lockouts
            .with_label_values(&[scope])
            .inc();
        tracing::warn!(
            scope,
            key = %lockout.key.value,
            failures = lockout.failures,
            lockout_seconds = lockout.lockout.num_seconds(),
            "failed logins: lockout started"
        );
    }
    Ok(())
}

/// The audit entry of a lockout: the attempted username is the actor, the client address is
/// in the detail (where the guesses came from).
fn lockout_entry(attempt: &Attempt<'_>, lockout: &throttle::Started) -> crate::audit::NewEntry {
    crate::audit::NewEntry {
        actor: attempted(attempt.username),
        action: "login_locked",
        subject: format!("{}:{}", lockout.key.scope.as_str(), lockout.key.value),
        reason: String::new(),
        detail: serde_json::json!({
            "scope": lockout.key.scope.as_str(),
            "client": attempt.client.0,
            "failures": lockout.failures,
            "lockoutSeconds": lockout.lockout.num_seconds(),
        }),
    }
}

/// Ends a session, audited.
pub async fn log_out(state: &AppState, session: &Session) -> Result<(), ReviewError> {
    let mut tx = state.pool.begin().await?;
    sessions::close(&mut tx, &session.token_hash).await?;
    let entry = crate::audit::NewEntry {
        actor: session.username.clone(),
        action: "logout",
        subject: "session".to_owned(),
        reason: String::new(),
        detail: serde_json::json!({}),
    };
    crate::audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

/// A JSON body of at most the service's body limit.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ReviewError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ReviewError> {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.trim_start().starts_with("application/json"));
        if !json {
            return Err(ReviewError::BadRequest {
                code: "bg.request.content_type",
                message: "the body must be application/json".to_owned(),
            });
        }
        let bytes = body_bytes(request, state.config.body_bytes_max).await?;
        serde_json::from_slice(&bytes)
            .map(Self)
            .map_err(|error| ReviewError::BadRequest {
                code: "bg.request.json",
                message: format!("the body does not parse: {error}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_several() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; bg_review_lang=en"),
        );
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("bg_review_session=abc"),
        );
        assert_eq!(cookie(&headers, "bg_review_lang"), Some("en"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn session_cookies_are_http_only_and_strict() {
        let value = set_cookie(SESSION_COOKIE, "t0k", 60, true);
        let text = value.to_str().unwrap();
        assert!(
            text.contains("HttpOnly") && text.contains("SameSite=Strict"),
            "{text}"
        );
        assert!(text.ends_with("; Secure"), "{text}");
        assert!(
            !set_cookie("x", "y", 0, false)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }
}
