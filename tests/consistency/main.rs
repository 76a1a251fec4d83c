//! The merchants' pre-flight and the pipeline decide alike (issue 15, point 3): on the same
//! database and the same rules, `POST /v1/check` gives every bundle the status, codes, receipt
//! status, dutiable value and tax (totals and per line) that clearance declares for it, on an
//! account book and positive list that are not the SAMPLE seed compiled into the binaries.
//! Runs against the local stack (`scripts/stack up`), intake and clearance in this process.

mod bundles;
mod stack;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::Context as _;
use bondgate_domain::codes::ErrorCode;
use bondgate_domain::{Outcome, ReturnStatus};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::{PgPool, Row};

use bundles::{Bundle, FIXTURE_SKUS, Rng, SCENARIOS, generate};
use stack::{EBP, LOG, PAY, Stack};

/// Bundles per run: every scenario six times.
const BUNDLES: usize = SCENARIOS * 6;

/// A decision as either side states it, in the same terms.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Verdict {
    /// 800, 300 or 100.
    status: u16,
    /// The decision receipt's `returnStatus` (a rejection's first negative code, else 100).
    return_status: i32,
    codes: Vec<String>,
    dutiable_value: Decimal,
    /// Customs duty, VAT, consumption tax, total.
    tax: [Decimal; 4],
    /// Per line of an accepted declaration: gnum, dutiable price, customs, VAT, consumption.
    lines: Vec<(i64, [Decimal; 4])>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_and_the_pipeline_agree_on_every_generated_bundle() -> anyhow::Result<()> {
    // Goal: `POST /v1/check` answers what the pipeline will decide (stock aside) for every kind
    // of bundle: released, held and rejected, taxed in the CBEC or the full regime, with and
    // without consumption tax, on the zone's own reference data and configured rules.
    // Method: seed a fresh database with our own account book and positive list (no SKU or HS
    // code of the SAMPLE seed) and start intake and clearance with the same non-default rules;
    // generate bundles over twelve scenarios, each with its own buyer (so the annual quota the
    // check takes as 0 is 0 in the pipeline too); check each, then submit it through
    // /v1/documents; wait for every declaration and compare field by field. Finally make sure
    // the bundles covered release, hold, rejection, the full regime and consumption tax, so a
    // generator that drifted cannot pass by agreeing on trivia.
    assert_fixtures_are_not_the_sample()?;
    let stack = Stack::start("consistency").await?;
    let mut rng = Rng::new(15);
    let bundles: Vec<Bundle> = (0..BUNDLES).map(|i| generate(i, &mut rng)).collect();
    let mut checked = BTreeMap::new();
    for bundle in &bundles {
        checked.insert(bundle.order_no.clone(), check(&stack, bundle).await?);
        submit(&stack, bundle).await?;
    }
    let declared = wait_declared(&stack.pool, bundles.len()).await?;
    let mut disagreements = Vec::new();
    for bundle in &bundles {
        let check = verdict_of_check(&checked[&bundle.order_no])?;
        let pipeline = declared.get(&bundle.order_no);
        if pipeline != Some(&check) {
            disagreements.push(format!(
                "{} ({}):\n  check    {check:?}\n  pipeline {pipeline:?}",
                bundle.order_no, bundle.scenario
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} bundles disagree:\n{}",
        disagreements.len(),
        bundles.len(),
        disagreements.join("\n")
    );
    assert_variety(checked.values())?;
    stack.stop().await
}

/// The fixtures share no SKU with the SAMPLE seed, so the test proves the database decides.
fn assert_fixtures_are_not_the_sample() -> anyhow::Result<()> {
    let sample = bondgate_domain::seed::load_seed_account_book()
        .map_err(|errors| anyhow::anyhow!("the SAMPLE seed: {errors:?}"))?;
    let shared: Vec<&str> = FIXTURE_SKUS
        .into_iter()
        .filter(|sku| sample.by_sku(sku).is_some())
        .collect();
    anyhow::ensure!(shared.is_empty(), "SAMPLE SKUs in the fixture: {shared:?}");
    Ok(())
}

/// The check's verdict (200 expected: every generated document is valid).
async fn check(stack: &Stack, bundle: &Bundle) -> anyhow::Result<Value> {
    let body = json!({ "documents": bundle.documents });
    let (status, report) = stack.post("/v1/check", &body, EBP).await;
    anyhow::ensure!(
        status == 200,
        "check of {}: {status} {report}",
        bundle.order_no
    );
    Ok(report)
}

/// Each document by its sender, as merchants submit them.
async fn submit(stack: &Stack, bundle: &Bundle) -> anyhow::Result<()> {
    for (document, sender) in bundle.documents.iter().zip([EBP, PAY, LOG]) {
        let (status, answer) = stack
            .post("/v1/documents", &json!([document]), sender)
            .await;
        anyhow::ensure!(status == 202, "{}: {status} {answer}", bundle.order_no);
    }
    Ok(())
}

fn decimal(value: &Value) -> anyhow::Result<Decimal> {
    let text = value
        .as_str()
        .with_context(|| format!("{value} is not a string"))?;
    Ok(text.parse()?)
}

fn verdict_of_check(report: &Value) -> anyhow::Result<Verdict> {
    let status = u16::try_from(report["status"].as_u64().context("status")?)?;
    let tax = &report["tax"];
    let mut lines = Vec::new();
    // The pipeline keeps the lines of accepted declarations only.
    if status != 100 {
        for line in report["lines"].as_array().context("lines")? {
            let amounts = ["taxPrice", "customs", "vat", "consumption"].map(|k| decimal(&line[k]));
            let [price, customs, vat, consumption] = amounts;
            let gnum = line["gnum"].as_i64().context("gnum")?;
            lines.push((gnum, [price?, customs?, vat?, consumption?]));
        }
    }
    let codes = report["codes"].as_array().context("codes")?;
    Ok(Verdict {
        status,
        return_status: i32::try_from(report["returnStatus"].as_i64().context("returnStatus")?)?,
        codes: codes
            .iter()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect(),
        dutiable_value: decimal(&report["dutiableValue"])?,
        tax: [
            decimal(&tax["customs"])?,
            decimal(&tax["vat"])?,
            decimal(&tax["consumption"])?,
            decimal(&tax["total"])?,
        ],
        lines,
    })
}

/// Waits until the pipeline declared `count` orders, then reads their verdicts.
async fn wait_declared(pool: &PgPool, count: usize) -> anyhow::Result<BTreeMap<String, Verdict>> {
    let waited = bondgate_tests::wait_until(
        &format!("{count} declarations"),
        Duration::from_secs(120),
        || async {
            let (declared,): (i64,) = sqlx::query_as("SELECT count(*) FROM declarations")
                .fetch_one(pool)
                .await?;
            Ok(usize::try_from(declared)? >= count)
        },
    )
    .await;
    let declared = declarations(pool).await?;
    waited.with_context(|| format!("declared only {:?}", declared.keys()))?;
    Ok(declared)
}

/// The stored declarations as verdicts, by order number.
async fn declarations(pool: &PgPool) -> anyhow::Result<BTreeMap<String, Verdict>> {
    let rows = sqlx::query(
        "SELECT order_no, status, codes, dutiable_value, tax_customs, tax_vat, tax_consumption,
                tax_total
         FROM declarations WHERE ebp_code = $1",
    )
    .bind(EBP)
    .fetch_all(pool)
    .await?;
    let mut lines = declaration_lines(pool).await?;
    let mut verdicts = BTreeMap::new();
    for row in rows {
        let order_no: String = row.try_get("order_no")?;
        let stored: i32 = row.try_get("status")?;
        let codes: Vec<String> = row.try_get("codes")?;
        let status = decision(stored)?;
        let verdict = Verdict {
            status,
            return_status: receipt_status(status, stored, &codes),
            codes,
            dutiable_value: row.try_get("dutiable_value")?,
            tax: [
                row.try_get("tax_customs")?,
                row.try_get("tax_vat")?,
                row.try_get("tax_consumption")?,
                row.try_get("tax_total")?,
            ],
            lines: lines.remove(&order_no).unwrap_or_default(),
        };
        verdicts.insert(order_no, verdict);
    }
    Ok(verdicts)
}

type Lines = BTreeMap<String, Vec<(i64, [Decimal; 4])>>;

async fn declaration_lines(pool: &PgPool) -> anyhow::Result<Lines> {
    let rows = sqlx::query(
        "SELECT d.order_no, l.gnum::bigint AS gnum, l.tax_price, l.tax_customs, l.tax_vat,
                l.tax_consumption
         FROM declaration_lines l JOIN declarations d ON d.id = l.declaration_id
         ORDER BY d.order_no, l.gnum",
    )
    .fetch_all(pool)
    .await?;
    let mut lines = Lines::new();
    for row in rows {
        let amounts = [
            row.try_get("tax_price")?,
            row.try_get("tax_customs")?,
            row.try_get("tax_vat")?,
            row.try_get("tax_consumption")?,
        ];
        let entry = lines.entry(row.try_get("order_no")?).or_default();
        entry.push((row.try_get("gnum")?, amounts));
    }
    Ok(lines)
}

/// 800, 300 or 100 of a stored `returnStatus` (a negative exception code is a rejection).
fn decision(stored: i32) -> anyhow::Result<u16> {
    match ReturnStatus::from_code(stored) {
        Some(ReturnStatus::Released) => Ok(800),
        Some(ReturnStatus::ManualReview) => Ok(300),
        Some(ReturnStatus::Rejected | ReturnStatus::Exception(_)) => Ok(100),
        other => anyhow::bail!("a declaration in status {stored} ({other:?}) is not a decision"),
    }
}

/// The decision receipt's status by the domain's mapping: a stored negative code is it; a
/// stored 100 (the pipeline before it stored exception codes) is mapped from the codes as
/// `Outcome::status` maps them.
fn receipt_status(decision: u16, stored: i32, codes: &[String]) -> i32 {
    if decision != 100 || stored < 0 {
        return stored;
    }
    let codes = codes
        .iter()
        .filter_map(|code| code.parse().ok().and_then(ErrorCode::lookup))
        .collect();
    let outcome = Outcome::Reject {
        codes,
        reasons: Vec::new(),
    };
    outcome.status().code()
}

/// The bundles reached every kind of decision the scenarios aim at.
fn assert_variety<'a>(reports: impl Iterator<Item = &'a Value>) -> anyhow::Result<()> {
    let mut seen = BTreeSet::new();
    for report in reports {
        seen.insert(format!("status {}", report["status"]));
        seen.insert(format!("regime {}", report["regime"]));
        for code in report["codes"].as_array().context("codes")? {
            seen.insert(format!("code {code}"));
        }
        if decimal(&report["tax"]["consumption"])? > Decimal::ZERO {
            seen.insert("consumption tax".to_owned());
        }
    }
    let expected = [
        "status 800",
        "status 300",
        "status 100",
        "regime \"full\"",
        "consumption tax",
        "code \"-900205\"",
        "code \"-621005\"",
        "code \"bg.risk.line_qty\"",
        "code \"bg.risk.watch_chapter\"",
    ];
    let missing: Vec<&str> = expected
        .into_iter()
        .filter(|what| !seen.contains(*what))
        .collect();
    anyhow::ensure!(
        missing.is_empty(),
        "no bundle gave {missing:?}; seen {seen:?}"
    );
    Ok(())
}
