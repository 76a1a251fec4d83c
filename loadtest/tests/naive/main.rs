//! The naive baseline against the local stack (PostgreSQL and the broker of `scripts/stack up`).
//!
//! Goal: the baseline makes the same decisions clearance must make, so that its throughput is a
//! fair comparison: every generated order decided once, with the status and customs codes the
//! generator expects, quotas within the annual limit, and stock taken exactly for what was
//! accepted.
//! Method: 50 generated orders with 5% bad records, mismatches, over-limit orders and one heavy
//! buyer who runs into the annual limit, produced to a fresh topic; the baseline runs in-process
//! on a fresh seeded database; its rows are compared with the manifest.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bondgate_loadtest::generate::{ExpectedOutcome, GeneratorConfig, OrderMeta, RecordStream};
use bondgate_loadtest::naive::entities::{declaration, document, line, quota, receipt};
use bondgate_loadtest::naive::{NaiveOptions, NaiveStop, run};
use bondgate_loadtest::produce::{ProduceOptions, produce};
use bondgate_storage::crypto::SecurityConfig;
use bondgate_storage::entities::{account_book_item, stock_movement};
use rust_decimal::Decimal;
use sea_orm::EntityTrait;

const ORDERS: u64 = 50;
const SEEDED_STOCK: i64 = 100_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naive_baseline_makes_the_decisions_the_generator_expects() -> anyhow::Result<()> {
    let kafka = bondgate_tests::stack_kafka();
    let topic = bondgate_tests::fresh_topic(&kafka, "naive", 3).await?;
    let (url, db) = bondgate_tests::seeded_database("naive", Decimal::from(SEEDED_STOCK)).await?;

    let generator = GeneratorConfig {
        seed: 606,
        bad_record_fraction: 0.05,
        mismatch_fraction: 0.1,
        over_limit_fraction: 0.1,
        heavy_buyers: 1,
        heavy_order_fraction: 0.3,
        ..GeneratorConfig::default()
    };
    let producer = bondgate_kafka::producer(&kafka, "naive-test")?;
    let mut stream = RecordStream::new(generator, ORDERS)?;
    let mut manifest = Vec::new();
    let produced = produce(
        &producer,
        &mut stream,
        &ProduceOptions::prefill(&topic),
        Some(&mut manifest),
        |_| {},
    )
    .await?;
    let orders: Vec<OrderMeta> = String::from_utf8(manifest)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(orders.len() as u64, ORDERS);
    assert!(produced.bad_records > 0, "the traffic has bad records");

    let options = NaiveOptions {
        database_url: url,
        brokers: kafka.brokers.clone(),
        topic: topic.clone(),
        group_id: format!("{topic}.naive"),
        orders_max: ORDERS,
        duration_max: Duration::from_secs(60),
        idle_max: Duration::from_secs(10),
    };
    let summary = run(&options, |_| {}).await?;

    // Every order decided once; every record up to the last decision handled once.
    assert_eq!(summary.stopped_by, NaiveStop::Count, "{summary:?}");
    assert_eq!(summary.orders, ORDERS);
    assert_eq!(summary.statuses.values().sum::<u64>(), ORDERS);
    assert!(summary.dead_letters <= produced.bad_records, "{summary:?}");
    assert_eq!((summary.duplicates, summary.ignored), (0, 0));
    assert_eq!(summary.documents, 3 * ORDERS + summary.dead_letters);
    assert!(summary.orders_per_s > 0.0 && summary.seconds > 0.0);

    // The decisions are the generator's expectations.
    let declarations: HashMap<String, declaration::Model> = declaration::Entity::find()
        .all(&db)
        .await?
        .into_iter()
        .map(|d| (format!("{}/{}", d.ebp_code, d.order_no), d))
        .collect();
    assert_eq!(declarations.len() as u64, ORDERS);
    let mut quota_rejections = 0;
    let mut heavy_released = 0;
    for order in &orders {
        let d = declarations
            .get(&order.key)
            .unwrap_or_else(|| panic!("{} was not decided", order.key));
        let has = |code: &str| d.codes.iter().any(|c| c == code);
        match order.expected {
            ExpectedOutcome::Clean => {
                assert_eq!((d.status, d.codes.len()), (800, 0), "{}: {d:?}", order.key);
            }
            ExpectedOutcome::OverLimit => {
                assert!(d.status == 100 && has("-621005"), "{}: {d:?}", order.key);
            }
            ExpectedOutcome::Mismatch { .. } => {
                assert!(d.status == 100 && has("-900101"), "{}: {d:?}", order.key);
            }
            ExpectedOutcome::QuotaContested => {
                if d.status == 800 {
                    heavy_released += 1;
                } else {
                    assert!(d.status == 100 && has("-621018"), "{}: {d:?}", order.key);
                    quota_rejections += 1;
                }
            }
        }
    }
    assert!(
        heavy_released > 0 && quota_rejections > 0,
        "the heavy buyer is released until the annual limit, then rejected \
         ({heavy_released} released, {quota_rejections} rejected)"
    );
    let count = |status: i32| declarations.values().filter(|d| d.status == status).count();
    for status in [800, 300, 100] {
        assert_eq!(
            summary.statuses[&status.to_string()],
            count(status) as u64,
            "{summary:?}"
        );
    }

    // One receipt per decision, with its status; documents stored sealed.
    let receipts = receipt::Entity::find().all(&db).await?;
    assert_eq!(receipts.len() as u64, ORDERS);
    for r in &receipts {
        let d = &declarations[&format!("{}/{}", r.ebp_code, r.order_no)];
        assert_eq!((r.return_status, r.declaration_id), (d.status, Some(d.id)));
    }
    let documents = document::Entity::find().all(&db).await?;
    assert_eq!(documents.len() as u64, 3 * ORDERS);
    let cipher = SecurityConfig::default().cipher()?;
    for stored in &documents {
        cipher.open(&stored.payload)?;
    }

    // Quotas: per buyer, what the accepted declarations count, within the limit.
    let mut accepted_per_buyer: BTreeMap<Vec<u8>, Decimal> = BTreeMap::new();
    for d in declarations.values().filter(|d| d.status != 100) {
        *accepted_per_buyer.entry(d.buyer_hash.clone()).or_default() += d.quota_amount;
    }
    for q in quota::Entity::find().all(&db).await? {
        let accepted = accepted_per_buyer
            .get(&q.buyer_hash)
            .copied()
            .unwrap_or_default();
        assert_eq!(q.used, accepted);
        assert!(q.used <= q.limit_amount);
    }

    // Stock: taken exactly for the released lines, and the ledger agrees with the balances.
    let by_id: HashMap<i64, i32> = declarations.values().map(|d| (d.id, d.status)).collect();
    let mut released: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for l in line::Entity::find().all(&db).await? {
        assert_eq!(by_id[&l.declaration_id], 800, "only 800s in this traffic");
        *released.entry((l.ems_no, l.item_record_no)).or_default() += l.qty;
    }
    assert!(!released.is_empty());
    let mut ledger: BTreeMap<(String, String), (Decimal, Decimal)> = BTreeMap::new();
    for m in stock_movement::Entity::find().all(&db).await? {
        let entry = ledger.entry((m.ems_no, m.item_record_no)).or_default();
        entry.0 += m.on_hand_delta;
        entry.1 += m.reserved_delta;
    }
    for item in account_book_item::Entity::find().all(&db).await? {
        let key = (item.ems_no.clone(), item.item_record_no.clone());
        let taken = released.get(&key).copied().unwrap_or_default();
        assert_eq!(item.on_hand, Decimal::from(SEEDED_STOCK) - taken, "{key:?}");
        assert_eq!(item.reserved, Decimal::ZERO, "{key:?}");
        assert_eq!(
            ledger.get(&key).copied(),
            Some((item.on_hand, item.reserved))
        );
    }
    Ok(())
}
