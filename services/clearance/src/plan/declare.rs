//! Numbers and the CEB621: every new declaration gets its copNo, preNo and (accepted ones) invtNo
//! from the batch's share of the `declaration_numbers` sequence, and every cancellation or return
//! its preNo; the accepted declarations get their CEB621 inventory, built by the domain from what
//! was decided, written as XML and signed when a signing key is configured. The CEB621 is stored
//! with the declaration and served as is (never rebuilt from reference data that may change).

use bondgate_ceb::sign::{SignError, SigningKey, sign};
use bondgate_ceb::to_xml;
use bondgate_domain::inventory::{DeclarationIds, area_of, build_inventory, inventory_message};
use bondgate_domain::receipts::Flow;
use bondgate_domain::types::{CebDate, CebDateTime, CustomsCode, CustomsOffice, InvtNo, PreNo};
use chrono::Datelike;

use super::{Context, NewDeclaration, Numbers, Writes};

/// DXP node bondgate declares through (the enterprise client's id; a placeholder until the zone
/// assigns one, see the DXP boundary in the README).
pub const DXP_ID: &str = "DXPENT0000000000";
/// Transport mode of the second-line exit from the zone: road (JGS-20 `4`).
pub const TRAF_MODE_ROAD: &str = "4";

/// How numbers and CEB621s are made.
#[derive(Debug)]
pub struct Declarer<'a> {
    /// Customs office accepting the declarations (first four digits of invtNo).
    pub customs_code: &'a CustomsOffice,
    /// The declaring agent's SM2 key, and the name put in the signature.
    pub signer: Option<(&'a SigningKey, &'a str)>,
}

/// Why a CEB621 could not be made. A defect (the declaration was decided from the same data), so
/// the batch fails loudly.
#[derive(Debug, thiserror::Error)]
pub enum DeclareError {
    /// An identifier did not format.
    #[error("declaration numbers: {0}")]
    Format(#[from] bondgate_domain::types::FormatError),
    /// The inventory could not be built.
    #[error("CEB621 of {order}: {source}")]
    Build {
        /// The order.
        order: String,
        /// Why.
        #[source]
        source: bondgate_domain::inventory::BuildError,
    },
    /// The XML could not be written.
    #[error("CEB621 emission: {0}")]
    Emit(#[from] bondgate_ceb::CebError),
    /// Signing failed.
    #[error("CEB621 signature: {0}")]
    Sign(#[from] SignError),
}

/// How many sequence numbers the batch needs.
pub fn numbers_needed(writes: &Writes) -> usize {
    writes.declarations.len() + writes.after_sales.len()
}

/// Assigns `numbers` (from the sequence, at least [`numbers_needed`]) and builds the CEB621s.
pub fn number(
    writes: &mut Writes,
    numbers: &[i64],
    ctx: &Context<'_>,
    declarer: &Declarer<'_>,
) -> Result<(), DeclareError> {
    assert!(
        numbers.len() >= numbers_needed(writes),
        "numbers for every row"
    );
    let (for_declarations, for_applications) = numbers.split_at(writes.declarations.len());
    let date = ctx.today();
    for (declaration, n) in writes.declarations.iter_mut().zip(for_declarations) {
        let numbers = Numbers {
            cop_no: format!("BG{}{:010}", date.format("%Y%m%d"), n % 10_000_000_000),
            pre_no: pre_no('B', date, *n),
            invt_no: declaration.accepted.then(|| {
                format!(
                    "{}{}I{:09}",
                    declarer.customs_code,
                    date.year(),
                    n % 1_000_000_000
                )
            }),
        };
        declaration.numbers = Some(numbers);
        if declaration.accepted {
            declaration.ceb621 = Some(ceb621(declaration, ctx, declarer)?);
        }
    }
    for (application, n) in writes.after_sales.iter_mut().zip(for_applications) {
        let prefix = if application.flow == Flow::Refund {
            'T'
        } else {
            'C'
        };
        application.pre_no = pre_no(prefix, date, *n);
    }
    Ok(())
}

fn pre_no(prefix: char, date: chrono::NaiveDate, n: i64) -> String {
    format!("{prefix}{}{:09}", date.format("%Y%m%d"), n % 1_000_000_000)
}

/// The declaration's CEB621 as XML (signed when a key is configured; appStatus 2, declared).
fn ceb621(
    declaration: &NewDeclaration,
    ctx: &Context<'_>,
    declarer: &Declarer<'_>,
) -> Result<String, DeclareError> {
    let ids = ids(declaration, ctx, declarer)?;
    let reference = ctx.reference;
    let inventory = build_inventory(
        &declaration.bundle,
        &declaration.evaluation,
        &reference.account_book,
        &reference.positive_list,
        &ids,
    )
    .map_err(|source| DeclareError::Build {
        order: format!("{}/{}", declaration.key.0, declaration.key.1),
        source,
    })?;
    let xml = to_xml(&inventory_message(inventory, &ids, DXP_ID))?;
    Ok(match declarer.signer {
        Some((key, name)) => sign(&xml, key, name)?,
        None => xml,
    })
}

/// The identifiers and parties of the CEB621: the numbers just assigned, the batch's time, the
/// seller as declaring agent and tax guarantor, the account book's keeper as `areaCode` (the
/// seller when the book names none).
fn ids(
    declaration: &NewDeclaration,
    ctx: &Context<'_>,
    declarer: &Declarer<'_>,
) -> Result<DeclarationIds, DeclareError> {
    let numbers = declaration.numbers.as_ref().expect("numbered first");
    let order = &declaration.bundle.order;
    let now = ctx.local_now();
    let (area_code, area_name) = area_of(&declaration.bundle, &ctx.reference.account_book)
        .unwrap_or_else(|| (order.ebc_code.clone(), order.ebc_name.clone()));
    let guid = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, numbers.pre_no.as_bytes());
    Ok(DeclarationIds {
        guid: guid.hyphenated().to_string().to_uppercase(),
        app_time: CebDateTime::new(now),
        app_status: "2".to_owned(),
        decl_date: CebDate::new(now.date()),
        cop_no: numbers.cop_no.clone(),
        pre_no: PreNo::parse(&numbers.pre_no)?,
        invt_no: numbers.invt_no.as_deref().map(InvtNo::parse).transpose()?,
        customs_code: declarer.customs_code.clone(),
        port_code: declarer.customs_code.clone(),
        agent_code: CustomsCode::parse(&declaration.agent_code)?,
        agent_name: order.ebc_name.clone(),
        area_code,
        area_name,
        assure_code: order.ebc_code.clone(),
        traf_mode: TRAF_MODE_ROAD.to_owned(),
        loct_no: None,
    })
}
