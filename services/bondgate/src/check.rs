//! `bondgate check`: evaluates one order/payment/waybill bundle as the clearance pipeline would,
//! without stock, and prints the verdict as JSON.
//!
//! The pipeline's inputs are used: the account book and positive list of the database (unless
//! CSV files or the SAMPLE seed are asked for, for offline runs; the report's `reference` says
//! which) and the rules the services are configured with (`[rules]`).
//!
//! Merchants pre-flight their documents with it, so every outcome of the rules is a verdict
//! (exit 0), including documents whose fields do not parse (status 100 with the format codes and
//! field paths). Only input that cannot be a bundle at all — an unreadable file, bytes that are
//! not a CEB message, the wrong message type for a flag — exits 2 without a verdict.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use bondgate_ceb::model::{LogisticsHead, Order as RawOrder, PaymentHead};
use bondgate_ceb::sign::SigningKey;
use bondgate_ceb::{CebMessage, Declaration};
use bondgate_domain::OutcomeSummary;
use bondgate_domain::config::RulesConfig;
use bondgate_domain::matching::Finding;
use bondgate_domain::tax::TaxRegime;
use bondgate_domain::{
    EvalContext, Evaluation, Order, OrderBundle, Outcome, Payment, Problem, Waybill, evaluate,
};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use bondgate_intake::check::{ReceiptReport, receipts_of};

use crate::ceb::read_message;
use crate::database::DatabaseArgs;
use crate::declare::{beijing_now, declaration_ids, signed_inventory_xml};
use crate::error::{InputError, read_file};
use crate::reference::{ReferenceData, Source};

/// Flags of `bondgate check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The CEB311 order; the first record is checked.
    #[arg(long, value_name = "O.xml")]
    pub order: PathBuf,
    /// The CEB411 payment; the first record is checked.
    #[arg(long, value_name = "P.xml")]
    pub payment: PathBuf,
    /// The CEB511 waybill; the first record is checked.
    #[arg(long, value_name = "W.xml")]
    pub waybill: PathBuf,
    /// Account book CSV: check offline against it and --positive-list instead of the database.
    #[arg(long, value_name = "ITEMS.csv", requires = "positive_list")]
    pub account_book: Option<PathBuf>,
    /// Positive list CSV: check offline against it and --account-book instead of the database.
    #[arg(long, value_name = "LIST.csv", requires = "account_book")]
    pub positive_list: Option<PathBuf>,
    /// Check offline against the SAMPLE data compiled into bondgate (demos, tests), not a zone's.
    #[arg(long, conflicts_with_all = ["account_book", "positive_list"])]
    pub sample_seed: bool,
    /// The database whose account book and positive list are used when neither the files nor
    /// --sample-seed are given.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// What the buyer has already used of the annual limit this year, CNY.
    #[arg(long, value_name = "AMOUNT", default_value = "0")]
    pub annual_used: Decimal,
    /// The platform verified the buyer's identity, so the payer may differ from the buyer.
    #[arg(long)]
    pub buyer_verified: bool,
    /// Also write the signed 1210 CEB621 inventory of a declarable bundle to this file.
    #[arg(long, value_name = "OUT.xml")]
    pub emit_inventory: Option<PathBuf>,
    /// SM2 key (PKCS#8 PEM) to sign the inventory with; default: a freshly generated key.
    #[arg(long, value_name = "KEY.pem", requires = "emit_inventory")]
    pub signing_key: Option<PathBuf>,
}

/// The first record of each of the three messages, and notes about what was left out.
#[derive(Debug)]
pub struct RawBundle {
    /// The CEB311 order.
    pub order: RawOrder,
    /// The CEB411 payment.
    pub payment: PaymentHead,
    /// The CEB511 waybill.
    pub waybill: LogisticsHead,
    /// E.g. that a file held more records than the one checked.
    pub notes: Vec<String>,
}

/// Tax totals as decimal strings with two decimals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineReport {
    /// Line number.
    pub gnum: u32,
    /// Account-book item number.
    pub item_record_no: String,
    /// HS code.
    pub gcode: String,
    /// Dutiable price of the line (its share of freight and insurance included).
    pub tax_price: String,
    /// Import VAT.
    pub vat: String,
    /// Consumption tax.
    pub consumption: String,
    /// Customs duty.
    pub customs: String,
}

/// What `--emit-inventory` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryReport {
    /// The file.
    pub file: PathBuf,
    /// Root and head `guid`.
    pub guid: String,
    /// Placeholder pre-entry number.
    pub pre_no: String,
    /// Enterprise document number.
    pub cop_no: String,
    /// The key was generated for this run (not a registered certificate).
    pub generated_key: bool,
}

/// The verdict printed by `bondgate check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// Where the account book and positive list came from: `database`, `files` or
    /// `sample seed`.
    pub reference: Source,
    /// 800 release, 300 hold for review, 100 reject.
    pub status: u16,
    /// Rejection codes (`-621005`, `-900102`, `13035`, format codes `bg.format.*`) or hold
    /// codes (`bg.risk.*`), unique, in the order found.
    pub codes: Vec<String>,
    /// One explanation per problem.
    pub reasons: Vec<String>,
    /// Tax totals the declaration will carry (zero when it is rejected, as the pipeline
    /// declares it).
    pub tax: TaxReport,
    /// Tax per line of the declaration (none when it is rejected).
    pub lines: Vec<LineReport>,
    /// What customs would put in the receipt's `returnStatus`: 800, 300, 100 or the first
    /// negative customs code.
    pub return_status: i32,
    /// Every receipt the declaration would get, in order (none when the documents did not parse).
    pub receipts: Vec<ReceiptReport>,
    /// `cbec` (70 % of VAT and consumption tax) or `full`; absent when nothing was evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regime: Option<&'static str>,
    /// Goods + freight + insurance, the amount the limits compare by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dutiable_value: Option<String>,
    /// Mismatches between and within the documents.
    pub findings: Vec<Finding>,
    /// Fields that did not parse, with their CEB paths.
    pub problems: Vec<Problem>,
    /// Remarks about the run (records skipped, inventory not written, ...).
    pub notes: Vec<String>,
    /// The inventory written by `--emit-inventory`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inventory: Option<InventoryReport>,
}

/// Status of a rejection in the report (the negative code, if any, is in `returnStatus`).
pub const STATUS_REJECTED: u16 = 100;
/// Status of a hold.
pub const STATUS_HOLD: u16 = 300;
/// Status of a release.
pub const STATUS_RELEASED: u16 = 800;

/// Formats CNY with exactly two decimals, rounding half away from zero like the tax engine.
pub fn money(value: Decimal) -> String {
    let mut rounded = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    rounded.to_string()
}

/// Reads the three files and keeps the first record of each.
pub fn load_bundle(args: &CheckArgs) -> Result<RawBundle, InputError> {
    let mut notes = Vec::new();
    let order = match read_message(&args.order)? {
        CebMessage::Ceb311(message) => first_record(&args.order, message, &mut notes)?,
        other => return Err(wrong(&args.order, "--order", "CEB311", &other)),
    };
    let payment = match read_message(&args.payment)? {
        CebMessage::Ceb411(message) => first_record(&args.payment, message, &mut notes)?,
        other => return Err(wrong(&args.payment, "--payment", "CEB411", &other)),
    };
    let waybill = match read_message(&args.waybill)? {
        CebMessage::Ceb511(message) => first_record(&args.waybill, message, &mut notes)?,
        other => return Err(wrong(&args.waybill, "--waybill", "CEB511", &other)),
    };
    Ok(RawBundle {
        order,
        payment,
        waybill,
        notes,
    })
}

fn wrong(path: &Path, flag: &'static str, expected: &'static str, got: &CebMessage) -> InputError {
    InputError::WrongMessage {
        path: path.to_owned(),
        flag,
        expected,
        actual: got.code(),
    }
}

fn first_record<T>(
    path: &Path,
    message: Declaration<T>,
    notes: &mut Vec<String>,
) -> Result<T, InputError> {
    let count = message.records.len();
    if count > 1 {
        notes.push(format!(
            "{} holds {count} records; only the first was checked",
            path.display()
        ));
    }
    // The codec refuses declarations without a record; keep the error anyway rather than panic.
    message
        .records
        .into_iter()
        .next()
        .ok_or_else(|| InputError::Value {
            flag: "file",
            detail: format!("{} holds no business record", path.display()),
        })
}

/// Parses the raw records into strong documents, collecting the problems of all three.
pub fn parse_bundle(raw: &RawBundle) -> Result<OrderBundle, Vec<Problem>> {
    let order = Order::parse(&raw.order);
    let payment = Payment::parse(&raw.payment);
    let waybill = Waybill::parse(&raw.waybill);
    match (order, payment, waybill) {
        (Ok(order), Ok(payment), Ok(waybill)) => Ok(OrderBundle {
            order,
            payment,
            waybill,
        }),
        (order, payment, waybill) => Err([order.err(), payment.err(), waybill.err()]
            .into_iter()
            .flatten()
            .flatten()
            .collect()),
    }
}

/// The verdict for documents that did not parse: a rejection with the format codes.
pub fn report_of_problems(
    problems: Vec<Problem>,
    reference: Source,
    notes: Vec<String>,
) -> CheckReport {
    let mut codes: Vec<String> = Vec::new();
    for problem in &problems {
        if !codes.iter().any(|code| *code == problem.code) {
            codes.push(problem.code.to_string());
        }
    }
    let reasons = problems
        .iter()
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect();
    CheckReport {
        reference,
        status: STATUS_REJECTED,
        codes,
        reasons,
        tax: tax_report(Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO),
        lines: Vec::new(),
        return_status: i32::from(STATUS_REJECTED),
        receipts: Vec::new(),
        regime: None,
        dutiable_value: None,
        findings: Vec::new(),
        problems,
        notes,
        inventory: None,
    }
}

/// The verdict of an evaluation.
pub fn report_of_evaluation(
    evaluation: &Evaluation,
    reference: Source,
    notes: Vec<String>,
) -> CheckReport {
    let OutcomeSummary {
        status,
        codes,
        reasons,
    } = evaluation.outcome.summary();
    // What the declaration will carry: a rejection levies no tax and keeps no lines.
    let tax = evaluation.levied_tax();
    CheckReport {
        reference,
        status,
        codes,
        reasons,
        tax: tax_report(tax.customs, tax.vat, tax.consumption, tax.total),
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
        regime: Some(match evaluation.regime {
            TaxRegime::Cbec => "cbec",
            TaxRegime::Full => "full",
        }),
        dutiable_value: Some(money(evaluation.dutiable_value)),
        findings: evaluation.findings.clone(),
        problems: Vec::new(),
        notes,
        inventory: None,
    }
}

fn tax_report(customs: Decimal, vat: Decimal, consumption: Decimal, total: Decimal) -> TaxReport {
    TaxReport {
        customs: money(customs),
        vat: money(vat),
        consumption: money(consumption),
        total: money(total),
    }
}

/// Evaluates a parsed bundle without stock under `rules`.
pub fn evaluate_bundle(
    bundle: &OrderBundle,
    reference: &ReferenceData,
    rules: &RulesConfig,
    annual_used_cny: Decimal,
    buyer_identity_verified: bool,
) -> Evaluation {
    // No history: the buyer's weight used this year is unknown to a pre-flight, so zero.
    let weight_used_kg = BTreeMap::new();
    let ctx = EvalContext {
        account_book: &reference.account_book,
        positive_list: &reference.positive_list,
        config: rules,
        buyer_annual_used_cny: annual_used_cny,
        weight_used_kg: &weight_used_kg,
        buyer_identity_verified,
    };
    evaluate(bundle, &ctx)
}

/// Reads the signing key, or generates one (`true` when generated).
fn signing_key(path: Option<&Path>) -> anyhow::Result<(SigningKey, bool)> {
    match path {
        Some(path) => {
            let pem = String::from_utf8_lossy(&read_file(path)?).into_owned();
            let key =
                SigningKey::from_pkcs8_pem(&pem).map_err(|source| InputError::SigningKey {
                    path: path.to_owned(),
                    source,
                })?;
            Ok((key, false))
        }
        None => Ok((SigningKey::generate()?, true)),
    }
}

/// Writes the signed inventory of a declarable bundle to `out`.
fn emit_inventory(
    out: &Path,
    bundle: &OrderBundle,
    evaluation: &Evaluation,
    reference: &ReferenceData,
    key: &SigningKey,
    generated_key: bool,
) -> anyhow::Result<InventoryReport> {
    let guid = uuid::Uuid::new_v4().hyphenated().to_string().to_uppercase();
    let ids = declaration_ids(bundle, beijing_now(), guid)?;
    let xml = signed_inventory_xml(
        bundle,
        evaluation,
        (&reference.account_book, &reference.positive_list),
        &ids,
        key,
    )?;
    std::fs::write(out, xml).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    Ok(InventoryReport {
        file: out.to_owned(),
        guid: ids.guid,
        pre_no: ids.pre_no.to_string(),
        cop_no: ids.cop_no,
        generated_key,
    })
}

/// The reference data the flags ask for, and where it came from: the files, the SAMPLE seed,
/// or else the database.
async fn load_reference(args: &CheckArgs) -> anyhow::Result<(ReferenceData, Source)> {
    if let (Some(book), Some(list)) = (&args.account_book, &args.positive_list) {
        let data = crate::reference::files_or_sample(Some(book), Some(list))?;
        return Ok((data, Source::Files));
    }
    if args.sample_seed {
        return Ok((crate::reference::sample(), Source::SampleSeed));
    }
    let data = crate::reference::from_database(&args.database)
        .await
        .context(
            "no reference data (give --account-book and --positive-list, or --sample-seed, \
             to check offline)",
        )?;
    Ok((data, Source::Database))
}

/// What the reader of the report should know about the reference data.
fn reference_notes(reference: &ReferenceData, source: Source) -> Vec<String> {
    if source == Source::Database && reference.account_book.is_empty() {
        vec!["the database's account book is empty: has `bondgate seed` run?".to_owned()]
    } else {
        Vec::new()
    }
}

/// The inputs of one verdict.
struct Judge<'a> {
    args: &'a CheckArgs,
    reference: &'a ReferenceData,
    source: Source,
    rules: &'a RulesConfig,
    key: Option<&'a (SigningKey, bool)>,
}

impl Judge<'_> {
    /// Evaluates a parsed bundle and writes its inventory when asked and declarable.
    fn verdict(&self, bundle: &OrderBundle, mut notes: Vec<String>) -> anyhow::Result<CheckReport> {
        let args = self.args;
        let evaluation = evaluate_bundle(
            bundle,
            self.reference,
            self.rules,
            args.annual_used,
            args.buyer_verified,
        );
        let inventory = match (&args.emit_inventory, self.key) {
            (Some(out), Some((key, generated)))
                if !matches!(evaluation.outcome, Outcome::Reject { .. }) =>
            {
                Some(emit_inventory(
                    out,
                    bundle,
                    &evaluation,
                    self.reference,
                    key,
                    *generated,
                )?)
            }
            (Some(_), _) => {
                notes.push("no inventory written: the order was rejected".to_owned());
                None
            }
            (None, _) => None,
        };
        let mut report = report_of_evaluation(&evaluation, self.source, notes);
        report.receipts = receipts_of(bundle, &evaluation);
        report.inventory = inventory;
        Ok(report)
    }
}

/// Runs `bondgate check`: prints the verdict JSON; exit 2 (an [`InputError`]) only for
/// unusable input.
pub async fn run(args: CheckArgs) -> anyhow::Result<()> {
    if args.annual_used.is_sign_negative() {
        return Err(InputError::Value {
            flag: "--annual-used",
            detail: format!("must not be negative, got {}", args.annual_used),
        }
        .into());
    }
    let raw = load_bundle(&args)?;
    // Read the key before judging, so a bad key is refused without a half-done run.
    let key = match &args.emit_inventory {
        Some(_) => Some(signing_key(args.signing_key.as_deref())?),
        None => None,
    };
    let rules = crate::settings::rules()?;
    let (reference, source) = load_reference(&args).await?;
    let mut notes = raw.notes.clone();
    notes.extend(reference_notes(&reference, source));
    let report = match parse_bundle(&raw) {
        Err(problems) => {
            if args.emit_inventory.is_some() {
                notes.push("no inventory written: the documents did not parse".to_owned());
            }
            report_of_problems(problems, source, notes)
        }
        Ok(bundle) => {
            let judge = Judge {
                args: &args,
                reference: &reference,
                source,
                rules: &rules,
                key: key.as_ref(),
            };
            judge.verdict(&bundle, notes)?
        }
    };
    if let Some(inventory) = report.inventory.as_ref().filter(|i| i.generated_key) {
        eprintln!(
            "bondgate: no --signing-key given: {} is signed with a freshly generated SM2 key \
             (good for format checks, not a registered certificate)",
            inventory.file.display()
        );
    }
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_two_decimals() {
        assert_eq!(money(Decimal::new(3731, 2)), "37.31");
        assert_eq!(money(Decimal::ZERO), "0.00");
        assert_eq!(money(Decimal::new(410, 0)), "410.00");
        assert_eq!(money(Decimal::new(1005, 3)), "1.01");
    }

    #[test]
    fn parse_problems_become_a_rejection_with_their_paths() {
        let problems = vec![
            Problem::new("bg.format.decimal", "orderHead.goodsValue", "not a number"),
            Problem::new("bg.format.decimal", "orderList[0].price", "not a number"),
        ];
        let report = report_of_problems(problems, Source::SampleSeed, Vec::new());
        assert_eq!(report.status, STATUS_REJECTED);
        assert_eq!(report.codes, ["bg.format.decimal"]);
        assert_eq!(report.reasons[0], "orderHead.goodsValue: not a number");
        assert_eq!(report.tax.total, "0.00");
    }
}
