#!/usr/bin/env bash
# Configures and builds edgerun. Usage: scripts/build.sh [release|asan]
#   release -> build/       optimised
#   asan    -> build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."

kind="${1:-release}"
jobs="$(nproc)"
case "$kind" in
  release)
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build -j "$jobs"
    ;;
  asan)
    cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
      -DEDGERUN_SANITIZE=ON >/dev/null
    cmake --build build-asan -j "$jobs"
    ;;
  *)
    echo "usage: scripts/build.sh [release|asan]" >&2
    exit 2
    ;;
esac
