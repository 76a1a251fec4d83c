//! Intake's half of the authorization rule (ADR 0006): the sender is the API key's enterprise,
//! never a party the document names. The rules are the domain's
//! ([`bondgate_domain::authorization`]); this module loads what they need from the database (the
//! platforms' seller bindings, the parties of declared inventories) and turns refusals into one
//! 403 listing every refused record. Clearance applies the same rules again on the envelope's
//! sender and its stored state, which also covers records written to Kafka without intake.

use std::collections::{BTreeSet, HashMap, HashSet};

use bondgate_domain::authorization::{
    self, DeclarationParties, OrderSenders, Refusal, authorize_after_sale,
};
use sqlx::{PgPool, Row};

use crate::error::{ApiError, ApiProblem};
use crate::submission::{Claim, Record};

/// What the rules need from the database for one request.
#[derive(Debug, Default)]
struct Stored {
    /// `(platform, seller)` pairs that are bound, among those the request's orders name.
    bindings: HashSet<(String, String)>,
    /// `(ebpCode, orderNo)` → the declared inventory's number and parties.
    declarations: HashMap<(String, String), (Option<String>, DeclarationParties)>,
}

/// Refuses the whole request with 403 when `sender` may not send any one of `records`.
pub async fn authorize(pool: &PgPool, sender: &str, records: &[Record]) -> Result<(), ApiError> {
    let stored = load(pool, sender, records).await?;
    let problems: Vec<ApiProblem> = records
        .iter()
        .enumerate()
        .filter_map(|(index, record)| {
            let refusal = check(sender, record, &stored).err()?;
            Some(ApiProblem::new(
                refusal.api_code(),
                Some(index),
                "",
                refusal.to_string(),
            ))
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(ApiError::Forbidden {
        message: format!(
            "enterprise {sender} may not send {} of these documents; nothing was accepted",
            problems.len()
        ),
        problems,
    })
}

fn check(sender: &str, record: &Record, stored: &Stored) -> Result<(), Refusal> {
    match &record.claim {
        Claim::Order {
            ebc_code,
            identity_vouched,
        } => {
            let order = OrderSenders {
                ebp_code: &record.ebp_code,
                ebc_code,
                identity_vouched: *identity_vouched,
            };
            authorization::authorize_order(sender, order, &stored.bindings)
        }
        Claim::Payment { pay_code } => authorization::authorize_payment(sender, pay_code),
        Claim::Waybill { logistics_code } => {
            authorization::authorize_waybill(sender, logistics_code)
        }
        Claim::AfterSale { kind, invt_no } => {
            // A declaration with another inventory number counts as none: the answer is the same
            // whether the order is missing, not declared, or someone else's.
            let key = (record.ebp_code.clone(), record.order_no.clone());
            let parties = stored
                .declarations
                .get(&key)
                .filter(|(declared, _)| declared.as_deref() == Some(invt_no.as_str()))
                .map(|(_, parties)| parties);
            authorize_after_sale(*kind, sender, invt_no, parties)
        }
    }
}

async fn load(pool: &PgPool, sender: &str, records: &[Record]) -> Result<Stored, sqlx::Error> {
    let mut pairs = BTreeSet::new();
    let mut orders = BTreeSet::new();
    for record in records {
        match &record.claim {
            Claim::Order { ebc_code, .. } if ebc_code == sender => {
                pairs.insert((record.ebp_code.clone(), ebc_code.clone()));
            }
            Claim::AfterSale { .. } => {
                orders.insert((record.ebp_code.clone(), record.order_no.clone()));
            }
            _ => {}
        }
    }
    Ok(Stored {
        bindings: bondgate_storage::bindings::bound(pool, &pairs).await?,
        declarations: load_declarations(pool, &orders).await?,
    })
}

fn columns(keys: &BTreeSet<(String, String)>) -> (Vec<&str>, Vec<&str>) {
    keys.iter().map(|(a, b)| (a.as_str(), b.as_str())).unzip()
}

type Declared = HashMap<(String, String), (Option<String>, DeclarationParties)>;

async fn load_declarations(
    pool: &PgPool,
    orders: &BTreeSet<(String, String)>,
) -> Result<Declared, sqlx::Error> {
    if orders.is_empty() {
        return Ok(HashMap::new());
    }
    let (platforms, numbers) = columns(orders);
    let rows = sqlx::query(
        "SELECT d.ebp_code, d.order_no, d.invt_no, d.ebc_code, d.agent_code FROM declarations d
         JOIN UNNEST($1::text[], $2::text[]) AS k(e, o)
           ON d.ebp_code = k.e AND d.order_no = k.o",
    )
    .bind(&platforms)
    .bind(&numbers)
    .fetch_all(pool)
    .await?;
    let mut declared = HashMap::with_capacity(rows.len());
    for row in rows {
        let ebp_code: String = row.try_get("ebp_code")?;
        let parties = DeclarationParties {
            ebp_code: ebp_code.clone(),
            ebc_code: row.try_get("ebc_code")?,
            agent_code: row.try_get("agent_code")?,
        };
        let key = (ebp_code, row.try_get("order_no")?);
        declared.insert(key, (row.try_get("invt_no")?, parties));
    }
    Ok(declared)
}
