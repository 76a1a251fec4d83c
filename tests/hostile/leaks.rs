//! What an attacker learns without being allowed to act: whether an order exists, and the
//! personal data inside dead letters.

use bondgate_proto::Message as _;
use bondgate_proto::v1;
use serde_json::json;
use std::time::Duration;

use crate::fixtures::{self, USUAL};
use crate::stack::{EBP, EBP2, PAY2, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_enterprises_order_reads_exactly_like_a_missing_one() -> anyhow::Result<()> {
    // Goal: no existence oracle (issue 14, point 8): an order the key's enterprise is not
    // involved in is 404 with the same code and message shape as an order that does not exist.
    // Method: the platform submits an order; another platform and an uninvolved payment company
    // read it and a number that was never used; the answers differ only in the order number.
    let stack = Stack::start("hostile_oracle").await?;
    let (status, body) = stack
        .post_json(EBP, &json!([fixtures::order("HL-1", USUAL)]))
        .await;
    assert_eq!(status, 202, "{body}");
    stack
        .wait("the order stored", || async {
            Ok(stack.get(&format!("/v1/orders/{EBP}/HL-1"), EBP).await.0 == 200)
        })
        .await?;
    for reader in [EBP2, PAY2] {
        for path in [
            format!("/v1/orders/{EBP}/HL-1"),
            format!("/v1/orders/{EBP}/HL-1/inventory.xml"),
        ] {
            let (existing, existing_body) = stack.get(&path, reader).await;
            let missing_path = path.replace("HL-1", "HL-NEVER");
            let (missing, missing_body) = stack.get(&missing_path, reader).await;
            assert_eq!((existing, missing), (404, 404), "{reader} {path}");
            assert_eq!(existing_body["error"]["code"], "bg.order.not_found");
            let message = existing_body["error"]["message"]
                .as_str()
                .unwrap_or_default();
            let other = missing_body["error"]["message"]
                .as_str()
                .unwrap_or_default();
            assert_eq!(
                message.replace("HL-1", "HL-NEVER"),
                other,
                "{reader} {path}"
            );
        }
    }
    stack.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dead_letters_on_the_topic_carry_no_personal_data() -> anyhow::Result<()> {
    // Goal: the relay never republishes personal data in plain text on cbec.dlq.v1 (issue 14,
    // point 8): the record is published sealed with the data key, and opens to the original.
    // Method: write an order whose record key names another order (unroutable), read the dead
    // letter back from the topic, look for the buyer's ID number, name and phone in its bytes,
    // open the value with the data key.
    let stack = Stack::start("hostile_dlq").await?;
    let record = fixtures::record(&fixtures::order("HL-2", USUAL), EBP);
    let value = record.encode_to_vec();
    stack
        .produce_raw(&[(format!("{EBP}/HL-OTHER"), value.clone())])
        .await?;
    let topic = stack.kafka.topics.dead_letters.clone();
    let published =
        bondgate_tests::consume_all(&stack.kafka, &topic, 1, Duration::from_secs(60)).await?;
    assert_eq!(published.len(), 1, "one dead letter on {topic}");
    let (_, bytes) = &published[0];
    for secret in ["110101199003071234", "张三", "13812345678"] {
        let needle = secret.as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{secret} is readable on the dead-letter topic"
        );
    }
    let letter = v1::DeadLetter::decode(bytes.as_slice())?;
    assert!(letter.value_sealed);
    assert_eq!(letter.error_class, "unroutable");
    let cipher = bondgate_storage::crypto::SecurityConfig::default().cipher()?;
    assert_eq!(
        cipher.open(&letter.value)?,
        value,
        "the sealed value opens to the record"
    );
    stack.stop().await
}
