#!/usr/bin/env bash
# deps.sh — installs the Debian packages quiver needs that are missing; idempotent, quiet when
# everything is present. usage: scripts/deps.sh [build|test|bench]  (each includes the previous)
set -euo pipefail
what=${1:-build}
pkgs=(cmake make gcc pkgconf libc6-dev libzstd-dev liblz4-dev libxxhash-dev zlib1g-dev)
case "$what" in
  build) ;;
  test) pkgs+=(clang libclang-rt-14-dev binutils libjansson-dev) ;;
  bench) pkgs+=(clang libclang-rt-14-dev binutils libjansson-dev python3-numpy python3-zarr python3-h5py) ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The JavaScript interop peers need node and npm (any install of them will do).
if [ "$what" != build ]; then
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
