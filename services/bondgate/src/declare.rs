//! `check --emit-inventory`: the signed 1210 CEB621 inventory a pre-flighted bundle would be
//! declared with.
//!
//! A pre-flight has no e-port, no customs and no declaring agent, so the identifiers that those
//! parties assign are placeholders, chosen to be schema-valid and recognisable:
//!
//! | field | placeholder | why |
//! |---|---|---|
//! | `guid` | a random UUID, upper case | 36 characters, unique, as the XSD asks |
//! | `appTime`, `declTime` | now, Beijing time (UTC+8) | CEB times are China Standard Time |
//! | `appStatus` | `2` (declared) | a declared inventory must be signed, which is the point |
//! | `preNo` | `B` + today + milliseconds since midnight (9 digits) | real ones come from the e-port; this is unique per millisecond |
//! | `copNo` | the order number, its last 20 characters | the enterprise's own number; C..20 in the XSD |
//! | `customsCode`, `portCode` | [`PLACEHOLDER_CUSTOMS_CODE`] (`8012`) | a 4-digit customs office in the style of JGS/T 18 |
//! | `agentCode/Name`, `areaCode/Name`, `assureCode` | the e-commerce enterprise (ebc) | the only party we know who may declare and guarantee |
//! | `trafMode` | `4` (road) | parcels leave the zone by truck |
//! | `BaseTransfer` | copCode/Name = ebc, dxpId [`PLACEHOLDER_DXP_ID`] | the sender block is mandatory |

use bondgate_ceb::sign::{SignError, SigningKey, sign};
use bondgate_ceb::{CebError, to_xml};
use bondgate_domain::account_book::AccountBook;
use bondgate_domain::inventory::{BuildError, DeclarationIds, build_inventory, inventory_message};
use bondgate_domain::positive_list::PositiveList;
use bondgate_domain::types::{CebDate, CebDateTime, CustomsOffice, FormatError, PreNo, PreNoKind};
use bondgate_domain::{Evaluation, OrderBundle};
use chrono::{FixedOffset, NaiveDateTime, Timelike, Utc};

/// Customs office used for `customsCode` and `portCode` of a pre-flight inventory.
pub const PLACEHOLDER_CUSTOMS_CODE: &str = "8012";
/// DXP user id of the `BaseTransfer` block of a pre-flight inventory.
pub const PLACEHOLDER_DXP_ID: &str = "DXPENT0000000000";
/// Transport mode of the second-line exit (JGS-20 `4`, road).
pub const TRAF_MODE_ROAD: &str = "4";
/// `KeyInfo/KeyName` of the signature (a real declaration names its certificate).
pub const KEY_NAME: &str = "bondgate-preflight";
/// Longest `copNo` the XSD allows.
pub const COP_NO_CHARS_MAX: usize = 20;

/// Why the inventory could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum DeclareError {
    /// The domain refused to build it (a rejected order, or an SKU not in the book).
    #[error("cannot build the inventory: {0}")]
    Build(#[from] BuildError),
    /// A placeholder identifier is not valid (a defect of this module).
    #[error("placeholder identifier: {0}")]
    Ids(#[from] FormatError),
    /// The codec refused to write it.
    #[error("cannot write the inventory: {0}")]
    Emit(#[from] CebError),
    /// Signing failed.
    #[error("cannot sign the inventory: {0}")]
    Sign(#[from] SignError),
}

/// The current time in Beijing (UTC+8), the zone CEB times are written in.
pub fn beijing_now() -> NaiveDateTime {
    let china = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    Utc::now().with_timezone(&china).naive_local()
}

/// `copNo` from the order number: the whole number when it fits, else its last 20 characters,
/// which carry the most distinctive part of long platform numbers.
pub fn cop_no_of(order_no: &str) -> String {
    let chars: Vec<char> = order_no.chars().collect();
    let start = chars.len().saturating_sub(COP_NO_CHARS_MAX);
    chars[start..].iter().collect()
}

/// The placeholder identifiers of a pre-flight inventory declared at `now` (Beijing time).
pub fn declaration_ids(
    bundle: &OrderBundle,
    now: NaiveDateTime,
    guid: String,
) -> Result<DeclarationIds, FormatError> {
    let order = &bundle.order;
    let customs = CustomsOffice::parse(PLACEHOLDER_CUSTOMS_CODE)?;
    let millis_of_day = now.num_seconds_from_midnight() * 1000 + now.nanosecond() / 1_000_000;
    Ok(DeclarationIds {
        guid,
        app_time: CebDateTime::new(now),
        app_status: "2".to_owned(),
        decl_date: CebDate::new(now.date()),
        cop_no: cop_no_of(order.key.order_no.as_str()),
        pre_no: PreNo::new(PreNoKind::Inventory, now.date(), millis_of_day)?,
        invt_no: None,
        customs_code: customs.clone(),
        port_code: customs,
        agent_code: order.ebc_code.clone(),
        agent_name: order.ebc_name.clone(),
        area_code: order.ebc_code.clone(),
        area_name: order.ebc_name.clone(),
        assure_code: order.ebc_code.clone(),
        traf_mode: TRAF_MODE_ROAD.to_owned(),
        loct_no: None,
    })
}

/// Builds, writes and signs the inventory of an evaluated bundle.
pub fn signed_inventory_xml(
    bundle: &OrderBundle,
    evaluation: &Evaluation,
    reference: (&AccountBook, &PositiveList),
    ids: &DeclarationIds,
    key: &SigningKey,
) -> Result<String, DeclareError> {
    let (book, list) = reference;
    let inventory = build_inventory(bundle, evaluation, book, list, ids)?;
    let xml = to_xml(&inventory_message(inventory, ids, PLACEHOLDER_DXP_ID))?;
    Ok(sign(&xml, key, KEY_NAME)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn cop_no_keeps_the_last_twenty_characters() {
        assert_eq!(cop_no_of("SO1"), "SO1");
        assert_eq!(cop_no_of("order20160321116421002"), "der20160321116421002");
        assert_eq!(cop_no_of("订单".repeat(11).as_str()).chars().count(), 20);
    }

    #[test]
    fn pre_no_is_the_date_and_the_millisecond_of_the_day() {
        let now = NaiveDate::from_ymd_opt(2024, 6, 1)
            .unwrap()
            .and_hms_milli_opt(23, 59, 59, 999)
            .unwrap();
        let millis = now.num_seconds_from_midnight() * 1000 + now.nanosecond() / 1_000_000;
        let pre_no = PreNo::new(PreNoKind::Inventory, now.date(), millis).unwrap();
        assert_eq!(pre_no.to_string(), "B20240601086399999");
    }
}
