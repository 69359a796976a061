#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds examples/ against the installed library,
# once with pkg-config and once with find_package(quiver), then runs both programs.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig:$tmp/prefix/lib/x86_64-linux-gnu/pkgconfig"
# pkg-config, static link (no rpath games)
cc -std=c11 -Wall -Werror "$src/examples/hello.c" -o "$tmp/hello_pc" \
  $(pkg-config --cflags quiver) $(pkg-config --static --libs quiver | sed 's/-lquiver/-l:libquiver.a/')
"$tmp/hello_pc"
# CMake package, shared library
cmake -S "$src/examples" -B "$tmp/ex" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/ex" >/dev/null
export LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib/x86_64-linux-gnu"
"$tmp/ex/hello"
out=$("$tmp/ex/ipc_roundtrip" "$tmp/cities.arrow")
echo "$out"
grep -q "2 batches" <<<"$out" && grep -q '"Lima"' <<<"$out" && grep -q "1000 rows, 1 column" <<<"$out" \
  || { echo "ipc_roundtrip output is not what docs/guide.md shows"; exit 1; }
echo "install example: ok"
