//! `bondgate-review`: load the configuration, start logging, serve the officers' UI and API
//! until SIGTERM or Ctrl-C, then finish the requests in flight.

use std::path::PathBuf;

use anyhow::Context;
use bondgate_review::{Application, Config};
use clap::Parser;

/// The customs officers' review UI and API of bondgate.
#[derive(Debug, Parser)]
#[command(name = "bondgate-review", version, about)]
struct Args {
    /// TOML configuration file (sections `[review]`, `[database]`, `[security]`, `[rules]`);
    /// `BONDGATE__SECTION__KEY` environment variables override it.
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
        .context("review cannot start")?;
    // The audit chain is verified beside the server (at start and on a schedule).
    tracing::info!(address = %app.local_addr()?, "review listening");
    app.run_until(bondgate_telemetry::shutdown_signal())
        .await
        .context("server failed")?;
    tracing::info!("review stopped");
    Ok(())
}
