# Coverage-guided fuzzing of the parsers of untrusted input (fuzz/, cargo-fuzz with libFuzzer):
# CEB XML (`ceb_parse`), records of the documents topic as clearance decodes them
# (`document_decode`) and intake's JSON bodies (`intake_json`). Defines `fuzz_all`, which runs
# every target for BONDGATE_FUZZ_SECONDS (default 60) starting from the committed seeds in
# fuzz/corpus/<target>, and fails with the crash artifact when a target panics, overflows,
# runs over the memory limit or hangs. Without the nightly toolchain (which CI may not have) it
# runs the stable mutation fuzzer instead (`fuzz_stable`: crates/fuzz-props/tests/mutate.rs, the
# same properties and seeds, random mutations instead of coverage guidance) for as long per
# target. The targets' properties live in crates/fuzz-props, shared by both.
# Sourced after common.sh; can also be run on its own:
#   source scripts/lib/common.sh && source scripts/lib/fuzz.sh && fuzz_all

FUZZ_TARGETS=(ceb_parse document_decode intake_json)
# AddressSanitizer (cargo-fuzz's default) plus debug assertions and overflow checks, so an
# arithmetic overflow is a crash rather than a wrapped value. Build and run use the same flags,
# or `cargo fuzz run` would build again.
FUZZ_BUILD_FLAGS=(--sanitizer address --debug-assertions)
# Inputs up to 64 KiB (the seeds are at most 8 KiB); an input that takes 10 s is a hang.
FUZZ_LIBFUZZER_FLAGS=(-rss_limit_mb=2048 -max_len=65536 -timeout=10 -print_final_stats=1)

fuzz_all() {
  local seconds="${BONDGATE_FUZZ_SECONDS:-60}" started target
  # Nightly first: without it cargo-fuzz would be installed for nothing.
  if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    say "nightly toolchain absent: running the stable mutation fuzzer instead (crates/fuzz-props)"
    fuzz_stable "$seconds"
    return 0
  fi
  if ! command -v cargo-fuzz >/dev/null 2>&1; then
    say "installing cargo-fuzz (cargo install)"
    cargo install cargo-fuzz --locked || die "could not install cargo-fuzz"
  fi
  started=$(date +%s)
  say "fuzz: building ${FUZZ_TARGETS[*]} ($(rustup run nightly rustc --version))"
  (cd "$ROOT/fuzz" && cargo +nightly fuzz build "${FUZZ_BUILD_FLAGS[@]}") \
    || die "the fuzz targets do not build"
  say "fuzz: built in $(($(date +%s) - started)) s; ${seconds} s per target"
  for target in "${FUZZ_TARGETS[@]}"; do
    fuzz_run "$target" "$seconds"
  done
}

# The stable equivalent of the cargo-fuzz run: tests/mutate.rs of crates/fuzz-props mutates the
# committed seeds of every target for BONDGATE_FUZZ_SECONDS each (its tests run in parallel).
# Unset, that test runs 5 s per target, so the workspace test run does not fuzz for the full
# time as well; here it gets the full time. On a violation nextest shows the input as hex and the
# seed (BONDGATE_FUZZ_SEED) that reproduces it. The harness's self-test (a planted violation,
# whose expected panic would only clutter this log) runs with the workspace tests instead.
fuzz_stable() {
  local seconds="$1" started
  started=$(date +%s)
  say "fuzz (stable): ${FUZZ_TARGETS[*]}, ${seconds} s per target"
  # Same features as scripts/test's workspace build, so nothing is compiled again.
  (cd "$ROOT" && BONDGATE_FUZZ_SECONDS="$seconds" cargo nextest run -p bondgate-fuzz-props \
    --features bondgate-clearance/failpoints --test mutate -E 'not test(a_violation_is_reported_with_its_input)' \
    --success-output immediate --no-fail-fast) \
    || die "the stable mutation fuzzer found a violation (see above)"
  say "fuzz (stable): done in $(($(date +%s) - started)) s, no property violated"
}

# Runs one target. New inputs go to a temporary corpus, listed first so libFuzzer writes there;
# the committed seeds are only read, so a run never dirties the tree.
fuzz_run() {
  local target="$1" seconds="$2" scratch log artifact stats runs
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/bondgate-fuzz-$target.XXXXXX")
  log="$scratch.log"
  if ! (cd "$ROOT/fuzz" && cargo +nightly fuzz run "${FUZZ_BUILD_FLAGS[@]}" "$target" \
    "$scratch" "corpus/$target" -- -max_total_time="$seconds" "${FUZZ_LIBFUZZER_FLAGS[@]}") \
    >"$log" 2>&1; then
    # The panic message or sanitizer report, without the rest of the run.
    grep -m 1 -A 24 -E 'panicked at|==ERROR: AddressSanitizer|ERROR: libFuzzer|ALARM:' "$log" >&2 \
      || tail -n 40 "$log" >&2
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    rm -rf "$scratch"
    die "fuzz target $target failed; input: ${artifact:-none written}; full log: $log;" \
      "reproduce: (cd fuzz && cargo +nightly fuzz run ${FUZZ_BUILD_FLAGS[*]} $target ${artifact:-<input>})"
  fi
  # libFuzzer's last status line, e.g. `#123456 DONE cov: 2101 ft: 7342 corp: 612/210Kb ...`.
  stats=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  say "fuzz $target: ${runs:-?} runs in ${seconds} s, no crash ($(fuzz_coverage "$stats"))"
  rm -rf "$scratch" "$log"
}

# "cov 2101, corpus 612 inputs" from libFuzzer's DONE line.
fuzz_coverage() {
  local cov corp
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$1")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$1")
  echo "cov ${cov:-?}, corpus ${corp:-?} inputs"
}
