#!/usr/bin/env bash
# The whole test suite: unit and op tests plus the ONNX conformance suite, built twice: optimised,
# and with AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

scripts/build.sh asan
echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)"

scripts/build.sh release
echo "== tests, optimised build"
ctest --test-dir build --output-on-failure -j "$(nproc)"
