#!/usr/bin/env bash
# Installs everything edgerun needs to build, test and run, from Debian 12's packages.
# Safe to run repeatedly: when every package is already installed it does nothing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libprotobuf-dev protobuf-compiler libonnx-dev   # ONNX model parsing and schemas
  libonnx-testdata                                # the ONNX conformance suite
  libcli11-dev nlohmann-json3-dev                 # command line
  libgtest-dev libgmock-dev                       # tests
  pybind11-dev python3-dev python3-numpy          # the Python package (Debian's python3)
  python3-pytest python3-onnx                     # its tests, which build small ONNX models
  libdnnl-dev                                     # oneDNN: the accelerated CPU backend
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
