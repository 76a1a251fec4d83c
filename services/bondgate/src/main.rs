//! `bondgate`: parse the command line, run the command, map failures to exit statuses
//! (2 unusable input, 1 anything else), each reported as one line on stderr.

use std::process::ExitCode;

use bondgate::error::{EXIT_UNUSABLE_INPUT, InputError, one_line};
use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = bondgate::Cli::parse();
    match bondgate::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => match error.downcast_ref::<InputError>() {
            Some(input) => {
                eprintln!("bondgate: {}", one_line(&input.to_string()));
                ExitCode::from(EXIT_UNUSABLE_INPUT)
            }
            None => {
                // `{:#}` prints the whole cause chain, `outer: inner: ...`, on one line.
                eprintln!("bondgate: {}", one_line(&format!("{error:#}")));
                ExitCode::FAILURE
            }
        },
    }
}
