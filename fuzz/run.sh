#!/usr/bin/env bash
# A bounded fuzz run of every target: build them all once, run each for FUZZ_SECONDS
# (default 10) from its committed seeds plus the local corpus, print executions per
# second, and fail on any crash, timeout or out-of-memory. See FUZZING.md.
#
#   fuzz/run.sh                        # every target, 10 s each
#   FUZZ_SECONDS=120 fuzz/run.sh jws   # one target, longer
#
# The targets are built with plain cargo and the coverage flags `cargo fuzz` passes to
# rustc (SanitizerCoverage for libFuzzer, debug assertions, overflow checks), so
# neither cargo-fuzz nor a nightly toolchain is needed. `cargo fuzz run <target>`
# works on the same targets for those who have it (FUZZING.md).
#
# Environment:
#   FUZZ_SECONDS     seconds per target (default 10)
#   FUZZ_PROFILE     cargo profile: fuzz (default: optimized at -O1, the quickest to
#                    build) or release (-O3, what `cargo fuzz` uses; for long runs)
#   FUZZ_SANITIZER   none | address (default none: the library forbids unsafe code;
#                    address needs RUSTC_BOOTSTRAP, which this script sets)
#   FUZZ_TARGET_DIR  cargo target directory (default fuzz/target)
set -euo pipefail
cd "$(dirname "$0")"

seconds=${FUZZ_SECONDS:-10}
profile=${FUZZ_PROFILE:-fuzz}
sanitizer=${FUZZ_SANITIZER:-none}
target_dir=${FUZZ_TARGET_DIR:-target}
triple=$(rustc -vV | sed -n 's/^host: //p')

log() { echo "[fuzz] $*"; }

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^axum-oidc-client-fuzz$')
fi

# The flags `cargo fuzz build` passes to rustc. With an explicit --target, RUSTFLAGS
# reach only the target's code, not build scripts or proc macros.
flags=(
  -Cpasses=sancov-module
  -Cllvm-args=-sanitizer-coverage-level=4
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
  -Cllvm-args=-sanitizer-coverage-pc-table
  -Cllvm-args=-sanitizer-coverage-trace-compares
  --cfg fuzzing
  -Cdebug-assertions
  -Coverflow-checks
)
if [ "$sanitizer" = address ]; then
  flags+=(-Zsanitizer=address)
  export RUSTC_BOOTSTRAP=1
fi

mkdir -p logs
build=(--profile "$profile" --target "$triple" --target-dir "$target_dir")
for t in "${targets[@]}"; do build+=(--bin "$t"); done
log "building ${#targets[@]} target(s), profile $profile, sanitizer $sanitizer, target dir $target_dir"
start=$(date +%s)
if ! RUSTFLAGS="${flags[*]}" cargo build "${build[@]}" >logs/build.log 2>&1; then
  tail -n 60 logs/build.log
  log "build failed"
  exit 1
fi
log "built in $(($(date +%s) - start)) s"

bin_dir=$target_dir/$triple/$profile
stat() { sed -n "s/^stat::$1: *//p" "logs/$2.log" | tail -n1; }
failed=()
printf '%-16s %11s %8s %7s %9s  %s\n' target executions exec/s seconds new_units result
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t" "seeds/$t"
  status=0
  start=$(date +%s)
  "$bin_dir/$t" "corpus/$t" "seeds/$t" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="artifacts/$t/" -print_final_stats=1 \
    >"logs/$t.log" 2>&1 || status=$?
  result=ok
  if [ "$status" -ne 0 ]; then
    result="FAILED (exit $status)"
    failed+=("$t")
  fi
  printf '%-16s %11s %8s %7s %9s  %s\n' "$t" "$(stat number_of_executed_units "$t")" \
    "$(stat average_exec_per_sec "$t")" "$(($(date +%s) - start))" \
    "$(stat new_units_added "$t")" "$result"
done

if [ ${#failed[@]} -ne 0 ]; then
  for t in "${failed[@]}"; do
    log "$t failed; from fuzz/logs/$t.log:"
    grep -v -e '^#[0-9]' -e '^INFO:' -e '^	NEW_FUNC' "logs/$t.log" | head -n 40
    log "reproduce: fuzz/$bin_dir/$t fuzz/artifacts/$t/<file>   (after fuzz/run.sh $t)"
  done
  exit 1
fi
log "no crash in ${#targets[@]} target(s), $seconds s each"
