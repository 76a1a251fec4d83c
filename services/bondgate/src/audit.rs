//! `bondgate audit verify`: recompute the review service's whole audit chain from its first
//! entry, print the verdict as JSON, and record it where the audit page reads it (a break is
//! shown there until a later full verification passes; a pass moves the verified mark to the
//! head). The audit page itself verifies only entries newer than that mark, plus the rows it
//! shows, so this command (or the service's scheduled run) is what catches an edit of an old
//! entry nobody is looking at.

use anyhow::Context;
use bondgate_review::audit::VerifyError;
use bondgate_review::audit::verify::verify_full;

use crate::database::DatabaseArgs;

/// Flags of `bondgate audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: AuditAction,
    /// Where the database is.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// The audit commands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditAction {
    /// Verify the whole hash chain; exit status 1 when it is broken.
    Verify,
}

/// Runs `bondgate audit`; prints JSON on stdout.
pub async fn run(args: AuditArgs) -> anyhow::Result<()> {
    let db = bondgate_storage::connect(&args.database.config())
        .await
        .with_context(|| format!("connecting to {}", args.database.display_url()))?;
    let AuditAction::Verify = args.action;
    let verdict = verify_full(bondgate_storage::pool(&db)).await;
    db.close().await?;
    match verdict {
        Ok(head) => {
            let json = serde_json::json!({
                "ok": true, "entries": head.entries, "headHash": head.head_hash,
            });
            println!("{json}");
            Ok(())
        }
        Err(VerifyError::Broken { id, why }) => {
            let json = serde_json::json!({ "ok": false, "brokenAt": id, "why": why });
            println!("{json}");
            anyhow::bail!("the audit chain is broken at entry {id}: {why}")
        }
        Err(VerifyError::Database(error)) => {
            Err(anyhow::Error::new(error).context("reading the audit log"))
        }
    }
}
