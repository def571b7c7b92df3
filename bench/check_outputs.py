#!/usr/bin/python3
"""Runs exported benchmark models with edgerun and compares each output with PyTorch's.

    /usr/bin/python3 bench/check_outputs.py [--models-dir /tmp/bench-models] \
        [--edgerun build/edgerun] [--compute-units all] MODEL...

Reads MODEL's entry in the folder's manifest.json (written by ../shared/bench/export_models.py
and bench/export_extra_models.py), turns its raw .in<i>.bin inputs into .npy files, runs
`edgerun run --output-dir`, and compares every output with the .out<i>.bin that torch eager
wrote: max |difference|, that over the output's largest magnitude, and cosine similarity.
A model fails when an output's relative max difference exceeds --rtol (default 1e-3: fp32
kernels summing in another order drift by ~1e-5 relative per layer) or its shape differs.
Exits 1 when any model fails. Needs python3-numpy.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

REPO = pathlib.Path(__file__).resolve().parent.parent


def check(name, entry, args, work):
    folder = pathlib.Path(args.models_dir)
    command = [str(args.edgerun), "run", str(folder / entry["file"]), "--output-dir", str(work)]
    if args.compute_units:
        command += ["--compute-units", args.compute_units]
    for i, spec in enumerate(entry["inputs"]):
        data = np.fromfile(folder / spec["file"], dtype=spec["dtype"]).reshape(spec["shape"])
        path = work / f"in{i}.npy"
        np.save(path, data)
        command += ["--input", f"{spec['name']}={path}"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"{name}: edgerun run exited {result.returncode}\n{result.stderr}")
        return False
    ok = True
    for spec in entry["outputs"]:
        want = np.fromfile(folder / spec["file"], dtype=spec["dtype"]).reshape(spec["shape"])
        got_path = work / f"{spec['name']}.npy"
        if not got_path.exists():
            produced = [p.name for p in sorted(work.glob("*.npy"))]
            print(f"{name}: no output {spec['name']} among {produced}")
            ok = False
            continue
        got = np.load(got_path)
        if got.shape != want.shape:
            print(f"{name}/{spec['name']}: shape {list(got.shape)}, expected {list(want.shape)}")
            ok = False
            continue
        g, w = got.astype(np.float64).ravel(), want.astype(np.float64).ravel()
        max_abs = float(np.abs(g - w).max())
        scale = float(np.abs(w).max()) or 1.0
        cosine = float(g @ w / (np.linalg.norm(g) * np.linalg.norm(w) or 1.0))
        passed = max_abs / scale <= args.rtol and np.isfinite(g).all()
        ok &= bool(passed)
        print(f"{name}/{spec['name']}: shape {list(got.shape)}  max|diff| {max_abs:.3g}  "
              f"relative to max|torch| {max_abs / scale:.3g}  cosine {cosine:.9f}  "
              f"{'ok' if passed else 'FAIL'}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--models-dir", default="/tmp/bench-models")
    ap.add_argument("--edgerun", default=str(REPO / "build" / "edgerun"))
    ap.add_argument("--compute-units", default=None, help="passed to edgerun run")
    ap.add_argument("--rtol", type=float, default=1e-3)
    args = ap.parse_args()
    manifest_path = pathlib.Path(args.models_dir) / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as e:
        sys.exit(f"error: cannot read {manifest_path}: {e}")
    failed = []
    for name in args.models:
        if name not in manifest:
            sys.exit(f"error: {name} is not in {manifest_path}")
        with tempfile.TemporaryDirectory() as work:
            if not check(name, manifest[name], args, pathlib.Path(work)):
                failed.append(name)
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
