//! Fault tests: crashes at random moments and consumer-group churn, each followed by the
//! invariant checker.

use crate::helpers::Harness;
use bondgate_loadtest::generate::GeneratorConfig;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Orders of the crash test (`BONDGATE_CRASH_ORDERS`, default 50,000).
fn crash_orders() -> u64 {
    std::env::var("BONDGATE_CRASH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000)
}

/// Starts the service binary as a child process configured for this test.
fn spawn_service(harness: &Harness, instance: &str) -> anyhow::Result<Child> {
    let kafka = &harness.kafka;
    let log = std::fs::File::create(
        std::env::temp_dir().join(format!("{}.{instance}.log", harness.group)),
    )?;
    Ok(Command::new(env!("CARGO_BIN_EXE_bondgate-clearance"))
        .env("BONDGATE__DATABASE__URL", &harness.url)
        .env("BONDGATE__KAFKA__BROKERS", &kafka.brokers)
        .env(
            "BONDGATE__KAFKA__TOPICS__DOCUMENTS",
            &kafka.topics.documents,
        )
        .env("BONDGATE__KAFKA__TOPICS__RECEIPTS", &kafka.topics.receipts)
        .env(
            "BONDGATE__KAFKA__TOPICS__DEAD_LETTERS",
            &kafka.topics.dead_letters,
        )
        .env("BONDGATE__KAFKA__CONSUMER_SESSION_TIMEOUT_MS", "6000")
        .env("BONDGATE__CLEARANCE__GROUP_ID", &harness.group)
        .env("BONDGATE__CLEARANCE__INSTANCE_ID", instance)
        .env("BONDGATE__CLEARANCE__LISTEN", "127.0.0.1:0")
        .env("BONDGATE__CLEARANCE__BATCH_SIZE_MAX", "1024")
        .env("RUST_LOG", "info")
        .env("BONDGATE_LOG_FORMAT", "json")
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .spawn()?)
}

/// Goal: `kill -9` of the clearance process at random moments (mid-batch, between commit and
/// publication, during rebalances) loses and doubles nothing.
/// Method: while the orders of mixed traffic flow, kill the process 5 times after a random
/// 1.5 to 6 s of work, restart it each time, then let it finish; every order must have exactly
/// one decision, and the invariant checker must report nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_at_random_moments_loses_and_doubles_nothing() -> anyhow::Result<()> {
    let orders = crash_orders();
    let harness = Harness::new("crash", 4, 10_000_000).await?;
    let generator = GeneratorConfig {
        seed: 41,
        bad_record_fraction: 0.01,
        ..GeneratorConfig::default()
    };
    let traffic = harness.produce(generator, orders).await?;
    println!(
        "crash test: {} orders in {} records",
        traffic.orders.len(),
        traffic.records
    );
    for round in 1..=5 {
        let mut child = spawn_service(&harness, &format!("crash-{round}"))?;
        // Wait for the group join (about 5 s on this broker), then a random moment of work.
        let pause_ms = 5_000 + rand::random_range(1_500..6_000);
        tokio::time::sleep(Duration::from_millis(pause_ms)).await;
        child.kill()?;
        child.wait()?;
        let declared = harness.count("SELECT count(*) FROM declarations").await?;
        println!(
            "crash test: kill -9 #{round} after {pause_ms} ms; {declared} declarations so far"
        );
    }
    let mut child = spawn_service(&harness, "crash-final")?;
    let expected = i64::try_from(traffic.orders.len())?;
    let finished = harness
        .wait_for_declarations(expected, Duration::from_secs(900))
        .await;
    child.kill()?;
    child.wait()?;
    finished?;
    assert_eq!(
        harness.count("SELECT count(*) FROM declarations").await?,
        expected
    );
    assert_eq!(
        harness.count("SELECT count(*) FROM dead_letters").await?,
        i64::try_from(traffic.bad_records)?
    );
    harness.assert_invariants().await
}

/// Goal: two instances share the partitions, and a third that joins and then leaves mid-run
/// (two rebalances) neither loses nor doubles an effect.
/// Method: two in-process instances on 6 partitions; a third starts after the first records
/// and stops a few seconds later; then everything must clear with the invariants intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_joining_and_leaving_keep_the_invariants() -> anyhow::Result<()> {
    let harness = Harness::new("scale", 6, 1_000_000).await?;
    let generator = GeneratorConfig {
        seed: 51,
        ..GeneratorConfig::default()
    };
    let traffic = harness.produce(generator, 4_000).await?;
    let first = harness.start(harness.config("scale-1"));
    let second = harness.start(harness.config("scale-2"));
    tokio::time::sleep(Duration::from_secs(7)).await;
    let third = harness.start(harness.config("scale-3"));
    tokio::time::sleep(Duration::from_secs(8)).await;
    third.stop().await?;
    let expected = i64::try_from(traffic.orders.len())?;
    harness
        .wait_for_declarations(expected, Duration::from_secs(300))
        .await?;
    first.stop().await?;
    second.stop().await?;
    let claims = harness
        .count("SELECT max(generation) FROM consumer_positions")
        .await?;
    assert!(
        claims >= 2,
        "the partitions must have been handed over at least once ({claims})"
    );
    harness.assert_invariants().await
}

/// Goal: stopping PostgreSQL for 20 s mid-run causes no crash loop and no loss, and the backlog
/// drains once it is back (guarantee 7, liveness after a fault).
/// Method: a private cluster (the shared one stays up for the other tests); while 3,000 orders
/// flow, `pg_ctl stop -m immediate`, wait 20 s, start it again; the service must still be running
/// and clear everything, with the invariants intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_20_second_database_outage_is_survived() -> anyhow::Result<()> {
    let postgres = bondgate_tests::private_postgres::PrivatePostgres::start()?;
    let harness = Harness::with_database(&postgres.url(), "outage", 4, 1_000_000).await?;
    let traffic = harness
        .produce(
            GeneratorConfig {
                seed: 81,
                ..GeneratorConfig::default()
            },
            3_000,
        )
        .await?;
    let service = harness.start(harness.config("outage-1"));
    bondgate_tests::wait_until(
        "the first declarations",
        Duration::from_secs(60),
        || async { Ok(harness.count("SELECT count(*) FROM declarations").await? > 0) },
    )
    .await?;
    postgres.stop_immediate()?;
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(
        service.is_running(),
        "the service must ride out a 20 s outage"
    );
    postgres.restart()?;
    let expected = i64::try_from(traffic.orders.len())?;
    harness
        .wait_for_declarations(expected, Duration::from_secs(300))
        .await?;
    assert!(
        service.is_running(),
        "the service must still run after the outage"
    );
    service.stop().await?;
    harness.assert_invariants().await
}
