# The time each phase of a script took, printed as a table at its end: scripts/test and
# scripts/demo call `phase NAME` when a phase begins (which ends the one before), `phase_done`
# after the last, and `phase_close` and `phase_report` from their EXIT trap, so the table also shows which phase
# was running when a command failed or the run was interrupted. Commands run in the script's own
# shell, under its `set -e`: the phases change nothing about how a failure stops the script.
# Sourced after common.sh.
# shellcheck shell=bash

phase_names=()
phase_seconds=()
phase_states=()
phase_current=""
phase_started_at=""
phases_started_at=$(date +%s)

# Ends the running phase (if any) as $1 (ok by default).
phase_end() {
  [ -n "$phase_current" ] || return 0
  phase_names+=("$phase_current")
  phase_seconds+=($(($(date +%s) - phase_started_at)))
  phase_states+=("${1:-ok}")
  phase_current=""
}

# Begins phase $1, ending the one before as ok.
phase() {
  phase_end ok
  phase_current="$1"
  phase_started_at=$(date +%s)
}

# Ends the last phase as ok.
phase_done() { phase_end ok; }

# Adds a row measured elsewhere (a build that ran in the background): name, seconds, state.
phase_add() {
  phase_names+=("$1")
  phase_seconds+=("$2")
  phase_states+=("$3")
}

# Ends the running phase (if any) by the script's exit status $1: ok for 0, "interrupted" for 130
# and 143 (Ctrl-C, SIGTERM), FAILED otherwise.
phase_close() {
  case "${1:-0}" in 0) phase_end ok ;; 130 | 143) phase_end interrupted ;; *) phase_end FAILED ;; esac
}

# Prints the table, after closing a phase still running by the exit status $1.
phase_report() {
  local i
  phase_close "${1:-0}"
  [ "${#phase_names[@]}" -gt 0 ] || return 0
  say "time per phase"
  printf '  %-36s %8s  %s\n' phase seconds state
  for i in "${!phase_names[@]}"; do
    printf '  %-36s %8s  %s\n' "${phase_names[$i]}" "${phase_seconds[$i]}" "${phase_states[$i]}"
  done
  printf '  %-36s %8s\n' "total (wall clock)" "$(($(date +%s) - phases_started_at))"
}
