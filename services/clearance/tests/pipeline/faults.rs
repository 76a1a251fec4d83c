//! Fault tests: crashes at random moments and consumer-group churn, each followed by the
//! invariant checker.

use crate::helpers::Harness;
use bondgate_loadtest::generate::GeneratorConfig;
use std::time::Duration;

/// Orders of the crash test (`BONDGATE_CRASH_ORDERS`, default 50,000).
fn crash_orders() -> u64 {
    std::env::var("BONDGATE_CRASH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000)
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
        let mut child = harness.spawn(&format!("crash-{round}"), &[])?;
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
    let mut child = harness.spawn("crash-final", &[])?;
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

/// Goal: an instance frozen (`SIGSTOP`) past its session timeout while holding a batch, then
/// resumed, is fenced off: it writes nothing for partitions another instance took over
/// (zombie fencing; guarantee 1).
/// Method: two service processes; instance A stalls at `before-transaction` on its third batch
/// (a failpoint that logs and waits 3 s); the test freezes it there with `SIGSTOP`, waits until
/// B has claimed every partition, and resumes A. A's batch must be refused by the position
/// check ("fenced off" in its log), and everything clears exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frozen_instance_is_fenced_off_when_it_resumes() -> anyhow::Result<()> {
    crate::helpers::require_failpoints();
    let harness = Harness::new("zombie", 4, 1_000_000).await?;
    let traffic = harness
        .produce(
            crate::helpers::clean_traffic(91),
            crate::helpers::scaled(3_000),
        )
        .await?;
    let stall = format!(
        "{}=2*off->1*return(stall)->off",
        bondgate_clearance::failpoint::BEFORE_TRANSACTION
    );
    let mut zombie = harness.spawn("zombie-a", &[("FAILPOINTS", &stall)])?;
    let log = harness.log_path("zombie-a");
    bondgate_tests::wait_until("A stalls in a batch", Duration::from_secs(60), || async {
        Ok(std::fs::read_to_string(&log)?.contains("failpoint stall"))
    })
    .await?;
    signal(&zombie, "STOP")?;
    let mut other = harness.spawn("zombie-b", &[])?;
    let outcome = async {
        bondgate_tests::wait_until(
            "B owns every partition",
            Duration::from_secs(90),
            || async {
                Ok(harness
                    .count("SELECT count(*) FROM consumer_positions WHERE owner = 'zombie-b'")
                    .await?
                    == 4)
            },
        )
        .await?;
        signal(&zombie, "CONT")?;
        bondgate_tests::wait_until("A is fenced off", Duration::from_secs(30), || async {
            Ok(std::fs::read_to_string(&log)?.contains("fenced off"))
        })
        .await?;
        let expected = i64::try_from(traffic.orders.len())?;
        harness
            .wait_for_declarations(expected, Duration::from_secs(300))
            .await
    }
    .await;
    let _ = signal(&zombie, "CONT");
    for child in [&mut zombie, &mut other] {
        child.kill()?;
        child.wait()?;
    }
    outcome?;
    harness.assert_invariants().await
}

fn signal(child: &std::process::Child, name: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()?;
    anyhow::ensure!(status.success(), "kill -{name} failed");
    Ok(())
}

/// Goal: a long lock on the hottest stock rows (an operator's transaction, a stuck report)
/// stalls clearance but breaks nothing: no crash, no partial batch, and the backlog drains
/// once the lock is released (guarantees 6 and 7).
/// Method: a transaction holds `FOR UPDATE` on every account-book item for 12 s while 600
/// orders flow; the service must still be running, no declaration may be written while the
/// lock is held after the first batch blocks, and everything clears after the release.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_lock_on_hot_stock_rows_delays_but_breaks_nothing() -> anyhow::Result<()> {
    let harness = Harness::new("hot-lock", 2, 1_000_000).await?;
    let mut lock = harness.pool.begin().await?;
    sqlx::query("SELECT 1 FROM account_book_items FOR UPDATE")
        .execute(&mut *lock)
        .await?;
    let traffic = harness
        .produce(
            crate::helpers::clean_traffic(92),
            crate::helpers::scaled(600),
        )
        .await?;
    let service = harness.start(harness.config("hot-lock-1"));
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(service.is_running(), "the service must wait, not die");
    assert_eq!(
        harness.count("SELECT count(*) FROM declarations").await?,
        0,
        "nothing may be decided while the stock rows are locked"
    );
    lock.rollback().await?;
    let expected = i64::try_from(traffic.orders.len())?;
    harness
        .wait_for_declarations(expected, Duration::from_secs(120))
        .await?;
    service.stop().await?;
    harness.assert_invariants().await
}

/// Goal: steps of the wall clock (NTP, a VM resumed) change no decision and stop nothing for
/// good: windows and timestamps come from the database's clock, positions are offsets, and our
/// own timers run on the monotonic clock.
/// Method: the service binary runs under libfaketime, its wall clock 30 s ahead; while 1,000
/// orders flow the clock steps back 30 s, then forward 30 s again. The incomplete-order
/// sweeper (window 60 s, every 200 ms) must close none of them, every order clears once, and
/// the invariants hold. (Steps stay short: librdkafka's condition variables wait on the wall
/// clock, so a step of N seconds can hold its timers for up to N seconds, librdkafka issue
/// #2145; under libfaketime, whose waits the kernel still times in real time, a step of a day
/// stalls the client for a day. docs/reliability.md.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wall_clock_steps_change_no_decision() -> anyhow::Result<()> {
    let library = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
    anyhow::ensure!(
        std::path::Path::new(library).exists(),
        "libfaketime is missing (scripts/test installs the faketime package)"
    );
    let harness = Harness::new("clock", 2, 1_000_000).await?;
    let clock = tempfile::NamedTempFile::new()?;
    std::fs::write(clock.path(), "+30\n")?;
    let clock_path = clock
        .path()
        .to_str()
        .expect("temp path is UTF-8")
        .to_owned();
    let spawned_at = chrono::Utc::now();
    let mut child = harness.spawn(
        "clock-1",
        &[
            ("LD_PRELOAD", library),
            ("FAKETIME_TIMESTAMP_FILE", &clock_path),
            ("FAKETIME_NO_CACHE", "1"),
            // NTP steps move the wall clock only; monotonic time keeps running evenly.
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
            ("BONDGATE__CLEARANCE__INCOMPLETE_WINDOW_MS", "60000"),
            ("BONDGATE__CLEARANCE__SWEEP_INTERVAL_MS", "200"),
        ],
    )?;
    let outcome = async {
        let first = harness
            .produce(
                crate::helpers::clean_traffic(93),
                crate::helpers::scaled(500),
            )
            .await?;
        bondgate_tests::wait_until(
            "the first declarations",
            Duration::from_secs(90),
            || async { Ok(harness.count("SELECT count(*) FROM declarations").await? > 0) },
        )
        .await?;
        std::fs::write(clock.path(), "+0\n")?;
        let second = harness
            .produce(
                crate::helpers::clean_traffic(94),
                crate::helpers::scaled(500),
            )
            .await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        std::fs::write(clock.path(), "+30\n")?;
        let expected = i64::try_from(first.orders.len() + second.orders.len())?;
        harness
            .wait_for_declarations(expected, Duration::from_secs(240))
            .await?;
        anyhow::Ok(expected)
    }
    .await;
    child.kill()?;
    child.wait()?;
    let expected = outcome?;
    assert_eq!(
        harness
            .count("SELECT count(*) FROM declarations WHERE status = 800")
            .await?,
        expected,
        "every order is released; none closed as incomplete by a stepped clock"
    );
    // The service's log timestamps come from its own wall clock: it ran on the faked one.
    let log = std::fs::read_to_string(harness.log_path("clock-1"))?;
    let first_line: serde_json::Value =
        serde_json::from_str(log.lines().next().unwrap_or_default())?;
    let logged: chrono::DateTime<chrono::Utc> = first_line["timestamp"]
        .as_str()
        .unwrap_or_default()
        .parse()?;
    assert!(
        logged - spawned_at > chrono::TimeDelta::seconds(20),
        "the service must have run on the faked clock ({logged} vs {spawned_at})"
    );
    harness.assert_invariants().await
}
