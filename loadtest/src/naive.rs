//! The naive baseline of issue #6: the same decisions as `services/clearance`, made the obvious
//! way, with ONE sea-orm transaction per Kafka record and the ORM for every statement.
//!
//! It exists only to be measured against the pipeline (`bondgate-naive` binary), so it is
//! deliberately simple: no batching, no set-based SQL, no lock ordering across records, no
//! positions in the database (the Kafka offset is committed after each record's transaction).
//! It keeps its documents, declarations, lines, receipts and quotas in its own `naive_*`
//! tables (created at start, [`SCHEMA`]) and uses the real `account_book_items` (stock) and
//! `stock_movements` (the ledger) through the storage crate's entities, so the rows it touches
//! per order match the pipeline's.
//!
//! Per record: decode (a bad record is counted and skipped), insert the document (a duplicate,
//! by order key and kind or by business key, is skipped), read the order's documents; when all
//! three are there and no declaration exists: decrypt and parse the siblings, evaluate with the
//! domain rules against the buyer's quota row and the items' stock rows (read `FOR UPDATE`),
//! deduct (800) or reserve (300) stock, add to the quota, insert the declaration, its lines and
//! one receipt. Cancellations, returns, changes (`appType` 2) and deletions (3) are outside the
//! baseline: they are counted as ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bondgate_clearance::decode::{self, Doc, InRecord, Incoming};
use bondgate_domain::account_book::AccountBook;
use bondgate_domain::allocation::StockKey;
use bondgate_domain::codes;
use bondgate_domain::config::RulesConfig;
use bondgate_domain::documents::OrderBundle;
use bondgate_domain::evaluate::{EvalContext, Evaluation, Outcome, evaluate};
use bondgate_kafka::KafkaConfig;
use bondgate_storage::DatabaseConfig;
use bondgate_storage::crypto::{PayloadCipher, SecurityConfig};
use bondgate_storage::entities::{account_book_item, stock_movement};
use futures::StreamExt as _;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::Message as _;
use rdkafka::{Offset, TopicPartitionList};
use rust_decimal::Decimal;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;

use crate::produce::is_loopback_only;

/// The baseline's own tables. Plain columns; the unique keys of the real schema.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS naive_documents (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ebp_code        varchar(18)  NOT NULL,
    order_no        varchar(60)  NOT NULL,
    -- 1 order (CEB311), 2 payment (CEB411), 3 waybill (CEB511).
    kind            smallint     NOT NULL CHECK (kind BETWEEN 1 AND 3),
    -- The document's own business key: (ebpCode, orderNo), (payCode, payTransactionId) or
    -- (logisticsCode, logisticsNo).
    business_code   varchar(18)  NOT NULL,
    business_no     varchar(60)  NOT NULL,
    document_id     uuid         NOT NULL,
    payload         bytea        NOT NULL,
    digest          bytea        NOT NULL CHECK (octet_length(digest) = 32),
    src_partition   integer      NOT NULL,
    src_offset      bigint       NOT NULL,
    received_at     timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT naive_documents_order_kind UNIQUE (ebp_code, order_no, kind),
    CONSTRAINT naive_documents_business UNIQUE (kind, business_code, business_no)
);
CREATE TABLE IF NOT EXISTS naive_declarations (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ebp_code         varchar(18)    NOT NULL,
    order_no         varchar(60)    NOT NULL,
    ebc_code         varchar(18)    NOT NULL,
    pay_code         varchar(18)    NOT NULL,
    logistics_code   varchar(18)    NOT NULL,
    logistics_no     varchar(60)    NOT NULL,
    status           integer        NOT NULL,
    buyer_hash       bytea          NOT NULL CHECK (octet_length(buyer_hash) = 32),
    quota_year       smallint       NOT NULL,
    dutiable_value   numeric(19, 5) NOT NULL CHECK (dutiable_value >= 0),
    quota_amount     numeric(19, 5) NOT NULL CHECK (quota_amount >= 0),
    tax_customs      numeric(19, 5) NOT NULL CHECK (tax_customs >= 0),
    tax_vat          numeric(19, 5) NOT NULL CHECK (tax_vat >= 0),
    tax_consumption  numeric(19, 5) NOT NULL CHECK (tax_consumption >= 0),
    tax_total        numeric(19, 5) NOT NULL CHECK (tax_total >= 0),
    codes            text[]         NOT NULL,
    reasons          text[]         NOT NULL,
    created_at       timestamptz    NOT NULL DEFAULT now(),
    CONSTRAINT naive_declarations_order UNIQUE (ebp_code, order_no),
    CONSTRAINT naive_declarations_waybill UNIQUE (logistics_code, logistics_no)
);
CREATE TABLE IF NOT EXISTS naive_lines (
    declaration_id   bigint         NOT NULL REFERENCES naive_declarations (id),
    gnum             smallint       NOT NULL CHECK (gnum BETWEEN 1 AND 99),
    ems_no           varchar(30)    NOT NULL,
    item_record_no   varchar(30)    NOT NULL,
    gcode            char(10)       NOT NULL,
    qty              numeric(19, 5) NOT NULL CHECK (qty > 0),
    total_price      numeric(19, 5) NOT NULL CHECK (total_price >= 0),
    tax_price        numeric(19, 5) NOT NULL CHECK (tax_price >= 0),
    tax_customs      numeric(19, 5) NOT NULL CHECK (tax_customs >= 0),
    tax_vat          numeric(19, 5) NOT NULL CHECK (tax_vat >= 0),
    tax_consumption  numeric(19, 5) NOT NULL CHECK (tax_consumption >= 0),
    CONSTRAINT naive_lines_pk PRIMARY KEY (declaration_id, gnum)
);
CREATE TABLE IF NOT EXISTS naive_receipts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ebp_code        varchar(18)  NOT NULL,
    order_no        varchar(60)  NOT NULL,
    sequence        integer      NOT NULL CHECK (sequence >= 1),
    return_status   integer      NOT NULL,
    return_info     text         NOT NULL,
    codes           text[]       NOT NULL,
    declaration_id  bigint       REFERENCES naive_declarations (id),
    created_at      timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT naive_receipts_order_sequence UNIQUE (ebp_code, order_no, sequence)
);
CREATE TABLE IF NOT EXISTS naive_quotas (
    buyer_hash    bytea          NOT NULL CHECK (octet_length(buyer_hash) = 32),
    year          smallint       NOT NULL,
    used          numeric(19, 5) NOT NULL CHECK (used >= 0),
    limit_amount  numeric(19, 5) NOT NULL CHECK (limit_amount > 0),
    CONSTRAINT naive_quotas_pk PRIMARY KEY (buyer_hash, year),
    CONSTRAINT naive_within_annual_limit CHECK (used <= limit_amount)
);
";

/// sea-orm entities of the baseline's tables ([`SCHEMA`]).
pub mod entities {
    /// `naive_documents`: orders, payments and waybills, sealed.
    pub mod document {
        use sea_orm::entity::prelude::*;

        /// One stored document.
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "naive_documents")]
        pub struct Model {
            /// Identity.
            #[sea_orm(primary_key)]
            pub id: i64,
            /// `ebpCode` of the order.
            pub ebp_code: String,
            /// `orderNo` of the order.
            pub order_no: String,
            /// 1 order, 2 payment, 3 waybill.
            pub kind: i16,
            /// Enterprise part of the document's business key.
            pub business_code: String,
            /// Number part of the document's business key.
            pub business_no: String,
            /// The sender's tracking id.
            pub document_id: Uuid,
            /// The `Document` record value, sealed with the data key.
            pub payload: Vec<u8>,
            /// SHA-256 of the body.
            pub digest: Vec<u8>,
            /// Source partition.
            pub src_partition: i32,
            /// Source offset.
            pub src_offset: i64,
            /// When stored.
            pub received_at: DateTimeWithTimeZone,
        }

        /// None navigated.
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// `naive_declarations`: one per order whose three documents met.
    pub mod declaration {
        use sea_orm::entity::prelude::*;

        /// One decision.
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "naive_declarations")]
        pub struct Model {
            /// Identity.
            #[sea_orm(primary_key)]
            pub id: i64,
            /// `ebpCode`.
            pub ebp_code: String,
            /// `orderNo`.
            pub order_no: String,
            /// Seller.
            pub ebc_code: String,
            /// Payment company.
            pub pay_code: String,
            /// Logistics company.
            pub logistics_code: String,
            /// Waybill number.
            pub logistics_no: String,
            /// 800, 300 or 100.
            pub status: i32,
            /// Keyed hash of the buyer's ID number.
            pub buyer_hash: Vec<u8>,
            /// Calendar year of the quota.
            pub quota_year: i16,
            /// Dutiable value.
            pub dutiable_value: Decimal,
            /// What counts toward the annual limit (0 when rejected).
            pub quota_amount: Decimal,
            /// Tariff.
            pub tax_customs: Decimal,
            /// VAT.
            pub tax_vat: Decimal,
            /// Consumption tax.
            pub tax_consumption: Decimal,
            /// Sum of the three.
            pub tax_total: Decimal,
            /// Codes of a rejection or hold.
            pub codes: Vec<String>,
            /// Reasons of a rejection or hold.
            pub reasons: Vec<String>,
            /// When decided.
            pub created_at: DateTimeWithTimeZone,
        }

        /// None navigated.
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// `naive_lines`: the lines of accepted declarations.
    pub mod line {
        use sea_orm::entity::prelude::*;

        /// One declaration line.
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "naive_lines")]
        pub struct Model {
            /// The declaration.
            #[sea_orm(primary_key, auto_increment = false)]
            pub declaration_id: i64,
            /// Line number.
            #[sea_orm(primary_key, auto_increment = false)]
            pub gnum: i16,
            /// Account book.
            pub ems_no: String,
            /// Account-book item.
            pub item_record_no: String,
            /// HS code.
            #[sea_orm(column_type = "Char(Some(10))")]
            pub gcode: String,
            /// Quantity.
            pub qty: Decimal,
            /// The order line's total price.
            pub total_price: Decimal,
            /// Dutiable price.
            pub tax_price: Decimal,
            /// Tariff.
            pub tax_customs: Decimal,
            /// VAT.
            pub tax_vat: Decimal,
            /// Consumption tax.
            pub tax_consumption: Decimal,
        }

        /// None navigated.
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// `naive_receipts`: one decision receipt per declaration.
    pub mod receipt {
        use sea_orm::entity::prelude::*;

        /// One receipt.
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "naive_receipts")]
        pub struct Model {
            /// Identity.
            #[sea_orm(primary_key)]
            pub id: i64,
            /// `ebpCode`.
            pub ebp_code: String,
            /// `orderNo`.
            pub order_no: String,
            /// Per-order sequence.
            pub sequence: i32,
            /// CEB returnStatus.
            pub return_status: i32,
            /// CEB returnInfo.
            pub return_info: String,
            /// Customs codes.
            pub codes: Vec<String>,
            /// The declaration.
            pub declaration_id: Option<i64>,
            /// When written.
            pub created_at: DateTimeWithTimeZone,
        }

        /// None navigated.
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// `naive_quotas`: per buyer and year, the amount accepted so far.
    pub mod quota {
        use sea_orm::entity::prelude::*;

        /// One buyer-year.
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "naive_quotas")]
        pub struct Model {
            /// Keyed hash of the buyer's ID number.
            #[sea_orm(primary_key, auto_increment = false)]
            pub buyer_hash: Vec<u8>,
            /// Calendar year.
            #[sea_orm(primary_key, auto_increment = false)]
            pub year: i16,
            /// Used so far.
            pub used: Decimal,
            /// The annual limit.
            pub limit_amount: Decimal,
        }

        /// None navigated.
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }
}

use entities::{declaration, document, line, quota, receipt};

/// Document kinds of `naive_documents.kind`.
const ORDER: i16 = 1;
const PAYMENT: i16 = 2;
const WAYBILL: i16 = 3;

/// Stock movement kinds, as the pipeline writes them (`stock_movements.kind`).
const MOVEMENT_RESERVE: i16 = 2;
const MOVEMENT_RESERVE_AND_DEDUCT: i16 = 6;

/// What one record came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// Not a usable document: counted and skipped (no dead-letter row).
    DeadLetter,
    /// The same document (order key and kind, or business key) was stored before: skipped.
    Duplicate,
    /// Stored; the order is still incomplete, or already declared.
    Stored,
    /// Stored, and it completed its order, which got a declaration with this status.
    Decided {
        /// 800, 300 or 100.
        status: i32,
    },
    /// A cancellation, return, change or deletion: outside the baseline.
    Ignored,
}

/// Reference data and settings of the baseline's decisions.
#[derive(Debug)]
struct Reference {
    account_book: AccountBook,
    positive_list: bondgate_domain::positive_list::PositiveList,
    rules: RulesConfig,
    buyer_hash_key: Vec<u8>,
}

impl Reference {
    /// The buyer's quota row: the keyed hash of the ID number and the current calendar year in
    /// Beijing, as the pipeline counts it.
    fn quota_key(&self, bundle: &OrderBundle) -> (Vec<u8>, i16) {
        let id = &bundle.order.buyer.id_number;
        let hash = bondgate_domain::privacy::hash_id_number(&self.buyer_hash_key, id);
        let hash = decode_hex(&hash);
        let beijing = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
        let year = chrono::Datelike::year(&chrono::Utc::now().with_timezone(&beijing));
        (hash, i16::try_from(year).unwrap_or(i16::MAX))
    }

    /// The account-book items of an order's lines.
    fn items_needed(&self, bundle: &OrderBundle) -> BTreeSet<StockKey> {
        bundle
            .order
            .lines
            .iter()
            .filter_map(|line| self.account_book.by_sku(line.item_no.as_deref()?))
            .map(|item| StockKey::new(&item.ems_no, &item.item_record_no))
            .collect()
    }
}

/// Bytes of a lower-case hex text (the domain's hashes are hex).
fn decode_hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The baseline: a connection, the reference data and the keys.
#[derive(Debug)]
pub struct Naive {
    db: DatabaseConnection,
    cipher: PayloadCipher,
    reference: Reference,
}

impl Naive {
    /// Connects to an already migrated and seeded bondgate database, creates the `naive_*`
    /// tables if missing and loads the reference data as clearance does (dev keys).
    pub async fn connect(database_url: &str) -> anyhow::Result<Self> {
        let db = bondgate_storage::connect(&DatabaseConfig {
            url: database_url.to_owned(),
            max_connections: 2,
            ..DatabaseConfig::default()
        })
        .await
        .context("connecting to PostgreSQL")?;
        db.execute_unprepared(SCHEMA)
            .await
            .context("creating the naive_* tables")?;
        let security = SecurityConfig::default();
        let pool = bondgate_storage::pool(&db);
        let reference = Reference {
            account_book: bondgate_storage::reference::account_book(pool).await?,
            positive_list: bondgate_storage::reference::positive_list(pool).await?,
            rules: RulesConfig::default(),
            buyer_hash_key: security.buyer_hash_key()?,
        };
        Ok(Self {
            db,
            cipher: security.cipher()?,
            reference,
        })
    }

    /// The connection.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Handles one Kafka record in ONE transaction.
    pub async fn handle(&self, record: InRecord) -> anyhow::Result<Handled> {
        let Ok(incoming) = decode::decode(record) else {
            return Ok(Handled::DeadLetter);
        };
        if incoming.app_type != decode::AppType::New {
            return Ok(Handled::Ignored);
        }
        let Some((kind, business_code, business_no)) = business_key(&incoming) else {
            return Ok(Handled::Ignored);
        };
        let txn = self.db.begin().await?;
        let stored = document::Entity::insert(document::ActiveModel {
            id: NotSet,
            ebp_code: Set(incoming.ebp_code.clone()),
            order_no: Set(incoming.order_no.clone()),
            kind: Set(kind),
            business_code: Set(business_code),
            business_no: Set(business_no),
            document_id: Set(incoming.document_id),
            payload: Set(self.cipher.seal(&incoming.payload)),
            digest: Set(incoming.digest.to_vec()),
            src_partition: Set(incoming.partition),
            src_offset: Set(incoming.offset),
            received_at: NotSet,
        })
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .exec_without_returning(&txn)
        .await?;
        if stored == 0 {
            txn.commit().await?;
            return Ok(Handled::Duplicate);
        }
        let siblings = document::Entity::find()
            .filter(document::Column::EbpCode.eq(incoming.ebp_code.as_str()))
            .filter(document::Column::OrderNo.eq(incoming.order_no.as_str()))
            .all(&txn)
            .await?;
        let complete = [ORDER, PAYMENT, WAYBILL]
            .iter()
            .all(|k| siblings.iter().any(|d| d.kind == *k));
        let handled = if complete
            && declaration::Entity::find()
                .filter(declaration::Column::EbpCode.eq(incoming.ebp_code.as_str()))
                .filter(declaration::Column::OrderNo.eq(incoming.order_no.as_str()))
                .one(&txn)
                .await?
                .is_none()
        {
            let status = self.decide(&txn, &incoming, kind, &siblings).await?;
            Handled::Decided { status }
        } else {
            Handled::Stored
        };
        txn.commit().await?;
        Ok(handled)
    }

    /// Decides a complete order inside the record's transaction; returns the status.
    async fn decide(
        &self,
        txn: &DatabaseTransaction,
        incoming: &Incoming,
        kind: i16,
        siblings: &[document::Model],
    ) -> anyhow::Result<i32> {
        let (bundle, buyer_verified) = self.bundle(incoming, kind, siblings)?;
        let (buyer_hash, year) = self.reference.quota_key(&bundle);
        let quota_row = self.quota_row(txn, &buyer_hash, year).await?;
        let items = self.reference.items_needed(&bundle);
        let mut stock = BTreeMap::new();
        for key in items {
            let row = account_book_item::Entity::find_by_id((
                key.ems_no.clone(),
                key.item_record_no.clone(),
            ))
            .lock_exclusive()
            .one(txn)
            .await?;
            if let Some(row) = row {
                stock.insert(key, row);
            }
        }

        let weights = BTreeMap::new();
        let context = EvalContext {
            account_book: &self.reference.account_book,
            positive_list: &self.reference.positive_list,
            config: &self.reference.rules,
            buyer_annual_used_cny: quota_row.used,
            weight_used_kg: &weights,
            buyer_identity_verified: buyer_verified,
        };
        let mut evaluation = evaluate(&bundle, &context);
        let lines = line_items(&bundle, &evaluation, &self.reference.account_book);
        let needs = stock_needs(&lines, &evaluation);
        if !matches!(evaluation.outcome, Outcome::Reject { .. })
            && let Err(reason) = check_stock(&stock, &needs)
        {
            evaluation.outcome = Outcome::Reject {
                codes: vec![codes::INSUFFICIENT_STOCK],
                reasons: vec![reason],
            };
        }
        let summary = evaluation.outcome.summary();
        let status = i32::from(summary.status);
        let accepted = status != 100;

        let tax = if accepted {
            evaluation.tax
        } else {
            Default::default()
        };
        let declaration = declaration::ActiveModel {
            id: NotSet,
            ebp_code: Set(incoming.ebp_code.clone()),
            order_no: Set(incoming.order_no.clone()),
            ebc_code: Set(bundle.order.ebc_code.to_string()),
            pay_code: Set(bundle.payment.pay_code.to_string()),
            logistics_code: Set(bundle.waybill.logistics_code.to_string()),
            logistics_no: Set(bundle.waybill.logistics_no.clone()),
            status: Set(status),
            buyer_hash: Set(buyer_hash),
            quota_year: Set(year),
            dutiable_value: Set(evaluation.dutiable_value),
            quota_amount: Set(if accepted {
                evaluation.quota_amount
            } else {
                Decimal::ZERO
            }),
            tax_customs: Set(tax.customs),
            tax_vat: Set(tax.vat),
            tax_consumption: Set(tax.consumption),
            tax_total: Set(tax.total),
            codes: Set(summary.codes.clone()),
            reasons: Set(summary.reasons.clone()),
            created_at: NotSet,
        }
        .insert(txn)
        .await?;

        if accepted {
            let released = status == 800;
            for (key, qty) in &needs {
                let row = stock.get(key).context("stock row checked above")?;
                let mut item: account_book_item::ActiveModel = row.clone().into();
                if released {
                    item.on_hand = Set(row.on_hand - qty);
                } else {
                    item.reserved = Set(row.reserved + qty);
                }
                item.update(txn).await?;
            }
            let movements = evaluation.lines.iter().zip(&lines).map(|(tax, l)| {
                let (kind, on_hand_delta, reserved_delta) = if released {
                    (MOVEMENT_RESERVE_AND_DEDUCT, -tax.qty, Decimal::ZERO)
                } else {
                    (MOVEMENT_RESERVE, Decimal::ZERO, tax.qty)
                };
                stock_movement::ActiveModel {
                    id: NotSet,
                    ems_no: Set(l.ems_no.clone()),
                    item_record_no: Set(l.item_record_no.clone()),
                    kind: Set(kind),
                    on_hand_delta: Set(on_hand_delta),
                    reserved_delta: Set(reserved_delta),
                    declaration_id: Set(Some(declaration.id)),
                    created_at: NotSet,
                }
            });
            stock_movement::Entity::insert_many(movements)
                .exec_without_returning(txn)
                .await?;
            let rows = evaluation
                .lines
                .iter()
                .zip(&lines)
                .map(|(tax, l)| line::ActiveModel {
                    declaration_id: Set(declaration.id),
                    gnum: Set(i16::try_from(l.gnum).unwrap_or(i16::MAX)),
                    ems_no: Set(l.ems_no.clone()),
                    item_record_no: Set(l.item_record_no.clone()),
                    gcode: Set(tax.gcode.to_string()),
                    qty: Set(tax.qty),
                    total_price: Set(l.total_price),
                    tax_price: Set(tax.tax_price),
                    tax_customs: Set(tax.customs),
                    tax_vat: Set(tax.vat),
                    tax_consumption: Set(tax.consumption),
                });
            line::Entity::insert_many(rows)
                .exec_without_returning(txn)
                .await?;
            let mut quota_update: quota::ActiveModel = quota_row.clone().into();
            quota_update.used = Set(quota_row.used + evaluation.quota_amount);
            quota_update.update(txn).await?;
        }

        receipt::ActiveModel {
            id: NotSet,
            ebp_code: Set(incoming.ebp_code.clone()),
            order_no: Set(incoming.order_no.clone()),
            sequence: Set(1),
            return_status: Set(status),
            return_info: Set(return_info(status, &summary.codes, &summary.reasons)),
            codes: Set(if accepted {
                Vec::new()
            } else {
                summary.codes.clone()
            }),
            declaration_id: Set(Some(declaration.id)),
            created_at: NotSet,
        }
        .insert(txn)
        .await?;
        Ok(status)
    }

    /// The three documents: the record's own (already parsed) and its siblings, decrypted and
    /// parsed again.
    fn bundle(
        &self,
        incoming: &Incoming,
        kind: i16,
        siblings: &[document::Model],
    ) -> anyhow::Result<(OrderBundle, bool)> {
        let mut parsed: [Option<(Doc, bool)>; 3] = [None, None, None];
        for sibling in siblings {
            let slot = usize::try_from(sibling.kind - 1)?;
            parsed[slot] = Some(if sibling.kind == kind {
                (incoming.doc.clone(), incoming.buyer_verified)
            } else {
                let plain = self
                    .cipher
                    .open(&sibling.payload)
                    .with_context(|| format!("opening document {}", sibling.id))?;
                decode::reparse(&plain)
                    .map_err(|e| anyhow::anyhow!("stored document {}: {e}", sibling.id))?
            });
        }
        match parsed {
            [
                Some((Doc::Order(order), verified)),
                Some((Doc::Payment(payment), _)),
                Some((Doc::Waybill(waybill), _)),
            ] => Ok((
                OrderBundle {
                    order: *order,
                    payment: *payment,
                    waybill: *waybill,
                },
                verified,
            )),
            _ => bail!(
                "order {}/{}: stored documents of the wrong kinds",
                incoming.ebp_code,
                incoming.order_no
            ),
        }
    }

    /// The buyer's quota row, created at 0 when missing, read `FOR UPDATE`.
    async fn quota_row(
        &self,
        txn: &DatabaseTransaction,
        buyer_hash: &[u8],
        year: i16,
    ) -> anyhow::Result<quota::Model> {
        quota::Entity::insert(quota::ActiveModel {
            buyer_hash: Set(buyer_hash.to_vec()),
            year: Set(year),
            used: Set(Decimal::ZERO),
            limit_amount: Set(self.reference.rules.limits.annual_max_cny),
        })
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .exec_without_returning(txn)
        .await?;
        quota::Entity::find_by_id((buyer_hash.to_vec(), year))
            .lock_exclusive()
            .one(txn)
            .await?
            .context("quota row just created")
    }
}

/// Kind and business key of an order, payment or waybill; `None` for after-sales documents.
fn business_key(incoming: &Incoming) -> Option<(i16, String, String)> {
    match &incoming.doc {
        Doc::Order(_) => Some((ORDER, incoming.ebp_code.clone(), incoming.order_no.clone())),
        Doc::Payment(p) => Some((
            PAYMENT,
            p.pay_code.to_string(),
            p.pay_transaction_id.clone(),
        )),
        Doc::Waybill(w) => Some((
            WAYBILL,
            w.logistics_code.to_string(),
            w.logistics_no.clone(),
        )),
        Doc::Cancellation(_) | Doc::Refund(_) | Doc::LogisticsStatus(_) => None,
    }
}

/// An evaluated line with its account-book item and the order line's total price.
#[derive(Debug, Clone)]
struct LineItem {
    gnum: u32,
    ems_no: String,
    item_record_no: String,
    total_price: Decimal,
}

/// For each evaluated line: its item and total price (as clearance's planner pairs them).
fn line_items(bundle: &OrderBundle, evaluation: &Evaluation, book: &AccountBook) -> Vec<LineItem> {
    evaluation
        .lines
        .iter()
        .filter_map(|line| {
            let order_line = bundle.order.lines.iter().find(|l| l.gnum == line.gnum)?;
            let item = order_line
                .item_no
                .as_deref()
                .and_then(|sku| book.by_sku(sku))?;
            Some(LineItem {
                gnum: line.gnum,
                ems_no: item.ems_no.clone(),
                item_record_no: line.item_record_no.clone(),
                total_price: order_line.total_price.value(),
            })
        })
        .collect()
}

/// Quantity needed per item.
fn stock_needs(lines: &[LineItem], evaluation: &Evaluation) -> BTreeMap<StockKey, Decimal> {
    let mut needs: BTreeMap<StockKey, Decimal> = BTreeMap::new();
    for (tax, line) in evaluation.lines.iter().zip(lines) {
        *needs
            .entry(StockKey::new(
                line.ems_no.clone(),
                line.item_record_no.clone(),
            ))
            .or_default() += tax.qty;
    }
    needs
}

/// All or nothing: every item has `on_hand - reserved` for what the order needs.
fn check_stock(
    stock: &BTreeMap<StockKey, account_book_item::Model>,
    needs: &BTreeMap<StockKey, Decimal>,
) -> Result<(), String> {
    for (key, qty) in needs {
        let available = stock
            .get(key)
            .map_or(Decimal::ZERO, |row| row.on_hand - row.reserved);
        if *qty > available {
            return Err(format!(
                "账册[{}]料号[{}]库存不足：需要[{qty}]，可用[{available}]",
                key.ems_no, key.item_record_no
            ));
        }
    }
    Ok(())
}

/// The receipt's returnInfo, worded as the pipeline's final receipt.
fn return_info(status: i32, codes: &[String], reasons: &[String]) -> String {
    match status {
        800 => "[Code:2600;Desc:放行]".to_owned(),
        300 => format!("[Code:3000;Desc:人工审核] {}", reasons.join("; ")),
        _ => format!("[code:{};Desc:{}]", codes.join(","), reasons.join("; ")),
    }
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct NaiveOptions {
    /// A migrated, seeded bondgate database.
    pub database_url: String,
    /// Bootstrap brokers (loopback only).
    pub brokers: String,
    /// The documents topic.
    pub topic: String,
    /// Consumer group whose committed offsets are used and advanced.
    pub group_id: String,
    /// Stop after this many decided orders.
    pub orders_max: u64,
    /// Stop after this long from the start.
    pub duration_max: Duration,
    /// Stop when no record arrived for this long after the first one.
    pub idle_max: Duration,
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NaiveStop {
    /// `orders_max` orders decided.
    Count,
    /// `duration_max` passed.
    Time,
    /// No record for `idle_max`.
    Idle,
}

/// Where a run stands (once a second).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NaiveProgress {
    /// Records handled.
    pub documents: u64,
    /// Orders decided.
    pub orders: u64,
    /// Seconds since the first record.
    pub elapsed_seconds: f64,
}

/// The result of a run (printed as JSON by `bondgate-naive`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NaiveSummary {
    /// Records handled (including bad ones and duplicates).
    pub documents: u64,
    /// Orders decided.
    pub orders: u64,
    /// From the first record to the last decision.
    pub seconds: f64,
    /// `orders / seconds`.
    pub orders_per_s: f64,
    /// Records per second, from the first record to the last one handled.
    pub documents_per_s: f64,
    /// Decisions by status (`"800"`, `"300"`, `"100"`).
    pub statuses: BTreeMap<String, u64>,
    /// Bad records (counted, skipped).
    pub dead_letters: u64,
    /// Documents stored before (skipped).
    pub duplicates: u64,
    /// After-sales documents, changes and deletions (outside the baseline).
    pub ignored: u64,
    /// Why the run ended.
    pub stopped_by: NaiveStop,
}

/// Consumes `options.topic` and decides orders, one transaction per record, until a bound.
pub async fn run(
    options: &NaiveOptions,
    mut on_progress: impl FnMut(&NaiveProgress),
) -> anyhow::Result<NaiveSummary> {
    if !is_loopback_only(&options.brokers) {
        bail!(
            "refusing to consume from {}: loopback brokers only",
            options.brokers
        );
    }
    let naive = Naive::connect(&options.database_url).await?;
    let kafka = KafkaConfig {
        brokers: options.brokers.clone(),
        ..KafkaConfig::default()
    };
    let consumer: StreamConsumer =
        bondgate_kafka::consumer_config(&kafka, &options.group_id, "bondgate-naive")
            .create()
            .context("creating the consumer")?;
    assign_all(&consumer, &options.topic)?;

    let started = Instant::now();
    let mut stream = consumer.stream();
    let mut statuses: BTreeMap<String, u64> = ["800", "300", "100"]
        .into_iter()
        .map(|s| (s.to_owned(), 0))
        .collect();
    let (mut documents, mut orders, mut dead_letters, mut duplicates, mut ignored) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut first_record: Option<Instant> = None;
    let mut last_record = started;
    let mut last_decision: Option<Instant> = None;
    let mut next_progress = started + Duration::from_secs(1);
    let stopped_by = loop {
        if orders >= options.orders_max {
            break NaiveStop::Count;
        }
        let now = Instant::now();
        if now.duration_since(started) >= options.duration_max {
            break NaiveStop::Time;
        }
        if first_record.is_some() && now.duration_since(last_record) >= options.idle_max {
            break NaiveStop::Idle;
        }
        if now >= next_progress {
            on_progress(&NaiveProgress {
                documents,
                orders,
                elapsed_seconds: first_record.map_or(0.0, |t| t.elapsed().as_secs_f64()),
            });
            next_progress = now + Duration::from_secs(1);
        }
        let message = match tokio::time::timeout(Duration::from_millis(200), stream.next()).await {
            Err(_) => continue,
            Ok(None) => bail!("the consumer stream ended"),
            Ok(Some(message)) => message.context("consuming")?,
        };
        first_record.get_or_insert_with(Instant::now);
        let record = InRecord {
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().unwrap_or_default().to_vec(),
            timestamp_ms: message.timestamp().to_millis().unwrap_or(0),
        };
        let handled = naive.handle(record).await.with_context(|| {
            format!(
                "record at partition {} offset {}",
                message.partition(),
                message.offset()
            )
        })?;
        consumer
            .commit_message(&message, CommitMode::Async)
            .context("committing the offset")?;
        documents += 1;
        last_record = Instant::now();
        match handled {
            Handled::DeadLetter => dead_letters += 1,
            Handled::Duplicate => duplicates += 1,
            Handled::Ignored => ignored += 1,
            Handled::Stored => {}
            Handled::Decided { status } => {
                orders += 1;
                *statuses.entry(status.to_string()).or_default() += 1;
                last_decision = Some(last_record);
            }
        }
    };
    drop(stream);
    // The asynchronous commits may still be in flight: end with a synchronous one. librdkafka
    // answers "no offset" when they already committed everything, which is fine.
    if documents > 0
        && let Err(error) = consumer.commit_consumer_state(CommitMode::Sync)
        && error.rdkafka_error_code() != Some(RDKafkaErrorCode::NoOffset)
    {
        return Err(error).context("committing the final offsets");
    }
    let first = first_record.unwrap_or(started);
    let seconds = last_decision.map_or(0.0, |t| t.duration_since(first).as_secs_f64());
    let record_seconds = last_record.saturating_duration_since(first).as_secs_f64();
    let rate = |n: u64, s: f64| if s > 0.0 { n as f64 / s } else { 0.0 };
    Ok(NaiveSummary {
        documents,
        orders,
        seconds,
        orders_per_s: rate(orders, seconds),
        documents_per_s: rate(documents, record_seconds),
        statuses,
        dead_letters,
        duplicates,
        ignored,
        stopped_by,
    })
}

/// Assigns every partition of `topic` at the group's committed offset (the beginning when
/// none): a single consumer needs no group join, which takes seconds on the local broker.
fn assign_all(consumer: &StreamConsumer, topic: &str) -> anyhow::Result<()> {
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .with_context(|| format!("metadata of {topic}"))?;
    let partitions = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map(|t| t.partitions().len())
        .unwrap_or_default();
    if partitions == 0 {
        bail!("topic {topic} does not exist or has no partitions");
    }
    let mut assignment = TopicPartitionList::new();
    for partition in 0..i32::try_from(partitions)? {
        assignment.add_partition_offset(topic, partition, Offset::Stored)?;
    }
    consumer.assign(&assignment)?;
    Ok(())
}
