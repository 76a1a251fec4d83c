# Building the broker (tansu, published as the crate nisshi) into $BONDGATE_TOOLS_DIR, outside the
# checkout, once per machine. Sourced after common.sh by scripts/stack (`broker_install`, in the
# foreground) and by scripts/test and scripts/demo, which start the build in the background
# (`broker_build_start`) while they build the workspace, and wait for it (`broker_build_wait`)
# before the stack starts.
#
# The build's own target directory is $BONDGATE_TOOLS_DIR/nisshi-target, not cargo install's
# temporary one: a build that is stopped (Ctrl-C, a failed phase of scripts/test) resumes from
# what it had compiled on the next run instead of starting its 20 minutes again. It is deleted
# once the binary is installed. The full cargo output goes to $BONDGATE_TOOLS_DIR/nisshi-build.log.
# shellcheck shell=bash

NISSHI_TARGET_DIR="$BONDGATE_TOOLS_DIR/nisshi-target"
NISSHI_BUILD_LOG="$BONDGATE_TOOLS_DIR/nisshi-build.log"

# Builds and installs the broker. BONDGATE_BROKER_INSTALL_CMD (a shell command) replaces it, so a
# test of these scripts can stub the build instead of spending 20 minutes of two cores on it.
broker_install_cmd() {
  if [ -n "${BONDGATE_BROKER_INSTALL_CMD:-}" ]; then
    bash -c "$BONDGATE_BROKER_INSTALL_CMD"
    return
  fi
  cargo install nisshi --version "$NISSHI_VERSION" --locked --features dynostore,libsql \
    --root "$BONDGATE_TOOLS_DIR" --target-dir "$NISSHI_TARGET_DIR"
}

broker_build_pid=""
broker_build_started_at=""
broker_build_end_file=""

# Builds and installs the broker unless it is there, writing cargo's output to the build log.
# One build at a time per tools directory: a second script (scripts/demo beside scripts/test)
# waits for the first one's build instead of racing it. Runs in the foreground of its caller.
broker_build() {
  mkdir -p "$BONDGATE_TOOLS_DIR"
  (
    flock 9 || exit 1
    [ -x "$NISSHI_BIN" ] && exit 0
    # Its own target directory, never the workspace's: a shared CARGO_TARGET_DIR would make the
    # two builds take turns on cargo's lock of that directory instead of running side by side.
    unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR
    broker_install_cmd >"$NISSHI_BUILD_LOG" 2>&1 || exit 1
    [ -x "$NISSHI_BIN" ] || exit 1
    rm -rf "$NISSHI_TARGET_DIR"
  ) 9>"$BONDGATE_TOOLS_DIR/nisshi.lock"
}

# Progress of a build from its log: a line every 25 crates, each prefixed `[broker build]` so
# that it reads apart from the workspace's cargo output around it. Ends when the file $1 (the
# build's end mark) exists, or when the script that started it is gone.
broker_build_progress() {
  local end_file="$1" count=0 last=0
  while [ ! -f "$end_file" ] && kill -0 "$$" 2>/dev/null; do
    sleep 5
    count=$(grep -cE '^\s+Compiling ' "$NISSHI_BUILD_LOG" 2>/dev/null || true)
    if [ "${count:-0}" -ge $((last + 25)) ]; then
      last=$count
      printf '[broker build] %d crates compiled (%s s)\n' "$count" \
        "$(($(date +%s) - broker_build_started_at))"
    fi
  done
}

# Starts the broker build in the background when the binary is missing; no-op otherwise.
broker_build_start() {
  [ -x "$NISSHI_BIN" ] && return 0
  say "building the broker (nisshi $NISSHI_VERSION) in the background into $BONDGATE_TOOLS_DIR:"
  say "once per machine, about 20 minutes on 2 cores; log $NISSHI_BUILD_LOG"
  broker_build_started_at=$(date +%s)
  broker_build_end_file=$(mktemp "${TMPDIR:-/tmp}/bondgate-broker-build.XXXXXX")
  rm -f "$broker_build_end_file"
  (
    broker_build_progress "$broker_build_end_file" &
    status=0
    broker_build || status=$?
    echo "$status $(date +%s)" >"$broker_build_end_file"
    wait
    exit "$status"
  ) &
  broker_build_pid=$!
}

# Waits for a build started by `broker_build_start` (none: returns at once) and fails with the
# end of its log when it failed. Prints how long it ran.
broker_build_wait() {
  [ -n "$broker_build_pid" ] || return 0
  say "waiting for the broker build"
  local status=0
  wait "$broker_build_pid" || status=$?
  broker_build_pid=""
  if [ "$status" != 0 ] || [ ! -x "$NISSHI_BIN" ]; then
    tail -n 30 "$NISSHI_BUILD_LOG" >&2 || true
    die "broker build failed (full log: $NISSHI_BUILD_LOG)"
  fi
  say "broker built in $(broker_build_seconds) s"
}

# Seconds the background build ran (until now while it runs); empty when none was started.
broker_build_seconds() {
  [ -n "$broker_build_started_at" ] || return 0
  local end
  end=$(awk '{ print $2 }' "$broker_build_end_file" 2>/dev/null)
  echo $(("${end:-$(date +%s)}" - broker_build_started_at))
}

# "ok", "FAILED" or "stopped" for the background build; empty when none was started.
broker_build_status() {
  [ -n "$broker_build_started_at" ] || return 0
  local status
  status=$(awk '{ print $1 }' "$broker_build_end_file" 2>/dev/null)
  # No status, or death by a signal (128 + its number): `broker_build_stop` ended it.
  if [ "$status" = 0 ]; then echo ok
  elif [ -z "$status" ] || [ "$status" -gt 128 ]; then echo stopped
  else echo FAILED; fi
}

# Stops a background build still running (on exit of the script that started it), with every
# process under it. What it compiled stays in $NISSHI_TARGET_DIR for the next run.
broker_build_stop() {
  [ -n "$broker_build_pid" ] || return 0
  stop_trees "$broker_build_pid"
  broker_build_pid=""
  say "broker build stopped; the next run resumes it"
}

# Builds the broker in the foreground unless it is there (scripts/stack up), with the same
# progress lines.
broker_install() {
  [ -x "$NISSHI_BIN" ] && return 0
  say "building the broker (nisshi $NISSHI_VERSION) into $BONDGATE_TOOLS_DIR: this happens once per"
  say "machine and takes about 20 minutes on 2 cores; log $NISSHI_BUILD_LOG"
  local end_file status=0
  end_file=$(mktemp "${TMPDIR:-/tmp}/bondgate-broker-build.XXXXXX")
  rm -f "$end_file"
  broker_build_started_at=$(date +%s)
  broker_build_progress "$end_file" &
  # In the foreground, so that Ctrl-C reaches cargo.
  broker_build || status=$?
  echo "$status" >"$end_file"
  wait
  rm -f "$end_file"
  if [ "$status" != 0 ] || [ ! -x "$NISSHI_BIN" ]; then
    tail -n 30 "$NISSHI_BUILD_LOG" >&2 || true
    die "broker build failed (full log: $NISSHI_BUILD_LOG)"
  fi
}
