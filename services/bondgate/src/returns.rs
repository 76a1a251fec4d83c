//! `bondgate returns arrived --ebp-code E --order-no O`: the zone warehouse records that the goods
//! of an approved return (CEB625, 399) are back in the zone. Only then does their stock return to
//! the account book (CBEC.md §3 rule 9), and only within 45 days of release (rule 11,
//! `rules.after_sales.refund_goods_back_days_max`). The quota was credited when the return was
//! approved.
//!
//! One transaction: the returned lines' stock rows are locked in the pipeline's order (by item),
//! the declaration is marked (`goods_back_at`, once), and a restore movement per line is written
//! with the balance, so the ledger keeps summing to it.

use std::collections::BTreeMap;

use anyhow::Context;
use bondgate_domain::aftersales::goods_back_check;
use bondgate_domain::config::RulesConfig;
use bondgate_domain::documents::Refund;
use bondgate_proto::Message;
use bondgate_proto::v1::{self, document::Body};
use chrono::{DateTime, FixedOffset, Utc};
use rust_decimal::Decimal;
use sqlx::{PgConnection, Row};

use crate::database::DatabaseArgs;
use crate::error::InputError;

/// Kind of the stock movement that puts stock back (`stock_movements.kind` 5).
const MOVEMENT_RESTORE: i16 = 5;

/// Flags of `bondgate returns`.
#[derive(Debug, clap::Args)]
pub struct ReturnsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ReturnsAction,
    /// Where the database is.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// The return commands.
#[derive(Debug, clap::Subcommand)]
pub enum ReturnsAction {
    /// The goods of an order's approved return are back in the zone: restore their stock.
    Arrived {
        /// Platform code of the order (`ebpCode`).
        #[arg(long)]
        ebp_code: String,
        /// Order number (`orderNo`).
        #[arg(long)]
        order_no: String,
    },
}

/// Runs `bondgate returns`; prints JSON on stdout.
pub async fn run(args: ReturnsArgs) -> anyhow::Result<()> {
    let rules = crate::settings::rules()?;
    let cipher = crate::settings::data_cipher()?;
    let db = bondgate_storage::connect(&args.database.config())
        .await
        .with_context(|| format!("connecting to {}", args.database.display_url()))?;
    let pool = bondgate_storage::pool(&db);
    let ReturnsAction::Arrived { ebp_code, order_no } = args.action;
    let mut tx = pool.begin().await?;
    let restored = arrived(&mut tx, &cipher, (&ebp_code, &order_no), &rules).await?;
    tx.commit().await?;
    db.close().await?;
    let lines: Vec<_> = restored
        .iter()
        .map(|((ems, item), qty)| serde_json::json!({"emsNo": ems, "itemRecordNo": item, "qty": qty.to_string()}))
        .collect();
    println!(
        "{}",
        serde_json::json!({"ebpCode": ebp_code, "orderNo": order_no, "restored": lines})
    );
    Ok(())
}

/// The declaration of an order as the goods-back check needs it.
struct Returned {
    id: i64,
    released_at: Option<DateTime<Utc>>,
    refunded: bool,
    back: bool,
    now: DateTime<Utc>,
}

/// Records the goods back and restores their stock; returns the quantities per item.
pub async fn arrived(
    conn: &mut PgConnection,
    cipher: &bondgate_storage::crypto::PayloadCipher,
    (ebp_code, order_no): (&str, &str),
    rules: &RulesConfig,
) -> anyhow::Result<BTreeMap<(String, String), Decimal>> {
    let declaration = declaration(conn, ebp_code, order_no).await?;
    let today = declaration.now.with_timezone(&beijing()).date_naive();
    let released_on = declaration
        .released_at
        .map(|at| at.with_timezone(&beijing()).date_naive());
    goods_back_check(
        declaration.refunded,
        declaration.back,
        released_on,
        today,
        &rules.after_sales,
    )
    .map_err(|error| InputError::Value {
        flag: "--order-no",
        detail: format!("{ebp_code}/{order_no}: {error}"),
    })?;
    let refund = approved_refund(conn, cipher, ebp_code, order_no).await?;
    let quantities = returned_items(conn, declaration.id, &refund).await?;
    lock_stock(conn, &quantities).await?;
    let marked = sqlx::query(
        "UPDATE declarations SET goods_back_at = now(), updated_at = now()
         WHERE id = $1 AND goods_back_at IS NULL",
    )
    .bind(declaration.id)
    .execute(&mut *conn)
    .await?;
    anyhow::ensure!(
        marked.rows_affected() == 1,
        "the goods were recorded back concurrently"
    );
    restore(conn, declaration.id, &quantities).await?;
    Ok(quantities)
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

async fn declaration(
    conn: &mut PgConnection,
    ebp_code: &str,
    order_no: &str,
) -> anyhow::Result<Returned> {
    let row = sqlx::query(
        "SELECT id, released_at, refunded_at IS NOT NULL AS refunded,
                goods_back_at IS NOT NULL AS back, now() AS now
         FROM declarations WHERE ebp_code = $1 AND order_no = $2",
    )
    .bind(ebp_code)
    .bind(order_no)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| InputError::Value {
        flag: "--order-no",
        detail: format!("no declaration of {ebp_code}/{order_no}"),
    })?;
    Ok(Returned {
        id: row.try_get("id")?,
        released_at: row.try_get("released_at")?,
        refunded: row.try_get("refunded")?,
        back: row.try_get("back")?,
        now: row.try_get("now")?,
    })
}

/// The approved return application of the order, opened and parsed.
async fn approved_refund(
    conn: &mut PgConnection,
    cipher: &bondgate_storage::crypto::PayloadCipher,
    ebp_code: &str,
    order_no: &str,
) -> anyhow::Result<Refund> {
    let sealed: Vec<u8> = sqlx::query_scalar(
        "SELECT payload FROM after_sales_documents
         WHERE ebp_code = $1 AND order_no = $2 AND flow = 3 AND status = 399",
    )
    .bind(ebp_code)
    .bind(order_no)
    .fetch_one(&mut *conn)
    .await
    .context("the approved return application")?;
    let plain = cipher
        .open(&sealed)
        .context("opening the return application")?;
    let document = v1::Document::decode(plain.as_slice())?;
    let Some(Body::Refund(refund)) = document.body else {
        anyhow::bail!("the stored return application is not a CEB625");
    };
    Refund::parse(&(&refund).into())
        .map_err(|problems| anyhow::anyhow!("the stored return no longer parses: {problems:?}"))
}

/// Returned quantities per account-book item, from the return's lines and the declaration's.
async fn returned_items(
    conn: &mut PgConnection,
    declaration_id: i64,
    refund: &Refund,
) -> anyhow::Result<BTreeMap<(String, String), Decimal>> {
    let rows = sqlx::query(
        "SELECT gnum, ems_no, item_record_no, qty FROM declaration_lines
         WHERE declaration_id = $1",
    )
    .bind(declaration_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut quantities = BTreeMap::new();
    for line in &refund.lines {
        let Some(row) = rows.iter().find(|row| {
            row.try_get::<i16, _>("gnum").ok().map(u32::try_from) == Some(Ok(line.gnum))
        }) else {
            continue;
        };
        let declared: Decimal = row.try_get("qty")?;
        let key = (row.try_get("ems_no")?, row.try_get("item_record_no")?);
        *quantities.entry(key).or_default() += line.qty.value().min(declared);
    }
    Ok(quantities)
}

async fn lock_stock(
    conn: &mut PgConnection,
    quantities: &BTreeMap<(String, String), Decimal>,
) -> sqlx::Result<()> {
    let (ems, items): (Vec<&str>, Vec<&str>) = quantities
        .keys()
        .map(|(e, i)| (e.as_str(), i.as_str()))
        .unzip();
    sqlx::query(
        "SELECT 1 FROM account_book_items i
         JOIN UNNEST($1::text[], $2::text[]) AS k(e, r) ON i.ems_no = k.e AND i.item_record_no = k.r
         ORDER BY i.ems_no, i.item_record_no FOR UPDATE OF i",
    )
    .bind(&ems)
    .bind(&items)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn restore(
    conn: &mut PgConnection,
    declaration_id: i64,
    quantities: &BTreeMap<(String, String), Decimal>,
) -> sqlx::Result<()> {
    let (ems, items): (Vec<&str>, Vec<&str>) = quantities
        .keys()
        .map(|(e, i)| (e.as_str(), i.as_str()))
        .unzip();
    let qtys: Vec<Decimal> = quantities.values().copied().collect();
    sqlx::query(
        "INSERT INTO stock_movements
           (ems_no, item_record_no, kind, on_hand_delta, reserved_delta, declaration_id)
         SELECT e, r, $3, q, 0, $4 FROM UNNEST($1::text[], $2::text[], $5::numeric[]) AS t(e, r, q)",
    )
    .bind(&ems)
    .bind(&items)
    .bind(MOVEMENT_RESTORE)
    .bind(declaration_id)
    .bind(&qtys)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE account_book_items i SET on_hand = i.on_hand + t.q
         FROM UNNEST($1::text[], $2::text[], $3::numeric[]) AS t(e, r, q)
         WHERE i.ems_no = t.e AND i.item_record_no = t.r",
    )
    .bind(&ems)
    .bind(&items)
    .bind(&qtys)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
