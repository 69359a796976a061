#!/usr/bin/env bash
# Fails if libquiver.so exports any symbol that is not qv_-prefixed.
set -euo pipefail
lib=$1
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^qv_' | grep -vE '^(_init|_fini|_edata|_end|__bss_start|__(start|stop)___sancov_[a-z]+)$' || true)
count=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -c '^qv_' || true)
if [ -n "$bad" ]; then
  echo "non-qv_ symbols exported by $lib:"; echo "$bad"; exit 1
fi
if [ "$count" -lt 10 ]; then echo "only $count qv_ symbols exported: visibility broken?"; exit 1; fi
echo "exported symbols: $count, all qv_-prefixed"
