//! `bondgate-naive`: the naive baseline of the benchmark (issue #6). Consumes the documents
//! topic and makes clearance's decisions with one sea-orm transaction per record, into its own
//! `naive_*` tables of a migrated, seeded bondgate database. Progress goes to stderr every
//! second, the summary (one JSON object) to stdout.

use std::time::Duration;

use anyhow::bail;
use bondgate_loadtest::naive::{NaiveOptions, NaiveProgress, run};
use bondgate_loadtest::produce::is_loopback_only;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "bondgate-naive", version, about)]
struct Cli {
    /// A migrated and seeded bondgate database (`bondgate migrate`, `bondgate seed`).
    #[arg(long, env = "BONDGATE__DATABASE__URL")]
    database_url: String,
    /// Bootstrap brokers (loopback only).
    #[arg(
        long,
        env = "BONDGATE__KAFKA__BROKERS",
        default_value = "127.0.0.1:19092"
    )]
    brokers: String,
    /// The documents topic.
    #[arg(long, default_value = "cbec.documents.v1")]
    topic: String,
    /// Consumer group (its committed offsets are where the run starts).
    #[arg(long, default_value = "bondgate-naive")]
    group_id: String,
    /// Stop after this many decided orders (the count bound).
    #[arg(long)]
    orders_max: u64,
    /// Stop after this many seconds (the time bound).
    #[arg(long, default_value_t = 3_600)]
    duration_s: u64,
    /// Stop when no record arrived for this many seconds after the first one.
    #[arg(long, default_value_t = 10)]
    idle_s: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if !is_loopback_only(&cli.brokers) {
        bail!(
            "refusing to consume from {}: loopback brokers only",
            cli.brokers
        );
    }
    let options = NaiveOptions {
        database_url: cli.database_url,
        brokers: cli.brokers,
        topic: cli.topic,
        group_id: cli.group_id,
        orders_max: cli.orders_max,
        duration_max: Duration::from_secs(cli.duration_s),
        idle_max: Duration::from_secs(cli.idle_s.max(1)),
    };
    eprintln!(
        "bondgate-naive: up to {} orders from {} on {} (group {}), one transaction per record",
        options.orders_max, options.topic, options.brokers, options.group_id
    );
    let summary = run(&options, print_progress).await?;
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

fn print_progress(progress: &NaiveProgress) {
    let seconds = progress.elapsed_seconds.max(f64::EPSILON);
    eprintln!(
        "{:>7.1}s  documents {:>9}  orders decided {:>8}  {:>8.0} documents/s  {:>7.0} orders/s",
        progress.elapsed_seconds,
        progress.documents,
        progress.orders,
        progress.documents as f64 / seconds,
        progress.orders as f64 / seconds,
    );
}
