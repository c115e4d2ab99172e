#!/usr/bin/env bash
# Browser end-to-end tests of oidc-demo: Debian's chromium driven headless by
# playwright-core, once with the embedded development provider and once with
# the oidc-provider npm package. Called by scripts/test.sh.
#
# Without chromium or e2e/node_modules the tests are skipped (exit 0), unless
# CI is set, in which case that is a failure. Screenshots and process logs go
# to e2e/artifacts/<run>/.
#
#   e2e/run-browser-tests.sh                # everything
#   BROWSER_TESTS_TIMEOUT=120 e2e/run-browser-tests.sh
#   e2e/run-browser-tests.sh --test-name-pattern='two tabs'   # extra args go to node --test
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
TIMEOUT=${BROWSER_TESTS_TIMEOUT:-180}

missing() {
  if [ -n "${CI:-}" ]; then
    echo "browser tests: $1 (CI is set, so this is a failure)" >&2
    exit 1
  fi
  echo "browser tests skipped: $1"
  exit 0
}

command -v node >/dev/null 2>&1 || missing "node is not installed (Node 20 or later)"
[ -x "$CHROMIUM_PATH" ] || missing "$CHROMIUM_PATH not found (apt-get install chromium)"
[ -f e2e/node_modules/playwright-core/package.json ] ||
  missing "e2e/node_modules/playwright-core is missing (npm ci --prefix e2e)"
[ -f e2e/node_modules/oidc-provider/package.json ] ||
  missing "e2e/node_modules/oidc-provider is missing (npm ci --prefix e2e)"

build=
group=
cleanup() {
  [ -z "$build" ] || kill -TERM "$build" 2>/dev/null || true
  if [ -n "$group" ]; then
    # Anything left in the test group (a test that failed to tear down) dies here.
    kill -TERM -- "-$group" 2>/dev/null || true
    sleep 0.5
    kill -KILL -- "-$group" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Cheap when the binary is up to date. In the background so that a signal to
# this script is handled at once; under `timeout` (its own process group, which
# it signals as a whole) so that cargo behind the rustup proxy stops too.
# scripts/test.sh sets OIDC_DEMO_PREBUILT=1: its `cargo test --workspace` has just
# built target/debug/oidc-demo (with the workspace's features), so don't rebuild it
# with a different feature set.
if [ "${OIDC_DEMO_PREBUILT:-}" = 1 ] && [ -x target/debug/oidc-demo ]; then
  :
else
  timeout 900s cargo build --quiet -p oidc-demo &
  build=$!
  wait "$build"
  build=
fi

export CHROMIUM_PATH
start=$SECONDS
# `timeout` puts itself and everything below it (node, the demo, the providers)
# in a process group of its own; on expiry it signals that whole group. Chromium
# runs in its own group and exits when playwright's pipe to it closes.
timeout --kill-after=15s "${TIMEOUT}s" node --test "$@" e2e/browser/*.test.mjs &
group=$!
status=0
wait "$group" || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "browser tests: timed out after ${TIMEOUT}s" >&2
fi
# Test teardown stops every child; give processes that are still exiting
# (e.g. after a timeout) a moment before calling them leftovers.
for _ in 1 2 3 4 5 6 7 8 9 10; do
  pgrep -g "$group" >/dev/null 2>&1 || break
  sleep 0.5
done
leftovers=$(pgrep -g "$group" 2>/dev/null || true)
if [ -n "$leftovers" ]; then
  echo "browser tests: processes left behind, killing them:" >&2
  ps -o pid,args -p "$(echo "$leftovers" | paste -sd,)" >&2 || true
  [ "$status" -ne 0 ] || status=1
fi
echo "browser tests: exit status $status after $((SECONDS - start))s (artifacts in e2e/artifacts/)"
exit "$status"
