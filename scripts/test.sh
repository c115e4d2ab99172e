#!/usr/bin/env bash
# The project's test command: lints, docs, every feature alone, the full test suite
# (store servers, oidc-provider interop, adversarial provider), browser tests and a
# short run of every fuzz target.
#
# Locally, suites whose servers or tools are missing say "skipped"; with CI set they fail.
set -euo pipefail
cd "$(dirname "$0")/.."

summary=()
step() {
  local name=$1; shift
  local start=$SECONDS
  echo "::: $name"
  if "$@"; then
    summary+=("ok    $(printf '%4ss' $((SECONDS - start)))  $name")
  else
    summary+=("FAIL  $(printf '%4ss' $((SECONDS - start)))  $name")
    print_summary
    exit 1
  fi
}
print_summary() {
  echo
  echo "=== summary ==="
  printf '%s\n' "${summary[@]}"
}

export RUSTFLAGS="${RUSTFLAGS:-}"
export CARGO_TERM_COLOR=never
# Clean CI builds are faster without incremental compilation.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi

step "cargo fmt --check" cargo fmt --all -- --check
step "clippy (all targets, all features, -D warnings)" \
  cargo clippy --workspace --all-targets --all-features -- -D warnings
step "rustdoc (warnings denied)" \
  env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps
for f in "" rustls native-tls redis postgres mysql sqlite test-util; do
  if [ -z "$f" ]; then
    step "feature set: none" cargo check -p axum-oidc-client --no-default-features
  else
    step "feature alone: $f" cargo check -p axum-oidc-client --no-default-features --features "$f"
  fi
done
step "cargo test --workspace --all-features" cargo test --workspace --all-features
if [ -x e2e/run-browser-tests.sh ]; then
  step "browser tests (chromium + playwright-core)" env OIDC_DEMO_PREBUILT=1 e2e/run-browser-tests.sh
fi
# Every fuzz target for a short, bounded time (FUZZING.md has the longer runs).
step "fuzz targets, ${FUZZ_CI_SECONDS:-5} s each" env FUZZ_SECONDS="${FUZZ_CI_SECONDS:-5}" fuzz/run.sh

print_summary
