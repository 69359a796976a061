#!/usr/bin/env bash
# demo.sh — installs what is missing, builds quiver (release) and runs `quiver demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh build
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DQV_TESTS=OFF -DQV_BENCH=OFF >/dev/null
cmake --build build/release --target quiver -j"$(nproc)" >/dev/null
exec ./build/release/quiver demo
