//! Writes a planned batch inside its transaction: one set-based statement per table (`UNNEST`
//! arrays, never one placeholder per value), in a fixed order.

use crate::plan::{AfterSaleRow, DocRow, NewDeclaration, Writes};
use crate::state::OrderKey;
use bondgate_domain::types::TariffLine;
use bondgate_storage::crypto::PayloadCipher;
use bondgate_storage::outbox::{self, NewReceipt};
use rust_decimal::Decimal;
use sqlx::{PgConnection, Row};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Separator of list values packed into one text (codes, reasons); never in customs texts.
const SEP: &str = "\u{1f}";

/// Writes everything; returns the ids of the new declarations by order key.
pub async fn write(
    conn: &mut PgConnection,
    writes: &Writes,
    cipher: &PayloadCipher,
    topic: &str,
) -> sqlx::Result<HashMap<OrderKey, i64>> {
    delete_documents(conn, writes).await?;
    upsert_orders(conn, &writes.orders, cipher).await?;
    upsert_keyed(
        conn,
        "payment_documents",
        "pay_code",
        "pay_transaction_id",
        &writes.payments,
        cipher,
    )
    .await?;
    upsert_keyed(
        conn,
        "waybill_documents",
        "logistics_code",
        "logistics_no",
        &writes.waybills,
        cipher,
    )
    .await?;
    let mut ids = insert_declarations(conn, &writes.declarations, cipher).await?;
    update_declarations(conn, writes).await?;
    insert_after_sales(conn, &writes.after_sales, cipher).await?;
    insert_exits(conn, writes, cipher).await?;
    ids.extend(existing_ids(conn, writes, &ids).await?);
    apply_movements(conn, writes, &ids).await?;
    apply_quotas(conn, &writes.quota_deltas).await?;
    apply_weights(conn, writes).await?;
    insert_receipts(conn, writes, &ids).await?;
    insert_review_tasks(conn, writes, &ids).await?;
    insert_dead_letters(conn, writes, topic, cipher).await?;
    write_pending(conn, writes).await?;
    Ok(ids)
}

fn split_keys(keys: &[(String, String)]) -> (Vec<&str>, Vec<&str>) {
    keys.iter().map(|(a, b)| (a.as_str(), b.as_str())).unzip()
}

async fn delete_documents(conn: &mut PgConnection, writes: &Writes) -> sqlx::Result<()> {
    let deletions = [
        (
            "order_documents",
            "ebp_code",
            "order_no",
            &writes.deleted_orders,
        ),
        (
            "payment_documents",
            "pay_code",
            "pay_transaction_id",
            &writes.deleted_payments,
        ),
        (
            "waybill_documents",
            "logistics_code",
            "logistics_no",
            &writes.deleted_waybills,
        ),
    ];
    for (table, a, b, keys) in deletions {
        if keys.is_empty() {
            continue;
        }
        let (first, second) = split_keys(keys);
        let sql = format!(
            "DELETE FROM {table} t USING UNNEST($1::text[], $2::text[]) AS k(a, b)
             WHERE t.{a} = k.a AND t.{b} = k.b"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&first)
            .bind(&second)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Columns common to every stored document.
struct DocColumns {
    ebp: Vec<String>,
    ono: Vec<String>,
    ids: Vec<uuid::Uuid>,
    payloads: Vec<Vec<u8>>,
    digests: Vec<Vec<u8>>,
    partitions: Vec<i32>,
    offsets: Vec<i64>,
    /// Who sent each document: only that enterprise may change or delete it.
    senders: Vec<String>,
}

fn doc_columns(rows: &[DocRow], cipher: &PayloadCipher) -> DocColumns {
    DocColumns {
        ebp: rows.iter().map(|r| r.key.0.clone()).collect(),
        ono: rows.iter().map(|r| r.key.1.clone()).collect(),
        ids: rows.iter().map(|r| r.incoming.document_id).collect(),
        payloads: rows
            .iter()
            .map(|r| cipher.seal(&r.incoming.payload))
            .collect(),
        digests: rows.iter().map(|r| r.incoming.digest.to_vec()).collect(),
        partitions: rows.iter().map(|r| r.incoming.partition).collect(),
        offsets: rows.iter().map(|r| r.incoming.offset).collect(),
        senders: rows
            .iter()
            .map(|r| r.incoming.sender_code.clone())
            .collect(),
    }
}

async fn upsert_orders(
    conn: &mut PgConnection,
    rows: &[DocRow],
    cipher: &PayloadCipher,
) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let c = doc_columns(rows, cipher);
    sqlx::query(
        "INSERT INTO order_documents
           (ebp_code, order_no, document_id, payload, digest, src_partition, src_offset,
            sender_code)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::uuid[], $4::bytea[], $5::bytea[],
                              $6::int[], $7::bigint[], $8::text[])
         ON CONFLICT (ebp_code, order_no) DO UPDATE SET
           document_id = EXCLUDED.document_id, payload = EXCLUDED.payload,
           sender_code = EXCLUDED.sender_code,
           digest = EXCLUDED.digest, src_partition = EXCLUDED.src_partition,
           src_offset = EXCLUDED.src_offset, received_at = now(),
           revision = order_documents.revision + 1",
    )
    .bind(&c.ebp)
    .bind(&c.ono)
    .bind(&c.ids)
    .bind(&c.payloads)
    .bind(&c.digests)
    .bind(&c.partitions)
    .bind(&c.offsets)
    .bind(&c.senders)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Payments and waybills: unique on their own key; a key held by another order is refused by
/// the planner, so a row that still does not come back means a concurrent writer won: the whole
/// batch fails and is retried.
async fn upsert_keyed(
    conn: &mut PgConnection,
    table: &str,
    a: &str,
    b: &str,
    rows: &[DocRow],
    cipher: &PayloadCipher,
) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let c = doc_columns(rows, cipher);
    let (first, second): (Vec<String>, Vec<String>) = rows
        .iter()
        .map(|r| r.business_key.clone().unwrap_or_default())
        .unzip();
    let sql = format!(
        "INSERT INTO {table} ({a}, {b}, ebp_code, order_no, document_id, payload, digest,
                              src_partition, src_offset, sender_code)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::uuid[],
                              $6::bytea[], $7::bytea[], $8::int[], $9::bigint[], $10::text[])
         ON CONFLICT ({a}, {b}) DO UPDATE SET
           document_id = EXCLUDED.document_id, payload = EXCLUDED.payload,
           sender_code = EXCLUDED.sender_code,
           digest = EXCLUDED.digest, src_partition = EXCLUDED.src_partition,
           src_offset = EXCLUDED.src_offset, received_at = now(), revision = {table}.revision + 1
         WHERE {table}.ebp_code = EXCLUDED.ebp_code AND {table}.order_no = EXCLUDED.order_no
         RETURNING 1"
    );
    let written = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&first)
        .bind(&second)
        .bind(&c.ebp)
        .bind(&c.ono)
        .bind(&c.ids)
        .bind(&c.payloads)
        .bind(&c.digests)
        .bind(&c.partitions)
        .bind(&c.offsets)
        .bind(&c.senders)
        .fetch_all(&mut *conn)
        .await?;
    if written.len() != rows.len() {
        return Err(sqlx::Error::Protocol(format!(
            "{table}: {} of {} rows were taken by another order concurrently",
            rows.len() - written.len(),
            rows.len()
        )));
    }
    Ok(())
}

/// `count` numbers of the `declaration_numbers` sequence (preNo, invtNo and copNo carry them).
pub async fn next_numbers(conn: &mut PgConnection, count: usize) -> sqlx::Result<Vec<i64>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let rows =
        sqlx::query("SELECT nextval('declaration_numbers') AS n FROM generate_series(1, $1)")
            .bind(i64::try_from(count).unwrap_or(i64::MAX))
            .fetch_all(&mut *conn)
            .await?;
    rows.iter().map(|row| row.try_get("n")).collect()
}

async fn insert_declarations(
    conn: &mut PgConnection,
    declarations: &[NewDeclaration],
    cipher: &PayloadCipher,
) -> sqlx::Result<HashMap<OrderKey, i64>> {
    if declarations.is_empty() {
        return Ok(HashMap::new());
    }
    let d = declarations;
    let col = |f: fn(&NewDeclaration) -> String| d.iter().map(f).collect::<Vec<String>>();
    let dec = |f: fn(&NewDeclaration) -> Decimal| d.iter().map(f).collect::<Vec<Decimal>>();
    let numbers = |f: fn(&crate::plan::Numbers) -> String| {
        d.iter()
            .map(|x| f(x.numbers.as_ref().expect("numbered before storing")))
            .collect::<Vec<String>>()
    };
    let invt: Vec<Option<String>> = d
        .iter()
        .map(|x| x.numbers.as_ref().and_then(|n| n.invt_no.clone()))
        .collect();
    let lines = LineColumns::of(d);
    let rows = sqlx::query(
        "WITH l AS (
           SELECT di, array_agg(ROW(g, ems::varchar(30), rec::varchar(30), gcode::char(10),
                                    qty, total, tp, cu, va, co)::declaration_line
                                ORDER BY g) AS lines
           FROM UNNEST($25::int[], $26::smallint[], $27::text[], $28::text[], $29::text[],
                       $30::numeric[], $31::numeric[], $32::numeric[], $33::numeric[],
                       $34::numeric[], $35::numeric[])
             AS u(di, g, ems, rec, gcode, qty, total, tp, cu, va, co)
           GROUP BY di)
         INSERT INTO declarations
           (ebp_code, order_no, ebc_code, pay_code, logistics_code, logistics_no, cop_no, pre_no,
            invt_no, status, buyer_hash, quota_year, dutiable_value, quota_amount, tax_customs,
            tax_vat, tax_consumption, tax_total, codes, reasons, receipt_seq, released_at,
            agent_code, ceb621, weight_lines, weight_kg, lines)
         SELECT ebp, ono, ebc, pay, lcode, lno, cop, pre, invt, status, hash, year, dutiable,
                quota, customs, vat, consumption, customs + vat + consumption,
                string_to_array(codes, E'\\x1f'), string_to_array(reasons, E'\\x1f'), seq,
                CASE WHEN status = 800 THEN now() END, agent, xml,
                string_to_array(wlines, E'\\x1f'), string_to_array(wkg, E'\\x1f')::numeric[],
                COALESCE(l.lines, '{}')
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::text[], $9::text[], $10::int[], $11::bytea[],
                     $12::smallint[], $13::numeric[], $14::numeric[], $15::numeric[],
                     $16::numeric[], $17::numeric[], $18::text[], $19::text[], $20::int[],
                     $21::text[], $22::bytea[], $23::text[], $24::text[])
           WITH ORDINALITY
           AS t(ebp, ono, ebc, pay, lcode, lno, cop, pre, invt, status, hash, year, dutiable,
                quota, customs, vat, consumption, codes, reasons, seq, agent, xml, wlines, wkg, n)
           LEFT JOIN l ON l.di = t.n
         RETURNING id, ebp_code, order_no",
    )
    .bind(col(|x| x.key.0.clone()))
    .bind(col(|x| x.key.1.clone()))
    .bind(col(|x| x.bundle.order.ebc_code.to_string()))
    .bind(col(|x| x.bundle.payment.pay_code.to_string()))
    .bind(col(|x| x.bundle.waybill.logistics_code.to_string()))
    .bind(col(|x| x.bundle.waybill.logistics_no.clone()))
    .bind(numbers(|n| n.cop_no.clone()))
    .bind(numbers(|n| n.pre_no.clone()))
    .bind(&invt)
    .bind(d.iter().map(|x| x.status).collect::<Vec<i32>>())
    .bind(
        d.iter()
            .map(|x| x.buyer_hash.clone())
            .collect::<Vec<Vec<u8>>>(),
    )
    .bind(d.iter().map(|x| x.quota_year).collect::<Vec<i16>>())
    .bind(dec(|x| x.evaluation.dutiable_value))
    .bind(dec(|x| accepted(x, x.evaluation.quota_amount)))
    .bind(dec(|x| accepted(x, x.evaluation.tax.customs)))
    .bind(dec(|x| accepted(x, x.evaluation.tax.vat)))
    .bind(dec(|x| accepted(x, x.evaluation.tax.consumption)))
    .bind(col(|x| x.codes.join(SEP)))
    .bind(col(|x| x.reasons.join(SEP)))
    .bind(d.iter().map(|x| x.receipt_seq).collect::<Vec<i32>>())
    .bind(col(|x| x.agent_code.clone()))
    .bind(
        d.iter()
            .map(|x| x.ceb621.as_ref().map(|xml| cipher.seal(xml.as_bytes())))
            .collect::<Vec<Option<Vec<u8>>>>(),
    )
    .bind(col(|x| weight_lines(&x.weights)))
    .bind(col(|x| weight_kgs(&x.weights)))
    .bind(&lines.declaration)
    .bind(&lines.gnums)
    .bind(&lines.ems)
    .bind(&lines.items)
    .bind(&lines.gcodes)
    .bind(&lines.qtys)
    .bind(&lines.totals)
    .bind(&lines.tax_prices)
    .bind(&lines.customs)
    .bind(&lines.vats)
    .bind(&lines.consumptions)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                (row.try_get("ebp_code")?, row.try_get("order_no")?),
                row.try_get("id")?,
            ))
        })
        .collect()
}

/// A rejected declaration counts nothing and owes no tax.
fn accepted(declaration: &NewDeclaration, value: Decimal) -> Decimal {
    if declaration.accepted {
        value
    } else {
        Decimal::ZERO
    }
}

/// The weights' tariff lines, packed like codes.
fn weight_lines(weights: &BTreeMap<TariffLine, Decimal>) -> String {
    let lines: Vec<String> = weights.keys().map(ToString::to_string).collect();
    lines.join(SEP)
}

/// The weights' kilograms, in the order of [`weight_lines`].
fn weight_kgs(weights: &BTreeMap<TariffLine, Decimal>) -> String {
    let kgs: Vec<String> = weights.values().map(ToString::to_string).collect();
    kgs.join(SEP)
}

/// The lines of a batch's declarations as columns; `declaration` is the 1-based position of
/// each line's declaration in the batch (the INSERT's ordinality).
#[derive(Default)]
struct LineColumns {
    declaration: Vec<i32>,
    gnums: Vec<i16>,
    ems: Vec<String>,
    items: Vec<String>,
    gcodes: Vec<String>,
    qtys: Vec<Decimal>,
    totals: Vec<Decimal>,
    tax_prices: Vec<Decimal>,
    customs: Vec<Decimal>,
    vats: Vec<Decimal>,
    consumptions: Vec<Decimal>,
}

impl LineColumns {
    fn of(declarations: &[NewDeclaration]) -> Self {
        let mut c = Self::default();
        for (position, declaration) in (1_i32..).zip(declarations) {
            for (tax, (gnum, ems, item, total)) in declaration
                .evaluation
                .lines
                .iter()
                .zip(&declaration.line_items)
            {
                c.declaration.push(position);
                c.gnums.push(i16::try_from(*gnum).unwrap_or(i16::MAX));
                c.ems.push(ems.clone());
                c.items.push(item.clone());
                c.gcodes.push(tax.gcode.to_string());
                c.qtys.push(tax.qty);
                c.totals.push(*total);
                c.tax_prices.push(tax.tax_price);
                c.customs.push(tax.customs);
                c.vats.push(tax.vat);
                c.consumptions.push(tax.consumption);
            }
        }
        c
    }
}

/// Declarations touched by after-sales or receipts of existing orders, by order key.
async fn existing_ids(
    conn: &mut PgConnection,
    writes: &Writes,
    new_ids: &HashMap<OrderKey, i64>,
) -> sqlx::Result<HashMap<OrderKey, i64>> {
    let mut keys: Vec<OrderKey> = writes
        .receipts
        .iter()
        .map(|r| r.key.clone())
        .chain(writes.movements.iter().map(|m| m.declaration.clone()))
        .filter(|key| !new_ids.contains_key(key))
        .collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let (ebp, ono) = split_keys(&keys);
    let rows = sqlx::query(
        "SELECT d.id, d.ebp_code, d.order_no FROM declarations d
         JOIN UNNEST($1::text[], $2::text[]) AS k(e, o) ON d.ebp_code = k.e AND d.order_no = k.o",
    )
    .bind(&ebp)
    .bind(&ono)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                (row.try_get("ebp_code")?, row.try_get("order_no")?),
                row.try_get("id")?,
            ))
        })
        .collect()
}

async fn update_declarations(conn: &mut PgConnection, writes: &Writes) -> sqlx::Result<()> {
    // The latest receipt sequence of every declared order that got a receipt in this batch,
    // except where the declaration was inserted in this batch with it already (no second write
    // of a row in the same batch).
    let mut seq: BTreeMap<&OrderKey, i32> = BTreeMap::new();
    for receipt in &writes.receipts {
        let entry = seq.entry(&receipt.key).or_default();
        *entry = (*entry).max(receipt.sequence);
    }
    for declaration in &writes.declarations {
        if seq.get(&declaration.key) == Some(&declaration.receipt_seq) {
            seq.remove(&declaration.key);
        }
    }
    let updates = &writes.declaration_updates;
    if !updates.is_empty() {
        sqlx::query(
            "UPDATE declarations d SET quota_amount = u.quota, updated_at = now(), version = d.version + 1,
                 weight_lines = string_to_array(u.wlines, E'\\x1f'),
                 weight_kg = string_to_array(u.wkg, E'\\x1f')::numeric[],
                 cancelled_at = CASE WHEN u.cancelled THEN now() ELSE d.cancelled_at END,
                 refunded_at = CASE WHEN u.refunded THEN now() ELSE d.refunded_at END
             FROM UNNEST($1::bigint[], $2::numeric[], $3::bool[], $4::bool[], $5::text[], $6::text[])
               AS u(id, quota, cancelled, refunded, wlines, wkg)
             WHERE d.id = u.id",
        )
        .bind(updates.iter().map(|u| u.id).collect::<Vec<_>>())
        .bind(updates.iter().map(|u| u.quota_amount).collect::<Vec<_>>())
        .bind(updates.iter().map(|u| u.cancelled).collect::<Vec<_>>())
        .bind(updates.iter().map(|u| u.refunded).collect::<Vec<_>>())
        .bind(updates.iter().map(|u| weight_lines(&u.weights)).collect::<Vec<_>>())
        .bind(updates.iter().map(|u| weight_kgs(&u.weights)).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    if seq.is_empty() {
        return Ok(());
    }
    let (keys, seqs): (Vec<&OrderKey>, Vec<i32>) = seq.into_iter().unzip();
    let (ebp, ono): (Vec<&str>, Vec<&str>) =
        keys.iter().map(|(a, b)| (a.as_str(), b.as_str())).unzip();
    sqlx::query(
        "UPDATE declarations d SET receipt_seq = GREATEST(d.receipt_seq, s.seq)
         FROM UNNEST($1::text[], $2::text[], $3::int[]) AS s(e, o, seq)
         WHERE d.ebp_code = s.e AND d.order_no = s.o",
    )
    .bind(&ebp)
    .bind(&ono)
    .bind(&seqs)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Cancellations and returns under the order they arrived for, approved or refused; each gets a
/// preNo of its kind (`C` cancellation, `T` return).
async fn insert_after_sales(
    conn: &mut PgConnection,
    rows: &[AfterSaleRow],
    cipher: &PayloadCipher,
) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let text = |f: fn(&AfterSaleRow) -> String| rows.iter().map(f).collect::<Vec<String>>();
    let pre_nos = text(|r| r.pre_no.clone());
    sqlx::query(
        "INSERT INTO after_sales_documents
           (flow, ebp_code, order_no, invt_no, sender_code, document_id, payload, digest, pre_no,
            status, src_partition, src_offset)
         SELECT * FROM UNNEST($1::smallint[], $2::text[], $3::text[], $4::text[], $5::text[],
                              $6::uuid[], $7::bytea[], $8::bytea[], $9::text[], $10::int[],
                              $11::int[], $12::bigint[])",
    )
    .bind(rows.iter().map(|r| r.flow.code()).collect::<Vec<_>>())
    .bind(text(|r| r.key.0.clone()))
    .bind(text(|r| r.key.1.clone()))
    .bind(text(|r| r.invt_no.clone()))
    .bind(text(|r| r.incoming.sender_code.clone()))
    .bind(
        rows.iter()
            .map(|r| r.incoming.document_id)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| cipher.seal(&r.incoming.payload))
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.incoming.digest.to_vec())
            .collect::<Vec<_>>(),
    )
    .bind(pre_nos)
    .bind(rows.iter().map(|r| r.status).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.incoming.partition)
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.incoming.offset).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Logistics statuses (CEB513) under their order; a released parcel they name has left the zone.
async fn insert_exits(
    conn: &mut PgConnection,
    writes: &Writes,
    cipher: &PayloadCipher,
) -> sqlx::Result<()> {
    let e = &writes.exits;
    if e.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO logistics_status_documents
           (logistics_code, logistics_no, logistics_status, ebp_code, order_no, sender_code,
            document_id, payload, digest, src_partition, src_offset)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                              $6::text[], $7::uuid[], $8::bytea[], $9::bytea[], $10::int[],
                              $11::bigint[])
         ON CONFLICT (logistics_code, logistics_no, logistics_status) DO NOTHING",
    )
    .bind(e.iter().map(|x| x.waybill.0.clone()).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.waybill.1.clone()).collect::<Vec<_>>())
    .bind(
        e.iter()
            .map(|x| x.logistics_status.clone())
            .collect::<Vec<_>>(),
    )
    .bind(e.iter().map(|x| x.key.0.clone()).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.key.1.clone()).collect::<Vec<_>>())
    .bind(
        e.iter()
            .map(|x| x.incoming.sender_code.clone())
            .collect::<Vec<_>>(),
    )
    .bind(e.iter().map(|x| x.incoming.document_id).collect::<Vec<_>>())
    .bind(
        e.iter()
            .map(|x| cipher.seal(&x.incoming.payload))
            .collect::<Vec<_>>(),
    )
    .bind(
        e.iter()
            .map(|x| x.incoming.digest.to_vec())
            .collect::<Vec<_>>(),
    )
    .bind(e.iter().map(|x| x.incoming.partition).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.incoming.offset).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    let exited: Vec<i64> = e.iter().filter_map(|x| x.declaration_id).collect();
    sqlx::query(
        "UPDATE declarations SET exited_at = now() WHERE id = ANY($1) AND exited_at IS NULL",
    )
    .bind(&exited)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The buyers' yearly weights, by the batch's summed deltas (rows locked when loaded).
async fn apply_weights(conn: &mut PgConnection, writes: &Writes) -> sqlx::Result<()> {
    let deltas: Vec<_> = writes
        .weight_deltas
        .iter()
        .filter(|(_, d)| !d.is_zero())
        .collect();
    if deltas.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE buyer_weights w SET used_kg = w.used_kg + t.delta
         FROM UNNEST($1::bytea[], $2::smallint[], $3::text[], $4::numeric[]) AS t(h, y, l, delta)
         WHERE w.buyer_hash = t.h AND w.year = t.y AND w.tariff_line = t.l",
    )
    .bind(
        deltas
            .iter()
            .map(|((h, _, _), _)| h.clone())
            .collect::<Vec<_>>(),
    )
    .bind(deltas.iter().map(|((_, y, _), _)| *y).collect::<Vec<_>>())
    .bind(
        deltas
            .iter()
            .map(|((_, _, l), _)| l.to_string())
            .collect::<Vec<_>>(),
    )
    .bind(deltas.iter().map(|(_, d)| **d).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One ledger row of the batch: an item's summed deltas of one kind.
#[derive(Default)]
struct LedgerRow {
    on_hand_delta: Decimal,
    reserved_delta: Decimal,
    /// Declaration lines summed.
    lines: i32,
    /// The declaration, while only one contributed.
    declaration_id: Option<i64>,
    /// More than one declaration contributed.
    shared: bool,
}

/// The batch's movements summed per (item, kind): one ledger row each, whatever the number of
/// declarations (STORAGE.md §2: the ledger grows with batches and items, not with lines).
fn ledger_rows<'a>(
    movements: &'a [crate::plan::Movement],
    ids: &HashMap<OrderKey, i64>,
) -> BTreeMap<(&'a str, &'a str, i16), LedgerRow> {
    let mut rows: BTreeMap<(&str, &str, i16), LedgerRow> = BTreeMap::new();
    for m in movements {
        let key = (
            m.item.ems_no.as_str(),
            m.item.item_record_no.as_str(),
            m.kind as i16,
        );
        let row = rows.entry(key).or_default();
        let id = ids.get(&m.declaration).copied();
        if row.lines > 0 && row.declaration_id != id {
            row.shared = true;
        }
        row.declaration_id = id;
        row.on_hand_delta += m.on_hand_delta;
        row.reserved_delta += m.reserved_delta;
        row.lines += 1;
    }
    rows
}

/// Ledger rows, then the balances as their per-item sums (stock conservation by construction).
async fn apply_movements(
    conn: &mut PgConnection,
    writes: &Writes,
    ids: &HashMap<OrderKey, i64>,
) -> sqlx::Result<()> {
    if writes.movements.is_empty() {
        return Ok(());
    }
    let ledger = ledger_rows(&writes.movements, ids);
    let rows: Vec<_> = ledger.iter().collect();
    sqlx::query(
        "INSERT INTO stock_movements (ems_no, item_record_no, kind, on_hand_delta, reserved_delta,
                                      declaration_id, lines)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::smallint[], $4::numeric[],
                              $5::numeric[], $6::bigint[], $7::int[])",
    )
    .bind(rows.iter().map(|(k, _)| k.0).collect::<Vec<_>>())
    .bind(rows.iter().map(|(k, _)| k.1).collect::<Vec<_>>())
    .bind(rows.iter().map(|(k, _)| k.2).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|(_, r)| r.on_hand_delta)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|(_, r)| r.reserved_delta)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|(_, r)| r.declaration_id.filter(|_| !r.shared))
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|(_, r)| r.lines).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    let mut totals: BTreeMap<(&str, &str), (Decimal, Decimal)> = BTreeMap::new();
    for ((ems, item, _), row) in &ledger {
        let entry = totals.entry((ems, item)).or_default();
        entry.0 += row.on_hand_delta;
        entry.1 += row.reserved_delta;
    }
    sqlx::query(
        "UPDATE account_book_items i SET on_hand = i.on_hand + t.d_on, reserved = i.reserved + t.d_res
         FROM UNNEST($1::text[], $2::text[], $3::numeric[], $4::numeric[]) AS t(ems, rec, d_on, d_res)
         WHERE i.ems_no = t.ems AND i.item_record_no = t.rec",
    )
    .bind(totals.keys().map(|k| k.0).collect::<Vec<_>>())
    .bind(totals.keys().map(|k| k.1).collect::<Vec<_>>())
    .bind(totals.values().map(|v| v.0).collect::<Vec<_>>())
    .bind(totals.values().map(|v| v.1).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn apply_quotas(
    conn: &mut PgConnection,
    deltas: &BTreeMap<(Vec<u8>, i16), Decimal>,
) -> sqlx::Result<()> {
    let deltas: Vec<_> = deltas.iter().filter(|(_, d)| !d.is_zero()).collect();
    if deltas.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE buyer_quotas q SET used = q.used + t.delta
         FROM UNNEST($1::bytea[], $2::smallint[], $3::numeric[]) AS t(h, y, delta)
         WHERE q.buyer_hash = t.h AND q.year = t.y",
    )
    .bind(
        deltas
            .iter()
            .map(|((h, _), _)| h.clone())
            .collect::<Vec<_>>(),
    )
    .bind(deltas.iter().map(|((_, y), _)| *y).collect::<Vec<_>>())
    .bind(deltas.iter().map(|(_, d)| **d).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The batch's receipts, appended to the outbox (`bondgate_storage::outbox` owns the row).
async fn insert_receipts(
    conn: &mut PgConnection,
    writes: &Writes,
    ids: &HashMap<OrderKey, i64>,
) -> sqlx::Result<()> {
    let rows: Vec<NewReceipt> = writes
        .receipts
        .iter()
        .map(|x| NewReceipt {
            ebp_code: x.key.0.clone(),
            order_no: x.key.1.clone(),
            flow: x.receipt.flow.code(),
            sequence: x.sequence,
            status: x.receipt.status.code(),
            info: x.receipt.info.clone(),
            codes: x.receipt.codes.clone(),
            declaration_id: ids.get(&x.key).copied(),
        })
        .collect();
    outbox::append(conn, &rows).await
}

async fn insert_review_tasks(
    conn: &mut PgConnection,
    writes: &Writes,
    ids: &HashMap<OrderKey, i64>,
) -> sqlx::Result<()> {
    if !writes.review_tasks.is_empty() {
        sqlx::query(
            "INSERT INTO review_tasks (declaration_id, reasons)
             SELECT id, string_to_array(reasons, E'\\x1f') FROM UNNEST($1::bigint[], $2::text[]) AS t(id, reasons)",
        )
        .bind(writes.review_tasks.iter().map(|(key, _)| ids[key]).collect::<Vec<_>>())
        .bind(writes.review_tasks.iter().map(|(_, reasons)| reasons.join(SEP)).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    if !writes.review_tasks_closed.is_empty() {
        sqlx::query(
            "UPDATE review_tasks SET state = 'decided', decision = 399, decided_by = 'system:cancellation',
                 decided_at = now()
             WHERE declaration_id = ANY($1) AND state = 'open'",
        )
        .bind(&writes.review_tasks_closed)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Dead letters, their record sealed like every stored document: a bad order still carries the
/// buyer's ID number, phone and address.
async fn insert_dead_letters(
    conn: &mut PgConnection,
    writes: &Writes,
    topic: &str,
    cipher: &PayloadCipher,
) -> sqlx::Result<()> {
    let d = &writes.dead_letters;
    if d.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO dead_letters (topic, partition, \"offset\", key, payload, error_class, error_code, error_message)
         SELECT $1, p, o, k, v, c, code, m
         FROM UNNEST($2::int[], $3::bigint[], $4::bytea[], $5::bytea[], $6::text[], $7::text[], $8::text[])
           AS t(p, o, k, v, c, code, m)
         ON CONFLICT (topic, partition, \"offset\") DO NOTHING",
    )
    .bind(topic)
    .bind(d.iter().map(|x| x.partition).collect::<Vec<_>>())
    .bind(d.iter().map(|x| x.offset).collect::<Vec<_>>())
    .bind(d.iter().map(|x| x.key.clone()).collect::<Vec<Option<Vec<u8>>>>())
    .bind(d.iter().map(|x| cipher.seal(&x.value)).collect::<Vec<_>>())
    .bind(d.iter().map(|x| x.class.to_owned()).collect::<Vec<_>>())
    .bind(d.iter().map(|x| x.code.clone()).collect::<Vec<_>>())
    .bind(d.iter().map(|x| x.message.clone()).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn write_pending(conn: &mut PgConnection, writes: &Writes) -> sqlx::Result<()> {
    if !writes.pending.is_empty() {
        let p = &writes.pending;
        let idle: HashSet<&OrderKey> = writes.pending_idle.iter().collect();
        let states: Vec<&str> = p
            .iter()
            .map(|(k, _, _)| if idle.contains(k) { "idle" } else { "waiting" })
            .collect();
        sqlx::query(
            "INSERT INTO pending_orders (ebp_code, order_no, partition, receipt_seq, state)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::int[], $4::int[], $5::text[])
             ON CONFLICT (ebp_code, order_no) DO NOTHING",
        )
        .bind(p.iter().map(|(k, _, _)| k.0.clone()).collect::<Vec<_>>())
        .bind(p.iter().map(|(k, _, _)| k.1.clone()).collect::<Vec<_>>())
        .bind(
            p.iter()
                .map(|(_, partition, _)| *partition)
                .collect::<Vec<_>>(),
        )
        .bind(p.iter().map(|(_, _, seq)| *seq).collect::<Vec<_>>())
        .bind(&states)
        .execute(&mut *conn)
        .await?;
    }
    if !writes.pending_woken.is_empty() {
        // The window starts with the first document, not with the receipt that made the row.
        let (ebp, ono) = split_keys(&writes.pending_woken);
        sqlx::query(
            "UPDATE pending_orders p SET state = 'waiting', first_seen_at = now()
             FROM UNNEST($1::text[], $2::text[]) AS k(e, o)
             WHERE p.ebp_code = k.e AND p.order_no = k.o AND p.state = 'idle'",
        )
        .bind(&ebp)
        .bind(&ono)
        .execute(&mut *conn)
        .await?;
    }
    if !writes.pending_seq.is_empty() {
        let (keys, seqs): (Vec<OrderKey>, Vec<i32>) = writes.pending_seq.iter().cloned().unzip();
        let (ebp, ono) = split_keys(&keys);
        sqlx::query(
            "UPDATE pending_orders p SET receipt_seq = GREATEST(p.receipt_seq, s.seq)
             FROM UNNEST($1::text[], $2::text[], $3::int[]) AS s(e, o, seq)
             WHERE p.ebp_code = s.e AND p.order_no = s.o",
        )
        .bind(&ebp)
        .bind(&ono)
        .bind(&seqs)
        .execute(&mut *conn)
        .await?;
    }
    if !writes.pending_done.is_empty() {
        let (ebp, ono) = split_keys(&writes.pending_done);
        sqlx::query(
            "DELETE FROM pending_orders p USING UNNEST($1::text[], $2::text[]) AS k(e, o)
             WHERE p.ebp_code = k.e AND p.order_no = k.o",
        )
        .bind(&ebp)
        .bind(&ono)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Movement, MovementKind};
    use bondgate_domain::allocation::StockKey;

    fn movement(order: &str, item: &str, kind: MovementKind, qty: i64) -> Movement {
        Movement {
            item: StockKey::new("T5000W000001".to_owned(), item.to_owned()),
            kind,
            on_hand_delta: Decimal::ZERO,
            reserved_delta: Decimal::from(qty),
            declaration: ("5001980001".to_owned(), order.to_owned()),
        }
    }

    #[test]
    fn the_ledger_has_one_row_per_item_and_kind_with_the_batch_sums() {
        let movements = [
            movement("A", "1", MovementKind::Reserve, 2),
            movement("B", "1", MovementKind::Reserve, 3),
            movement("A", "2", MovementKind::Reserve, 1),
            movement("A", "2", MovementKind::Reserve, 4),
            movement("C", "1", MovementKind::Release, -5),
        ];
        let ids: HashMap<OrderKey, i64> = [("A", 10), ("B", 11), ("C", 12)]
            .into_iter()
            .map(|(o, id)| (("5001980001".to_owned(), o.to_owned()), id))
            .collect();
        let rows = ledger_rows(&movements, &ids);
        assert_eq!(rows.len(), 3);
        let shared = &rows[&("T5000W000001", "1", MovementKind::Reserve as i16)];
        assert_eq!(
            (shared.reserved_delta, shared.lines, shared.shared),
            (Decimal::from(5), 2, true)
        );
        let own = &rows[&("T5000W000001", "2", MovementKind::Reserve as i16)];
        assert_eq!(
            (
                own.reserved_delta,
                own.lines,
                own.shared,
                own.declaration_id
            ),
            (Decimal::from(5), 2, false, Some(10))
        );
        let released = &rows[&("T5000W000001", "1", MovementKind::Release as i16)];
        assert_eq!(
            (released.reserved_delta, released.declaration_id),
            (Decimal::from(-5), Some(12))
        );
        let total: Decimal = rows.values().map(|r| r.reserved_delta).sum();
        let lines: Decimal = movements.iter().map(|m| m.reserved_delta).sum();
        assert_eq!(total, lines, "conservation: the rows sum to the lines");
    }
}
