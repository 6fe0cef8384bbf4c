#!/usr/bin/env bash
# A fuzzing campaign over one libFuzzer target, or each in turn (docs/reliability.md). Builds
# the targets with clang, ASan and UBSan in their own folder, grows that folder's corpus from the
# committed seeds (tests/fuzz/corpus) and the real models (tests/data/models, ONNX's node tests),
# then prints the figures: executions, time, corpus, coverage, findings.
#
#   scripts/fuzz.sh TARGET [BUDGET] [LIBFUZZER_FLAG...]
#     TARGET  load_convert | evaluate | feeds | args | all
#     BUDGET  executions (1000000, the default) or a time: 90s, 30m, 2h
#   FUZZ_BUILD=DIR  the build folder (default build-fuzz); FUZZ_JOBS=N build jobs (default 2).
#
# One fuzzing process at a time. A crash, leak, timeout or sanitizer report stops the run and
# leaves the input in DIR/artifacts/TARGET/; reproduce it with DIR/tests/fuzz/halfcast_fuzz_TARGET
# FILE, reduce it, fix the code and commit the input under tests/fuzz/regressions/TARGET/ (the
# normal ctest run replays that folder) with a test in tests/fuzz/regressions_test.cc.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
targets=(load_convert evaluate feeds args)

usage() {
  echo "usage: scripts/fuzz.sh load_convert|evaluate|feeds|args|all [EXECUTIONS|90s|30m|2h] [FLAG...]" >&2
  exit 2
}
[ $# -ge 1 ] || usage
target=$1
budget=${2:-1000000}
shift $(($# >= 2 ? 2 : 1))
case " ${targets[*]} all " in *" $target "*) ;; *) usage ;; esac
case $budget in
  *[!0-9smh]* | "" | [smh]*) usage ;;
  *s) limit=(-max_total_time="${budget%s}") ;;
  *m) limit=(-max_total_time=$((${budget%m} * 60))) ;;
  *h) limit=(-max_total_time=$((${budget%h} * 3600))) ;;
  *) limit=(-runs="$budget") ;;
esac
build=${FUZZ_BUILD:-$root/build-fuzz}
case $build in /*) ;; *) build=$root/$build ;; esac

# clang 14 and its runtimes (libFuzzer, ASan, UBSan): Debian's clang and libclang-rt-14-dev.
if ! command -v clang++ >/dev/null ||
  ! ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang \
    libclang-rt-14-dev
fi

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# -O1 with line tables: readable stacks; assertions stay on (no NDEBUG).
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DHALFCAST_BUILD_FUZZ=ON \
  -DHALFCAST_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
[ "$target" = all ] && run=("${targets[@]}") || run=("$target")
cmake --build "$build" -j"${FUZZ_JOBS:-2}" --target "${run[@]/#/halfcast_fuzz_}"

# Seeds: the committed corpus, what earlier fuzzing found, and real models and ONNX's node
# tests (each model.onnx copied under a unique name) for the model targets.
seeds_for() {
  local t=$1
  case $t in
    feeds | args) echo "$root/tests/fuzz/corpus/$t" ;;
    *)
      echo "$root/tests/fuzz/corpus/models"
      local node_tests=/usr/share/libonnx-testdata/data/node
      if [ -d "$node_tests" ] && [ ! -d "$build/seeds/onnx-node" ]; then
        mkdir -p "$build/seeds/onnx-node"
        for m in "$node_tests"/*/model.onnx; do
          cp "$m" "$build/seeds/onnx-node/$(basename "$(dirname "$m")").onnx"
        done
      fi
      [ -d "$build/seeds/onnx-node" ] && echo "$build/seeds/onnx-node"
      echo "$root/tests/data/models"
      ;;
  esac
  [ -d "$root/tests/fuzz/regressions/$t" ] && echo "$root/tests/fuzz/regressions/$t"
  return 0
}

# UBSan stops at its first report, as ASan does; leaks are findings too.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0
status=0
for t in "${run[@]}"; do
  corpus=$build/corpus/$t
  artifacts=$build/artifacts/$t
  log=$build/logs/$t.log
  mkdir -p "$corpus" "$artifacts" "$build/logs"
  mapfile -t seeds < <(seeds_for "$t")
  echo "== $t: ${limit[*]}, corpus $corpus, log $log"
  start=$(date +%s)
  # Real models are megabytes; inputs beyond 256 KiB mutate too slowly to be worth it.
  set +e
  "$build/tests/fuzz/halfcast_fuzz_$t" "${limit[@]}" -max_len=262144 -timeout=30 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" "$@" \
    "$corpus" "${seeds[@]}" >"$log" 2>&1
  code=$?
  set -e
  seconds=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/\1 edges, \2 features/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
  files=$(find "$corpus" -type f | wc -l)
  found=$(find "$artifacts" -type f | wc -l)
  echo "$t: exit $code, ${execs:-?} executions in ${seconds}s, coverage ${cov:-?}," \
    "corpus ${corp:-?} (inputs/bytes; $files new in $corpus), $found artifacts in $artifacts"
  if [ "$code" -ne 0 ]; then
    grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY' "$log" \
      | head -5
    status=1
  fi
done
exit $status
