#!/usr/bin/env bash
# Checks the dependency tree with cargo-deny, offline: every crate's licence
# against what the app may ship (deny.toml), wildcard versions refused and
# crates present in several versions listed; and Cargo.lock against the
# RustSec advisory database. For advisories the
# machines that build TalkLine reach only the package registries, so the
# database comes from a snapshot (a git bundle, `ADVISORY_DB_BUNDLE`, by
# default `../shared/advisory-db.bundle` beside the checkout), cloned where
# cargo-deny looks for it. Without a snapshot and without an earlier clone
# the check cannot run, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."

# cargo-deny names its clone after the database's URL.
db_root="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
db="$db_root/advisory-db-3157b0e258782691"
bundle="${ADVISORY_DB_BUNDLE:-$(pwd)/../shared/advisory-db.bundle}"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

cargo deny --offline --locked check licenses bans 2>"$tmp" || { cat "$tmp" >&2; exit 1; }
echo "licences allowed; $(grep -c '^warning\[duplicate\]' "$tmp" || true) crates in more than one version (cargo deny --offline check bans lists them)"

if [ -f "$bundle" ]; then
  if [ -d "$db/.git" ]; then
    # A newer snapshot replaces what an older one left.
    git -C "$db" fetch --quiet "$bundle" "+HEAD:refs/remotes/snapshot/HEAD"
    git -C "$db" reset --quiet --hard refs/remotes/snapshot/HEAD
  else
    mkdir -p "$db_root"
    git -c init.defaultBranch=main -c advice.detachedHead=false clone --quiet "$bundle" "$db"
  fi
elif [ ! -d "$db/.git" ]; then
  echo "advisories NOT checked: no RustSec snapshot at $bundle (set ADVISORY_DB_BUNDLE)" >&2
  exit 0
fi
echo "RustSec snapshot of $(git -C "$db" log -1 --format=%cs)"
cargo deny --offline --locked check advisories
