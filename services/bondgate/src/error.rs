//! Unusable input: the one error family that gets its own exit status (2), so scripts can tell
//! "your files are wrong" from "bondgate or the database failed" (1).

use std::path::{Path, PathBuf};

use bondgate_ceb::CebError;
use bondgate_ceb::dxp::DxpError;
use bondgate_ceb::sign::SignError;

/// Exit status of a command that could not use its input.
pub const EXIT_UNUSABLE_INPUT: u8 = 2;

/// Input a command cannot work with. `Display` is one line, `code at where: detail`, like
/// [`CebError`], so every refusal reads the same on stderr.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be read.
    #[error("io.unreadable at {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a CEB message the codec accepts.
    #[error("{source} (file {})", path.display())]
    NotCeb {
        /// The file.
        path: PathBuf,
        /// The codec's refusal, with its `ceb.*` code and element path.
        #[source]
        source: CebError,
    },
    /// The file is not a DXP envelope the codec accepts, or its message cannot be wrapped in one
    /// with the values given.
    #[error("{source} (DXP {}, file {})", source.dxp_code().code(), path.display())]
    NotDxp {
        /// The file (the envelope, or the message to wrap).
        path: PathBuf,
        /// The codec's refusal, with its `dxp.*` or `ceb.*` code and element path.
        #[source]
        source: DxpError,
    },
    /// The file is a CEB message, but not the type the flag asks for.
    #[error(
        "bg.input.wrong_message at /{actual}Message: {flag} expects a {expected} message \
         (file {})",
        path.display()
    )]
    WrongMessage {
        /// The file.
        path: PathBuf,
        /// The command-line flag that named it.
        flag: &'static str,
        /// The message type the flag takes, e.g. `CEB311`.
        expected: &'static str,
        /// What the file holds.
        actual: &'static str,
    },
    /// A reference-data CSV (positive list, account book, enterprises) has problems.
    #[error(
        "bg.input.csv at {}: {} problem(s), first: {}",
        path.display(),
        problems.len(),
        problems.first().map_or("", String::as_str)
    )]
    Csv {
        /// The file.
        path: PathBuf,
        /// Every problem, `line N: message`.
        problems: Vec<String>,
    },
    /// The signing key could not be read.
    #[error("{} at {}: {source}", source.code(), path.display())]
    SigningKey {
        /// The PEM file.
        path: PathBuf,
        /// Why it was refused.
        #[source]
        source: SignError,
    },
    /// A command-line value is out of range.
    #[error("bg.input.value at {flag}: {detail}")]
    Value {
        /// The flag.
        flag: &'static str,
        /// What is wrong.
        detail: String,
    },
}

/// Reads a whole file, mapping failure to [`InputError::Unreadable`].
pub fn read_file(path: &Path) -> Result<Vec<u8>, InputError> {
    std::fs::read(path).map_err(|source| InputError::Unreadable {
        path: path.to_owned(),
        source,
    })
}

/// Makes a message fit on one line of stderr: a CEB detail or OS error may contain newlines,
/// and scripts read the first line only.
pub fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_in_the_code_at_path_form() {
        let error = InputError::WrongMessage {
            path: "p.xml".into(),
            flag: "--order",
            expected: "CEB311",
            actual: "CEB411",
        };
        assert_eq!(
            error.to_string(),
            "bg.input.wrong_message at /CEB411Message: --order expects a CEB311 message (file p.xml)"
        );
        assert_eq!(one_line("a\n  b\tc"), "a b c");
    }
}
