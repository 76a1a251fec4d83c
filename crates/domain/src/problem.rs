//! Problems found while parsing raw documents: parsers collect all of them, not just the first.

use std::borrow::Cow;
use std::fmt;

use crate::types::FormatError;

/// One thing wrong with an input document, located by its CEB field path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Stable machine-readable code, e.g. `bg.format.decimal` or a customs code such as `-623012`.
    pub code: Cow<'static, str>,
    /// CEB field path, e.g. `orderHead.goodsValue` or `orderList[1].price` (lists are 0-based).
    pub path: String,
    /// Human-readable explanation.
    pub message: String,
}

impl Problem {
    /// A problem with a static code.
    pub fn new(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: Cow::Borrowed(code),
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}: {}", self.code, self.path, self.message)
    }
}

/// Collects problems while a parser walks a document, so the caller sees every one at once.
#[derive(Debug, Default)]
pub struct Problems {
    found: Vec<Problem>,
}

impl Problems {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem.
    pub fn push(&mut self, problem: Problem) {
        self.found.push(problem);
    }

    /// Parses one field, recording a problem at `path` when it fails.
    pub fn field<T>(
        &mut self,
        path: impl Into<String>,
        raw: &str,
        parse: impl FnOnce(&str) -> Result<T, FormatError>,
    ) -> Option<T> {
        match parse(raw) {
            Ok(value) => Some(value),
            Err(error) => {
                self.found
                    .push(Problem::new(error.code(), path, error.to_string()));
                None
            }
        }
    }

    /// Parses an optional field: absent or blank text is `None` without a problem.
    pub fn optional<T>(
        &mut self,
        path: impl Into<String>,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, FormatError>,
    ) -> Option<Option<T>> {
        match raw.map(str::trim).filter(|text| !text.is_empty()) {
            None => Some(None),
            Some(text) => self.field(path, text, parse).map(Some),
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// The recorded problems.
    pub fn into_vec(self) -> Vec<Problem> {
        self.found
    }
}
