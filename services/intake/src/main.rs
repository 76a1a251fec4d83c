//! `bondgate-intake`: load the configuration, start logging, serve the API until SIGTERM or
//! Ctrl-C, then finish the requests in flight.

use std::path::PathBuf;

use anyhow::Context;
use bondgate_intake::{Application, Config};
use clap::Parser;

/// The merchant intake API of bondgate.
#[derive(Debug, Parser)]
#[command(name = "bondgate-intake", version, about)]
struct Args {
    /// TOML configuration file (sections `[intake]`, `[database]`, `[kafka]`, `[security]`,
    /// `[rules]`); `BONDGATE__SECTION__KEY` environment variables override it.
    #[arg(long, env = "BONDGATE_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config: Config = bondgate_config::load(args.config.as_deref())?;
    bondgate_telemetry::init_logging();
    let app = Application::build(config)
        .await
        .context("intake cannot start")?;
    tracing::info!(
        address = %app.local_addr()?,
        ops_address = %app.ops_local_addr()?,
        "intake listening"
    );
    app.run_until(bondgate_telemetry::shutdown_signal())
        .await
        .context("server failed")?;
    tracing::info!("intake stopped");
    Ok(())
}
