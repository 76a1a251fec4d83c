//! `bondgate enterprises bind|unbind|bindings`: which sellers (`ebcCode`) a platform (`ebpCode`)
//! lets send orders on its behalf (ADR 0006). Without a binding only the platform itself may send
//! its orders; a bound seller may send orders naming itself as `ebcCode` for that platform, and
//! change or delete only the orders it sent.

use anyhow::Context;

use crate::database::DatabaseArgs;
use crate::error::InputError;

/// Flags of `bondgate enterprises`.
#[derive(Debug, clap::Args)]
pub struct EnterprisesArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: EnterprisesAction,
    /// Where the database is.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// The binding commands.
#[derive(Debug, clap::Subcommand)]
pub enum EnterprisesAction {
    /// Let a seller send orders of a platform (binding twice is harmless).
    Bind {
        /// The platform's customs code (`ebpCode`).
        #[arg(long, value_name = "CODE")]
        platform: String,
        /// The seller's customs code (`ebcCode`).
        #[arg(long, value_name = "CODE")]
        seller: String,
    },
    /// Stop a seller sending orders of a platform (orders it sent stay; it can no longer change
    /// them).
    Unbind {
        /// The platform's customs code (`ebpCode`).
        #[arg(long, value_name = "CODE")]
        platform: String,
        /// The seller's customs code (`ebcCode`).
        #[arg(long, value_name = "CODE")]
        seller: String,
    },
    /// List every binding as JSON.
    Bindings,
}

/// Runs `bondgate enterprises`; prints JSON on stdout.
pub async fn run(args: EnterprisesArgs) -> anyhow::Result<()> {
    let db = bondgate_storage::connect(&args.database.config())
        .await
        .with_context(|| format!("connecting to {}", args.database.display_url()))?;
    let pool = bondgate_storage::pool(&db);
    let json = match args.action {
        EnterprisesAction::Bind { platform, seller } => {
            let created = bondgate_storage::bindings::bind(pool, &platform, &seller)
                .await
                .map_err(|error| refused(error, &platform, &seller))?;
            serde_json::json!({"platform": platform, "seller": seller, "created": created})
        }
        EnterprisesAction::Unbind { platform, seller } => {
            let removed = bondgate_storage::bindings::unbind(pool, &platform, &seller).await?;
            serde_json::json!({"platform": platform, "seller": seller, "removed": removed})
        }
        EnterprisesAction::Bindings => {
            let pairs = bondgate_storage::bindings::list(pool).await?;
            let rows: Vec<_> = pairs
                .into_iter()
                .map(|(platform, seller)| serde_json::json!({"platform": platform, "seller": seller}))
                .collect();
            serde_json::Value::Array(rows)
        }
    };
    db.close().await?;
    println!("{json}");
    Ok(())
}

/// An unknown enterprise or a platform bound to itself is the caller's mistake (exit 2).
fn refused(error: sqlx::Error, platform: &str, seller: &str) -> anyhow::Error {
    let constraint = error
        .as_database_error()
        .and_then(|database| database.constraint())
        .map(str::to_owned);
    match constraint.as_deref() {
        Some("enterprise_bindings_distinct") => InputError::Value {
            flag: "--seller",
            detail: format!("{seller} is the platform itself"),
        }
        .into(),
        Some(name) if name.contains("fkey") => InputError::Value {
            flag: "--platform/--seller",
            detail: format!(
                "{platform} and {seller} must both be registered enterprises (bondgate seed)"
            ),
        }
        .into(),
        _ => anyhow::Error::new(error).context("binding database error"),
    }
}
