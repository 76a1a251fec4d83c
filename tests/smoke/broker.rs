//! Goal: documents produced with bondgate's producer settings are consumed back by a consumer
//! group with committed offsets, and a second consumer instance of the group resumes after a
//! restart exactly where the first stopped (no loss, no repeat).
//! Method: produce 200 keyed `Document`s to a fresh 3-partition topic; consumer A reads 120 and
//! commits; consumer B (same group, new process-like instance) must read exactly the other 80.

use bondgate_kafka::{consumer_config, producer};
use bondgate_proto::Message;
use bondgate_proto::v1::{Document, Payment, document::Body};
use bondgate_tests::{fresh_topic, stack_kafka};
use futures::StreamExt;
use rdkafka::Offset;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message as _;
use rdkafka::producer::FutureRecord;
use rdkafka::util::Timeout;
use std::collections::BTreeSet;
use std::time::Duration;

const TOTAL: usize = 200;
const FIRST: usize = 120;

fn document(index: usize) -> Document {
    Document {
        document_id: format!("doc-{index:04}"),
        ebp_code: "5001960ABC".into(),
        order_no: format!("SMOKE{index:06}"),
        body: Some(Body::Payment(Payment {
            amount_paid: "410.00".into(),
            ..Payment::default()
        })),
        ..Document::default()
    }
}

async fn consume(consumer: &StreamConsumer, count: usize) -> anyhow::Result<BTreeSet<String>> {
    let mut seen = BTreeSet::new();
    let mut stream = consumer.stream();
    while seen.len() < count {
        let message = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("stream ended"))??;
        let document = Document::decode(message.payload().unwrap_or_default())?;
        assert_eq!(
            message.key(),
            Some(format!("5001960ABC/{}", document.order_no).as_bytes())
        );
        assert!(
            seen.insert(document.document_id.clone()),
            "repeat: {}",
            document.document_id
        );
        consumer.store_offset_from_message(&message)?;
    }
    Ok(seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_consume_commit_and_resume_in_a_second_instance() -> anyhow::Result<()> {
    let config = stack_kafka();
    let topic = fresh_topic(&config, "smoke", 3).await?;
    let producer = producer(&config, "smoke-producer")?;
    for index in 0..TOTAL {
        let document = document(index);
        let key = format!("{}/{}", document.ebp_code, document.order_no);
        let payload = document.encode_to_vec();
        producer
            .send(
                FutureRecord::to(&topic).key(&key).payload(&payload),
                Timeout::After(Duration::from_secs(10)),
            )
            .await
            .map_err(|(error, _)| error)?;
    }
    println!(
        "smoke: produced {TOTAL} documents to {topic} on {}",
        config.brokers
    );

    let group = format!("{topic}.group");
    let first: StreamConsumer = consumer_config(&config, &group, "smoke-a").create()?;
    first.subscribe(&[&topic])?;
    let seen_first = consume(&first, FIRST).await?;
    first.commit_consumer_state(CommitMode::Sync)?;
    drop(first);

    let second: StreamConsumer = consumer_config(&config, &group, "smoke-b").create()?;
    second.subscribe(&[&topic])?;
    let seen_second = consume(&second, TOTAL - FIRST).await?;
    // Nothing more may arrive: the first instance's work must not be repeated.
    let extra = tokio::time::timeout(Duration::from_secs(3), second.recv()).await;
    assert!(
        extra.is_err(),
        "a message was delivered twice or too many were produced"
    );
    assert!(
        seen_first.is_disjoint(&seen_second),
        "the second instance repeated work"
    );
    assert_eq!(seen_first.len() + seen_second.len(), TOTAL);

    // The group's committed positions cover exactly what was produced (offsets start at 0).
    second.commit_consumer_state(CommitMode::Sync)?;
    let committed = second.committed(Timeout::After(Duration::from_secs(10)))?;
    let total: i64 = committed
        .elements()
        .iter()
        .map(|element| match element.offset() {
            Offset::Offset(next) => next,
            _ => 0,
        })
        .sum();
    assert_eq!(total, TOTAL as i64, "committed offsets: {committed:?}");
    println!(
        "smoke: consumer group {group} resumed in a second instance: {} + {} documents",
        seen_first.len(),
        seen_second.len()
    );
    Ok(())
}
