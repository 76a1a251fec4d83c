//! Goal: every kind of bad record a producer can put on the documents topic (not protobuf,
//! truncated, empty, keyless or mis-keyed, an unknown kind, fields that break the CEB formats,
//! invalid UTF-8, oversized) ends as exactly one dead letter with its specific class and code,
//! in the table and on the DLQ topic, byte for byte; it leaves no other trace, and a valid order
//! behind them (whose free text carries SQL and HTML metacharacters) still clears and is stored
//! byte for byte.
//! Method: a hand-made corpus, each record naming its own generated order, produced one by one
//! so each record's partition and offset are known, then the sentinel's three documents; the
//! service runs until the sentinel is declared and every dead letter is published; the table,
//! the DLQ topic, the order tables and the invariants are checked.

use std::collections::BTreeMap;
use std::time::Duration;

use bondgate_loadtest::generate::{GeneratedOrder, Generator};
use bondgate_proto::Message;
use bondgate_proto::v1::{self, document::Body};
use bondgate_storage::crypto::{DEV_DATA_KEY_HEX, PayloadCipher, SEAL_OVERHEAD_BYTES};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use crate::helpers::{Harness, clean_traffic};
use bondgate_clearance::relay::DEAD_LETTER_VALUE_MAX;

/// One record of the corpus and the dead letter it must become.
struct BadRecord {
    name: &'static str,
    key: Option<Vec<u8>>,
    value: Vec<u8>,
    class: &'static str,
    code: &'static str,
    /// The order (`ebpCode`, `orderNo`) it is about, which must leave no trace.
    order: (String, String),
}

/// SQL and HTML metacharacters, valid in any free-text field.
const METACHARACTERS: &str = "'; DROP TABLE declarations; --<script>alert(1)</script>\"\\%_&";

/// A value close to what a producer may send (librdkafka's `message.max.bytes`, 1,000,000,
/// counting the key and the record overhead). Wrapped with its source and reason, its dead
/// letter would no longer fit the DLQ topic: the relay publishes that one without its value
/// (over `DEAD_LETTER_VALUE_MAX`), so it cannot block the round of every other dead letter.
const OVERSIZED_VALUE_BYTES: usize = 999_900;

fn order_of(generated: &GeneratedOrder) -> (String, String) {
    let head = &generated.order.head;
    (head.ebp_code.clone(), head.order_no.clone())
}

fn key_of(generated: &GeneratedOrder) -> Option<Vec<u8>> {
    Some(generated.key().as_bytes().to_vec())
}

/// The order's CEB311 record with `change` applied to its body.
fn order_value(generated: &GeneratedOrder, change: impl FnOnce(&mut v1::Order)) -> Vec<u8> {
    let mut document = generated.documents()[0].clone();
    let Some(Body::Order(order)) = &mut document.body else {
        unreachable!("the first document is the order")
    };
    change(order);
    document.encode_to_vec()
}

/// A record that is a valid `Document` under the order's key but breaks a field format.
fn invalid(
    name: &'static str,
    generated: &GeneratedOrder,
    code: &'static str,
    change: impl FnOnce(&mut v1::Order),
) -> BadRecord {
    BadRecord {
        name,
        key: key_of(generated),
        value: order_value(generated, change),
        class: "invalid",
        code,
        order: order_of(generated),
    }
}

/// A value that is not a `Document` at all.
fn undecodable(name: &'static str, generated: &GeneratedOrder, value: Vec<u8>) -> BadRecord {
    BadRecord {
        name,
        key: key_of(generated),
        value,
        class: "decode",
        code: "bg.decode.protobuf",
        order: order_of(generated),
    }
}

/// A valid `Document` whose key does not route it to its order.
fn unroutable(
    name: &'static str,
    generated: &GeneratedOrder,
    key: Option<Vec<u8>>,
    document: &v1::Document,
) -> BadRecord {
    BadRecord {
        name,
        key,
        value: document.encode_to_vec(),
        class: "unroutable",
        code: "bg.route.key_mismatch",
        order: order_of(generated),
    }
}

fn billion_laughs() -> String {
    let mut entities = String::from("<!ENTITY lol \"lol\">");
    for level in 1..=9 {
        let previous = if level == 1 {
            "&lol;".repeat(10)
        } else {
            format!("&lol{};", level - 1).repeat(10)
        };
        entities.push_str(&format!("<!ENTITY lol{level} \"{previous}\">"));
    }
    format!(
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [{entities}]>\
         <ceb:CEB311Message xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\">&lol9;</ceb:CEB311Message>"
    )
}

/// Values that are no protobuf `Document`: CEB XML, broken XML, an entity bomb, intake's JSON,
/// a cut-off `Document`, and a string field that is not UTF-8.
fn undecodable_records(next: &mut impl FnMut() -> GeneratedOrder) -> Vec<BadRecord> {
    let xml = next();
    let ceb311 = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <ceb:CEB311Message xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\" version=\"1.0\">\
         <ceb:Order><ceb:OrderHead><ceb:orderNo>{}</ceb:orderNo></ceb:OrderHead></ceb:Order>\
         </ceb:CEB311Message>",
        xml.order.head.order_no
    );
    let broken = next();
    let bomb = next();
    let json = next();
    let [intake_order, _, _] = json.to_json();
    let intake_json = format!("[{intake_order}]").into_bytes();
    let truncated = next();
    let mut cut = truncated.documents()[0].encode_to_vec();
    cut.truncate(cut.len() / 2);
    let utf8 = next();
    let marker = "NOT-UTF8-MARKER";
    let mut not_utf8 = order_value(&utf8, |order| order.buyer_name = marker.to_owned());
    let at = not_utf8
        .windows(marker.len())
        .position(|window| window == marker.as_bytes())
        .expect("the marker is in the encoding");
    not_utf8[at] = 0xff;
    vec![
        undecodable("CEB311 XML instead of protobuf", &xml, ceb311.into_bytes()),
        undecodable(
            "malformed XML",
            &broken,
            b"<ceb:CEB311Message><ceb:Order><ceb:Order".to_vec(),
        ),
        undecodable("billion laughs XML", &bomb, billion_laughs().into_bytes()),
        undecodable("intake's JSON instead of protobuf", &json, intake_json),
        undecodable("protobuf cut in half", &truncated, cut),
        undecodable("invalid UTF-8 in buyerName", &utf8, not_utf8),
    ]
}

/// `Document`s without a usable body, and `Document`s that do not route to their order.
fn bodiless_and_unroutable_records(next: &mut impl FnMut() -> GeneratedOrder) -> Vec<BadRecord> {
    let empty = next();
    let unknown = next();
    let mut envelope = unknown.documents()[0].clone();
    envelope.body = None;
    let mut unknown_kind = envelope.encode_to_vec();
    // Field 19 (wire type 2): a body kind this version does not know.
    let future_body = b"a CEB627 from a newer producer";
    // The key (19 << 3) | 2 = 154 is past 127, so it takes two varint bytes.
    unknown_kind.extend_from_slice(&[0x9a, 0x01, future_body.len() as u8]);
    unknown_kind.extend_from_slice(future_body);
    let bodiless = |name, generated: &GeneratedOrder, value| BadRecord {
        name,
        key: key_of(generated),
        value,
        class: "decode",
        code: "bg.decode.empty_body",
        order: order_of(generated),
    };
    let keyless = next();
    let mis_keyed = next();
    let other = next();
    let wrong_body = next();
    let mut renamed = wrong_body.documents()[1].clone();
    renamed.order_no.push_str("-ELSEWHERE");
    let renamed_key = format!("{}/{}", renamed.ebp_code, renamed.order_no).into_bytes();
    let no_platform = next();
    let mut platformless = no_platform.documents()[2].clone();
    platformless.ebp_code.clear();
    let platformless_key = format!("/{}", platformless.order_no).into_bytes();
    vec![
        bodiless("empty value", &empty, Vec::new()),
        bodiless("unknown document kind (field 19)", &unknown, unknown_kind),
        unroutable("no key", &keyless, None, &keyless.documents()[0]),
        unroutable(
            "key of another order",
            &mis_keyed,
            key_of(&other),
            &mis_keyed.documents()[1],
        ),
        unroutable(
            "envelope and body name different orders",
            &wrong_body,
            Some(renamed_key),
            &renamed,
        ),
        unroutable(
            "envelope without ebpCode",
            &no_platform,
            Some(platformless_key),
            &platformless,
        ),
    ]
}

/// `Document`s that decode and route but break the CEB formats.
fn invalid_records(next: &mut impl FnMut() -> GeneratedOrder) -> Vec<BadRecord> {
    let payment = next();
    let mut document = payment.documents()[1].clone();
    if let Some(Body::Payment(body)) = &mut document.body {
        body.amount_paid = "-209".to_owned();
    }
    let negative_paid = BadRecord {
        name: "negative amountPaid",
        key: key_of(&payment),
        value: document.encode_to_vec(),
        class: "invalid",
        code: "bg.format.negative",
        order: order_of(&payment),
    };
    let big = next();
    // A first guess, then the padding less what the longer length varints added.
    let with_note = |bytes: usize| order_value(&big, |o| o.note = Some("x".repeat(bytes))).len();
    let guess = OVERSIZED_VALUE_BYTES - with_note(0);
    let padding = "x".repeat(guess - (with_note(guess) - OVERSIZED_VALUE_BYTES));
    let oversized = invalid("oversized value", &big, "bg.format.too_long", |o| {
        o.note = Some(padding);
    });
    assert_eq!(oversized.value.len(), OVERSIZED_VALUE_BYTES);
    vec![
        invalid("empty order body", &next(), "bg.format.empty", |o| {
            *o = v1::Order {
                ebp_code: o.ebp_code.clone(),
                order_no: o.order_no.clone(),
                ..v1::Order::default()
            };
        }),
        invalid(
            "appTime not a timestamp",
            &next(),
            "bg.format.timestamp",
            |o| {
                o.app_time = "yesterday".to_owned();
            },
        ),
        invalid(
            "price with 15 integer digits",
            &next(),
            "bg.format.integer_digits",
            |o| o.lines[0].price = "123456789012345.1".to_owned(),
        ),
        invalid(
            "price with 6 decimals",
            &next(),
            "bg.format.fraction_digits",
            |o| o.lines[0].price = "1.123456".to_owned(),
        ),
        invalid("negative quantity", &next(), "bg.format.negative", |o| {
            o.lines[0].qty = "-1".to_owned();
        }),
        invalid("zero quantity", &next(), "bg.format.not_positive", |o| {
            o.lines[0].qty = "0".to_owned();
        }),
        negative_paid,
        oversized,
    ]
}

/// The whole corpus; every record names an order of its own.
fn corpus(generator: &mut Generator) -> Vec<BadRecord> {
    let mut next = || generator.next_order();
    let mut records = undecodable_records(&mut next);
    records.extend(bodiless_and_unroutable_records(&mut next));
    records.extend(invalid_records(&mut next));
    records
}

/// A clean order whose free text (names, addresses, notes) carries metacharacters, changed
/// alike in all three documents so they still agree.
fn sentinel(generator: &mut Generator) -> GeneratedOrder {
    let mut sentinel = generator.next_order();
    let text = METACHARACTERS.to_owned();
    let head = &mut sentinel.order.head;
    head.buyer_name = text.clone();
    head.consignee = text.clone();
    head.consignee_address = format!("{}{text}", head.consignee_address);
    head.note = Some(text.clone());
    head.buyer_reg_no = text.clone();
    sentinel.order.lists[0].note = Some(text.clone());
    sentinel.payment.payer_name = text.clone();
    sentinel.payment.note = Some(text.clone());
    sentinel.waybill.consignee = text.clone();
    sentinel.waybill.consignee_address = sentinel.order.head.consignee_address.clone();
    sentinel.waybill.note = Some(text);
    sentinel
}

/// Sends one record and returns where it landed.
async fn send(
    producer: &FutureProducer,
    topic: &str,
    key: Option<&[u8]>,
    value: &[u8],
) -> anyhow::Result<(i32, i64)> {
    let mut record = FutureRecord::<[u8], [u8]>::to(topic).payload(value);
    if let Some(key) = key {
        record = record.key(key);
    }
    let delivery = producer
        .send(record, Timeout::After(Duration::from_secs(30)))
        .await
        .map_err(|(error, _)| error)?;
    Ok((delivery.partition, delivery.offset))
}

type Expected = BTreeMap<(i32, i64), (&'static str, &'static str, Option<Vec<u8>>, Vec<u8>)>;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_bad_record_is_one_dead_letter_with_its_specific_code() -> anyhow::Result<()> {
    let harness = Harness::new("bad_records", 2, 1_000).await?;
    let mut generator = Generator::new(bondgate_loadtest::generate::GeneratorConfig {
        order_no_prefix: "BAD".to_owned(),
        ..clean_traffic(31)
    })?;
    let corpus = corpus(&mut generator);
    let sentinel = sentinel(&mut generator);
    let producer = bondgate_kafka::producer(&harness.kafka, "bad-records")?;
    let topic = harness.kafka.topics.documents.clone();
    let mut expected = Expected::new();
    let mut names = BTreeMap::new();
    for bad in &corpus {
        let at = send(&producer, &topic, bad.key.as_deref(), &bad.value).await?;
        let entry = (bad.class, bad.code, bad.key.clone(), bad.value.clone());
        assert!(expected.insert(at, entry).is_none(), "{}: {at:?}", bad.name);
        names.insert(at, bad.name);
    }
    let mut sentinel_values = Vec::new();
    for document in sentinel.documents() {
        let value = document.encode_to_vec();
        send(&producer, &topic, Some(sentinel.key().as_bytes()), &value).await?;
        sentinel_values.push(value);
    }

    let service = harness.start(harness.config("bad-records-1"));
    harness
        .wait_for_declarations(1, Duration::from_secs(60))
        .await?;
    let total = i64::try_from(corpus.len())?;
    bondgate_tests::wait_until(
        "every dead letter stored and published",
        Duration::from_secs(60),
        || async {
            let published = harness
                .count("SELECT count(*) FROM dead_letters WHERE published_at IS NOT NULL")
                .await?;
            Ok(published >= total)
        },
    )
    .await?;
    service.stop().await?;

    assert_dead_letter_table(&harness, &expected, &names).await?;
    assert_dead_letter_topic(&harness, &expected, &names).await?;
    assert_sentinel_cleared(&harness, &sentinel, &sentinel_values).await?;
    assert_no_trace(&harness, &corpus).await?;
    harness.assert_invariants().await
}

/// One row per bad record, with its class, code, key and value.
async fn assert_dead_letter_table(
    harness: &Harness,
    expected: &Expected,
    names: &BTreeMap<(i32, i64), &str>,
) -> anyhow::Result<()> {
    type Row = (i32, i64, String, String, Option<Vec<u8>>, Vec<u8>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT partition, \"offset\", error_class, error_code, key, payload FROM dead_letters",
    )
    .fetch_all(&harness.pool)
    .await?;
    assert_eq!(rows.len(), expected.len(), "one dead letter per bad record");
    for (partition, offset, class, code, key, payload) in rows {
        let at = (partition, offset);
        let Some((want_class, want_code, want_key, want_value)) = expected.get(&at) else {
            panic!("a dead letter of no bad record, at {at:?}: {class} {code}");
        };
        let name = names[&at];
        assert_eq!(
            (class.as_str(), code.as_str()),
            (*want_class, *want_code),
            "{name}"
        );
        assert_eq!(&key, want_key, "{name}: the key, byte for byte");
        // Sealed at rest like every stored document (bad orders carry personal data too).
        assert!(
            &payload != want_value || want_value.is_empty(),
            "{name}: stored in the clear"
        );
        let opened = PayloadCipher::from_hex(DEV_DATA_KEY_HEX)?.open(&payload)?;
        assert!(&opened == want_value, "{name}: the value, byte for byte");
    }
    Ok(())
}

/// The DLQ topic carries the same dead letters, each with its source, reason and (sealed) bytes.
async fn assert_dead_letter_topic(
    harness: &Harness,
    expected: &Expected,
    names: &BTreeMap<(i32, i64), &str>,
) -> anyhow::Result<()> {
    let records = bondgate_tests::consume_all(
        &harness.kafka,
        &harness.kafka.topics.dead_letters,
        expected.len(),
        Duration::from_secs(30),
    )
    .await?;
    let cipher = PayloadCipher::from_hex(DEV_DATA_KEY_HEX)?;
    let mut seen = std::collections::BTreeSet::new();
    for (_, value) in records {
        let letter = v1::DeadLetter::decode(value.as_slice())?;
        assert_eq!(letter.source_topic, harness.kafka.topics.documents);
        let at = (letter.source_partition, letter.source_offset);
        let Some((class, code, key, value)) = expected.get(&at) else {
            panic!("a dead letter of no bad record on the DLQ topic, at {at:?}: {letter:?}");
        };
        let name = names[&at];
        assert_eq!(
            (letter.error_class.as_str(), letter.error_code.as_str()),
            (*class, *code),
            "{name} on the DLQ topic"
        );
        assert_eq!(letter.key, key.clone().unwrap_or_default(), "{name}");
        if value.len() + SEAL_OVERHEAD_BYTES > DEAD_LETTER_VALUE_MAX {
            // Too large to publish wrapped: left out, and the message says so.
            assert!(
                letter.value.is_empty(),
                "{name}: an oversized value is left out"
            );
            assert!(
                letter.error_message.contains("left out"),
                "{name}: {}",
                letter.error_message
            );
        } else {
            // Published sealed (it holds personal data); it opens to the record byte for byte.
            assert!(letter.value_sealed, "{name}: the value is sealed");
            let opened = cipher.open(&letter.value)?;
            assert!(&opened == value, "{name}: the value, byte for byte");
        }
        seen.insert(at);
    }
    let missing: Vec<&str> = names
        .iter()
        .filter(|(at, _)| !seen.contains(*at))
        .map(|(_, name)| *name)
        .collect();
    assert!(missing.is_empty(), "not on the DLQ topic: {missing:?}");
    Ok(())
}

/// The sentinel is released, and its stored documents decrypt to the records sent.
async fn assert_sentinel_cleared(
    harness: &Harness,
    sentinel: &GeneratedOrder,
    values: &[Vec<u8>],
) -> anyhow::Result<()> {
    let (ebp, order_no) = order_of(sentinel);
    let (status, codes): (i32, Vec<String>) = sqlx::query_as(
        "SELECT status, codes FROM declarations WHERE ebp_code = $1 AND order_no = $2",
    )
    .bind(&ebp)
    .bind(&order_no)
    .fetch_one(&harness.pool)
    .await?;
    assert_eq!(status, 800, "the sentinel clears: {codes:?}");
    let cipher = PayloadCipher::from_hex(DEV_DATA_KEY_HEX)?;
    for (table, value) in ["order_documents", "payment_documents", "waybill_documents"]
        .into_iter()
        .zip(values)
    {
        // `table` is one of the three names above.
        let sql = format!("SELECT payload FROM {table} WHERE ebp_code = $1 AND order_no = $2");
        let sealed: Vec<u8> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(&ebp)
            .bind(&order_no)
            .fetch_one(&harness.pool)
            .await?;
        assert!(
            &cipher.open(&sealed)? == value,
            "{table}: the stored document is the record sent, byte for byte"
        );
    }
    Ok(())
}

/// No bad record stored a document, opened an order, or moved stock, quota or receipts: only
/// the sentinel did.
async fn assert_no_trace(harness: &Harness, corpus: &[BadRecord]) -> anyhow::Result<()> {
    for bad in corpus {
        let (ebp, order_no) = &bad.order;
        for table in [
            "order_documents",
            "payment_documents",
            "waybill_documents",
            "pending_orders",
            "declarations",
            "receipts",
        ] {
            // `table` is one of the names above.
            let sql = format!("SELECT count(*) FROM {table} WHERE ebp_code = $1 AND order_no = $2");
            let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(ebp)
                .bind(order_no)
                .fetch_one(&harness.pool)
                .await?;
            assert_eq!(rows, 0, "{}: {table} has a row", bad.name);
        }
    }
    for (what, sql) in [
        ("declarations", "SELECT count(*) FROM declarations"),
        ("buyer quotas", "SELECT count(*) FROM buyer_quotas"),
        (
            "orders with receipts",
            "SELECT count(DISTINCT (ebp_code, order_no)) FROM receipts",
        ),
        (
            "declarations moving stock",
            "SELECT count(DISTINCT declaration_id) FROM stock_movements WHERE kind <> 1",
        ),
    ] {
        assert_eq!(harness.count(sql).await?, 1, "{what}: the sentinel's only");
    }
    Ok(())
}
