# Installs schemathesis (from PyPI) into .stack/venv when missing and exports its path as
# BONDGATE_SCHEMATHESIS. Sourced by scripts/test before the test run: the intake test
# `schemathesis_finds_no_server_error_and_no_schema_violation` (services/intake/tests/api) starts
# the service on a free loopback port with a fresh seeded database, a topic and an API key, and
# runs `schemathesis run .../openapi.json` with bounded examples; it fails on any server error,
# undocumented status or schema violation.

venv="$BONDGATE_STACK_DIR/venv"
if [ ! -x "$venv/bin/schemathesis" ]; then
  say "installing schemathesis into $venv (pip)"
  python3 -m venv "$venv" || die "python3 -m venv failed (apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet schemathesis || die "could not install schemathesis"
fi
export BONDGATE_SCHEMATHESIS="$venv/bin/schemathesis"
say "schemathesis $("$BONDGATE_SCHEMATHESIS" --version | awk '{print $NF}') ready"
