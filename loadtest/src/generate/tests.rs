use std::collections::{BTreeMap, HashMap};

use bondgate_ceb::model as raw;
use bondgate_domain::codes;
use bondgate_domain::documents::{Order, OrderBundle, Payment, Waybill};
use bondgate_domain::evaluate::{EvalContext, Outcome, evaluate};
use bondgate_domain::matching::{MatchOptions, match_bundle};
use bondgate_domain::seed::{load_seed_account_book, load_seed_positive_list};
use bondgate_proto::Message;
use bondgate_proto::v1::{Document, document::Body};
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::people::is_valid_id_number;
use super::*;

fn config(seed: u64) -> GeneratorConfig {
    GeneratorConfig {
        seed,
        ..GeneratorConfig::default()
    }
}

/// A mix with plenty of every kind of order, for tests that look at each kind.
fn busy_config(seed: u64) -> GeneratorConfig {
    GeneratorConfig {
        seed,
        heavy_buyers: 3,
        heavy_order_fraction: 0.1,
        mismatch_fraction: 0.15,
        over_limit_fraction: 0.1,
        ordinary_buyers: 40,
        ..GeneratorConfig::default()
    }
}

fn records(config: GeneratorConfig, orders: u64) -> (Vec<Record>, Vec<OrderMeta>) {
    let mut stream = RecordStream::new(config, orders).unwrap();
    let records: Vec<Record> = stream.by_ref().collect();
    (records, stream.drain_order_metas())
}

fn bundle_of(order: &GeneratedOrder) -> OrderBundle {
    OrderBundle {
        order: Order::parse(&order.order).unwrap(),
        payment: Payment::parse(&order.payment).unwrap(),
        waybill: Waybill::parse(&order.waybill).unwrap(),
    }
}

/// The documents of one order found so far.
type Parts = (Option<Order>, Option<Payment>, Option<Waybill>);

/// Decodes the three documents of every order in `records` back into bundles, by key.
fn bundles_from_records(records: &[Record]) -> HashMap<String, OrderBundle> {
    let mut parts: HashMap<String, Parts> = HashMap::new();
    for record in records.iter().filter(|r| r.order_no.is_some()) {
        let key = String::from_utf8(record.key.clone()).unwrap();
        let document = Document::decode(record.value.as_slice()).unwrap();
        assert_eq!(key, format!("{}/{}", document.ebp_code, document.order_no));
        let entry = parts.entry(key).or_default();
        match document.body.unwrap() {
            Body::Order(o) => entry.0 = Some(Order::parse(&raw::Order::from(&o)).unwrap()),
            Body::Payment(p) => {
                entry.1 = Some(Payment::parse(&raw::PaymentHead::from(&p)).unwrap());
            }
            Body::Waybill(w) => {
                entry.2 = Some(Waybill::parse(&raw::LogisticsHead::from(&w)).unwrap());
            }
            other => panic!("unexpected body {other:?}"),
        }
    }
    parts
        .into_iter()
        .map(|(key, (order, payment, waybill))| {
            let bundle = OrderBundle {
                order: order.unwrap(),
                payment: payment.unwrap(),
                waybill: waybill.unwrap(),
            };
            (key, bundle)
        })
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    let (a, metas_a) = records(config(42), 300);
    let (b, metas_b) = records(config(42), 300);
    assert_eq!(a, b);
    assert_eq!(metas_a, metas_b);
    let (c, _) = records(config(43), 300);
    assert_ne!(a, c);
    let keys_a: std::collections::HashSet<_> = a.iter().map(|r| &r.key).collect();
    assert!(
        c.iter().all(|r| !keys_a.contains(&r.key)),
        "seeds share keys"
    );
}

#[test]
fn the_stream_carries_exactly_the_generators_orders() {
    let mut generator = Generator::new(config(5)).unwrap();
    let (records, metas) = records(config(5), 200);
    let mut expected: Vec<Vec<u8>> = Vec::new();
    for _ in 0..200 {
        let order = generator.next_order();
        expected.extend(order.documents().iter().map(Message::encode_to_vec));
    }
    let mut actual: Vec<Vec<u8>> = records
        .iter()
        .filter(|r| r.order_no.is_some())
        .map(|r| r.value.clone())
        .collect();
    expected.sort();
    actual.sort();
    assert_eq!(actual, expected);
    assert_eq!(metas.len(), 200);
}

#[test]
fn every_bundle_parses_and_meets_its_expected_outcome() {
    let book = load_seed_account_book().unwrap();
    let list = load_seed_positive_list().unwrap();
    let rules = RulesConfig::default();
    let weights = BTreeMap::new();
    let ctx = EvalContext {
        account_book: &book,
        positive_list: &list,
        config: &rules,
        buyer_annual_used_cny: Decimal::ZERO,
        weight_used_kg: &weights,
        buyer_identity_verified: false,
    };
    let (records, metas) = records(busy_config(9), 2_000);
    let bundles = bundles_from_records(&records);
    assert_eq!(bundles.len(), metas.len());
    let mut seen = HashMap::new();
    for meta in &metas {
        let bundle = &bundles[&meta.key];
        let findings = match_bundle(bundle, &MatchOptions::default());
        let outcome = evaluate(bundle, &ctx).outcome;
        *seen
            .entry(std::mem::discriminant(&meta.expected))
            .or_insert(0) += 1;
        match meta.expected {
            ExpectedOutcome::Clean | ExpectedOutcome::QuotaContested => {
                assert!(findings.is_empty(), "{}: {findings:?}", meta.key);
                assert_eq!(outcome, Outcome::Release, "{}", meta.key);
            }
            ExpectedOutcome::Mismatch { kind } => {
                assert!(!findings.is_empty(), "{} {kind:?}", meta.key);
                let Outcome::Reject { codes, .. } = outcome else {
                    panic!("{} not rejected", meta.key)
                };
                assert_eq!(codes, vec![codes::DOCUMENTS_MISMATCH], "{}", meta.key);
            }
            ExpectedOutcome::OverLimit => {
                assert!(findings.is_empty(), "{}: {findings:?}", meta.key);
                assert!(bundle.order.lines.len() >= 2);
                let Outcome::Reject { codes, .. } = outcome else {
                    panic!("{} not rejected", meta.key)
                };
                assert_eq!(codes, vec![codes::OVER_SINGLE_LIMIT], "{}", meta.key);
            }
        }
    }
    assert_eq!(seen.len(), 4, "every kind of order occurs");
}

#[test]
fn every_mismatch_kind_disagrees_where_it_says() {
    let mut generator = Generator::new(GeneratorConfig {
        mismatch_fraction: 1.0,
        heavy_order_fraction: 0.0,
        over_limit_fraction: 0.0,
        ..config(3)
    })
    .unwrap();
    let mut kinds = HashMap::new();
    for _ in 0..300 {
        let order = generator.next_order();
        let ExpectedOutcome::Mismatch { kind } = order.meta.expected else {
            panic!("not a mismatch")
        };
        let findings = match_bundle(&bundle_of(&order), &MatchOptions::default());
        let fields: Vec<&str> = findings.iter().map(|f| f.field.as_str()).collect();
        let expected_prefix = match kind {
            MismatchKind::AmountPaid => "paymentHead.amountPaid",
            MismatchKind::Payer => "paymentHead.payer",
            MismatchKind::Consignee => "logisticsHead.consignee",
        };
        assert!(
            fields.iter().all(|f| f.starts_with(expected_prefix)) && !fields.is_empty(),
            "{kind:?}: {fields:?}"
        );
        *kinds.entry(kind).or_insert(0) += 1;
    }
    assert_eq!(kinds.len(), 3);
}

#[test]
fn hot_skus_take_most_lines() {
    let mut generator = Generator::new(config(11)).unwrap();
    let mut per_sku: HashMap<String, u32> = HashMap::new();
    let mut lines = 0;
    for _ in 0..5_000 {
        let order = generator.next_order();
        for line in &order.order.lists {
            *per_sku.entry(line.item_no.clone().unwrap()).or_default() += 1;
            lines += 1;
        }
    }
    let mut counts: Vec<(u32, String)> = per_sku.into_iter().map(|(k, v)| (v, k)).collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let share =
        |n: usize| f64::from(counts.iter().take(n).map(|c| c.0).sum::<u32>()) / f64::from(lines);
    assert_eq!(counts[0].1, catalog::HOT_TO_COLD[0].0);
    assert!(share(1) > 0.2, "top SKU share {}", share(1));
    assert!(share(3) > 0.45, "top-3 share {}", share(3));
    assert!(counts.len() >= 15, "the long tail is sold too");
}

#[test]
fn people_and_numbers_are_well_formed() {
    let mut generator = Generator::new(busy_config(12)).unwrap();
    for _ in 0..1_000 {
        let order = generator.next_order();
        let head = &order.order.head;
        assert!(is_valid_id_number(&head.buyer_id_number));
        assert!(is_valid_id_number(&order.payment.payer_id_number));
        for phone in [&head.buyer_telephone, &head.consignee_telephone] {
            assert_eq!(phone.len(), 11);
            assert!(phone.bytes().all(|b| b.is_ascii_digit()));
        }
        assert_eq!(head.guid.len(), 36);
        assert_eq!(head.guid, head.guid.to_uppercase());
        assert!(head.app_time.starts_with("2025111"), "{}", head.app_time);
        for line in &order.order.lists {
            let price: Decimal = line.price.parse().unwrap();
            let qty: Decimal = line.qty.parse().unwrap();
            assert_eq!(price * qty, line.total_price.parse::<Decimal>().unwrap());
        }
    }
}

#[test]
fn ordinary_buyers_stay_within_the_annual_limit_and_heavy_buyers_do_not() {
    let cfg = busy_config(13);
    let (_, metas) = records(cfg.clone(), 3_000);
    let mut totals: HashMap<u32, Decimal> = HashMap::new();
    for meta in &metas {
        if !meta.expected.is_rejected() {
            *totals.entry(meta.buyer).or_default() += meta.limit_amount_cny;
        }
        if meta.expected == ExpectedOutcome::QuotaContested {
            assert!(meta.buyer < cfg.heavy_buyers);
        }
    }
    let annual = cfg.rules.limits.annual_max_cny;
    for (buyer, total) in &totals {
        if *buyer >= cfg.heavy_buyers {
            assert!(*total <= annual, "buyer {buyer}: {total}");
        }
    }
    let heavy_over = (0..cfg.heavy_buyers)
        .filter(|b| totals.get(b).is_some_and(|t| *t > annual))
        .count();
    assert_eq!(heavy_over as u32, cfg.heavy_buyers);
    let full = totals
        .keys()
        .filter(|b| **b >= cfg.heavy_buyers + 40)
        .count();
    assert!(full > 0, "some ordinary buyers were replaced when full");
}

#[test]
fn bad_records_are_about_the_configured_fraction_and_really_bad() {
    let (records, _) = records(config(21), 20_000);
    let bad: Vec<&Record> = records.iter().filter(|r| r.order_no.is_none()).collect();
    let share = bad.len() as f64 / records.len() as f64;
    assert!((0.008..=0.012).contains(&share), "bad share {share}");
    let mut kinds = HashMap::new();
    for record in bad {
        let RecordKind::Bad(kind) = record.kind else {
            panic!("a record without order is bad")
        };
        *kinds.entry(kind).or_insert(0) += 1;
        let decoded = Document::decode(record.value.as_slice());
        match kind {
            BadKind::NotProtobuf | BadKind::Truncated => assert!(decoded.is_err(), "{kind:?}"),
            BadKind::EmptyBody => assert!(decoded.unwrap().body.is_none()),
            BadKind::KeyMismatch => {
                let document = decoded.unwrap();
                let key = format!("{}/{}", document.ebp_code, document.order_no);
                assert_ne!(record.key, key.into_bytes());
                assert!(document.body.is_some());
            }
        }
    }
    assert_eq!(kinds.len(), BadKind::ALL.len());
}

#[test]
fn stopping_still_completes_every_started_order() {
    let mut stream = RecordStream::new(config(8), 1_000).unwrap();
    let mut records: Vec<Record> = stream.by_ref().take(500).collect();
    stream.stop();
    records.extend(stream.by_ref());
    let metas = stream.drain_order_metas();
    assert!(metas.len() < 1_000);
    let mut per_key: HashMap<&[u8], u32> = HashMap::new();
    for record in records.iter().filter(|r| r.order_no.is_some()) {
        *per_key.entry(&record.key).or_default() += 1;
    }
    assert_eq!(per_key.len(), metas.len());
    assert!(per_key.values().all(|n| *n == 3));
}

#[test]
fn json_documents_round_trip_into_the_raw_model() {
    let mut generator = Generator::new(busy_config(4)).unwrap();
    for _ in 0..50 {
        let order = generator.next_order();
        let [mut o, mut p, mut w] = order.to_json();
        assert_eq!(o["type"], "order");
        assert_eq!(p["type"], "payment");
        assert_eq!(w["type"], "waybill");
        assert_eq!(w["ebpCode"], order.order.head.ebp_code.as_str());
        for value in [&mut o, &mut p, &mut w] {
            value.as_object_mut().unwrap().remove("type");
        }
        w.as_object_mut().unwrap().remove("ebpCode");
        assert_eq!(
            serde_json::from_value::<raw::Order>(o).unwrap(),
            order.order
        );
        assert_eq!(
            serde_json::from_value::<raw::PaymentHead>(p).unwrap(),
            order.payment
        );
        assert_eq!(
            serde_json::from_value::<raw::LogisticsHead>(w).unwrap(),
            order.waybill
        );
    }
}

#[test]
fn bad_configs_are_refused_with_every_problem() {
    let error = Generator::new(GeneratorConfig {
        mismatch_fraction: 1.5,
        lines_max: 0,
        ordinary_buyers: 0,
        ..GeneratorConfig::default()
    })
    .unwrap_err();
    let GenerateError::Config(problems) = error else {
        panic!("not a config error")
    };
    assert!(problems.len() >= 3, "{problems:?}");
}

fn positions_by_order(records: &[Record]) -> HashMap<&[u8], Vec<usize>> {
    let mut positions: HashMap<&[u8], Vec<usize>> = HashMap::new();
    for (position, record) in records.iter().enumerate() {
        if record.order_no.is_some() {
            positions.entry(&record.key).or_default().push(position);
        }
    }
    positions
}

#[test]
fn the_window_reorders_documents_within_orders() {
    let (records, _) = records(config(17), 2_000);
    let out_of_order = records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind == RecordKind::Payment)
        .filter(|(i, r)| {
            records[*i..]
                .iter()
                .any(|later| later.key == r.key && later.kind == RecordKind::Order)
        })
        .count();
    assert!(
        out_of_order > 100,
        "payments before their order: {out_of_order}"
    );
    let spans: Vec<usize> = positions_by_order(&records)
        .values()
        .map(|p| p[2] - p[0])
        .collect();
    assert!(
        spans.iter().any(|s| *s > 32),
        "documents spread over the window"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn documents_of_an_order_stay_within_the_window(
        seed in any::<u64>(),
        window in 0_u32..200,
        bad in 0.0_f64..0.2,
    ) {
        let cfg = GeneratorConfig {
            window_records: window,
            bad_record_fraction: bad,
            ..config(seed)
        };
        let (records, metas) = records(cfg, 300);
        let positions = positions_by_order(&records);
        prop_assert_eq!(positions.len(), metas.len());
        for (key, p) in &positions {
            prop_assert_eq!(p.len(), 3);
            let span = p[2] - p[0];
            prop_assert!(span <= window.max(2) as usize, "{:?}: span {} > {}", key, span, window);
        }
    }
}
