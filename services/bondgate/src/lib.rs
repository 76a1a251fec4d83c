//! The bondgate command line, as a library so every command is testable without a process.
//!
//! One module per command — [`ceb`] (`ceb parse`), [`dxp`] (`dxp wrap|unwrap`), [`check`],
//! [`migrate`], [`seed`], [`keys`], [`enterprises`], [`dead_letters`], [`officers`], [`audit`],
//! [`export`], [`demo`] — plus what they share: [`error`] (unusable input, exit status 2),
//! [`reference`] (account book and positive list), [`declare`] (the pre-flight CEB621) and
//! [`database`] (connection flags).
//! `main.rs` only parses the command line, calls [`run`] and maps errors to exit statuses.

#![warn(missing_docs)]

pub mod audit;
pub mod ceb;
pub mod check;
pub mod database;
pub mod dead_letters;
pub mod declare;
pub mod demo;
pub mod dxp;
pub mod enterprises;
pub mod error;
pub mod export;
pub mod keys;
pub mod migrate;
pub mod officers;
pub mod reference;
pub mod returns;
pub mod seed;
pub mod settings;

use clap::{Parser, Subcommand};

/// `bondgate`: operate and pre-flight the bonded-import clearance system.
#[derive(Debug, Parser)]
#[command(name = "bondgate", version, about)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with single CEB messages.
    Ceb(ceb::CebArgs),
    /// Wrap a CEB message in the DXP transport envelope, or unwrap one.
    Dxp(dxp::DxpArgs),
    /// Evaluate an order/payment/waybill bundle and print the verdict as JSON.
    ///
    /// The account book and positive list are the database's (`--database-url`, else
    /// `BONDGATE__DATABASE__URL`, else the local stack's), the ones the pipeline decides on;
    /// `--account-book` with `--positive-list` check offline against CSV files instead, and
    /// `--sample-seed` against the SAMPLE data compiled in. The report's `reference` says which
    /// (`database`, `files`, `sample seed`). The rules are the services' `[rules]`
    /// (`BONDGATE_CONFIG`, `BONDGATE__RULES__*`).
    Check(check::CheckArgs),
    /// Apply, roll back or list the database migrations.
    Migrate(migrate::MigrateArgs),
    /// Load the positive list, account book (with initial stock) and enterprises.
    Seed(seed::SeedArgs),
    /// Create, revoke or list API keys of the intake API.
    Keys(keys::KeysArgs),
    /// Record the goods of an approved return back in the zone (their stock comes back).
    Returns(returns::ReturnsArgs),
    /// Bind sellers to platforms: who besides the platform may send its orders.
    Enterprises(enterprises::EnterprisesArgs),
    /// List the dead letters, or open one with the data key.
    DeadLetters(dead_letters::DeadLettersArgs),
    /// Create, disable, unlock or list customs officers' accounts of the review UI.
    Officers(officers::OfficersArgs),
    /// Verify the review service's hash-chained audit log.
    Audit(audit::AuditArgs),
    /// Export the signed CEB621 inventory list of a declared order.
    Export(export::ExportArgs),
    /// Submit a generated sale-day load through the running intake API and summarise the
    /// decisions (needs the stack, migrated and seeded, and intake and clearance running).
    Demo(demo::DemoArgs),
}

/// Runs one command. Unusable input comes back as an [`error::InputError`] inside the
/// `anyhow::Error`, which `main` turns into exit status 2.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Ceb(args) => ceb::run(args),
        Command::Dxp(args) => dxp::run(args),
        Command::Check(args) => check::run(args).await,
        Command::Migrate(args) => migrate::run(args).await,
        Command::Seed(args) => seed::run(args).await,
        Command::Keys(args) => keys::run(args).await,
        Command::Enterprises(args) => enterprises::run(args).await,
        Command::Returns(args) => returns::run(args).await,
        Command::DeadLetters(args) => dead_letters::run(args).await,
        Command::Officers(args) => officers::run(args).await,
        Command::Audit(args) => audit::run(args).await,
        Command::Export(args) => export::run(args).await,
        Command::Demo(args) => Box::pin(demo::run(args)).await,
    }
}
