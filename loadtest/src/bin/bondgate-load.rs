//! `bondgate-load`: generates realistic CBEC traffic and produces it to Kafka, or prints it as
//! JSON for the HTTP intake. Progress goes to stderr, the summary (JSON) to stdout.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use bondgate_kafka::KafkaConfig;
use bondgate_loadtest::generate::{Generator, GeneratorConfig, RecordStream};
use bondgate_loadtest::produce::{Pacing, ProduceOptions, Progress, is_loopback_only, produce};
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "bondgate-load", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Produce orders (order + payment + waybill each) and bad records to a topic.
    Produce(ProduceArgs),
    /// Print the documents of the orders as JSON lines, in the intake's JSON shape.
    Json(JsonArgs),
}

/// What the traffic looks like.
#[derive(Debug, Args)]
struct MixArgs {
    /// Seed: the same seed and flags give the same records, byte for byte.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fraction of records that are bad (not a Document, truncated, empty body, wrong key).
    #[arg(long, default_value_t = 0.01)]
    bad_fraction: f64,
    /// The documents of an order land at most this many records apart.
    #[arg(long, default_value_t = 64)]
    window: u32,
    /// Fraction of orders whose documents disagree (expected rejections).
    #[arg(long, default_value_t = 0.03)]
    mismatch_fraction: f64,
    /// Fraction of multi-line orders over the 5,000 CNY per-order limit.
    #[arg(long, default_value_t = 0.01)]
    over_limit_fraction: f64,
    /// Fraction of orders placed by the few heavy buyers who run into the annual limit.
    #[arg(long, default_value_t = 0.02)]
    heavy_order_fraction: f64,
}

impl MixArgs {
    fn config(&self) -> GeneratorConfig {
        GeneratorConfig {
            seed: self.seed,
            bad_record_fraction: self.bad_fraction,
            window_records: self.window,
            mismatch_fraction: self.mismatch_fraction,
            over_limit_fraction: self.over_limit_fraction,
            heavy_order_fraction: self.heavy_order_fraction,
            ..GeneratorConfig::default()
        }
    }
}

#[derive(Debug, Args)]
struct ProduceArgs {
    /// Bootstrap brokers (loopback only).
    #[arg(
        long,
        env = "BONDGATE__KAFKA__BROKERS",
        default_value = "127.0.0.1:19092"
    )]
    brokers: String,
    /// Target topic.
    #[arg(long, default_value = "cbec.documents.v1")]
    topic: String,
    /// Orders to produce (the count bound).
    #[arg(long)]
    orders: u64,
    /// Open loop at this many orders per second; without it, prefill as fast as possible.
    #[arg(long)]
    rate: Option<f64>,
    /// Stop making orders after this many seconds (the time bound).
    #[arg(long, default_value_t = 3_600)]
    duration_s: u64,
    /// Most records in flight (sent, not yet acknowledged).
    #[arg(long, default_value_t = 100_000)]
    in_flight_max: usize,
    /// Create the topic with this many partitions if it does not exist.
    #[arg(long)]
    create_partitions: Option<i32>,
    /// Write each order's expected outcome here, one JSON object per line.
    #[arg(long)]
    manifest: Option<PathBuf>,
    #[command(flatten)]
    mix: MixArgs,
}

#[derive(Debug, Args)]
struct JsonArgs {
    /// Orders to print.
    #[arg(long)]
    orders: u64,
    #[command(flatten)]
    mix: MixArgs,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Produce(args) => run_produce(args).await,
        Command::Json(args) => run_json(&args),
    }
}

async fn run_produce(args: ProduceArgs) -> anyhow::Result<()> {
    if !is_loopback_only(&args.brokers) {
        bail!("refusing to load {}: loopback brokers only", args.brokers);
    }
    let pacing = match args.rate {
        Some(rate) if rate > 0.0 && rate.is_finite() => Pacing::Rate {
            orders_per_second: rate,
        },
        Some(rate) => bail!("--rate must be a positive number, got {rate}"),
        None => Pacing::Prefill,
    };
    let kafka = KafkaConfig {
        brokers: args.brokers.clone(),
        ..KafkaConfig::default()
    };
    if let Some(partitions) = args.create_partitions {
        bondgate_kafka::admin::ensure_topics(&kafka, &[(&args.topic, partitions)])
            .await
            .with_context(|| format!("creating topic {}", args.topic))?;
    }
    let producer = bondgate_kafka::producer(&kafka, "bondgate-load").context("producer")?;
    let mut stream = RecordStream::new(args.mix.config(), args.orders)?;
    let mut manifest = match &args.manifest {
        Some(path) => Some(BufWriter::new(
            File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => None,
    };
    let options = ProduceOptions {
        topic: args.topic.clone(),
        pacing,
        duration_max: Duration::from_secs(args.duration_s),
        in_flight_max: args.in_flight_max,
        progress_interval: Duration::from_secs(1),
    };
    eprintln!(
        "bondgate-load: {} orders to {} on {} ({pacing:?}, seed {})",
        args.orders, args.topic, args.brokers, args.mix.seed
    );
    let sink = manifest.as_mut().map(|w| w as &mut (dyn Write + Send));
    let summary = produce(&producer, &mut stream, &options, sink, print_progress).await?;
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

fn print_progress(progress: &Progress) {
    let rate = progress.records_acked as f64 / progress.elapsed_seconds.max(f64::EPSILON);
    eprintln!(
        "{:>7.1}s  orders {:>10}  records sent {:>10} acked {:>10}  {:>9.0} records/s  {:>8.1} MiB",
        progress.elapsed_seconds,
        progress.orders,
        progress.records_sent,
        progress.records_acked,
        rate,
        progress.bytes_sent as f64 / 1_048_576.0,
    );
}

fn run_json(args: &JsonArgs) -> anyhow::Result<()> {
    let mut generator = Generator::new(args.mix.config())?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    for _ in 0..args.orders {
        for document in generator.next_order().to_json() {
            serde_json::to_writer(&mut out, &document)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(())
}
