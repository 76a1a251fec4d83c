//! `POST /v1/documents` bodies: any bytes end in validated records or an error with a stable
//! machine code (and, for refused documents, a code on every problem), never a panic.

use bondgate_intake::Config;
use bondgate_intake::error::ApiError;
use bondgate_intake::submission::{parse_json, validate};

/// The intake's default `records_max`.
const RECORDS_MAX: usize = 100;

/// The property of the `intake_json` target; panics when it does not hold for `bytes`.
pub fn intake_json(bytes: &[u8]) {
    let documents = match parse_json(bytes, RECORDS_MAX) {
        Ok(documents) => documents,
        Err(error) => return check_error(&error),
    };
    assert!((1..=RECORDS_MAX).contains(&documents.len()));
    let count = documents.len();
    // The intake's default rules (their arithmetic tolerance, 0).
    match validate(documents, &Config::default().rules) {
        Ok(records) => {
            assert_eq!(records.len(), count);
            for record in &records {
                assert!(!record.business_key.is_empty(), "{record:?}");
                // Keys travel byte for byte (record key, envelope, body): never padded.
                for key in [&record.ebp_code, &record.order_no] {
                    assert!(!key.is_empty() && key.trim() == key.as_str(), "{record:?}");
                }
            }
        }
        Err(error) => check_error(&error),
    }
}

fn check_error(error: &ApiError) {
    assert!(!error.code().is_empty(), "error without a code: {error:?}");
    assert!(
        !error.to_string().is_empty(),
        "error without a message: {error:?}"
    );
    if let ApiError::BadRequest { problems, .. } | ApiError::Unprocessable { problems, .. } = error
    {
        assert!(
            !problems.is_empty(),
            "a refusal without problems: {error:?}"
        );
        for problem in problems {
            assert!(
                !problem.code.is_empty(),
                "problem without a code: {error:?}"
            );
        }
    }
}
