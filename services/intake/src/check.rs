//! `POST /v1/check`: the domain's pre-flight of one order/payment/waybill bundle, without stock
//! and without sending anything; the verdict has the shape `bondgate check` prints.

use std::collections::BTreeMap;

use bondgate_ceb::model::{LogisticsHead, Order as RawOrder, PaymentHead};
use bondgate_domain::OutcomeSummary;
use bondgate_domain::account_book::AccountBook;
use bondgate_domain::config::RulesConfig;
use bondgate_domain::positive_list::PositiveList;
use bondgate_domain::tax::TaxRegime;
use bondgate_domain::{
    EvalContext, Evaluation, Order, OrderBundle, Payment, Problem, Waybill, evaluate,
};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// The bundle to check.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckRequest {
    /// The CEB311 order: `{"orderHead": {...}, "orderList": [...]}`.
    #[schema(value_type = Object)]
    pub order: RawOrder,
    /// The CEB411 payment head.
    #[schema(value_type = Object)]
    pub payment: PaymentHead,
    /// The CEB511 waybill head.
    #[schema(value_type = Object)]
    pub waybill: LogisticsHead,
    /// The platform verified the buyer's identity, so the payer may differ.
    #[serde(default)]
    pub buyer_identity_verified: bool,
    /// What the buyer already used of the annual limit this year, CNY (default 0).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub annual_used_cny: Option<Decimal>,
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

/// The verdict, as `bondgate check` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// 800 release, 300 hold for review, 100 reject.
    pub status: u16,
    /// Rejection codes (`-621005`, `13035`, `bg.format.*`) or hold codes (`bg.risk.*`).
    pub codes: Vec<String>,
    /// One explanation per problem.
    pub reasons: Vec<String>,
    /// Tax totals (zero when the lines could not be resolved).
    pub tax: TaxReport,
    /// Tax per line.
    pub lines: Vec<LineReport>,
    /// What a receipt's `returnStatus` would say: 800, 300, 100 or the first negative code.
    pub return_status: i32,
    /// `cbec` or `full`; absent when nothing was evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regime: Option<&'static str>,
    /// Goods + freight + insurance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dutiable_value: Option<String>,
    /// Mismatches between and within the documents.
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<serde_json::Value>,
    /// Fields that did not parse, with their CEB paths.
    #[schema(value_type = Vec<Object>)]
    pub problems: Vec<serde_json::Value>,
}

/// Parses the request body strictly, reporting the path of a schema problem.
pub fn parse_request(bytes: &[u8]) -> Result<CheckRequest, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_request(
                "bg.request.malformed_json",
                "",
                format!("malformed JSON: {inner}"),
            )
        } else {
            let path = if path == "." { String::new() } else { path };
            ApiError::Unprocessable {
                code: "bg.request.schema".to_owned(),
                message: inner.to_string(),
                problems: vec![crate::error::ApiProblem::new(
                    "bg.request.schema",
                    None,
                    path,
                    inner.to_string(),
                )],
            }
        }
    })
}

/// Runs the check.
pub fn run(request: &CheckRequest, book: &AccountBook, list: &PositiveList) -> CheckReport {
    let parsed = (
        Order::parse(&request.order),
        Payment::parse(&request.payment),
        Waybill::parse(&request.waybill),
    );
    let bundle = match parsed {
        (Ok(order), Ok(payment), Ok(waybill)) => OrderBundle {
            order,
            payment,
            waybill,
        },
        (order, payment, waybill) => {
            let problems = [order.err(), payment.err(), waybill.err()]
                .into_iter()
                .flatten()
                .flatten()
                .collect();
            return report_of_problems(problems);
        }
    };
    let config = RulesConfig::default();
    let weights = BTreeMap::new();
    let ctx = EvalContext {
        account_book: book,
        positive_list: list,
        config: &config,
        buyer_annual_used_cny: request.annual_used_cny.unwrap_or(Decimal::ZERO),
        weight_used_kg: &weights,
        buyer_identity_verified: request.buyer_identity_verified,
    };
    report_of_evaluation(&evaluate(&bundle, &ctx))
}

/// CNY with exactly two decimals, half away from zero like the tax engine.
fn money(value: Decimal) -> String {
    let mut rounded = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    rounded.to_string()
}

fn tax_report(customs: Decimal, vat: Decimal, consumption: Decimal, total: Decimal) -> TaxReport {
    TaxReport {
        customs: money(customs),
        vat: money(vat),
        consumption: money(consumption),
        total: money(total),
    }
}

fn report_of_problems(problems: Vec<Problem>) -> CheckReport {
    let mut codes: Vec<String> = Vec::new();
    for problem in &problems {
        if !codes.iter().any(|code| *code == problem.code) {
            codes.push(problem.code.to_string());
        }
    }
    CheckReport {
        status: 100,
        codes,
        reasons: problems
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect(),
        tax: tax_report(Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO),
        lines: Vec::new(),
        return_status: 100,
        regime: None,
        dutiable_value: None,
        findings: Vec::new(),
        problems: problems.iter().map(to_json).collect(),
    }
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
    let tax = &evaluation.tax;
    CheckReport {
        status,
        codes,
        reasons,
        tax: tax_report(tax.customs, tax.vat, tax.consumption, tax.total),
        lines: evaluation
            .lines
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
        regime: Some(match evaluation.regime {
            TaxRegime::Cbec => "cbec",
            TaxRegime::Full => "full",
        }),
        dutiable_value: Some(money(evaluation.dutiable_value)),
        findings: evaluation.findings.iter().map(to_json).collect(),
        problems: Vec::new(),
    }
}
