#!/usr/bin/env bash
# The main job: install dependencies, build, and run the demo model that ships in models/.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh release
build/edgerun inspect models/demo_cnn.onnx
echo
build/edgerun run models/demo_cnn.onnx --input image=models/demo_cnn.input.npy --output-dir build/demo-out
