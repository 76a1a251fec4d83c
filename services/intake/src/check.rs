//! `POST /v1/check`: the domain's pre-flight of one order/payment/waybill bundle, without stock
//! and without sending anything; the verdict has the shape `bondgate check` prints.
//!
//! The documents come exactly as `POST /v1/documents` takes them and pass the same validation,
//! refused the same way (422 `bg.request.invalid_documents` with every problem); a valid bundle
//! is evaluated against the database's reference data and the configured rules, the pipeline's
//! own, so the verdict is the one the pipeline will reach (stock and the buyer's stored history
//! aside: give `annualUsedCny`).

use std::collections::BTreeMap;

use bondgate_domain::OutcomeSummary;
use bondgate_domain::config::RulesConfig;
use bondgate_domain::tax::TaxRegime;
use bondgate_domain::{
    EvalContext, Evaluation, Order, OrderBundle, Payment, Problem, Waybill, evaluate,
};
use bondgate_storage::reference::ReferenceData;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiProblem};
use crate::submission::{self, Kind, RawDocument};

/// The bundle to check (the documents are validated, not sent).
#[derive(Debug, Clone, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CheckRequest {
    /// The order, its payment and its waybill, each exactly as `POST /v1/documents` takes it
    /// (`{"type": "order", "orderHead": ..., "orderList": ..., "buyerIdentityVerified": ...}`,
    /// `{"type": "payment", ...}`, `{"type": "waybill", "ebpCode": ..., ...}`), in any order.
    #[schema(value_type = Vec<Object>)]
    pub documents: Vec<RawDocument>,
    /// What the buyer already used of the annual limit this year, CNY (default 0).
    #[schema(value_type = Option<String>)]
    pub annual_used_cny: Option<Decimal>,
}

/// The documents of a check, validated as `/v1/documents` validates them.
#[derive(Debug, Clone)]
pub struct CheckedBundle {
    /// The three documents.
    pub bundle: OrderBundle,
    /// The order carries `buyerIdentityVerified`.
    pub buyer_identity_verified: bool,
    /// `annualUsedCny`, 0 when absent.
    pub annual_used_cny: Decimal,
}

/// Tax totals, CNY with two decimals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TaxReport {
    /// Customs duty.
    pub customs: String,
    /// Import VAT.
    pub vat: String,
    /// Consumption tax.
    pub consumption: String,
    /// Sum of the three.
    pub total: String,
}

/// The tax of one order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineReport {
    /// Line number.
    pub gnum: u32,
    /// Account-book item number.
    pub item_record_no: String,
    /// HS code.
    pub gcode: String,
    /// Dutiable price of the line.
    pub tax_price: String,
    /// Import VAT.
    pub vat: String,
    /// Consumption tax.
    pub consumption: String,
    /// Customs duty.
    pub customs: String,
}

/// One receipt the merchant will receive for the declaration, as CEB622 carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptReport {
    /// `returnStatus`: 2, 120, 800, 300, 100 or a negative customs code.
    pub return_status: i32,
    /// `returnInfo`.
    pub return_info: String,
}

/// The receipts of the declaration of `bundle` decided as `evaluation`, in the order customs
/// sends them: the domain's, which the pipeline stores too.
pub fn receipts_of(bundle: &OrderBundle, evaluation: &Evaluation) -> Vec<ReceiptReport> {
    let order = &bundle.order;
    bondgate_domain::receipts::declaration(
        order.ebc_code.as_str(),
        order.key.order_no.as_str(),
        &evaluation.outcome,
    )
    .into_iter()
    .map(|receipt| ReceiptReport {
        return_status: receipt.status.code(),
        return_info: receipt.info,
    })
    .collect()
}

/// The verdict, as `bondgate check` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// 800 release, 300 hold for review, 100 reject.
    pub status: u16,
    /// Rejection codes (`-621005`, `13035`) or hold codes (`bg.risk.*`).
    pub codes: Vec<String>,
    /// One explanation per problem.
    pub reasons: Vec<String>,
    /// Tax totals the declaration will carry (zero when it is rejected, as the pipeline
    /// declares it).
    pub tax: TaxReport,
    /// Tax per line of the declaration (none when it is rejected).
    pub lines: Vec<LineReport>,
    /// The `returnStatus` of the decision's receipt: 800, 300, 100 or the first negative code.
    pub return_status: i32,
    /// Every receipt of the declaration, in order (`2`, `120`, `800`; `2`, `-621005`; ...).
    pub receipts: Vec<ReceiptReport>,
    /// `cbec` or `full`.
    pub regime: &'static str,
    /// Goods + freight + insurance.
    pub dutiable_value: String,
    /// Mismatches between and within the documents.
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<serde_json::Value>,
}

/// The request's fields besides the documents.
const ANNUAL_USED: &str = "annualUsedCny";
const DOCUMENTS: &str = "documents";

/// Parses the request body: 400 for bytes that are not JSON, 422 for a body that is not
/// `{"documents": [...], "annualUsedCny": ...}` or documents `/v1/documents` would refuse.
pub fn parse_request(bytes: &[u8], records_max: usize) -> Result<CheckRequest, ApiError> {
    let Value::Object(mut fields) = submission::parse_json_value(bytes)? else {
        return Err(schema(
            "",
            "the body must be a JSON object with `documents`",
        ));
    };
    let annual_used_cny = annual_used(&mut fields)?;
    let elements = match fields.remove(DOCUMENTS) {
        Some(Value::Array(elements)) => elements,
        Some(_) => return Err(schema(DOCUMENTS, "documents must be a JSON array")),
        None => return Err(schema(DOCUMENTS, "missing field `documents`")),
    };
    if let Some(unknown) = fields.keys().next() {
        return Err(schema(
            unknown,
            format!("unknown field `{unknown}`, expected `{DOCUMENTS}` or `{ANNUAL_USED}`"),
        ));
    }
    Ok(CheckRequest {
        documents: submission::json_documents(elements, records_max)?,
        annual_used_cny,
    })
}

fn annual_used(fields: &mut Map<String, Value>) -> Result<Option<Decimal>, ApiError> {
    let amount = match fields.remove(ANNUAL_USED) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => text.trim().parse::<Decimal>().ok(),
        Some(_) => None,
    };
    match amount {
        Some(amount) if !amount.is_sign_negative() => Ok(Some(amount)),
        _ => Err(schema(
            ANNUAL_USED,
            "annualUsedCny must be a non-negative decimal string, e.g. \"1200.50\"",
        )),
    }
}

fn schema(path: &str, message: impl Into<String>) -> ApiError {
    let message = message.into();
    ApiError::Unprocessable {
        code: "bg.request.schema".to_owned(),
        problems: vec![ApiProblem::new(
            "bg.request.schema",
            None,
            path,
            message.clone(),
        )],
        message,
    }
}

/// Validates the documents exactly as `/v1/documents` does (same problems, same answer) and
/// requires one order, one payment and one waybill of the same order key: what the pipeline
/// joins into a bundle.
pub fn bundle(request: CheckRequest, rules: &RulesConfig) -> Result<CheckedBundle, ApiError> {
    let records = submission::validate(request.documents.clone(), rules)?;
    let not_a_bundle = |message: String| ApiError::Unprocessable {
        code: "bg.check.not_a_bundle".to_owned(),
        message,
        problems: Vec::new(),
    };
    let kinds: Vec<Kind> = records.iter().map(|record| record.kind).collect();
    if kinds.len() != 3
        || [Kind::Order, Kind::Payment, Kind::Waybill]
            .iter()
            .any(|k| !kinds.contains(k))
    {
        let names: Vec<&str> = kinds.iter().map(|kind| kind.name()).collect();
        return Err(not_a_bundle(format!(
            "a check takes one order, one payment and one waybill; got {}",
            names.join(", ")
        )));
    }
    let keys: Vec<String> = records.iter().map(submission::Record::key).collect();
    if keys.iter().any(|key| *key != keys[0]) {
        return Err(not_a_bundle(format!(
            "the documents name different orders ({}): the pipeline would never join them",
            keys.join(", ")
        )));
    }
    let (bundle, buyer_identity_verified) =
        parse_bundle(request.documents).map_err(submission::invalid)?;
    Ok(CheckedBundle {
        bundle,
        buyer_identity_verified,
        annual_used_cny: request.annual_used_cny.unwrap_or(Decimal::ZERO),
    })
}

/// The domain's documents of the raw ones. They passed [`submission::validate`], so a problem
/// here would be a defect; it is answered as a refused document rather than a crash.
fn parse_bundle(documents: Vec<RawDocument>) -> Result<(OrderBundle, bool), Vec<ApiProblem>> {
    let (mut order, mut payment, mut waybill, mut verified) = (None, None, None, false);
    let mut problems = Vec::new();
    let mut note = |index: usize, found: Vec<Problem>| {
        problems.extend(
            found
                .into_iter()
                .map(|p| ApiProblem::new(p.code.into_owned(), Some(index), p.path, p.message)),
        );
    };
    for (index, document) in documents.into_iter().enumerate() {
        match document {
            RawDocument::Order(raw, vouched) => {
                verified = vouched;
                order = Order::parse(&raw).map_err(|found| note(index, found)).ok();
            }
            RawDocument::Payment(raw) => {
                payment = Payment::parse(&raw)
                    .map_err(|found| note(index, found))
                    .ok();
            }
            RawDocument::Waybill(raw, _) => {
                waybill = Waybill::parse(&raw)
                    .map_err(|found| note(index, found))
                    .ok();
            }
            RawDocument::Cancellation(_)
            | RawDocument::Refund(_)
            | RawDocument::LogisticsStatus(_) => {}
        }
    }
    match (order, payment, waybill) {
        (Some(order), Some(payment), Some(waybill)) if problems.is_empty() => Ok((
            OrderBundle {
                order,
                payment,
                waybill,
            },
            verified,
        )),
        _ => Err(problems),
    }
}

/// Evaluates the bundle as the pipeline does, without stock and without the buyer's stored
/// history (the request's `annualUsedCny` stands for it).
pub fn run(checked: &CheckedBundle, reference: &ReferenceData, rules: &RulesConfig) -> CheckReport {
    // No history: the buyer's weight bought this year is unknown to a pre-flight, so zero.
    let weights = BTreeMap::new();
    let ctx = EvalContext {
        account_book: &reference.account_book,
        positive_list: &reference.positive_list,
        config: rules,
        buyer_annual_used_cny: checked.annual_used_cny,
        weight_used_kg: &weights,
        buyer_identity_verified: checked.buyer_identity_verified,
    };
    let evaluation = evaluate(&checked.bundle, &ctx);
    let mut report = report_of_evaluation(&evaluation);
    report.receipts = receipts_of(&checked.bundle, &evaluation);
    report
}

/// CNY with exactly two decimals, half away from zero like the tax engine.
fn money(value: Decimal) -> String {
    let mut rounded = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    rounded.to_string()
}

fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn report_of_evaluation(evaluation: &Evaluation) -> CheckReport {
    let OutcomeSummary {
        status,
        codes,
        reasons,
    } = evaluation.outcome.summary();
    // What the declaration will carry: a rejection levies no tax and keeps no lines.
    let tax = evaluation.levied_tax();
    CheckReport {
        status,
        codes,
        reasons,
        tax: TaxReport {
            customs: money(tax.customs),
            vat: money(tax.vat),
            consumption: money(tax.consumption),
            total: money(tax.total),
        },
        lines: evaluation
            .levied_lines()
            .iter()
            .map(|line| LineReport {
                gnum: line.gnum,
                item_record_no: line.item_record_no.clone(),
                gcode: line.gcode.to_string(),
                tax_price: money(line.tax_price),
                vat: money(line.vat),
                consumption: money(line.consumption),
                customs: money(line.customs),
            })
            .collect(),
        return_status: evaluation.outcome.status().code(),
        receipts: Vec::new(),
        regime: match evaluation.regime {
            TaxRegime::Cbec => "cbec",
            TaxRegime::Full => "full",
        },
        dutiable_value: money(evaluation.dutiable_value),
        findings: evaluation.findings.iter().map(to_json).collect(),
    }
}
