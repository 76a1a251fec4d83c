//! The stable mutation fuzzer: the fuzz targets' properties (`bondgate_fuzz_props`) against random
//! mutations of the committed seeds in `fuzz/corpus/<target>/`, for machines without the nightly
//! toolchain that cargo-fuzz needs. Not coverage-guided, so weaker than libFuzzer, but it runs
//! with stable Rust wherever the workspace tests run.
//!
//! * `BONDGATE_FUZZ_SECONDS` — how long each target runs. Unset, 5 s: the workspace test run
//!   (`cargo nextest run --workspace` in scripts/test) runs these tests too, and must not spend
//!   the fuzzing budget twice. scripts/lib/fuzz.sh sets it (default 60) when, without nightly, it
//!   runs this file as the fuzzing step: `cargo nextest run -p bondgate-fuzz-props --test mutate`.
//! * `BONDGATE_FUZZ_SEED` — the seed of the random mutations (decimal or `0x` hex), printed at
//!   the start of every run; the default is fixed. The inputs depend on the seed alone (the clock
//!   only decides when to stop), so a failure reproduces with the same seed.
//!
//! A failing input is printed as hex with the seed and iteration; an input that takes over 10 s
//! (libFuzzer's `-timeout` in fuzz.sh) fails as a hang. Every run must check more than 1000
//! inputs per target, so a loop that stopped mutating cannot pass.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bondgate_fuzz_props::{TARGETS, ceb_parse, document_decode, intake_json};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Seconds per target when `BONDGATE_FUZZ_SECONDS` is unset (see the module comment).
const DEFAULT_SECONDS: u64 = 5;
const DEFAULT_SEED: u64 = 0xB0DE_6A7E_F022_5EED;
/// Fewer checked inputs than this means the loop is broken.
const MIN_ITERATIONS: u64 = 1000;
/// As fuzz.sh's `-max_len`: mutations never grow an input beyond 64 KiB.
const MAX_LEN: usize = 64 * 1024;
/// As fuzz.sh's `-timeout`: one input taking longer is a hang.
const HANG: Duration = Duration::from_secs(10);

/// Tokens the parsers treat specially: XML markup, references and odd characters, JSON
/// structure and numbers, protobuf tags and varints, broken UTF-8 and GBK.
const TOKENS: &[&[u8]] = &[
    b"<",
    b">",
    b"/>",
    b"</",
    b"&",
    b"\"",
    b"'",
    b"=",
    b"]]>",
    b"<![CDATA[",
    b"<!--",
    b"-->",
    b"<?xml version=\"1.0\"?>",
    b"<?xml version=\"1.0\" encoding=\"GBK\"?>",
    b"<?xml version=\"1.0\" encoding=\"UTF-16\"?>",
    b"<!DOCTYPE a [<!ENTITY e \"x\">]>",
    b"&amp;",
    b"&lt;",
    b"&e;",
    b"&#0;",
    b"&#9;",
    b"&#x1F;",
    b"&#xFFFE;",
    b"&#xFFFF;",
    b"&#x10FFFF;",
    b"&#x110000;",
    b"&#128512;",
    b"&#99999999999999999999;",
    b" xmlns=\"http://www.chinaport.gov.cn/ceb\"",
    b" xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\"",
    b"ceb:",
    b"xmlns",
    "\u{85}".as_bytes(),
    "\u{2028}".as_bytes(),
    "\u{FEFF}".as_bytes(),
    "\u{FFFD}".as_bytes(),
    "放行".as_bytes(),
    b"\r\n",
    b"\r",
    b"\t",
    b"\0",
    b"\x7F",
    b"\xC3",
    b"\xED\xA0\x80",
    b"\xFF\xFE",
    b"\xEF\xBB\xBF",
    b"\x81\x30\x81\x30",
    b"\xB7\xC5",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"{}",
    b"[]",
    b"null",
    b"true",
    b"false",
    b"\"\"",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"\\uDC00\\uD800",
    b"\\\"",
    b"-",
    b"-0",
    b"0.",
    b".5",
    b"1e999",
    b"-1e-999",
    b"1E+400",
    b"0.0000000000000000000000000000001",
    b"79228162514264337593543950336",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"99999999999999999999999999999999999999999999999999999999999999999999999999999999",
    b"\x08",
    b"\x0A",
    b"\x10",
    b"\x12",
    b"\x1A",
    b"\x22",
    b"\x80",
    b"\xFF\xFF\xFF\xFF\x0F",
    b"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x01",
    b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80",
];

/// Bytes worth writing in place of another.
const BYTES: &[u8] = &[
    0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF, b'<', b'>', b'&', b'"', b'/', b'0', b'9', b'-', b'.', b' ',
];

#[test]
fn ceb_parse_survives_mutated_seeds() {
    fuzz("ceb_parse", ceb_parse);
}

#[test]
fn document_decode_survives_mutated_seeds() {
    fuzz("document_decode", document_decode);
}

#[test]
fn intake_json_survives_mutated_seeds() {
    fuzz("intake_json", intake_json);
}

/// The seeds themselves, as committed: a seed that fails is a bug before any mutation.
#[test]
fn every_committed_seed_holds() {
    let mut failures = Vec::new();
    for (target, property) in TARGETS {
        let seeds = seeds(target);
        for (name, bytes) in &seeds {
            if let Err(payload) = catch_unwind(|| property(bytes)) {
                failures.push(format!("{target}/{name}: {}", message(&*payload)));
            }
        }
        println!("{target}: {} committed seeds hold", seeds.len());
    }
    assert!(
        failures.is_empty(),
        "seeds failing their property:\n{}",
        failures.join("\n")
    );
}

/// The harness itself: a violated property fails the run, with the input as hex and the seed.
#[test]
fn a_violation_is_reported_with_its_input() {
    let no_cdata_end = |bytes: &[u8]| assert!(!bytes.windows(3).any(|window| window == b"]]>"));
    let payload = catch_unwind(|| fuzz("ceb_parse", no_cdata_end)).expect_err("no violation found");
    let report = message(&*payload);
    assert!(report.contains("ceb_parse: input "), "{report}");
    assert!(report.contains("BONDGATE_FUZZ_SEED=0x"), "{report}");
    let hex = report.rsplit("hex): ").next().unwrap();
    let input = hex::decode(hex).unwrap_or_else(|error| panic!("{error}: {report}"));
    assert!(input.windows(3).any(|window| window == b"]]>"), "{report}");
}

fn fuzz(target: &str, property: fn(&[u8])) {
    let seconds = env_u64("BONDGATE_FUZZ_SECONDS").unwrap_or(DEFAULT_SECONDS);
    let seed = env_u64("BONDGATE_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let seeds: Vec<Vec<u8>> = seeds(target).into_iter().map(|(_, bytes)| bytes).collect();
    println!(
        "{target}: seed {seed:#x} (BONDGATE_FUZZ_SEED), {seconds} s (BONDGATE_FUZZ_SECONDS), \
         {} committed seeds",
        seeds.len()
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let budget = Duration::from_secs(seconds);
    let started = Instant::now();
    let mut previous = seeds[0].clone();
    let (mut iterations, mut bytes_checked, mut slowest) = (0_u64, 0_u64, Duration::ZERO);
    while started.elapsed() < budget {
        // Mostly a fresh seed; sometimes the last input again, so mutations stack up.
        let mut input = if rng.random_bool(0.25) {
            previous
        } else {
            seeds[rng.random_range(0..seeds.len())].clone()
        };
        for _ in 0..rng.random_range(1..=8) {
            mutate(&mut input, &seeds, &mut rng);
        }
        input.truncate(MAX_LEN);
        let call = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| property(&input)));
        let took = call.elapsed();
        iterations += 1;
        if let Err(payload) = outcome {
            fail(target, seed, iterations, &input, "panicked", &*payload);
        }
        if took > HANG {
            fail(
                target,
                seed,
                iterations,
                &input,
                "hung",
                &format!("took {took:?}"),
            );
        }
        slowest = slowest.max(took);
        bytes_checked += input.len() as u64;
        previous = input;
    }
    let elapsed = started.elapsed();
    println!(
        "{target}: {iterations} mutated inputs ({} KiB) in {:.1} s, {:.0}/s, slowest {slowest:?}: \
         no property violated",
        bytes_checked / 1024,
        elapsed.as_secs_f64(),
        iterations as f64 / elapsed.as_secs_f64()
    );
    assert!(
        iterations > MIN_ITERATIONS,
        "only {iterations} inputs checked"
    );
}

/// Reports the failing input (hex) and how to reproduce it, then fails the test.
fn fail(target: &str, seed: u64, iteration: u64, input: &[u8], what: &str, cause: &dyn Any) -> ! {
    panic!(
        "{target}: input {iteration} {what}: {}\n\
         reproduce: BONDGATE_FUZZ_SEED={seed:#x} cargo nextest run -p bondgate-fuzz-props --test \
         mutate {target} (the inputs depend on the seed alone: give BONDGATE_FUZZ_SECONDS \
         the time to reach input {iteration}), or write the hex below to a file and run it through \
         bondgate_fuzz_props::{target}\n\
         input ({} bytes, hex): {}",
        message(cause),
        input.len(),
        hex::encode(input)
    )
}

fn message(payload: &dyn Any) -> &str {
    if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else {
        "(a panic without a message)"
    }
}

/// One random mutation, in place.
fn mutate(input: &mut Vec<u8>, seeds: &[Vec<u8>], rng: &mut StdRng) {
    let len = input.len();
    match rng.random_range(0..13) {
        // Flip one bit.
        0 if len > 0 => {
            let at = rng.random_range(0..len);
            input[at] ^= 1 << rng.random_range(0..8);
        }
        // Replace a byte with a random or an interesting one.
        1 if len > 0 => {
            let at = rng.random_range(0..len);
            input[at] = if rng.random_bool(0.5) {
                rng.random()
            } else {
                BYTES[rng.random_range(0..BYTES.len())]
            };
        }
        // Insert a few random bytes.
        2 => {
            let at = rng.random_range(0..=len);
            let count = rng.random_range(1..=4);
            let bytes: Vec<u8> = (0..count).map(|_| rng.random()).collect();
            input.splice(at..at, bytes);
        }
        // Delete a range.
        3 if len > 0 => {
            let at = rng.random_range(0..len);
            let end = (at + rng.random_range(1..=64)).min(len);
            input.drain(at..end);
        }
        // Truncate.
        4 => input.truncate(rng.random_range(0..=len)),
        // Splice: this input's head, another seed's tail.
        5 => {
            let other = &seeds[rng.random_range(0..seeds.len())];
            input.truncate(rng.random_range(0..=len));
            input.extend_from_slice(&other[rng.random_range(0..=other.len())..]);
        }
        // Insert a chunk of another seed.
        6 => {
            let other = &seeds[rng.random_range(0..seeds.len())];
            let (from, to) = range(other.len(), rng);
            let at = rng.random_range(0..=len);
            input.splice(at..at, other[from..to].iter().copied());
        }
        // Repeat a chunk: nesting, duplicate elements and records.
        7 if len > 0 => {
            let (from, to) = range(len, rng);
            let chunk = input[from..to].to_vec();
            let times = if rng.random_bool(0.1) {
                rng.random_range(2..=1000)
            } else {
                rng.random_range(1..=4)
            };
            let repeated: Vec<u8> = chunk.repeat(times).into_iter().take(MAX_LEN).collect();
            input.splice(to..to, repeated);
        }
        // Insert a token.
        8 | 9 => {
            let token = TOKENS[rng.random_range(0..TOKENS.len())];
            let at = rng.random_range(0..=len);
            input.splice(at..at, token.iter().copied());
        }
        // Overwrite with a token.
        10 if len > 0 => {
            let token = TOKENS[rng.random_range(0..TOKENS.len())];
            let at = rng.random_range(0..len);
            let end = (at + token.len()).min(len);
            input.splice(at..end, token.iter().copied());
        }
        // A run of digits becomes a huge number (amounts, counts, times, lengths).
        11 => {
            let digits: Vec<usize> = (0..len).filter(|&i| input[i].is_ascii_digit()).collect();
            if let Some(&at) = digits.get(rng.random_range(0..digits.len().max(1))) {
                let huge = if rng.random_bool(0.5) {
                    vec![b'9'; rng.random_range(20..=400)]
                } else {
                    (0..rng.random_range(1..=40))
                        .map(|_| rng.random_range(b'0'..=b'9'))
                        .collect()
                };
                input.splice(at..at + 1, huge);
            }
        }
        // The first byte: document_decode's key length (0xFF: no key), XML's `<`, JSON's `[`.
        12 if len > 0 => {
            input[0] = [0x00, 0x01, 0x10, 0x7F, 0xFE, 0xFF, b'<', b'['][rng.random_range(0..8)];
        }
        // The arms above that need a non-empty input, on an empty one.
        _ => input.push(rng.random()),
    }
}

/// A random non-empty range of `0..len` (empty when `len` is 0).
fn range(len: usize, rng: &mut StdRng) -> (usize, usize) {
    if len == 0 {
        return (0, 0);
    }
    let from = rng.random_range(0..len);
    let to = (from + rng.random_range(1..=256)).min(len);
    (from, to)
}

/// The committed seeds of `target`, sorted by file name.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("the seeds of {target} in {}: {error}", dir.display()));
    let mut seeds: Vec<(String, Vec<u8>)> = entries
        .map(|entry| {
            let path = entry.expect("a seed folder entry").path();
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|error| panic!("seed {}: {error}", path.display()));
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                bytes,
            )
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no committed seeds in {}", dir.display());
    seeds
}

/// A number from the environment, decimal or `0x` hex; unset or empty means `None`.
fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())?;
    let value = value.trim();
    let parsed = match value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16),
        None => value.parse(),
    };
    Some(parsed.unwrap_or_else(|error| panic!("{name}={value}: {error}")))
}
