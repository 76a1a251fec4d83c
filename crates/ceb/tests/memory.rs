//! Goal: a parse takes memory bounded by the caps of `Limits`, not by the input's shape (issue
//! 14: a 9 MB body drove a service to 17.8 GiB). Method: this binary holds a single test, so the
//! process's peak resident memory is the parse's alone: after each input is built the peak
//! (`VmHWM`) is reset through `/proc/self/clear_refs`, the input is parsed, and the peak's growth
//! over the resident memory before the parse is compared with a bound derived from the caps.
//! The largest legal message is measured the same way, last, for comparison.

use bondgate_ceb::model::{
    BaseSubscribe, BaseTransfer, Inventory, InventoryHead, InventoryList, Record,
};
use bondgate_ceb::{CebMessage, Declaration, Limits, parse_message, to_xml};

const MIB: u64 = 1024 * 1024;

/// One hostile input: what it is, the error it must get, and the most it may add to the peak.
struct Case {
    name: &'static str,
    xml: String,
    code: &'static str,
    growth_bytes_max: u64,
}

/// `count` empty children in an element called `name`, inside a CEB311 root.
fn many_children(name: &str, count: usize) -> String {
    format!(
        "<ceb:CEB311Message xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\" guid=\"g\" \
         version=\"1.0\"><{name}>{}</{name}></ceb:CEB311Message>",
        "<x/>".repeat(count)
    )
}

/// Smallest bounds first: memory a parse frees stays resident and is reused by the next, which
/// would hide a small parse's growth behind a large one's.
fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "issue 14: a 1 MiB name holding two million empty children",
            xml: many_children(&"N".repeat(1 << 20), 2_000_000),
            code: "ceb.name_too_long",
            // Nothing of the input is kept before the name is checked.
            growth_bytes_max: 2 * MIB,
        },
        Case {
            name: "a million nested elements",
            xml: format!("{}{}", "<x>".repeat(1_000_000), "</x>".repeat(1_000_000)),
            code: "ceb.too_deep",
            growth_bytes_max: 2 * MIB,
        },
        Case {
            name: "500,000 attributes on one tag",
            xml: format!(
                "<r{}/>",
                (0..500_000)
                    .map(|i| format!(" a{i}=\"\""))
                    .collect::<String>()
            ),
            code: "ceb.too_many_attributes",
            growth_bytes_max: 2 * MIB,
        },
        Case {
            name: "two million empty children under an ordinary name",
            xml: many_children("Order", 2_000_000),
            code: "ceb.too_many_elements",
            // 262,144 nodes of about 100 bytes, their one-byte names and the children vector's
            // last doubling: 26 to 37 MiB measured, about what the largest legal message needs.
            growth_bytes_max: 64 * MIB,
        },
    ]
}

/// A record with every field present.
fn full<R: Record>() -> R {
    let mut record = R::default();
    for spec in R::FIELDS {
        record.set_field(spec.name, "1".to_owned());
    }
    record
}

/// The largest legal message: a CEB621 of 100 inventories of 99 lines, every field present.
fn largest_legal_message() -> String {
    let inventory = Inventory {
        head: full::<InventoryHead>(),
        lists: vec![full::<InventoryList>(); 99],
    };
    let message = CebMessage::Ceb621(Declaration {
        guid: "g".to_owned(),
        version: "1.0".to_owned(),
        records: vec![inventory; 100],
        base_transfer: full::<BaseTransfer>(),
        base_subscribes: vec![full::<BaseSubscribe>(); 5],
        signed: false,
    });
    to_xml(&message).expect("emit")
}

#[test]
fn hostile_inputs_are_refused_within_a_peak_memory_bounded_by_the_caps() {
    for case in cases() {
        assert!(
            case.xml.len() <= Limits::default().message_bytes_max,
            "{}",
            case.name
        );
        let (error, growth) = measure(|| parse_message(case.xml.as_bytes(), &Limits::default()));
        let error = error.expect_err(case.name);
        eprintln!(
            "{}: {} after {} input bytes, peak grew by {:.1} MiB",
            case.name,
            error.code(),
            case.xml.len(),
            growth as f64 / MIB as f64
        );
        assert_eq!(error.code(), case.code, "{}: {error}", case.name);
        assert!(
            growth <= case.growth_bytes_max,
            "{}: the peak grew by {growth} bytes, more than {}",
            case.name,
            case.growth_bytes_max
        );
    }
    // For comparison, measured last: what the largest legal message takes, result included.
    let legal = largest_legal_message();
    let (parsed, growth) = measure(|| parse_message(legal.as_bytes(), &Limits::default()));
    parsed.expect("the largest legal message parses");
    eprintln!(
        "the largest legal message ({} bytes): peak grew by {:.1} MiB",
        legal.len(),
        growth as f64 / MIB as f64
    );
    assert!(
        growth <= 96 * MIB,
        "the largest legal message took {growth} bytes"
    );
}

/// Runs `parse` and returns its result with how far the peak resident memory rose above the
/// resident memory before it.
fn measure<T>(parse: impl FnOnce() -> T) -> (T, u64) {
    reset_peak();
    let before = status_kib("VmRSS") * 1024;
    let result = parse();
    let growth = (status_kib("VmHWM") * 1024).saturating_sub(before);
    (result, growth)
}

/// Sets this process's peak resident memory to its current resident memory (Linux 4.0+).
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("/proc/self/clear_refs is writable");
}

/// A `kB` field of `/proc/self/status`, e.g. `VmHWM`.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"))
}
