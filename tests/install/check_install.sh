#!/usr/bin/env bash
# Installs edgerun from a build tree into a temporary prefix, checks that libedgerun.so exports
# the C ABI and nothing else, and builds the C example against the installed files only, once
# with find_package(edgerun) and once with pkg-config, then runs both on the demo model.
# Usage: check_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build_dir=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

cmake --install "$build_dir" --prefix "$prefix" >/dev/null
lib=$(find "$prefix" -name 'libedgerun.so' | head -n 1)
[ -n "$lib" ] || { echo "libedgerun.so was not installed"; exit 1; }
[ -f "$prefix/include/edgerun/edgerun.h" ] || { echo "edgerun.h was not installed"; exit 1; }

exported=$(nm -D --defined-only "$lib" | awk '{print $3}')
extra=$(grep -v '^er_' <<<"$exported" || true)
if [ -n "$extra" ]; then
  echo "libedgerun.so exports symbols outside the C ABI:"
  head -n 20 <<<"$extra"
  exit 1
fi
# Every function the header declares is exported.
declared=$(grep -oE '^ER_API [^(]*\b(er_[a-z0-9_]+)\(' "$source_dir/include/edgerun/edgerun.h" |
           grep -oE 'er_[a-z0-9_]+\($' | tr -d '(' | sort)
missing=$(comm -23 <(echo "$declared") <(sort <<<"$exported"))
[ -z "$missing" ] || { echo "declared but not exported: $missing"; exit 1; }

model="$source_dir/models/demo_cnn.onnx"
example="$source_dir/examples/c/classify.c"

cmake -S "$source_dir/tests/install/consumer" -B "$work/cmake-consumer" \
  -DCMAKE_PREFIX_PATH="$prefix" -DEXAMPLE_SOURCE="$example" >/dev/null
cmake --build "$work/cmake-consumer" >/dev/null
"$work/cmake-consumer/classify" "$model" | tee "$work/cmake.txt"
grep -q "argmax" "$work/cmake.txt"

libdir=$(dirname "$lib")
cc -Wall -Werror "$example" $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs edgerun) \
  -o "$work/classify-pc"
LD_LIBRARY_PATH="$libdir" "$work/classify-pc" "$model" > "$work/pc.txt"
cmp "$work/cmake.txt" "$work/pc.txt"
echo "install tree OK: $(wc -l <<<"$exported") exported symbols, all er_*"
