//! The OpenAPI document of `/v1/review` (`GET /openapi.json`), generated from the handlers'
//! annotations.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::actions::{AssignRequest, Decided, DecisionKind, DecisionRequest, RejectCode};
use crate::audit::Entry;
use crate::compare::{FieldRow, Personal};
use crate::detail::{
    DeclarationView, Detail, FindingView, LineView, QuotaView, ReceiptView, TaskView,
};
use crate::error::{ErrorBody, ErrorResponse};
use crate::http::api::{
    self, Assigned, AuditEntries, AuditVerification, LoginRequest, OfficerView, RevealRequest,
    SearchResults, SessionCreated,
};
use crate::officers::Role;
use crate::queue::{Count, QueueCounts, QueueItem, QueuePage, TaskState};
use crate::search::{SearchBy, SearchRequest};

/// The API description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "bondgate review",
        description = "Customs officers' review of declarations held for manual review (300) or \
                       inspection (500): queue, detail, release / reject / inspection with \
                       optimistic concurrency, assignment, search, audited reveal of personal \
                       data, and the hash-chained audit log. Authenticate with \
                       `POST /v1/review/sessions` and send `Authorization: Bearer <token>`; the \
                       UI's session cookie also works, with `X-CSRF-Token` on unsafe methods."
    ),
    paths(
        api::login,
        api::logout,
        api::me,
        api::queue,
        api::detail,
        api::reveal,
        api::decide,
        api::assign,
        api::search,
        api::reject_codes,
        api::audit,
        api::verify_audit,
    ),
    components(schemas(
        ErrorResponse,
        ErrorBody,
        LoginRequest,
        SessionCreated,
        OfficerView,
        Role,
        QueuePage,
        QueueItem,
        QueueCounts,
        Count,
        TaskState,
        Detail,
        DeclarationView,
        TaskView,
        FieldRow,
        Personal,
        FindingView,
        LineView,
        QuotaView,
        ReceiptView,
        Entry,
        RevealRequest,
        DecisionRequest,
        DecisionKind,
        Decided,
        RejectCode,
        AssignRequest,
        Assigned,
        SearchRequest,
        SearchBy,
        SearchResults,
        AuditEntries,
        AuditVerification,
    )),
    modifiers(&Security)
)]
pub struct ApiDoc;

/// The two ways to present a session.
#[derive(Debug)]
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("session token from POST /v1/review/sessions")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("bg_review_session"))),
        );
    }
}
