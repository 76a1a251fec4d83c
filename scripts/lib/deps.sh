# Dependency hygiene checks of both workspaces (the main one and fuzz/), sourced by scripts/test,
# which calls `deps_install` with the other tools and `deps_check` before clippy:
#   * the lock files are current (`cargo metadata --locked`), so nothing below rewrites them;
#   * no unused dependency: `cargo machete --with-metadata` (every crate of both workspaces,
#     dev- and build-dependencies included; false positives are listed per crate under
#     `[package.metadata.cargo-machete] ignored`, each with its reason);
#   * no prerelease crate in a lock file unless PRERELEASE_ALLOWED below names it with its reason.
# Can also be run on its own:
#   source scripts/lib/common.sh && source scripts/lib/deps.sh && deps_install && deps_check
# shellcheck shell=bash

CARGO_MACHETE_VERSION="0.9.2"
CARGO_MACHETE_BIN="$BONDGATE_TOOLS_DIR/bin/cargo-machete"

# Prerelease versions allowed in a lock file: "name version kind", where kind is `lock-only`
# (never compiled: the check also makes sure no build of either workspace uses it) or `built`.
# Say why for each. (The broker, nisshi 0.7.0-pre, is installed apart and is in no lock file.)
PRERELEASE_ALLOWED=(
  # sea-orm's `with-chrono` and `with-rust_decimal`, which our entities need, also name the weak
  # features `sea-orm-arrow?/with-chrono` and `sea-orm-arrow?/with-rust_decimal`. Cargo's lock
  # resolver records an optional dependency named by a weak feature as if it were enabled
  # (rust-lang/cargo#10801; arrow, sqlx-mysql and sqlx-sqlite are in the lock files the same
  # way), but nothing enables it, so no build compiles it. It leaves the lock files when sea-orm
  # depends on a release of it or Cargo fixes that issue.
  "sea-orm-arrow 2.0.0-rc.5 lock-only"
)

# Installs cargo-machete into $BONDGATE_TOOLS_DIR (outside the checkout, like the broker) when it
# is missing or another version.
deps_install() {
  if [ ! -x "$CARGO_MACHETE_BIN" ] \
    || ! "$CARGO_MACHETE_BIN" --version 2>/dev/null | grep -qF "$CARGO_MACHETE_VERSION"; then
    say "installing cargo-machete $CARGO_MACHETE_VERSION into $BONDGATE_TOOLS_DIR (cargo install)"
    # Its own temporary target directory: the workspace's would be locked by a build in flight.
    env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR cargo install cargo-machete \
      --version "$CARGO_MACHETE_VERSION" --locked --root "$BONDGATE_TOOLS_DIR" --quiet \
      || die "could not install cargo-machete"
  fi
}

# "name version" of every prerelease (a `-` before any `+`) in the lock file $1.
lock_prereleases() {
  awk '/^\[\[package\]\]/ { name = "" }
       /^name = / { gsub(/"/, "", $3); name = $3 }
       /^version = / { gsub(/"/, "", $3); v = $3; sub(/\+.*/, "", v);
                       if (v ~ /-/) print name, $3 }' "$1" | sort -u
}

# True when a build of the workspace of manifest $2 compiles package $1 (any features, target or
# kind of dependency).
compiled_anywhere() {
  local tree
  # Captured first: `grep -q` closing the pipe early would fail the pipeline under pipefail.
  tree=$(cargo tree --manifest-path "$2" --workspace --all-features --target all \
    -e normal,build,dev --prefix none --format '{p}') || die "cargo tree failed for $2"
  grep -q "^$1 v" <<<"$tree"
}

deps_prerelease_check() {
  local manifest lock found entry name version kind allowed bad=0
  for manifest in "$ROOT/Cargo.toml" "$ROOT/fuzz/Cargo.toml"; do
    lock="${manifest%Cargo.toml}Cargo.lock"
    found=$(lock_prereleases "$lock")
    while read -r name version; do
      [ -n "$name" ] || continue
      allowed=""
      for entry in "${PRERELEASE_ALLOWED[@]}"; do
        read -r _ _ kind <<<"$entry"
        [ "${entry% *}" = "$name $version" ] && allowed="$kind"
      done
      if [ -z "$allowed" ]; then
        say "prerelease $name $version in ${lock#"$ROOT"/}: not on PRERELEASE_ALLOWED (scripts/lib/deps.sh)"
        say "  find what pulls it in: cargo tree -i $name -e features --all-features --target all"
        bad=1
      elif [ "$allowed" = lock-only ] && compiled_anywhere "$name" "$manifest"; then
        say "prerelease $name $version is allowed only as never compiled, but a build of"
        say "  ${manifest#"$ROOT"/} compiles it: cargo tree -i $name -e features --all-features"
        bad=1
      fi
    done <<<"$found"
  done
  return "$bad"
}

deps_check() {
  local started
  started=$(date +%s)
  say "lock files current (cargo metadata --locked)"
  cargo metadata --locked --format-version 1 --manifest-path "$ROOT/Cargo.toml" >/dev/null \
    || die "Cargo.lock is out of date: run cargo update --workspace and commit it"
  cargo metadata --locked --format-version 1 --manifest-path "$ROOT/fuzz/Cargo.toml" >/dev/null \
    || die "fuzz/Cargo.lock is out of date: run (cd fuzz && cargo update --workspace) and commit it"
  say "unused dependencies (cargo machete --with-metadata, both workspaces)"
  (cd "$ROOT" && "$CARGO_MACHETE_BIN" --with-metadata --skip-target-dir) \
    || die "unused dependencies (above): remove them, or list a false positive under" \
      "[package.metadata.cargo-machete] ignored with the reason"
  say "prerelease crates in the lock files"
  deps_prerelease_check || die "prerelease crates not allowed (above)"
  say "dependency checks passed in $(($(date +%s) - started)) s"
}
