#!/usr/bin/env bash
# Fails if library or CLI code calls a libc function banned for being unbounded, not
# thread-safe or unable to report errors (use the named replacement instead).
set -euo pipefail
src=${1:-$(dirname "$0")/..}
banned='strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|atof|strtok|alloca|tmpnam|mktemp'
hits=$(grep -rnE "(^|[^_a-zA-Z0-9])($banned)[[:space:]]*\(" "$src/src" "$src/tools" "$src/include" \
  --include='*.c' --include='*.h' | grep -vE "(snprintf|vsnprintf|strtok_r)\(" || true)
if [ -n "$hits" ]; then
  echo "banned calls (use snprintf, memcpy with a checked length, strtol/strtoull with end checks,"
  echo "strtok_r, mkstemp):"
  echo "$hits"
  exit 1
fi
echo "no banned libc calls in src/, tools/, include/"
