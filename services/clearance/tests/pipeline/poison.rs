//! Goal: bad records never block a partition and end as dead letters with their reason, while
//! every valid order still gets its decision (rejections with the right customs codes).
//! Method: 400 orders of mixed traffic with 1% bad records, mismatched bundles and over-limit
//! orders; compare counts with the generator's, check the codes and the invariants.

use crate::helpers::Harness;
use bondgate_loadtest::generate::{ExpectedOutcome, GeneratorConfig};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn garbage_becomes_dead_letters_and_valid_orders_still_clear() -> anyhow::Result<()> {
    let harness = Harness::new("poison", 3, 100_000).await?;
    let generator = GeneratorConfig {
        seed: 21,
        bad_record_fraction: 0.01,
        mismatch_fraction: 0.05,
        over_limit_fraction: 0.03,
        ..GeneratorConfig::default()
    };
    let traffic = harness.produce(generator, 400).await?;
    assert!(
        traffic.bad_records > 0,
        "the traffic must contain bad records"
    );
    let service = harness.start(harness.config("poison-1"));
    harness
        .wait_for_declarations(400, Duration::from_secs(120))
        .await?;
    bondgate_tests::wait_until(
        "dead letters published",
        Duration::from_secs(30),
        || async {
            Ok(harness
                .count("SELECT count(*) FROM dead_letters WHERE published_at IS NULL")
                .await?
                == 0)
        },
    )
    .await?;
    service.stop().await?;

    let dead = harness.count("SELECT count(*) FROM dead_letters").await?;
    assert_eq!(
        dead,
        i64::try_from(traffic.bad_records)?,
        "every bad record is one dead letter"
    );
    let dlq = bondgate_tests::consume_all(
        &harness.kafka,
        &harness.kafka.topics.dead_letters,
        usize::try_from(dead)?,
        Duration::from_secs(30),
    )
    .await?;
    assert_eq!(
        dlq.len(),
        usize::try_from(dead)?,
        "every dead letter is on the DLQ topic"
    );

    for order in &traffic.orders {
        let (ebp, ono) = order
            .key
            .split_once('/')
            .expect("order keys are ebp/orderNo");
        let (status, codes): (i32, Vec<String>) = sqlx::query_as(
            "SELECT status, codes FROM declarations WHERE ebp_code = $1 AND order_no = $2",
        )
        .bind(ebp)
        .bind(ono)
        .fetch_one(&harness.pool)
        .await?;
        match order.expected {
            ExpectedOutcome::Clean => assert_eq!(status, 800, "{}: {codes:?}", order.key),
            ExpectedOutcome::OverLimit => assert!(
                codes.contains(&"-621005".to_owned()),
                "{}: {codes:?}",
                order.key
            ),
            ExpectedOutcome::Mismatch { .. } => assert!(
                codes.contains(&"-900101".to_owned()),
                "{}: {codes:?}",
                order.key
            ),
            ExpectedOutcome::QuotaContested => {
                assert!(
                    status == 800 || codes.contains(&"-621018".to_owned()),
                    "{}: {codes:?}",
                    order.key
                );
            }
        }
    }
    harness.assert_invariants().await
}
