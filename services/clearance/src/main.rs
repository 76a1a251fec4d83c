//! `bondgate-clearance`: the clearance pipeline service.

use clap::Parser;
use std::path::PathBuf;

/// The clearance pipeline: consumes documents, decides, writes, publishes receipts.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Optional TOML configuration file (env vars BONDGATE__SECTION__KEY override it).
    #[arg(long, env = "BONDGATE_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    bondgate_telemetry::init_logging();
    // Test builds only: FAILPOINTS=name=action;... (see the failpoint module).
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    let config: bondgate_clearance::config::Config = bondgate_config::load(args.config.as_deref())?;
    bondgate_clearance::run(config, bondgate_telemetry::shutdown_signal()).await
}
