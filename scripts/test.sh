#!/usr/bin/env bash
# test.sh — installs what is missing, then builds and runs the whole test suite twice:
#   1. gcc, warnings as errors, every test (unit, golden-file conformance, interop, fuzz replay,
#      install, exported symbols);
#   2. clang with AddressSanitizer + UndefinedBehaviorSanitizer (halting on the first error),
#      warnings as errors, the whole suite again; plus the libFuzzer targets, each run briefly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
jobs=$(nproc)
# Interop peers (apache-arrow for JavaScript, ...), pinned by tests/interop/package-lock.json.
if [ -f tests/interop/package.json ]; then
  (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

echo "== gcc build, -Werror"
CC=gcc cmake -S . -B build/gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQV_WERROR=ON >/dev/null
cmake --build build/gcc -j"$jobs" >/dev/null
(cd build/gcc && ctest -j"$jobs" --output-on-failure)

echo "== clang build, AddressSanitizer + UndefinedBehaviorSanitizer, -Werror"
CC=clang cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DQV_WERROR=ON -DQV_SANITIZE=ON \
  -DQV_FUZZ=ON -DQV_BENCH=OFF >/dev/null
cmake --build build/asan -j"$jobs" >/dev/null
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
(cd build/asan && ctest -j"$jobs" --output-on-failure -E '^build/install_example$')

echo "== libFuzzer targets, 5 s each"
for f in build/asan/fuzz/fuzz_*; do
  case "$f" in *_replay) continue ;; esac
  [ -x "$f" ] || continue
  name=$(basename "$f"); short=${name#fuzz_}
  work=$(mktemp -d); cp -r "fuzz/corpus/$short/." "$work/" 2>/dev/null || true
  "$f" -max_total_time=5 -rss_limit_mb=2048 "$work" >"$work.log" 2>&1 \
    || { echo "fuzzer $name found a failure:"; tail -50 "$work.log"; exit 1; }
  echo "  $name: $(grep -oE 'Done [0-9]+ runs' "$work.log" || echo ran)"
  rm -rf "$work" "$work.log"
done
echo "all test stages passed"
