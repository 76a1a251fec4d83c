//! `bondgate keys create|revoke|list`: the API keys of the merchant intake API, managed through
//! [`bondgate_intake::keys`] so the CLI and the service agree on the key format and hashing.
//!
//! `create` prints the full key exactly once (only its hash is stored); `list` never prints a
//! secret, only the public prefix.

use anyhow::Context;
use bondgate_intake::keys::{self, KeyError};
use sea_orm::DatabaseConnection;

use crate::database::DatabaseArgs;
use crate::error::InputError;

/// Flags of `bondgate keys`.
#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: KeysAction,
    /// Where the database is.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// The key commands.
#[derive(Debug, clap::Subcommand)]
pub enum KeysAction {
    /// Create a key for a registered enterprise and print it (the only time it is shown).
    Create {
        /// Customs code of the enterprise the key acts for.
        #[arg(long, value_name = "CODE")]
        enterprise: String,
        /// Free text to recognise the key by in listings.
        #[arg(long, value_name = "L", default_value = "")]
        label: String,
    },
    /// Revoke a key by its public prefix or its id; revoking twice is harmless.
    Revoke {
        /// The key's prefix (12 hex digits) or id (UUID).
        #[arg(value_name = "PREFIX_OR_ID")]
        prefix_or_id: String,
    },
    /// List keys (never their secrets), oldest first.
    List {
        /// Only the keys of this enterprise.
        #[arg(long, value_name = "CODE")]
        enterprise: Option<String>,
    },
}

/// Unknown enterprises and keys are the caller's mistake (exit 2); the rest is ours (exit 1).
fn classify(error: KeyError, flag: &'static str) -> anyhow::Error {
    match error {
        KeyError::UnknownEnterprise(_) | KeyError::NotFound(_) => InputError::Value {
            flag,
            detail: error.to_string(),
        }
        .into(),
        KeyError::Db(source) => anyhow::Error::new(source).context("API key database error"),
    }
}

/// Runs `bondgate keys`; prints JSON on stdout.
pub async fn run(args: KeysArgs) -> anyhow::Result<()> {
    let db = bondgate_storage::connect(&args.database.config())
        .await
        .with_context(|| format!("connecting to {}", args.database.display_url()))?;
    let result = execute(&db, args.action).await;
    db.close().await?;
    println!("{}", result?);
    Ok(())
}

/// Executes one key command; returns what to print.
async fn execute(db: &DatabaseConnection, action: KeysAction) -> anyhow::Result<String> {
    let json = match action {
        KeysAction::Create { enterprise, label } => {
            let created = keys::create(db, &enterprise, &label)
                .await
                .map_err(|e| classify(e, "--enterprise"))?;
            eprintln!(
                "bondgate: store this key now; only its hash is kept, it cannot be shown again"
            );
            serde_json::to_string_pretty(&created)?
        }
        KeysAction::Revoke { prefix_or_id } => {
            keys::revoke(db, &prefix_or_id)
                .await
                .map_err(|e| classify(e, "PREFIX_OR_ID"))?;
            serde_json::json!({ "revoked": prefix_or_id }).to_string()
        }
        KeysAction::List { enterprise } => {
            let listed = keys::list(db, enterprise.as_deref())
                .await
                .map_err(|e| classify(e, "--enterprise"))?;
            serde_json::to_string_pretty(&listed)?
        }
    };
    Ok(json)
}
