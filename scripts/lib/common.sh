# Shared settings of bondgate's scripts. Sourced, not run.
# Every value can be overridden by the environment; README.md lists them.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export BONDGATE_STACK_DIR="${BONDGATE_STACK_DIR:-$ROOT/.stack}"
# The broker binary is cached outside the checkout so that a fresh clone on the same machine does
# not spend 19 minutes rebuilding it.
export BONDGATE_TOOLS_DIR="${BONDGATE_TOOLS_DIR:-$HOME/.cache/bondgate/tools}"
export BONDGATE_PG_PORT="${BONDGATE_PG_PORT:-55432}"
export BONDGATE_BROKER_PORT="${BONDGATE_BROKER_PORT:-19092}"
# memory:// is fast and ephemeral; sqlite:// keeps data across broker restarts (about 8x slower).
export BONDGATE_BROKER_STORAGE="${BONDGATE_BROKER_STORAGE:-memory}"
export BONDGATE_TOPIC_PARTITIONS="${BONDGATE_TOPIC_PARTITIONS:-8}"
export BONDGATE_PG_DATABASE="${BONDGATE_PG_DATABASE:-bondgate}"

NISSHI_VERSION="0.7.0-pre.2"
NISSHI_BIN="$BONDGATE_TOOLS_DIR/bin/nisshi"
# Tests that restart a broker start their own private one from this binary.
export BONDGATE_NISSHI_BIN="${BONDGATE_NISSHI_BIN:-$NISSHI_BIN}"
TOPICS=(cbec.documents.v1 cbec.receipts.v1 cbec.dlq.v1)

# Connection settings for the services and tests, derived from the ports above unless given.
export BONDGATE__DATABASE__URL="${BONDGATE__DATABASE__URL:-postgres://bondgate@127.0.0.1:$BONDGATE_PG_PORT/$BONDGATE_PG_DATABASE}"
export BONDGATE__KAFKA__BROKERS="${BONDGATE__KAFKA__BROKERS:-127.0.0.1:$BONDGATE_BROKER_PORT}"

say() { printf '\033[1m[%s]\033[0m %s\n' "$(basename "$0")" "$*"; }
die() { printf '\033[31m[%s] error:\033[0m %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# Runs a command as root, with sudo when we are not root.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=""
# Installs a Debian package (apt-get update once per script).
apt_get_install() {
  local pkg="$1"
  say "installing $pkg (apt-get)"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null \
    || die "could not install $pkg"
}

# Installs Debian packages that are missing; `apt_install CMD PACKAGE` checks CMD first.
apt_install() {
  local cmd="$1" pkg="$2"
  command -v "$cmd" >/dev/null 2>&1 && return 0
  apt_get_install "$pkg"
}

# What compiling the workspace needs beyond Rust: rdkafka's `ssl` feature (TLS and SCRAM to the
# brokers) builds librdkafka against OpenSSL, which openssl-sys finds through pkg-config.
# Called by every script that builds.
build_deps() {
  apt_install pkg-config pkg-config
  pkg-config --exists openssl 2>/dev/null || apt_get_install libssl-dev
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Every descendant of $1, children after their own descendants.
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do descendants "$child"; echo "$child"; done
}

# True while process $1 runs (a zombie, dead but not yet reaped, does not count).
alive() {
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${stat:0:1}" != Z ]
}

# Sends TERM to the processes $@ and all their descendants, waits up to 10 s, then KILLs.
stop_trees() {
  local pids=() pid running
  for pid in "$@"; do
    [ -n "$pid" ] || continue
    # shellcheck disable=SC2207 # pids are plain numbers
    pids+=($(descendants "$pid") "$pid")
  done
  [ "${#pids[@]}" -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 1 100); do
    running=0
    for pid in "${pids[@]}"; do alive "$pid" && { running=1; break; }; done
    [ "$running" = 1 ] || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do alive "$pid" && kill -KILL "$pid" 2>/dev/null; done
  # Reap our own children (the others are reaped by their parents).
  for pid in "$@"; do [ -n "$pid" ] && { wait "$pid" 2>/dev/null || true; }; done
  return 0
}
