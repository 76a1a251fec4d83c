//! `bondgate officers create|disable|unlock|list`: the customs officers' accounts of the review UI,
//! managed through [`bondgate_review::officers`] so the CLI and the service agree on usernames,
//! roles and password hashing (argon2id).
//!
//! `create` prints a generated password exactly once (only its hash is stored), unless
//! `--password-stdin` reads one from standard input; `list` never prints a hash. `disable` ends
//! the officer's sessions at once. `unlock` forgets a username's failed logins, ending its
//! lockout (after checking with the officer that the failures were theirs).

use std::io::BufRead;

use anyhow::Context;
use bondgate_review::officers::{self, OfficerError, Role};
use sqlx::PgPool;

use crate::database::DatabaseArgs;
use crate::error::InputError;

/// Flags of `bondgate officers`.
#[derive(Debug, clap::Args)]
pub struct OfficersArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: OfficersAction,
    /// Where the database is.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// Reviews declarations.
    Officer,
    /// Also reassigns and sees everyone's work.
    Supervisor,
    /// Reads everything, changes nothing.
    Auditor,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Officer => Role::Officer,
            RoleArg::Supervisor => Role::Supervisor,
            RoleArg::Auditor => Role::Auditor,
        }
    }
}

/// The officer commands.
#[derive(Debug, clap::Subcommand)]
pub enum OfficersAction {
    /// Create an account and print its generated password (the only time it is shown).
    Create {
        /// Login name: 2-64 of a-z, 0-9, '.', '_', '-'.
        #[arg(long, value_name = "NAME")]
        username: String,
        /// Name shown in the UI, e.g. 李伟.
        #[arg(long, value_name = "TEXT")]
        display_name: String,
        /// What the account may do.
        #[arg(long, value_enum, default_value = "officer")]
        role: RoleArg,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account and end its sessions; disabling twice is harmless.
    Disable {
        /// The username.
        #[arg(value_name = "NAME")]
        username: String,
    },
    /// Forget a username's failed logins and end its lockout; unlocking twice is harmless.
    Unlock {
        /// The username.
        #[arg(value_name = "NAME")]
        username: String,
    },
    /// List accounts (never their password hashes), oldest first.
    List,
}

/// The caller's mistakes (exit 2); the rest is ours (exit 1).
fn classify(error: OfficerError, flag: &'static str) -> anyhow::Error {
    match error {
        OfficerError::Db(source) => anyhow::Error::new(source).context("officer database error"),
        OfficerError::Hash(detail) => anyhow::anyhow!("password hashing failed: {detail}"),
        other => InputError::Value {
            flag,
            detail: other.to_string(),
        }
        .into(),
    }
}

/// Runs `bondgate officers`; prints JSON on stdout.
pub async fn run(args: OfficersArgs) -> anyhow::Result<()> {
    let db = bondgate_storage::connect(&args.database.config())
        .await
        .with_context(|| format!("connecting to {}", args.database.display_url()))?;
    let result = execute(bondgate_storage::pool(&db), args.action).await;
    db.close().await?;
    println!("{}", result?);
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Executes one officer command; returns what to print.
async fn execute(pool: &PgPool, action: OfficersAction) -> anyhow::Result<String> {
    let json = match action {
        OfficersAction::Create {
            username,
            display_name,
            role,
            password_stdin,
        } => {
            let password = password_stdin.then(read_password).transpose()?;
            let created = officers::create(
                pool,
                &username,
                &display_name,
                role.into(),
                password.as_deref(),
            )
            .await
            .map_err(|e| classify(e, "--username"))?;
            if created.password.is_some() {
                eprintln!(
                    "bondgate: hand this password over now; only its hash is kept, it cannot be \
                     shown again"
                );
            }
            serde_json::to_string_pretty(&created)?
        }
        OfficersAction::Disable { username } => {
            officers::disable(pool, &username)
                .await
                .map_err(|e| classify(e, "NAME"))?;
            serde_json::json!({ "disabled": username }).to_string()
        }
        OfficersAction::Unlock { username } => {
            let key = bondgate_review::throttle::Key::username(&username);
            let mut conn = pool.acquire().await.context("a database connection")?;
            let forgotten = bondgate_review::throttle::forget(&mut conn, &key)
                .await
                .context("forgetting failed logins")?;
            serde_json::json!({ "unlocked": username, "hadFailures": forgotten }).to_string()
        }
        OfficersAction::List => {
            let listed = officers::list(pool)
                .await
                .map_err(|e| classify(e, "list"))?;
            serde_json::to_string_pretty(&listed)?
        }
    };
    Ok(json)
}
