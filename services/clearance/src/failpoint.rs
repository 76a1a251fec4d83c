//! Failpoints at the critical points of the batch cycle, so crash and failure tests hit them
//! deterministically. They exist only in builds with the `failpoints` feature (`scripts/test`
//! turns it on); elsewhere [`hit`] is a constant `false` and the compiler removes the checks.
//!
//! Configured like any `fail` failpoint (`FAILPOINTS=name=action;...` for the binary,
//! `fail::cfg` in-process). Besides the crate's own actions (`sleep(ms)`, `panic`, `pause`,
//! `3*off->...`), `return` takes an argument that says what the step does:
//! * `return` — the step fails like a lost database connection (the batch is retried whole);
//! * `return(abort)` — the process dies on the spot, as with `kill -9` (no destructor runs);
//! * `return(stall)` — logs `failpoint stall` and blocks this thread for 3 s, a window in
//!   which a test can freeze the process (`SIGSTOP`).

/// The named points, in the order a batch meets them.
pub const POINTS: &[&str] = &[
    BEFORE_TRANSACTION,
    BEFORE_COMMIT,
    AFTER_COMMIT,
    RELAY_AFTER_SEND,
];

/// A batch is decoded, its transaction not yet begun.
pub const BEFORE_TRANSACTION: &str = "clearance/batch/before-transaction";
/// Every row of the batch is written and the positions moved, not yet committed.
pub const BEFORE_COMMIT: &str = "clearance/batch/before-commit";
/// The batch is committed; its receipts are not yet published.
pub const AFTER_COMMIT: &str = "clearance/batch/after-commit";
/// The broker acknowledged a relay round; the rows are not yet marked published.
pub const RELAY_AFTER_SEND: &str = "clearance/relay/after-send";

/// True when the failpoint `name` asks this step to fail.
#[cfg(feature = "failpoints")]
pub fn hit(name: &str) -> bool {
    let Some(argument) = fail::eval(name, |argument| argument) else {
        return false;
    };
    match argument.as_deref() {
        Some("abort") => {
            eprintln!("failpoint {name}: aborting the process");
            std::process::abort();
        }
        Some("stall") => {
            tracing::warn!(failpoint = name, "failpoint stall");
            std::thread::sleep(std::time::Duration::from_secs(3));
            false
        }
        _ => true,
    }
}

/// True when the failpoint `name` asks this step to fail (never, in this build).
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) -> bool {
    false
}

/// Whether this build has failpoints (tests that need them say so instead of passing vacuously).
pub fn enabled() -> bool {
    cfg!(feature = "failpoints")
}

/// The error an injected database failure reports.
pub fn injected(name: &str) -> sqlx::Error {
    sqlx::Error::Protocol(format!("failpoint {name}"))
}
