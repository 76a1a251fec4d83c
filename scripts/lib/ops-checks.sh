# Checks of deploy/ (issue 8: alerts, dashboard, manifests), sourced by scripts/test, which
# calls `ops_checks` before the test suite. Installs what it needs: promtool (apt, see
# promtool.sh); kubernetes-validate, yamllint and check-jsonschema (PyPI) in .stack/ops-venv.
# kubectl (for `kubectl kustomize`) comes with the machine image; without it the check fails.
#   promtool check config / check rules / test rules   deploy/prometheus
#   yamllint                                           every YAML file of deploy/
#   check-jsonschema (compose-spec)                    deploy/compose.yaml
#   scripts/lib/check_deploy.py                        k8s render + schemas + references,
#                                                      Kafka ACLs and credentials, network
#                                                      policies, Grafana dashboard, compose
#   scripts/lib/check_deploy_test.py                   check_deploy.py fails on broken copies
# shellcheck shell=bash
source "$ROOT/scripts/lib/promtool.sh"

ops_venv="$BONDGATE_STACK_DIR/ops-venv"
if [ ! -x "$ops_venv/bin/check-jsonschema" ] || [ ! -x "$ops_venv/bin/yamllint" ] \
  || ! "$ops_venv/bin/python" -c 'import kubernetes_validate' 2>/dev/null; then
  say "installing kubernetes-validate, yamllint, check-jsonschema into $ops_venv (pip)"
  python3 -m venv "$ops_venv" || die "python3 -m venv failed (apt-get install python3-venv)"
  "$ops_venv/bin/pip" install --quiet --upgrade pip
  "$ops_venv/bin/pip" install --quiet kubernetes-validate yamllint check-jsonschema \
    || die "could not install the deploy/ validators"
fi

ops_checks() {
  local started deploy="$ROOT/deploy"
  started=$(date +%s)
  command -v "${BONDGATE_KUBECTL:-kubectl}" >/dev/null 2>&1 \
    || die "kubectl (for kubectl kustomize) is missing: install it or set BONDGATE_KUBECTL"
  say "deploy/prometheus: promtool check config, check rules, test rules"
  "$BONDGATE_PROMTOOL" check config "$deploy/prometheus/prometheus.yml"
  "$BONDGATE_PROMTOOL" check rules "$deploy"/prometheus/rules/*.yml
  "$BONDGATE_PROMTOOL" test rules "$deploy"/prometheus/tests/*.yml
  say "deploy/: yamllint"
  (cd "$deploy" && "$ops_venv/bin/yamllint" --strict -c .yamllint.yaml .)
  say "deploy/compose.yaml: compose-spec schema"
  "$ops_venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$deploy/compose.yaml"
  say "deploy/k8s, deploy/grafana, deploy/compose.yaml: rendered and cross-checked"
  BONDGATE_PROMTOOL="$BONDGATE_PROMTOOL" "$ops_venv/bin/python" "$ROOT/scripts/lib/check_deploy.py"
  say "scripts/lib/check_deploy.py: each broken copy of deploy/ fails"
  BONDGATE_PROMTOOL="$BONDGATE_PROMTOOL" "$ops_venv/bin/python" \
    "$ROOT/scripts/lib/check_deploy_test.py"
  say "deploy/ checks passed in $(( $(date +%s) - started )) s"
}
