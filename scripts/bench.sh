#!/usr/bin/env bash
# bench.sh — installs the benchmark peers (zarr, h5py, apache-arrow JS), builds quiver in Release
# and runs qv_bench. usage: scripts/bench.sh [--quick] [SECTION...]   (sections: qv_bench --help)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh bench
if [ -f tests/interop/package.json ]; then
  (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DQV_TESTS=OFF >/dev/null
cmake --build build/bench --target qv_bench -j"$(nproc)" >/dev/null
exec ./build/bench/bench/qv_bench "$@"
