//! `bondgate-load`: generates realistic CBEC traffic and produces it to Kafka, or prints it as
//! JSON for the HTTP intake. Progress goes to stderr, the summary (JSON) to stdout.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use bondgate_kafka::KafkaConfig;
use bondgate_loadtest::chart::{self, Line, Panel};
use bondgate_loadtest::generate::{Generator, GeneratorConfig, RecordStream};
use bondgate_loadtest::latency::{self, LatencyOptions};
use bondgate_loadtest::produce::{Pacing, ProduceOptions, Progress, is_loopback_only, produce};
use bondgate_loadtest::report::{Inputs, Report};
use bondgate_loadtest::{raw, receipts};
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
    /// Broker round trip of generated documents: produce them, read them back.
    RawBroker(RawBrokerArgs),
    /// Database ingest of the rows a pipeline run wrote, without the logic.
    RawDb(RawDbArgs),
    /// Open-loop load with end-to-end latency from the receipts topic.
    Latency(LatencyArgs),
    /// Count the orders with a final receipt on a receipts topic (from its start).
    CountReceipts(CountArgs),
    /// Put a bench run's measurements together: report.json, report.md, chart.svg.
    Report(ReportArgs),
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

#[derive(Debug, Args)]
struct BrokerArgs {
    /// Bootstrap brokers (loopback only).
    #[arg(
        long,
        env = "BONDGATE__KAFKA__BROKERS",
        default_value = "127.0.0.1:19092"
    )]
    brokers: String,
}

impl BrokerArgs {
    fn kafka(&self) -> anyhow::Result<KafkaConfig> {
        if !is_loopback_only(&self.brokers) {
            bail!("refusing to load {}: loopback brokers only", self.brokers);
        }
        Ok(KafkaConfig {
            brokers: self.brokers.clone(),
            ..KafkaConfig::default()
        })
    }
}

#[derive(Debug, Args)]
struct RawBrokerArgs {
    #[command(flatten)]
    broker: BrokerArgs,
    /// A fresh topic for the round trip.
    #[arg(long)]
    topic: String,
    /// Its partitions.
    #[arg(long, default_value_t = 8)]
    partitions: i32,
    /// Orders to send (three documents each, plus bad records).
    #[arg(long)]
    orders: u64,
    #[command(flatten)]
    mix: MixArgs,
}

#[derive(Debug, Args)]
struct RawDbArgs {
    /// The database a pipeline run wrote (its tables are read, copies are made and dropped).
    #[arg(long, env = "BONDGATE__DATABASE__URL")]
    database_url: String,
    /// At most this many orders' worth of rows are inserted again.
    #[arg(long, default_value_t = 50_000)]
    sample_orders: u64,
    /// Orders per transaction (the pipeline run's average batch).
    #[arg(long)]
    orders_per_batch: f64,
}

#[derive(Debug, Args)]
struct LatencyArgs {
    #[command(flatten)]
    broker: BrokerArgs,
    /// Documents topic clearance reads.
    #[arg(long)]
    topic: String,
    /// Receipts topic clearance publishes to.
    #[arg(long)]
    receipts_topic: String,
    /// Orders per second.
    #[arg(long)]
    rate: f64,
    /// Seconds of load.
    #[arg(long, default_value_t = 30)]
    duration_s: u64,
    /// Seconds to wait for the last receipts.
    #[arg(long, default_value_t = 15)]
    settle_s: u64,
    #[command(flatten)]
    mix: MixArgs,
}

#[derive(Debug, Args)]
struct CountArgs {
    #[command(flatten)]
    broker: BrokerArgs,
    /// Receipts topic.
    #[arg(long)]
    topic: String,
    /// Stop once this many orders have a final receipt.
    #[arg(long)]
    expect: u64,
    /// ...or after this many seconds without a record.
    #[arg(long, default_value_t = 10)]
    idle_s: u64,
}

#[derive(Debug, Args)]
struct ReportArgs {
    /// Folder with drain.json, raw-broker.json, raw-db.json, naive.json, latency-500.json,
    /// latency-70.json and (full mode) backlog.json; the report is written there too.
    #[arg(long, default_value = "target/bench")]
    dir: PathBuf,
    /// quick or full.
    #[arg(long, default_value = "quick")]
    mode: String,
}

#[tokio::main(worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Produce(args) => run_produce(args).await,
        Command::Json(args) => run_json(&args),
        Command::RawBroker(args) => {
            let kafka = args.broker.kafka()?;
            let raw = raw::broker_round_trip(
                &kafka,
                &args.topic,
                args.partitions,
                args.mix.config(),
                args.orders,
            )
            .await?;
            print_json(&raw)
        }
        Command::RawDb(args) => {
            let pool = sqlx::PgPool::connect(&args.database_url)
                .await
                .context("connecting to the database")?;
            let raw =
                raw::database_ingest(&pool, args.sample_orders, args.orders_per_batch).await?;
            print_json(&raw)
        }
        Command::Latency(args) => {
            let kafka = args.broker.kafka()?;
            let options = LatencyOptions {
                documents_topic: args.topic.clone(),
                receipts_topic: args.receipts_topic.clone(),
                orders_per_second: args.rate,
                duration: Duration::from_secs(args.duration_s),
                settle: Duration::from_secs(args.settle_s),
            };
            if !(args.rate > 0.0 && args.rate.is_finite()) {
                bail!("--rate must be a positive number, got {}", args.rate);
            }
            print_json(&latency::run(&kafka, args.mix.config(), &options).await?)
        }
        Command::CountReceipts(args) => {
            let kafka = args.broker.kafka()?;
            let idle = Duration::from_secs(args.idle_s);
            let count = receipts::count_final(&kafka, &args.topic, args.expect, idle).await?;
            let mut value = serde_json::to_value(&count)?;
            value["orders_per_s"] = serde_json::json!(count.orders_per_second());
            print_json(&value)
        }
        Command::Report(args) => run_report(&args),
    }
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn read_json(dir: &std::path::Path, name: &str) -> anyhow::Result<serde_json::Value> {
    let path = dir.join(name);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn run_report(args: &ReportArgs) -> anyhow::Result<()> {
    let dir = &args.dir;
    let inputs = Inputs {
        drain: read_json(dir, "drain.json")?,
        raw_broker: read_json(dir, "raw-broker.json")?,
        raw_db: read_json(dir, "raw-db.json")?,
        naive: read_json(dir, "naive.json")?,
        latency_500: read_json(dir, "latency-500.json")?,
        latency_70: read_json(dir, "latency-70.json")?,
        backlog: read_json(dir, "backlog.json").ok(),
        mode: args.mode.clone(),
        cpu_cores: std::thread::available_parallelism().map_or(1, usize::from),
    };
    let report = Report::compute(&inputs);
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    std::fs::write(dir.join("report.md"), report.markdown())?;
    std::fs::write(dir.join("chart.svg"), chart::render(&panels(&inputs)))?;
    print!("{}", report.markdown());
    Ok(())
}

/// Throughput of the drain (from its per-second decided counts) and latency over time.
fn panels(inputs: &Inputs) -> Vec<Panel> {
    let series = |v: &serde_json::Value| -> Vec<(f64, f64)> {
        v.get("series")
            .and_then(serde_json::Value::as_array)
            .map(|rows| {
                rows.iter()
                    .filter_map(|row| Some((row.get(0)?.as_f64()?, row.get(1)?.as_f64()?)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let decided = series(&inputs.drain);
    let drain_rate: Vec<(f64, f64)> = decided
        .windows(2)
        .map(|w| {
            (
                w[1].0,
                (w[1].1 - w[0].1) / (w[1].0 - w[0].0).max(f64::EPSILON),
            )
        })
        .collect();
    let latency = |v: &serde_json::Value, field: &str| -> Vec<(f64, f64)> {
        v.get("series")
            .and_then(serde_json::Value::as_array)
            .map(|rows| {
                rows.iter()
                    .filter_map(|s| Some((s.get("t")?.as_f64()?, s.get(field)?.as_f64()?)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let rate_of = |v: &serde_json::Value| {
        v.get("target_orders_per_s")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0)
    };
    let (l500, l70) = (&inputs.latency_500, &inputs.latency_70);
    vec![
        Panel {
            title: "Pipeline drain: orders decided per second".into(),
            lines: vec![Line {
                label: "drain (prefilled backlog)".into(),
                colour: "#1f77b4",
                points: drain_rate,
            }],
        },
        Panel {
            title: "Open loop: final receipts per second".into(),
            lines: vec![
                Line {
                    label: format!("{:.0} orders/s", rate_of(l500)),
                    colour: "#2ca02c",
                    points: latency(l500, "orders"),
                },
                Line {
                    label: format!("{:.0} orders/s (70% of max)", rate_of(l70)),
                    colour: "#ff7f0e",
                    points: latency(l70, "orders"),
                },
            ],
        },
        Panel {
            title: "Open loop: p99 end-to-end latency per second (ms)".into(),
            lines: vec![
                Line {
                    label: format!("{:.0} orders/s", rate_of(l500)),
                    colour: "#2ca02c",
                    points: latency(l500, "p99_ms"),
                },
                Line {
                    label: format!("{:.0} orders/s (70% of max)", rate_of(l70)),
                    colour: "#ff7f0e",
                    points: latency(l70, "p99_ms"),
                },
            ],
        },
    ]
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
