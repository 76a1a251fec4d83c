//! CEB XML from customs and merchants: any bytes either parse or give a `ceb.*` error, never a
//! panic; a parsed message emits (or refuses a character XML cannot carry) and reads back equal.

use bondgate_ceb::parse::decode_document;
use bondgate_ceb::{CebError, CebMessage, Limits, parse_message, to_xml};

/// The property of the `ceb_parse` target; panics when it does not hold for `bytes`.
pub fn ceb_parse(bytes: &[u8]) {
    let limits = Limits::default();
    let decoded = decode_document(bytes);
    if let Err(error) = &decoded {
        check_error(error);
    }
    let message = match parse_message(bytes, &limits) {
        Ok(message) => message,
        Err(error) => return check_error(&error),
    };
    assert!(decoded.is_ok(), "parsed without decoding");
    assert!(
        message.record_count() >= 1,
        "a message has at least one record"
    );
    let xml = match to_xml(&message) {
        Ok(xml) => xml,
        // Character references may smuggle in C0 controls, U+FFFE or U+FFFF: the emitter refuses
        // them rather than writing XML that no parser accepts.
        Err(error) => return assert_eq!(error.code(), "ceb.unencodable_char", "{error}"),
    };
    let reparsed = parse_message(xml.as_bytes(), &limits)
        .unwrap_or_else(|error| panic!("emitted XML does not parse: {error}\n{xml}"));
    // The emitter writes no signature, so `signed` is the one thing a round trip may change.
    assert_eq!(reparsed, unsigned(message), "{xml}");
}

/// Every refusal carries its stable code and says it first.
fn check_error(error: &CebError) {
    let code = error.code();
    assert!(code.starts_with("ceb."), "{code}");
    assert!(error.to_string().starts_with(code), "{error}");
}

fn unsigned(message: CebMessage) -> CebMessage {
    macro_rules! clear_signed {
        ($($variant:ident),*) => {
            match message {
                $(CebMessage::$variant(mut m) => {
                    m.signed = false;
                    CebMessage::$variant(m)
                })*
            }
        };
    }
    clear_signed!(
        Ceb311, Ceb312, Ceb411, Ceb412, Ceb511, Ceb512, Ceb513, Ceb514, Ceb621, Ceb622, Ceb623,
        Ceb624, Ceb625, Ceb626, Ceb711, Ceb712, Ceb816, Ceb818, Ceb900
    )
}
