//! Shared reading of the seed CSV tables: `#` comment lines, a fixed header (extra columns
//! allowed after it, some of which a table reads by name), trimmed cells, and errors that name the
//! line.

use std::io::Read;
use std::sync::Arc;

use csv::{ReaderBuilder, StringRecord, Trim};

/// A problem in a CSV table, located by its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CsvError {
    /// 1-based line number in the input (comment lines count).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

impl CsvError {
    pub(crate) fn new(line: u64, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}

/// One data row with its line number.
#[derive(Debug)]
pub(crate) struct Row {
    pub line: u64,
    record: StringRecord,
    header: Arc<StringRecord>,
}

impl Row {
    /// The trimmed cell of column `index` (empty when the row is short).
    pub fn cell(&self, index: usize) -> &str {
        self.record.get(index).unwrap_or("")
    }

    /// The trimmed cell of the optional column `name` after the fixed ones (empty when the table
    /// has no such column or the row is short).
    pub fn named(&self, name: &str) -> &str {
        self.header
            .iter()
            .position(|column| column == name)
            .map_or("", |index| self.cell(index))
    }

    /// Parses an optional named cell: empty is `None`; an error names the column and line.
    pub fn parse_named<T, E: std::fmt::Display>(
        &self,
        errors: &mut Vec<CsvError>,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<Option<T>> {
        let text = self.named(name);
        if text.is_empty() {
            return Some(None);
        }
        parse(text)
            .map(Some)
            .map_err(|error| {
                errors.push(CsvError::new(self.line, format!("column {name}: {error}")));
            })
            .ok()
    }

    /// Parses a cell, recording a line-numbered error naming the column when it fails.
    pub fn parse<T, E: std::fmt::Display>(
        &self,
        errors: &mut Vec<CsvError>,
        columns: &[&str],
        index: usize,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        parse(self.cell(index))
            .map_err(|error| {
                let name = columns.get(index).copied().unwrap_or("?");
                errors.push(CsvError::new(self.line, format!("column {name}: {error}")));
            })
            .ok()
    }
}

/// Reads the rows of a table whose header must start with `columns`.
pub(crate) fn read_rows(input: impl Read, columns: &[&str]) -> Result<Vec<Row>, Vec<CsvError>> {
    let mut reader = ReaderBuilder::new()
        .comment(Some(b'#'))
        .has_headers(false)
        .flexible(true)
        .trim(Trim::All)
        .from_reader(input);
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut header: Option<Arc<StringRecord>> = None;
    for result in reader.records() {
        let record = match result {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, csv::Position::line);
                errors.push(CsvError::new(line, error.to_string()));
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let Some(header) = &header else {
            check_header(&record, columns, line, &mut errors);
            header = Some(Arc::new(record));
            continue;
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let header = Arc::clone(header);
        rows.push(Row {
            line,
            record,
            header,
        });
    }
    if header.is_none() {
        errors.push(CsvError::new(
            1,
            format!("missing header: {}", columns.join(",")),
        ));
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

fn check_header(record: &StringRecord, columns: &[&str], line: u64, errors: &mut Vec<CsvError>) {
    let found: Vec<&str> = record.iter().take(columns.len()).collect();
    if found != columns {
        errors.push(CsvError::new(
            line,
            format!(
                "header must start with {}, found {}",
                columns.join(","),
                found.join(",")
            ),
        ));
    }
}

/// Parses a rate written as a fraction (`0.13` for 13 %), at least 0 and below 1.
pub(crate) fn parse_rate(text: &str) -> Result<rust_decimal::Decimal, String> {
    let rate = rust_decimal::Decimal::from_str_exact(text)
        .map_err(|_| format!("not a decimal rate: {text:?}"))?;
    if rate.is_sign_negative() || rate >= rust_decimal::Decimal::ONE {
        return Err(format!("rate {rate} must be at least 0 and below 1"));
    }
    Ok(rate)
}

/// Parses a decimal greater than zero.
pub(crate) fn parse_positive_decimal(text: &str) -> Result<rust_decimal::Decimal, String> {
    let value = rust_decimal::Decimal::from_str_exact(text)
        .map_err(|_| format!("not a decimal: {text:?}"))?;
    if value <= rust_decimal::Decimal::ZERO {
        return Err(format!("{value} must be greater than zero"));
    }
    Ok(value)
}
