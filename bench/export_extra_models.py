#!/usr/bin/python3
"""Export more benchmark models, beyond ../shared/bench/export_models.py's zoo.

    /usr/bin/python3 bench/export_extra_models.py [--out /tmp/bench-models] [--opset 13] [names...]

Models (torchvision 0.14, random fixed-seed weights, no downloads, batch 1, static shapes):
  efficientnet_b0     SiLU everywhere (exported as Mul(x, Sigmoid(x))) and squeeze-and-
                      excitation gates: the Swish fusion and its near miss on a real graph
  convnext_tiny       LayerNorm over channels (exported as ReduceMean/Sub/Pow/Sqrt/Div),
                      exact GELU (Erf), depthwise 7x7 convolutions, per-channel layer scale
  ssdlite320_mobilenet_v3_large
                      a detector: MobileNetV3-large backbone with SSDlite's extra layers and
                      its box regression and classification heads, 1x3x320x320 -> raw
                      [1, 3234, 4] box deltas and [1, 3234, 91] class logits. The anchors,
                      box decoding and NMS are data-dependent postprocessing, not exported.

The files and manifest entries are the shared script's, made by its own export_one (imported
from --shared-bench), so bench/compare and the shared tools read them alike: <name>.onnx,
<name>.in<i>.bin / .out<i>.bin (raw little-endian tensors; outputs from torch eager on the
exported inputs) and an entry per model in manifest.json, merged into what is there: other
models' entries stay.
"""
import argparse
import json
import os
import sys
import tempfile

import torch
import torch.nn as nn
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))


class SsdliteRawOutputs(nn.Module):
    """SSDlite without its transform and postprocessing: backbone features -> the heads' tensors.

    torchvision's SSD.forward also resizes and normalises the images (GeneralizedRCNNTransform)
    and, in eval mode, decodes boxes against anchors and runs NMS per class; all of that depends
    on the data and is not part of the network a runtime accelerates."""

    def __init__(self):
        super().__init__()
        ssd = torchvision.models.detection.ssdlite320_mobilenet_v3_large(
            weights=None, weights_backbone=None)
        self.backbone = ssd.backbone
        self.head = ssd.head

    def forward(self, images):
        features = list(self.backbone(images).values())
        out = self.head(features)
        return out["bbox_regression"], out["cls_logits"]


def _img(size):
    return lambda: (torch.randn(1, 3, size, size),)


# name: (builder, inputs-builder, input names, output names), as in models_def.MODELS
EXTRA_MODELS = {
    "efficientnet_b0": (lambda: torchvision.models.efficientnet_b0(weights=None), _img(224),
                        ["input"], ["logits"]),
    "resnet18": (lambda: torchvision.models.resnet18(weights=None), _img(224), ["input"],
                 ["logits"]),
    "convnext_tiny": (lambda: torchvision.models.convnext_tiny(weights=None), _img(224),
                      ["input"], ["logits"]),
    "ssdlite320_mobilenet_v3_large": (SsdliteRawOutputs, _img(320), ["images"],
                                      ["bbox_regression", "cls_logits"]),
}


def write_manifest(path, entries, meta):
    """Merges `entries` into the manifest at `path` (read just before writing, so entries other
    exports wrote meanwhile stay) and replaces it atomically: a reader never sees half a file."""
    manifest = {}
    if os.path.exists(path):
        with open(path) as f:
            manifest = json.load(f)
    manifest.setdefault("_meta", {}).update(meta)
    manifest.update(entries)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".manifest.", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(manifest, f, indent=1)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", default=list(EXTRA_MODELS))
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--out", default="/tmp/bench-models")
    ap.add_argument("--shared-bench", default=os.path.join(HERE, "..", "..", "shared", "bench"),
                    help="folder of export_models.py and models_def.py (default %(default)s)")
    a = ap.parse_args()
    unknown = [n for n in a.names if n not in EXTRA_MODELS]
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(EXTRA_MODELS)}")
    sys.path.insert(0, os.path.abspath(a.shared_bench))
    try:
        import export_models  # noqa: E402  (the shared exporter: same files, same manifest)
        import models_def  # noqa: E402
    except ImportError as e:
        sys.exit(f"error: cannot import the shared exporter from {a.shared_bench}: {e}")
    # export_one builds models through models_def.build, which looks names up in MODELS.
    models_def.MODELS.update(EXTRA_MODELS)
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    meta = {"torch": torch.__version__, "seed": models_def.SEED}
    for name in a.names:
        info = export_models.export_one(name, a.out, a.opset)
        info["exported_by"] = "edgerun bench/export_extra_models.py"
        write_manifest(os.path.join(a.out, "manifest.json"), {name: info}, meta)


if __name__ == "__main__":
    main()
