//! Reading a service's `/metrics` the way Prometheus does: `promtool check metrics` (Debian
//! package `prometheus`, installed by `scripts/lib/promtool.sh`, which `scripts/test` sources)
//! and the metric families it exposes.

use anyhow::Context as _;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::AsyncWriteExt as _;

/// The `promtool` binary: `BONDGATE_PROMTOOL` when set, else `promtool` on the `PATH`.
pub fn promtool() -> PathBuf {
    std::env::var_os("BONDGATE_PROMTOOL").map_or_else(|| PathBuf::from("promtool"), PathBuf::from)
}

/// Runs `promtool check metrics` on an exposition (Prometheus text format): its parser and its
/// linter (counters end in `_total`, base units, help texts, no reserved suffixes...). The error
/// carries everything promtool said.
pub async fn check_metrics(exposition: &str) -> anyhow::Result<()> {
    let binary = promtool();
    let mut child = tokio::process::Command::new(&binary)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!(
                "cannot run {} (install it with `source scripts/lib/promtool.sh`, \
                 which scripts/test does, or set BONDGATE_PROMTOOL)",
                binary.display()
            )
        })?;
    let mut stdin = child.stdin.take().context("promtool's stdin")?;
    stdin.write_all(exposition.as_bytes()).await?;
    drop(stdin);
    let output = child.wait_with_output().await?;
    anyhow::ensure!(
        output.status.success(),
        "promtool check metrics failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    Ok(())
}

/// The metric families of an exposition (its `# TYPE` lines).
pub fn families(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// The metric names a PromQL expression refers to that start with `bondgate_`, with the
/// histogram series suffixes (`_bucket`, `_sum`, `_count`) folded onto their family when
/// `known` has the family.
pub fn referenced(expression: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = expression.as_bytes();
    let mut start = 0;
    while let Some(found) = expression[start..].find("bondgate_") {
        let begin = start + found;
        let preceded = begin > 0 && is_name_byte(bytes[begin - 1]);
        let end = expression[begin..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .map_or(expression.len(), |n| begin + n);
        if !preceded {
            let name = &expression[begin..end];
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .filter(|family| known.contains(*family))
                .unwrap_or(name);
            names.insert(family.to_owned());
        }
        start = end;
    }
    names
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b':'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_fold_histogram_series_onto_known_families() {
        let known: BTreeSet<String> = ["bondgate_x_seconds".to_owned()].into();
        let expr = "histogram_quantile(0.99, sum by (le) (rate(bondgate_x_seconds_bucket[5m]))) \
                    / rate(bondgate_y_count[1m]) + my_bondgate_z";
        let found: Vec<String> = referenced(expr, &known).into_iter().collect();
        assert_eq!(found, ["bondgate_x_seconds", "bondgate_y_count"]);
    }

    #[test]
    fn families_come_from_type_lines() {
        let text = "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n# TYPE b gauge\nb 2\n";
        let found: Vec<String> = families(text).into_iter().collect();
        assert_eq!(found, ["a_total", "b"]);
    }
}
