//! Records of `cbec.documents.v1` as clearance decodes them: any key and value end in a usable
//! document or a dead letter with a class, a code and a reason, never a panic.
//!
//! Input layout: the first byte is the key length (`0xFF`: no key), then the key, then the value.

use bondgate_clearance::decode::{InRecord, decode, reparse};

/// First byte meaning "the record has no key".
const NO_KEY: u8 = 0xFF;

fn split(data: &[u8]) -> (Option<Vec<u8>>, Vec<u8>) {
    let Some((&first, rest)) = data.split_first() else {
        return (None, Vec::new());
    };
    if first == NO_KEY {
        return (None, rest.to_vec());
    }
    let (key, value) = rest.split_at(usize::from(first).min(rest.len()));
    (Some(key.to_vec()), value.to_vec())
}

/// The property of the `document_decode` target; panics when it does not hold for `data`.
pub fn document_decode(data: &[u8]) {
    let (key, value) = split(data);
    let record = InRecord {
        partition: 0,
        offset: 0,
        key: key.clone(),
        value: value.clone(),
        timestamp_ms: 0,
    };
    match decode(record) {
        Ok(incoming) => {
            assert_eq!(
                key.as_deref(),
                Some(format!("{}/{}", incoming.ebp_code, incoming.order_no).as_bytes())
            );
            assert_eq!(incoming.payload, value);
            // The pipeline parses the stored value again when it is needed later.
            if let Err(reason) = reparse(&incoming.payload) {
                panic!("a decoded document does not parse again: {reason}");
            }
        }
        Err(dead) => {
            assert!(
                matches!(dead.class, "decode" | "unroutable" | "invalid"),
                "{dead:?}"
            );
            assert!(
                !dead.code.is_empty(),
                "dead letter without a code: {dead:?}"
            );
            assert!(
                !dead.message.is_empty(),
                "dead letter without a reason: {dead:?}"
            );
            assert_eq!(
                (dead.key, dead.value),
                (key, value),
                "the original record is kept"
            );
        }
    }
}
