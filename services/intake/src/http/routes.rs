//! Handlers of the `/v1` API.

use std::time::{Duration, Instant};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use bondgate_proto::Message;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::authorization;
use crate::check::{self, CheckReport, CheckRequest};
use crate::error::{ApiError, ErrorResponse};
use crate::http::AppState;
use crate::http::auth::Authenticated;
use crate::http::openapi::ApiDoc;
use crate::keys::Principal;
use crate::orders::{self, OrderStatus};
use crate::publish::OutRecord;
use crate::submission::{self, RawDocument};

/// One accepted document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedDocument {
    /// 0-based position in the request.
    pub index: usize,
    /// `order`, `payment`, `waybill`, `cancellation` or `refund`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The tracking id: the same document (same business key and content) always gets the
    /// same id; receipts echo it.
    pub tracking_id: uuid::Uuid,
    /// The order key `ebpCode/orderNo` (the Kafka record key).
    pub order_key: String,
}

/// `202 Accepted`: every document was acknowledged by the broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    /// One entry per submitted document, in request order.
    pub documents: Vec<AcceptedDocument>,
}

/// Query of `POST /v1/ceb`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CebQuery {
    /// Platform code of the waybills' orders (required for CEB511, which names no platform).
    #[serde(rename = "ebpCode")]
    #[param(rename = "ebpCode")]
    pub ebp_code: Option<String>,
}

fn require_content_type(headers: &HeaderMap, accepted: &[&'static str]) -> Result<(), ApiError> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase());
    match essence {
        Some(essence) if accepted.contains(&essence.as_str()) => Ok(()),
        _ => Err(ApiError::UnsupportedMediaType {
            expected: accepted[0],
        }),
    }
}

/// Reads at most `limit_bytes`; an announced or actual larger body is 413.
async fn read_body(headers: &HeaderMap, body: Body, limit_bytes: usize) -> Result<Bytes, ApiError> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if announced.is_some_and(|length| length > limit_bytes) {
        return Err(ApiError::TooLarge { limit_bytes });
    }
    axum::body::to_bytes(body, limit_bytes)
        .await
        .map_err(|error| {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            if too_large {
                ApiError::TooLarge { limit_bytes }
            } else {
                ApiError::bad_request(
                    "bg.request.body",
                    "",
                    format!("cannot read the body: {error}"),
                )
            }
        })
}

/// Validates, authorises and produces the documents; 202 once the broker acknowledged all.
async fn accept(
    state: &AppState,
    principal: &Principal,
    documents: Vec<RawDocument>,
    source_format: &str,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let mut records = submission::validate(documents, &state.rules)?;
    let pool = bondgate_storage::pool(&state.db);
    // Authorized first: a logistics status names its logistics company, so only that company
    // learns whether one of its waybills is unknown (no existence oracle for anyone else).
    authorization::authorize(pool, &principal.enterprise_code, &records).await?;
    submission::resolve_orders(pool, &mut records).await?;
    let at_ms = chrono::Utc::now().timestamp_millis();
    let out: Vec<OutRecord> = records
        .iter()
        .map(|record| OutRecord {
            key: record.key(),
            value: record
                .to_document(&principal.enterprise_code, source_format, at_ms)
                .encode_to_vec(),
        })
        .collect();
    if let Err(error) = state.publisher.publish(&out).await {
        tracing::warn!(error = %error, key = %principal.prefix, records = out.len(), "produce failed");
        return Err(ApiError::Unavailable {
            code: "bg.broker.unavailable",
            message: "the message broker did not acknowledge the documents; retry later \
                      (a retry is safe: the same documents get the same tracking ids)"
                .to_owned(),
            retry_after_seconds: state.config.retry_after_seconds,
        });
    }
    for record in &records {
        state
            .metrics
            .produced
            .with_label_values(&[record.kind.name()])
            .inc();
    }
    tracing::info!(key = %principal.prefix, records = records.len(), source_format, "accepted");
    let documents = records
        .iter()
        .enumerate()
        .map(|(index, record)| AcceptedDocument {
            index,
            kind: record.kind.name().to_owned(),
            tracking_id: record.tracking_id,
            order_key: record.key(),
        })
        .collect();
    Ok((StatusCode::ACCEPTED, Json(Accepted { documents })))
}

/// Submit documents as JSON.
///
/// A JSON array of 1 to 100 documents. Each is an object with `type` (`order`, `payment`,
/// `waybill`, `cancellation`, `refund`) and the raw CEB fields in their CEB (camelCase) names:
/// an order is `{"type":"order","orderHead":{...},"orderList":[...]}` (optional
/// `buyerIdentityVerified`), a refund `{"type":"refund","invtRefundHead":{...},
/// "invtRefundList":[...]}`, the others are flat (`PaymentHead`, `LogisticsHead`, `InvtCancel`
/// fields). A waybill must also name its order's platform in `ebpCode` (bondgate extension).
/// Every value is a string, as in CEB XML. The API key's enterprise must be the sender of every
/// document. All or nothing: any problem refuses the whole request and nothing is produced.
/// If the broker fails midway (503), some documents may already be on the topic; resubmitting
/// is safe because the tracking ids are deterministic and the pipeline ignores duplicates.
#[utoipa::path(
    post,
    path = "/v1/documents",
    tag = "documents",
    request_body(
        content = Vec<Object>,
        content_type = "application/json",
        example = json!(crate::http::openapi::documents_example())
    ),
    responses(
        (status = 202, description = "Acknowledged by the broker", body = Accepted),
        (status = 400, description = "Malformed JSON or not UTF-8", body = ErrorResponse),
        (status = 401, description = "No valid API key", body = ErrorResponse),
        (status = 403, description = "Not the sender of every document", body = ErrorResponse),
        (status = 413, description = "Body too large", body = ErrorResponse),
        (status = 415, description = "Not application/json", body = ErrorResponse),
        (status = 422, description = "Invalid documents; every problem listed", body = ErrorResponse,
            example = json!(crate::http::openapi::problems_example())),
        (status = 429, description = "Rate limit; see Retry-After", body = ErrorResponse),
        (status = 503, description = "Broker unavailable; see Retry-After", body = ErrorResponse),
    ),
    security(("api_key" = []))
)]
pub async fn submit_documents(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    require_content_type(&headers, &["application/json"])?;
    let bytes = read_body(&headers, body, state.config.json_body_bytes_max).await?;
    let documents = submission::parse_json(&bytes, state.config.records_per_request_max)?;
    accept(&state, &principal, documents, "json").await
}

/// Submit a CEB XML message.
///
/// A `CEB311Message`, `CEB411Message`, `CEB511Message`, `CEB623Message` or `CEB625Message`
/// with 1 to 100 records, UTF-8 or GB18030/GBK/GB2312. DTDs and entities are refused. The
/// reader's caps (elements, nesting depth, name length, attributes per element, total text)
/// are checked while it reads; a message over one is 422 with the cap's code. A CEB511 needs
/// `?ebpCode=`. Same validation, authorisation and answer as `/v1/documents`.
#[utoipa::path(
    post,
    path = "/v1/ceb",
    tag = "documents",
    params(CebQuery),
    request_body(content = String, content_type = "application/xml"),
    responses(
        (status = 202, description = "Acknowledged by the broker", body = Accepted),
        (status = 400, description = "Malformed XML, DTD or entity", body = ErrorResponse),
        (status = 401, description = "No valid API key", body = ErrorResponse),
        (status = 403, description = "Not the sender of every record", body = ErrorResponse),
        (status = 413, description = "Body too large", body = ErrorResponse),
        (status = 415, description = "Not application/xml", body = ErrorResponse),
        (status = 422, description = "Invalid records, or a reader cap exceeded (`ceb.too_many_elements`, `ceb.too_deep`, `ceb.name_too_long`, `ceb.too_many_attributes`, `ceb.text_too_large`)", body = ErrorResponse),
        (status = 429, description = "Rate limit", body = ErrorResponse),
        (status = 503, description = "Broker unavailable, every parser busy (`bg.parser.busy`) or the service stopping; see Retry-After", body = ErrorResponse),
    ),
    security(("api_key" = []))
)]
pub async fn submit_ceb(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    query: Result<Query<CebQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let Query(query) =
        query.map_err(|error| ApiError::bad_request("bg.request.query", "", error.body_text()))?;
    require_content_type(&headers, &["application/xml", "text/xml"])?;
    let deadline = Instant::now() + Duration::from_millis(state.config.request_timeout_ms);
    let bytes = read_body(&headers, body, state.config.xml_body_bytes_max).await?;
    let limits = state.config.ceb_limits();
    let message = state.parses.parse(bytes, limits, deadline).await?;
    let (documents, root) = submission::ceb_documents(message, query.ebp_code.as_deref())?;
    accept(&state, &principal, documents, root).await
}

/// Pre-flight check of one bundle.
///
/// Runs the clearance rules (matching, positive list, limits, tax, risk) on an order, payment
/// and waybill without stock and without sending anything, against the zone's account book and
/// positive list and the pipeline's rules, so the verdict is the one the pipeline will reach
/// for the same documents (stock aside). The body is `{"documents": [order, payment, waybill],
/// "annualUsedCny": "0"}`: `documents` is exactly what `POST /v1/documents` takes (one order,
/// one payment, one waybill of the same `ebpCode`/`orderNo`, in any order), validated the same
/// and refused the same way (422 `bg.request.invalid_documents` with every problem);
/// `annualUsedCny` (optional, a decimal string) is what the buyer already used of the annual
/// limit this year. Any API key may check any bundle: nothing is stored or sent.
#[utoipa::path(
    post,
    path = "/v1/check",
    tag = "check",
    request_body(
        content = CheckRequest,
        content_type = "application/json",
        example = json!(crate::http::openapi::check_example())
    ),
    responses(
        (status = 200, description = "The verdict", body = CheckReport),
        (status = 400, description = "Malformed JSON or not UTF-8", body = ErrorResponse),
        (status = 401, description = "No valid API key", body = ErrorResponse),
        (status = 413, description = "Body too large", body = ErrorResponse),
        (status = 415, description = "Not application/json", body = ErrorResponse),
        (status = 422, description = "Not `{documents, annualUsedCny}` (`bg.request.schema`), documents `/v1/documents` would refuse (`bg.request.invalid_documents`, every problem listed), or not one order, payment and waybill of one order (`bg.check.not_a_bundle`)", body = ErrorResponse,
            example = json!(crate::http::openapi::problems_example())),
        (status = 429, description = "Rate limit; see Retry-After", body = ErrorResponse),
    ),
    security(("api_key" = []))
)]
pub async fn check(
    State(state): State<AppState>,
    Authenticated(_principal): Authenticated,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<CheckReport>, ApiError> {
    require_content_type(&headers, &["application/json"])?;
    let bytes = read_body(&headers, body, state.config.json_body_bytes_max).await?;
    let request = check::parse_request(&bytes, state.config.records_per_request_max)?;
    let checked = check::bundle(request, &state.rules)?;
    // One snapshot for the whole evaluation, even if a refresh lands meanwhile.
    let reference = state.reference.current();
    Ok(Json(check::run(&checked, &reference, &state.rules)))
}

async fn load_order(
    state: &AppState,
    principal: &Principal,
    ebp_code: &str,
    order_no: &str,
) -> Result<orders::OrderRecord, ApiError> {
    let pool = bondgate_storage::pool(&state.db);
    let record = orders::load(pool, &state.cipher, ebp_code, order_no).await?;
    // Another enterprise's order is answered exactly like a missing one, so the answer does not
    // tell whether an order number exists.
    match record {
        Some(record) if record.involved.contains(&principal.enterprise_code) => Ok(record),
        _ => Err(ApiError::NotFound {
            code: "bg.order.not_found",
            message: format!("no order {ebp_code}/{order_no} of yours"),
        }),
    }
}

/// Status and receipt timeline of an order.
#[utoipa::path(
    get,
    path = "/v1/orders/{ebpCode}/{orderNo}",
    tag = "orders",
    params(
        ("ebpCode" = String, Path, description = "Platform code"),
        ("orderNo" = String, Path, description = "Order number (percent-encoded)"),
    ),
    responses(
        (status = 200, description = "Status and receipts", body = OrderStatus),
        (status = 401, description = "No valid API key", body = ErrorResponse),
        (status = 404, description = "`bg.order.not_found`: no such order, or not one the key's enterprise is involved in", body = ErrorResponse),
        (status = 429, description = "Rate limit; see Retry-After", body = ErrorResponse),
    ),
    security(("api_key" = []))
)]
pub async fn order_status(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Path((ebp_code, order_no)): Path<(String, String)>,
) -> Result<Json<OrderStatus>, ApiError> {
    let record = load_order(&state, &principal, &ebp_code, &order_no).await?;
    Ok(Json(record.status))
}

/// The order's CEB621 inventory exactly as it was declared (signed when clearance signs).
#[utoipa::path(
    get,
    path = "/v1/orders/{ebpCode}/{orderNo}/inventory.xml",
    tag = "orders",
    params(
        ("ebpCode" = String, Path, description = "Platform code"),
        ("orderNo" = String, Path, description = "Order number (percent-encoded)"),
    ),
    responses(
        (status = 200, description = "CEB621Message", content_type = "application/xml", body = String),
        (status = 401, description = "No valid API key", body = ErrorResponse),
        (status = 404, description = "`bg.order.not_found`: no such order, or not one the key's enterprise is involved in", body = ErrorResponse),
        (status = 409, description = "`bg.order.not_declared` or `bg.order.inventory_unavailable`", body = ErrorResponse),
        (status = 429, description = "Rate limit; see Retry-After", body = ErrorResponse),
    ),
    security(("api_key" = []))
)]
pub async fn order_inventory(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Path((ebp_code, order_no)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let record = load_order(&state, &principal, &ebp_code, &order_no).await?;
    let pool = bondgate_storage::pool(&state.db);
    let xml = orders::inventory_xml(pool, &state.cipher, &record).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        xml,
    ))
}

/// The OpenAPI document of this API.
pub async fn openapi_json() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}
