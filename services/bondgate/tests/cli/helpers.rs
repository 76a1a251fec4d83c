//! Shared helpers of the CLI test suites: run the built binary, find fixtures and samples.

#![allow(dead_code)] // Each suite uses a subset.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The result of one run of the binary.
#[derive(Debug)]
pub struct Run {
    /// Exit status (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Standard output as JSON; panics with both streams when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

/// Runs `bondgate ARGS` with extra environment variables.
pub fn bondgate_with_env<S: AsRef<std::ffi::OsStr>>(args: &[S], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bondgate"));
    command.args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("the bondgate binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `bondgate ARGS`.
pub fn bondgate<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    bondgate_with_env(args, &[])
}

/// `tests/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A document of a fixture case, or the clean one when the case does not change it.
pub fn fixture(case: &str, document: &str) -> PathBuf {
    let own = fixtures_dir().join(case).join(document);
    if own.exists() {
        own
    } else {
        fixtures_dir().join("clean").join(document)
    }
}

/// `check` and the three document flags of a fixture case.
pub fn bundle_args(case: &str) -> Vec<String> {
    let mut args = vec!["check".to_owned()];
    for (flag, document) in [
        ("--order", "order.xml"),
        ("--payment", "payment.xml"),
        ("--waybill", "waybill.xml"),
    ] {
        args.push(flag.to_owned());
        args.push(fixture(case, document).display().to_string());
    }
    args
}

/// The `check` arguments of a fixture case, against the SAMPLE seed (the fixtures buy its
/// SKUs; no database needed), followed by `extra`.
pub fn check_args(case: &str, extra: &[&str]) -> Vec<String> {
    let mut args = bundle_args(case);
    args.push("--sample-seed".to_owned());
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// Runs `bondgate check` on a fixture case, asserting a verdict was produced (exit 0).
pub fn check(case: &str, extra: &[&str]) -> (Run, Value) {
    let run = bondgate(&check_args(case, extra));
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    (run, json)
}

/// The codes of a verdict as strings.
pub fn codes(verdict: &Value) -> Vec<String> {
    verdict["codes"]
        .as_array()
        .expect("codes is an array")
        .iter()
        .map(|c| c.as_str().expect("codes are strings").to_owned())
        .collect()
}

/// The official samples: `BONDGATE_SAMPLES_DIR`, else `<workspace>/../shared/domain/samples`.
pub fn samples_dir() -> PathBuf {
    std::env::var_os("BONDGATE_SAMPLES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/domain/samples")
        })
}
