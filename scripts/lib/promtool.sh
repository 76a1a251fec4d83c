# Installs promtool (Debian package `prometheus`, without the recommended node exporter; the
# package's server is not started) when missing and exports its path as BONDGATE_PROMTOOL.
# Sourced by scripts/lib/ops-checks.sh. The ops tests (tests/ops) pipe each service's /metrics
# through `promtool check metrics`.
# shellcheck shell=bash
if ! command -v promtool >/dev/null 2>&1; then
  say "installing promtool (apt-get, package prometheus)"
  if [ -z "${APT_UPDATED:-}" ]; then as_root apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    prometheus >/dev/null || die "could not install the Debian package prometheus (promtool)"
fi
BONDGATE_PROMTOOL="$(command -v promtool)"
export BONDGATE_PROMTOOL
say "$("$BONDGATE_PROMTOOL" --version 2>&1 | head -n 1)"
