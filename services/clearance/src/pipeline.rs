//! One batch, end to end: skip what is already applied, decode, plan the documents of every
//! order, lock stock and quotas, decide complete orders in record order, apply cancellations and
//! returns, write everything and move the positions forward, all in ONE transaction.

use crate::decode::{DeadLetter, Doc, InRecord, Incoming, decode};
use crate::failpoint;
use crate::metrics::Metrics;
use crate::persist;
use crate::plan::declare::{self, Declarer};
use crate::plan::{Context, Planner, decide};
use crate::positions::{self, Position, PositionsKey, Rebase};
use crate::state::{self, OrderKey, Snapshot};
use bondgate_ceb::sign::SigningKey;
use bondgate_domain::config::RulesConfig;
use bondgate_domain::types::CustomsOffice;
use bondgate_storage::crypto::PayloadCipher;
use bondgate_storage::reference::SharedReference;
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

/// Why a batch did not commit.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Another instance took these partitions over; this batch must not write.
    #[error("partitions {0:?} were taken over by another instance")]
    Stale(Vec<i32>),
    /// A commit of ours whose outcome was unknown did land: continue from these positions.
    #[error("partitions {0:?} are ahead of this instance: an earlier commit landed")]
    Ahead(BTreeMap<i32, Position>),
    /// The database failed (retry the same batch after a pause).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A CEB621 of the batch could not be made: a defect, retried like an outage so it is seen.
    #[error("declaring: {0}")]
    Declare(String),
}

/// What a committed batch did.
#[derive(Debug, Default, Clone)]
pub struct BatchReport {
    /// Where each partition continues.
    pub next: BTreeMap<i32, i64>,
    /// Records that were already applied before (re-deliveries), skipped.
    pub skipped: usize,
    /// Receipts written to the outbox.
    pub receipts: usize,
    /// New declarations.
    pub declarations: usize,
    /// Dead letters.
    pub dead_letters: usize,
    /// Partitions moved back to the broker's new log by this batch.
    pub rebased: BTreeSet<i32>,
}

/// Everything a batch needs besides its records.
#[derive(Debug)]
pub struct Pipeline {
    /// The database.
    pub pool: PgPool,
    /// Seals stored documents.
    pub cipher: PayloadCipher,
    /// Account book and positive list, refreshed from the database.
    pub reference: SharedReference,
    /// Limits, tax, risk and after-sales rules.
    pub rules: RulesConfig,
    /// Key of the buyer ID-number hash.
    pub buyer_hash_key: Vec<u8>,
    /// Metrics.
    pub metrics: Metrics,
    /// Whose positions these are.
    pub positions: PositionsKey,
    /// Customs office of the declarations.
    pub customs_code: CustomsOffice,
    /// The declaring agent's SM2 key and its name, when the CEB621s are signed.
    pub signer: Option<(SigningKey, String)>,
}

/// How a batch treats its records.
#[derive(Debug, Clone, Copy)]
enum Mode<'e> {
    /// Decode, plan and store them.
    Apply,
    /// Dead-letter them (one record that the database refused with this error).
    Reject(&'e sqlx::postgres::PgDatabaseError),
}

/// A database error caused by the data itself (SQLSTATE class 22, data exception, or 23,
/// integrity constraint violation): retrying the same records fails the same way, so they are
/// bad input to isolate, not an outage. Connection, timeout, serialization and deadlock errors
/// are retried as they are.
fn deterministic(error: &sqlx::Error) -> Option<&sqlx::postgres::PgDatabaseError> {
    let sqlx::Error::Database(database) = error else {
        return None;
    };
    let database = database.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()?;
    let class = database.code().get(..2)?;
    matches!(class, "22" | "23").then_some(database)
}

/// Batch reports of two consecutive parts, as one.
fn merge(mut first: BatchReport, second: BatchReport) -> BatchReport {
    first.next.extend(second.next);
    first.skipped += second.skipped;
    first.receipts += second.receipts;
    first.declarations += second.declarations;
    first.dead_letters += second.dead_letters;
    first.rebased.extend(second.rebased);
    first
}

impl Pipeline {
    /// Processes one batch of records from partitions held at `held`; partitions in `rebases`
    /// continue from the broker's new log (see [`positions::rebase`]).
    ///
    /// A batch that the database refuses deterministically is split in halves, each processed
    /// (and committed) on its own, until the one record behind the error is alone: it becomes a
    /// dead letter and every other record clears (ARCHITECTURE guarantee 9).
    pub async fn process(
        &self,
        records: &[InRecord],
        held: &BTreeMap<i32, Position>,
        rebases: &BTreeMap<i32, Rebase>,
    ) -> Result<BatchReport, BatchError> {
        match self.process_as(records, held, rebases, Mode::Apply).await {
            Err(BatchError::Database(error)) => match deterministic(&error) {
                Some(refusal) => self.isolate(records, held, rebases, refusal).await,
                None => Err(BatchError::Database(error)),
            },
            other => other,
        }
    }

    /// Splits a refused batch; boxed because it recurses through [`Pipeline::process`].
    fn isolate<'a>(
        &'a self,
        records: &'a [InRecord],
        held: &'a BTreeMap<i32, Position>,
        rebases: &'a BTreeMap<i32, Rebase>,
        refusal: &'a sqlx::postgres::PgDatabaseError,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<BatchReport, BatchError>> + Send + 'a>> {
        Box::pin(async move {
            self.metrics
                .batch_retries
                .with_label_values(&["isolate"])
                .inc();
            if let [record] = records {
                tracing::warn!(
                    partition = record.partition,
                    offset = record.offset,
                    sqlstate = refusal.code(),
                    error = refusal.message(),
                    "the database refuses this record: dead-lettered"
                );
                return self
                    .process_as(records, held, rebases, Mode::Reject(refusal))
                    .await;
            }
            tracing::warn!(
                records = records.len(),
                sqlstate = refusal.code(),
                "a batch failed deterministically: splitting it to isolate the record"
            );
            let (first, second) = records.split_at(records.len() / 2);
            let first = self.process(first, held, rebases).await?;
            let mut held_after = held.clone();
            for (partition, next) in &first.next {
                if let Some(position) = held_after.get_mut(partition) {
                    position.next_offset = *next;
                }
            }
            let mut rebases_after = rebases.clone();
            rebases_after.retain(|partition, _| !first.rebased.contains(partition));
            let second = self.process(second, &held_after, &rebases_after).await?;
            Ok(merge(first, second))
        })
    }

    async fn process_as(
        &self,
        records: &[InRecord],
        held: &BTreeMap<i32, Position>,
        rebases: &BTreeMap<i32, Rebase>,
        mode: Mode<'_>,
    ) -> Result<BatchReport, BatchError> {
        let started = Instant::now();
        let mut effective = held.clone();
        for (partition, rebase) in rebases {
            if let Some(position) = effective.get_mut(partition) {
                position.next_offset = rebase.to_offset;
            }
        }
        let (fresh, mut report) = self.fresh_records(records, &effective);
        let touched: BTreeMap<i32, Position> = held
            .iter()
            .filter(|(p, _)| report.next.contains_key(p))
            .map(|(p, h)| (*p, *h))
            .collect();
        if report.next.is_empty() {
            return Ok(report);
        }
        let digests = last_record_digests(&fresh);
        let decoding = Instant::now();
        let (incoming, dead) = match mode {
            Mode::Apply => decode_all(fresh),
            Mode::Reject(refusal) => (Vec::new(), reject_all(fresh, refusal)),
        };
        self.metrics.stage("decode", decoding.elapsed());
        if failpoint::hit(failpoint::BEFORE_TRANSACTION) {
            return Err(failpoint::injected(failpoint::BEFORE_TRANSACTION).into());
        }
        let mut tx = self.pool.begin().await?;
        let fencing = positions::fencing(&mut tx, &self.positions, &touched).await?;
        if !fencing.stale.is_empty() {
            return Err(BatchError::Stale(fencing.stale));
        }
        if !fencing.ahead.is_empty() {
            return Err(BatchError::Ahead(fencing.ahead));
        }
        let transaction_started = Instant::now();
        let planner = self.plan(&mut tx, incoming, dead).await?;
        let writing = Instant::now();
        self.metrics.stage("plan", writing - transaction_started);
        persist::write(
            &mut tx,
            &planner.writes,
            &self.cipher,
            &self.positions.topic,
        )
        .await?;
        let rebased: BTreeMap<i32, Rebase> = rebases
            .iter()
            .filter(|(p, _)| touched.contains_key(p))
            .map(|(p, r)| (*p, *r))
            .collect();
        positions::rebase(&mut tx, &self.positions, &touched, &rebased).await?;
        positions::advance(&mut tx, &self.positions, &report.next, &digests).await?;
        if failpoint::hit(failpoint::BEFORE_COMMIT) {
            // Dropping the transaction rolls it back, as a lost connection would.
            return Err(failpoint::injected(failpoint::BEFORE_COMMIT).into());
        }
        let committing = Instant::now();
        self.metrics.stage("write", committing - writing);
        tx.commit().await?;
        self.metrics.stage("commit", committing.elapsed());
        self.record_ages(records);
        if failpoint::hit(failpoint::AFTER_COMMIT) {
            return Err(failpoint::injected(failpoint::AFTER_COMMIT).into());
        }
        self.metrics
            .transaction_duration
            .observe(transaction_started.elapsed().as_secs_f64());
        self.record_metrics(&planner, records.len(), started);
        report.receipts = planner.writes.receipts.len();
        report.declarations = planner.writes.declarations.len();
        report.dead_letters = planner.writes.dead_letters.len();
        report.rebased = rebased.into_keys().collect();
        Ok(report)
    }

    /// Drops records below the held position (already applied) and notes gaps above it.
    fn fresh_records<'r>(
        &self,
        records: &'r [InRecord],
        held: &BTreeMap<i32, Position>,
    ) -> (Vec<&'r InRecord>, BatchReport) {
        let mut report = BatchReport::default();
        let mut fresh = Vec::with_capacity(records.len());
        for record in records {
            let Some(position) = held.get(&record.partition) else {
                continue;
            };
            let expected = report
                .next
                .get(&record.partition)
                .copied()
                .unwrap_or(position.next_offset);
            if record.offset < expected {
                report.skipped += 1;
                continue;
            }
            if record.offset > expected {
                // The broker no longer has offsets we never saw: report it loudly, never hide it.
                self.metrics.offset_gaps.inc();
                tracing::error!(
                    partition = record.partition,
                    expected,
                    found = record.offset,
                    "offset gap: records between were lost by the broker"
                );
            }
            report.next.insert(record.partition, record.offset + 1);
            fresh.push(record);
        }
        (fresh, report)
    }

    /// Loads the batch's snapshot, plans it (pure), locks what the decisions change, decides
    /// (pure), and numbers the declarations: everything `persist::write` stores.
    async fn plan(
        &self,
        conn: &mut PgConnection,
        incoming: Vec<Incoming>,
        dead: Vec<DeadLetter>,
    ) -> Result<Planner, BatchError> {
        let (order, groups) = group_by_order(incoming);
        let snapshot = self.snapshot(conn, &order, &groups).await?;
        let reference = self.reference.current();
        let ctx = Context {
            reference: &reference,
            rules: &self.rules,
            buyer_hash_key: &self.buyer_hash_key,
            now: snapshot.now,
        };
        let Snapshot {
            mut orders,
            payment_owners,
            waybill_owners,
            bindings,
            ..
        } = snapshot;
        let mut planner = Planner::new(payment_owners, waybill_owners, bindings);
        planner.writes.dead_letters = dead;
        let mut works = planner.apply_batch(&order, groups, |key, _| {
            orders.remove(key).unwrap_or_default()
        });
        let complete = decide::complete_orders(&works);
        let to_lock = decide::rows_to_lock(&works, &complete, &ctx);
        let annual_limit = self.rules.limits.annual_max_cny;
        let mut locked = state::lock(conn, &to_lock, annual_limit).await?;
        planner.settle(&mut works, complete, &ctx, &mut locked);
        let numbers = persist::next_numbers(conn, declare::numbers_needed(&planner.writes)).await?;
        let declarer = Declarer {
            customs_code: &self.customs_code,
            signer: self.signer.as_ref().map(|(key, name)| (key, name.as_str())),
        };
        declare::number(&mut planner.writes, &numbers, &ctx, &declarer)
            .map_err(|error| BatchError::Declare(error.to_string()))?;
        Ok(planner)
    }

    /// The stored state of the batch's orders and what planning them needs (one round trip per
    /// kind of row).
    async fn snapshot(
        &self,
        conn: &mut PgConnection,
        order: &[OrderKey],
        groups: &[Vec<Incoming>],
    ) -> Result<Snapshot, BatchError> {
        let mut orders = state::load_orders(conn, order, &self.cipher).await?;
        let with_after_sales: BTreeSet<OrderKey> = order
            .iter()
            .zip(groups)
            .filter(|(_, documents)| documents.iter().any(|d| is_after_sale(&d.doc)))
            .map(|(key, _)| key.clone())
            .collect();
        state::load_lines(conn, &mut orders, &with_after_sales).await?;
        let (payment_keys, waybill_keys) = business_keys(groups);
        Ok(Snapshot {
            orders,
            payment_owners: state::payment_owners(conn, &payment_keys).await?,
            waybill_owners: state::waybill_owners(conn, &waybill_keys).await?,
            bindings: bondgate_storage::bindings::bound(&mut *conn, &seller_sent_orders(groups))
                .await?,
            now: state::now(conn).await?,
        })
    }

    /// Each record's time from its broker timestamp to the commit of its batch.
    fn record_ages(&self, records: &[InRecord]) {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let stage = self.metrics.stages.with_label_values(&["record_to_commit"]);
        for record in records.iter().filter(|r| r.timestamp_ms > 0) {
            // Clocks of producer and broker may be ahead of ours: never a negative age.
            let age_ms = (now_ms - record.timestamp_ms).max(0);
            stage.observe(age_ms as f64 / 1000.0);
        }
    }

    fn record_metrics(&self, planner: &Planner, records: usize, started: Instant) {
        let m = &self.metrics;
        m.records_consumed.inc_by(records as u64);
        m.batch_size.observe(records as f64);
        m.batch_duration.observe(started.elapsed().as_secs_f64());
        for declaration in &planner.writes.declarations {
            let code = declaration.codes.first().map_or("none", String::as_str);
            let code = if declaration.status == 300 {
                "hold"
            } else {
                code
            };
            // The decision, not the receipt status: a processing exception (a negative status)
            // is a rejection, its code in the `code` label, so `status="100"` counts them all.
            let decision = if declaration.status < 0 {
                100
            } else {
                declaration.status
            };
            m.decisions
                .with_label_values(&[&decision.to_string(), code])
                .inc();
        }
        for dead in &planner.writes.dead_letters {
            m.dead_letters.with_label_values(&[dead.class]).inc();
        }
        m.outbox_backlog.add(planner.writes.receipts.len() as i64);
    }
}

/// The fingerprint of the last record of each partition (records come in offset order).
fn last_record_digests(records: &[&InRecord]) -> BTreeMap<i32, [u8; 32]> {
    let mut last: BTreeMap<i32, &InRecord> = BTreeMap::new();
    for record in records {
        last.insert(record.partition, record);
    }
    last.into_iter()
        .map(|(p, r)| (p, positions::record_digest(r.key.as_deref(), &r.value)))
        .collect()
}

fn decode_all(records: Vec<&InRecord>) -> (Vec<Incoming>, Vec<DeadLetter>) {
    let mut incoming = Vec::with_capacity(records.len());
    let mut dead = Vec::new();
    for record in records {
        match decode(record.clone()) {
            Ok(document) => incoming.push(document),
            Err(letter) => dead.push(*letter),
        }
    }
    (incoming, dead)
}

fn reject_all(
    records: Vec<&InRecord>,
    refusal: &sqlx::postgres::PgDatabaseError,
) -> Vec<DeadLetter> {
    records
        .into_iter()
        .map(|record| DeadLetter::rejected(record.clone(), refusal.code(), refusal.message()))
        .collect()
}

/// Groups documents by order key, keeping both the keys' first-seen order and record order.
pub(crate) fn group_by_order(incoming: Vec<Incoming>) -> (Vec<OrderKey>, Vec<Vec<Incoming>>) {
    let mut index: HashMap<OrderKey, usize> = HashMap::new();
    let mut keys = Vec::new();
    let mut groups: Vec<Vec<Incoming>> = Vec::new();
    for document in incoming {
        let key = (document.ebp_code.clone(), document.order_no.clone());
        let slot = *index.entry(key.clone()).or_insert_with(|| {
            keys.push(key);
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[slot].push(document);
    }
    (keys, groups)
}

fn is_after_sale(doc: &Doc) -> bool {
    matches!(
        doc,
        Doc::Cancellation(_) | Doc::Refund(_) | Doc::LogisticsStatus(_)
    )
}

/// `(platform, seller)` of the orders their seller sent: the bindings the batch must know.
fn seller_sent_orders(groups: &[Vec<Incoming>]) -> BTreeSet<(String, String)> {
    groups
        .iter()
        .flatten()
        .filter_map(|document| match &document.doc {
            Doc::Order(order) if order.ebc_code.as_str() == document.sender_code => {
                Some((order.key.ebp_code.to_string(), order.ebc_code.to_string()))
            }
            _ => None,
        })
        .collect()
}

/// `(enterprise code, business number)` pairs, e.g. `(payCode, payTransactionId)`.
type BusinessKeys = Vec<(String, String)>;

fn business_keys(groups: &[Vec<Incoming>]) -> (BusinessKeys, BusinessKeys) {
    let mut payments = Vec::new();
    let mut waybills = Vec::new();
    for document in groups.iter().flatten() {
        match &document.doc {
            Doc::Payment(p) => {
                payments.push((p.pay_code.to_string(), p.pay_transaction_id.clone()))
            }
            Doc::Waybill(w) => {
                waybills.push((w.logistics_code.to_string(), w.logistics_no.clone()))
            }
            _ => {}
        }
    }
    (payments, waybills)
}
