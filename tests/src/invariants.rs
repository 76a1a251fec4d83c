//! The invariant checker: reads the database after a run (and, optionally, the receipts topic)
//! and reports every broken guarantee of ARCHITECTURE section 6 as a line of text. An empty
//! report means: no lost or doubled effect, stock conserved per item, quotas exact, receipts in
//! status order per order.

use bondgate_storage::outbox;
use sqlx::{PgPool, Row};

/// One named check: SQL returning one text row per anomaly.
struct Check {
    name: &'static str,
    sql: &'static str,
}

const CHECKS: &[Check] = &[
    Check {
        name: "stock ledger sums equal the balances",
        sql: "SELECT i.ems_no || '/' || i.item_record_no || ': on_hand ' || i.on_hand || ' vs ledger '
                     || COALESCE(sum(m.on_hand_delta), 0) || ', reserved ' || i.reserved
                     || ' vs ledger ' || COALESCE(sum(m.reserved_delta), 0)
              FROM account_book_items i
              LEFT JOIN stock_movements m ON m.ems_no = i.ems_no AND m.item_record_no = i.item_record_no
              GROUP BY i.ems_no, i.item_record_no, i.on_hand, i.reserved
              HAVING i.on_hand <> COALESCE(sum(m.on_hand_delta), 0)
                  OR i.reserved <> COALESCE(sum(m.reserved_delta), 0)",
    },
    Check {
        name: "reserved stock equals the lines of held declarations",
        sql: "WITH held AS (
                SELECT l.ems_no, l.item_record_no, sum(l.qty) AS qty FROM declaration_lines l
                JOIN declarations d ON d.id = l.declaration_id
                WHERE d.status IN (300, 500) AND d.cancelled_at IS NULL GROUP BY 1, 2)
              SELECT i.ems_no || '/' || i.item_record_no || ': reserved ' || i.reserved
                     || ' but held lines total ' || COALESCE(h.qty, 0)
              FROM account_book_items i
              LEFT JOIN held h ON h.ems_no = i.ems_no AND h.item_record_no = i.item_record_no
              WHERE i.reserved <> COALESCE(h.qty, 0)",
    },
    Check {
        name: "buyer quotas equal the accepted amounts",
        sql: "WITH accepted AS (
                SELECT buyer_hash, quota_year, sum(quota_amount) AS amount FROM declarations
                WHERE status IN (800, 300, 500, 120) GROUP BY 1, 2)
              SELECT encode(q.buyer_hash, 'hex') || '/' || q.year || ': used ' || q.used
                     || ' but accepted ' || COALESCE(a.amount, 0)
              FROM buyer_quotas q
              LEFT JOIN accepted a ON a.buyer_hash = q.buyer_hash AND a.quota_year = q.year
              WHERE q.used <> COALESCE(a.amount, 0) OR q.used > q.limit_amount",
    },
    Check {
        name: "receipt sequences are 1..n without gaps per order",
        sql: "SELECT ebp_code || '/' || order_no || ': ' || count(*) || ' receipts, max sequence '
                     || max(sequence)
              FROM receipts GROUP BY ebp_code, order_no HAVING count(*) <> max(sequence)",
    },
    // The pipeline decides once (800, 300 or 100); a hold (300) may be followed by one
    // officer's final decision (800 or 100), possibly after an inspection (500).
    Check {
        name: "every declaration has one pipeline decision and at most one officer decision",
        sql: "SELECT d.ebp_code || '/' || d.order_no || ': ' || count(*) FILTER (WHERE r.return_status = 300)
                     || ' holds, ' || count(*) FILTER (WHERE r.return_status <> 300)
                     || ' final decision receipts'
              FROM declarations d
              LEFT JOIN receipts r ON r.ebp_code = d.ebp_code AND r.order_no = d.order_no
                   AND r.flow = 1 AND (r.return_status IN (800, 300, 100) OR r.return_status < 0)
              GROUP BY d.id, d.ebp_code, d.order_no
              HAVING NOT ((count(*) FILTER (WHERE r.return_status = 300) = 0
                           AND count(*) FILTER (WHERE r.return_status <> 300) = 1)
                       OR (count(*) FILTER (WHERE r.return_status = 300) = 1
                           AND count(*) FILTER (WHERE r.return_status <> 300) <= 1))",
    },
    Check {
        name: "the latest decision receipt agrees with the declaration's status",
        sql: "SELECT d.ebp_code || '/' || d.order_no || ': status ' || d.status || ', receipt '
                     || r.return_status
              FROM declarations d
              CROSS JOIN LATERAL (
                SELECT return_status FROM receipts r
                WHERE r.ebp_code = d.ebp_code AND r.order_no = d.order_no AND r.flow = 1
                  AND (r.return_status IN (800, 300, 500, 100) OR r.return_status < 0)
                ORDER BY r.sequence DESC LIMIT 1) r
              WHERE (d.status IN (800, 300, 500, 100) OR d.status < 0)
                AND d.status <> r.return_status",
    },
    Check {
        name: "open review tasks are declarations still held (300) or in inspection (500)",
        sql: "SELECT d.ebp_code || '/' || d.order_no || ': open task, status ' || d.status
              FROM review_tasks t JOIN declarations d ON d.id = t.declaration_id
              WHERE t.state = 'open' AND (d.status NOT IN (300, 500) OR d.cancelled_at IS NOT NULL)",
    },
    Check {
        name: "receipts point at their order's declaration",
        sql: "SELECT r.id::text || ' of ' || r.ebp_code || '/' || r.order_no
              FROM receipts r JOIN declarations d ON d.id = r.declaration_id
              WHERE d.ebp_code <> r.ebp_code OR d.order_no <> r.order_no",
    },
    Check {
        // An officer's rejection comes after the invtNo was assigned (120), which it keeps.
        name: "released declarations carry an invtNo, rejected ones none unless held first",
        sql: "SELECT ebp_code || '/' || order_no || ': status ' || status || ' invt_no '
                     || COALESCE(invt_no, 'none')
              FROM declarations d
              WHERE (status IN (800, 300, 500) AND invt_no IS NULL)
                 OR ((status = 100 OR status < 0) AND invt_no IS NOT NULL
                     AND NOT EXISTS (SELECT 1 FROM review_tasks t WHERE t.declaration_id = d.id))",
    },
    Check {
        name: "buyer weights equal the accepted declarations' weights",
        sql: "WITH accepted AS (
                SELECT buyer_hash, quota_year, line, sum(kg) AS kg
                FROM declarations, unnest(weight_lines, weight_kg) AS w(line, kg)
                WHERE status IN (800, 300, 500, 120) GROUP BY 1, 2, 3)
              SELECT encode(w.buyer_hash, 'hex') || '/' || w.year || '/' || w.tariff_line
                     || ': used ' || w.used_kg || ' kg but accepted ' || COALESCE(a.kg, 0)
              FROM buyer_weights w
              LEFT JOIN accepted a ON a.buyer_hash = w.buyer_hash AND a.quota_year = w.year
                   AND a.line = w.tariff_line
              WHERE w.used_kg <> COALESCE(a.kg, 0)",
    },
    Check {
        name: "every declaration with an inventory number has its CEB621 stored",
        sql: "SELECT ebp_code || '/' || order_no FROM declarations
              WHERE invt_no IS NOT NULL AND ceb621 IS NULL",
    },
    Check {
        name: "stock of approved returns comes back only with the goods",
        sql: "SELECT d.ebp_code || '/' || d.order_no || ': goods back without an approved return'
              FROM declarations d WHERE d.goods_back_at IS NOT NULL AND d.refunded_at IS NULL",
    },
    Check {
        name: "no order is both declared and still waiting",
        sql: "SELECT p.ebp_code || '/' || p.order_no FROM pending_orders p
              JOIN declarations d ON d.ebp_code = p.ebp_code AND d.order_no = p.order_no",
    },
];

/// Runs every database check; returns `check: anomaly` lines (empty when all hold).
pub async fn check_database(pool: &PgPool) -> anyhow::Result<Vec<String>> {
    let mut anomalies = Vec::new();
    for check in CHECKS {
        let rows = sqlx::query(check.sql).fetch_all(pool).await?;
        for row in rows.iter().take(20) {
            let detail: Option<String> = row.try_get(0)?;
            anomalies.push(format!("{}: {}", check.name, detail.unwrap_or_default()));
        }
        if rows.len() > 20 {
            anomalies.push(format!("{}: ... and {} more", check.name, rows.len() - 20));
        }
    }
    Ok(anomalies)
}

/// Checks the published receipts against the outbox: every published row is on the topic, and
/// nothing is on the topic that the database does not hold (no receipt for rolled-back work).
/// `topic_ids` are the receipt ids read from the topic (duplicates allowed: at least once).
pub async fn check_receipts_topic(
    pool: &PgPool,
    topic_ids: &[String],
) -> anyhow::Result<Vec<String>> {
    let rows: Vec<(String, String, i32, bool)> = sqlx::query_as(
        "SELECT ebp_code, order_no, sequence,
                (chain_xid, id) <= (SELECT m.chain_xid, m.id FROM outbox_marks m
                                    WHERE m.stream = 'receipts')
         FROM receipts",
    )
    .fetch_all(pool)
    .await?;
    let stored: Vec<(uuid::Uuid, bool)> = rows
        .iter()
        .map(|(ebp, ono, seq, published)| (outbox::receipt_id(ebp, ono, *seq), *published))
        .collect();
    let on_topic: std::collections::HashSet<&str> = topic_ids.iter().map(String::as_str).collect();
    let known: std::collections::HashSet<String> =
        stored.iter().map(|(id, _)| id.to_string()).collect();
    let mut anomalies = Vec::new();
    for (id, published) in &stored {
        if *published && !on_topic.contains(id.to_string().as_str()) {
            anomalies.push(format!(
                "receipt {id} marked published but not on the topic"
            ));
        }
    }
    for id in &on_topic {
        if !known.contains(*id) {
            anomalies.push(format!(
                "receipt {id} on the topic but not in the database (rolled-back work?)"
            ));
        }
    }
    Ok(anomalies)
}

/// What the input checker needs to know of a documents-topic record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputRecord {
    /// A usable document of the order `(ebp_code, order_no)`.
    Document { ebp_code: String, order_no: String },
    /// A record the pipeline must dead-letter.
    Bad,
}

/// Checks the documents topic against the database: every partition consumed to its end,
/// every usable document's order answered (declared, or pending/closed as incomplete: no lost
/// write), and every bad record exactly one dead letter at its own partition and offset.
/// `classify` says what each record is (the pipeline's own decoder, in the pipeline tests).
pub async fn check_input_topic(
    pool: &PgPool,
    records: &[crate::TopicRecord],
    classify: impl Fn(&crate::TopicRecord) -> InputRecord,
) -> anyhow::Result<Vec<String>> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut anomalies = Vec::new();
    let mut ends: BTreeMap<i32, i64> = BTreeMap::new();
    let mut orders: BTreeSet<(String, String)> = BTreeSet::new();
    let mut bad: BTreeSet<(i32, i64)> = BTreeSet::new();
    for record in records {
        let end = ends.entry(record.partition).or_default();
        *end = (*end).max(record.offset + 1);
        match classify(record) {
            InputRecord::Document { ebp_code, order_no } => {
                orders.insert((ebp_code, order_no));
            }
            InputRecord::Bad => {
                bad.insert((record.partition, record.offset));
            }
        }
    }
    let positions: Vec<(i32, i64)> =
        sqlx::query_as("SELECT partition, next_offset FROM consumer_positions")
            .fetch_all(pool)
            .await?;
    let positions: BTreeMap<i32, i64> = positions.into_iter().collect();
    for (partition, end) in &ends {
        let at = positions.get(partition).copied().unwrap_or(0);
        if at != *end {
            anomalies.push(format!(
                "input: partition {partition} holds offsets up to {end} but the position is {at}"
            ));
        }
    }
    let answered: Vec<(String, String)> = sqlx::query_as(
        "SELECT ebp_code, order_no FROM declarations
         UNION SELECT ebp_code, order_no FROM pending_orders
         UNION SELECT ebp_code, order_no FROM receipts",
    )
    .fetch_all(pool)
    .await?;
    let answered: BTreeSet<(String, String)> = answered.into_iter().collect();
    let lost: Vec<_> = orders.difference(&answered).collect();
    for (ebp, order) in lost.iter().take(20) {
        anomalies.push(format!(
            "input: lost write: order {ebp}/{order} has no trace"
        ));
    }
    if lost.len() > 20 {
        anomalies.push(format!(
            "input: ... and {} more lost orders",
            lost.len() - 20
        ));
    }
    let dead: Vec<(i32, i64)> = sqlx::query_as("SELECT partition, \"offset\" FROM dead_letters")
        .fetch_all(pool)
        .await?;
    let dead_set: BTreeSet<(i32, i64)> = dead.iter().copied().collect();
    if dead.len() != dead_set.len() {
        anomalies.push("dead letters: a record was dead-lettered twice".to_owned());
    }
    for (partition, offset) in bad.difference(&dead_set).take(20) {
        anomalies.push(format!(
            "dead letters: bad record {partition}/{offset} has no dead letter"
        ));
    }
    for (partition, offset) in dead_set.difference(&bad).take(20) {
        anomalies.push(format!(
            "dead letters: {partition}/{offset} was dead-lettered but is a usable record"
        ));
    }
    Ok(anomalies)
}

/// A receipt as read from the topic: its id, order and per-order sequence.
#[derive(Debug, Clone)]
pub struct PublishedReceipt {
    /// Stable receipt id.
    pub id: String,
    /// `ebpCode/orderNo`.
    pub order: String,
    /// Per-order sequence (1, 2, ...).
    pub sequence: i32,
}

/// Checks that per order, the receipts appear on the topic in status order: ignoring repeats of
/// an id already seen (publication is at least once), the sequences of one order come as
/// 1, 2, 3... `receipts` must be in topic order per partition (an order's receipts share a
/// partition: they are keyed by order).
pub fn check_receipt_order(receipts: &[PublishedReceipt]) -> Vec<String> {
    use std::collections::{HashMap, HashSet};
    let mut seen: HashSet<&str> = HashSet::new();
    let mut last: HashMap<&str, i32> = HashMap::new();
    let mut anomalies = Vec::new();
    for receipt in receipts {
        if !seen.insert(&receipt.id) {
            continue;
        }
        let previous = last.entry(&receipt.order).or_insert(0);
        if receipt.sequence != *previous + 1 {
            anomalies.push(format!(
                "receipt order: {} published sequence {} after {}",
                receipt.order, receipt.sequence, previous
            ));
        }
        *previous = receipt.sequence;
    }
    anomalies.truncate(20);
    anomalies
}
