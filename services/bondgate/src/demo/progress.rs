//! Progress on stderr: a bar redrawn in place on a terminal, a plain line every
//! [`LINE_INTERVAL`] otherwise (CI logs and pipes would otherwise get one endless line of
//! carriage returns).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Time between two plain lines when stderr is not a terminal.
pub const LINE_INTERVAL: Duration = Duration::from_secs(5);
/// Time between two redraws on a terminal (redrawing per request would cost more than it shows).
const REDRAW_INTERVAL: Duration = Duration::from_millis(100);
/// Width of the bar, in characters.
const BAR_WIDTH: usize = 20;

/// One phase's progress (`submitting`, `deciding`).
#[derive(Debug)]
pub struct Progress {
    label: &'static str,
    total: u64,
    terminal: bool,
    started: Instant,
    shown_at: Option<Instant>,
}

/// `[#########.........]` for `done` of `total`.
pub fn bar(done: u64, total: u64, width: usize) -> String {
    let filled = (done.min(total) * width as u64)
        .checked_div(total)
        .map_or(width, |n| usize::try_from(n).unwrap_or(width));
    format!("[{}{}]", "#".repeat(filled), ".".repeat(width - filled))
}

impl Progress {
    /// Starts a phase of `total` units; a bar when stderr is a terminal.
    pub fn new(label: &'static str, total: u64) -> Self {
        Self::with_terminal(label, total, std::io::stderr().is_terminal())
    }

    fn with_terminal(label: &'static str, total: u64, terminal: bool) -> Self {
        Self {
            label,
            total,
            terminal,
            started: Instant::now(),
            shown_at: None,
        }
    }

    /// The line for `done` units, with `detail` after it.
    fn line(&self, done: u64, detail: &str) -> String {
        let percent = (done.min(self.total) * 100)
            .checked_div(self.total)
            .unwrap_or(100);
        let seconds = self.started.elapsed().as_secs();
        if self.terminal {
            format!(
                "{:<11}{} {percent:>3}% {done}/{} {detail} ({seconds} s)",
                self.label,
                bar(done, self.total, BAR_WIDTH),
                self.total
            )
        } else {
            format!(
                "{}: {done}/{} ({percent}%) {detail} ({seconds} s)",
                self.label, self.total
            )
        }
    }

    /// Shows `done` units when it is time to ([`Progress::finish`] shows the last state).
    pub fn update(&mut self, done: u64, detail: &str) {
        let interval = if self.terminal {
            REDRAW_INTERVAL
        } else {
            LINE_INTERVAL
        };
        if self.shown_at.is_some_and(|at| at.elapsed() < interval) {
            return;
        }
        self.shown_at = Some(Instant::now());
        let line = self.line(done, detail);
        let mut stderr = std::io::stderr().lock();
        // Progress is best effort: a closed stderr must not fail the demo.
        let _ = if self.terminal {
            write!(stderr, "\r{line}\x1b[K")
        } else {
            writeln!(stderr, "{line}")
        };
        let _ = stderr.flush();
    }

    /// Shows the final state and ends the bar's line.
    pub fn finish(&mut self, done: u64, detail: &str) {
        let line = self.line(done, detail);
        let mut stderr = std::io::stderr().lock();
        let _ = if self.terminal {
            writeln!(stderr, "\r{line}\x1b[K")
        } else {
            writeln!(stderr, "{line}")
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_in_proportion_and_never_overflows() {
        assert_eq!(bar(0, 10, 10), "[..........]");
        assert_eq!(bar(5, 10, 10), "[#####.....]");
        assert_eq!(bar(10, 10, 10), "[##########]");
        assert_eq!(bar(12, 10, 10), "[##########]");
        assert_eq!(bar(0, 0, 4), "[####]");
    }

    #[test]
    fn plain_lines_carry_counts_and_percent() {
        let progress = Progress::with_terminal("deciding", 200, false);
        let line = progress.line(50, "orders decided");
        assert!(
            line.starts_with("deciding: 50/200 (25%) orders decided ("),
            "{line}"
        );
        let progress = Progress::with_terminal("submitting", 200, true);
        assert!(
            progress
                .line(100, "x")
                .contains("[##########..........]  50%")
        );
    }
}
