#!/usr/bin/python3
"""Heap allocations per warm run of `edgerun bench`, split into edgerun's own and oneDNN's.

Runs the model twice under an LD_PRELOAD shim (bench/malloc_stacks.c, built here with cc) that
counts malloc calls per call stack: once with --runs A and once with --runs B. The difference
over B - A runs leaves out prepare and warm-up; a stack with libdnnl on it counts as oneDNN's.

  bench/malloc_stacks.py /tmp/bench-models/intent_mlp.onnx --threads 1 --into
"""
import argparse
import collections
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def count_stacks(shim, edgerun, model, threads, runs, into, out):
    cmd = [edgerun, "bench", model, "--threads", str(threads), "--runs", str(runs),
           "--warmup", "3"] + (["--into"] if into else [])
    env = dict(os.environ, LD_PRELOAD=shim, MALLOC_STACKS_OUT=out)
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    counts = collections.Counter()
    with open(out) as f:
        for line in f:
            count, *frames = line.split()
            counts[tuple(frames)] += int(count)
    return counts


def symbol(frame, binaries, cache):
    """'object+0xoffset' as the function's name, with addr2line where the object is known."""
    if frame in cache:
        return cache[frame]
    name, offset = frame.rsplit("+", 1)
    path = binaries.get(name)
    text = frame
    if path:
        result = subprocess.run(["addr2line", "-f", "-C", "-e", path, hex(int(offset, 16) - 1)],
                                capture_output=True, text=True)
        text = result.stdout.split("\n")[0][:90] or frame
    cache[frame] = text
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--into", action="store_true", help="time run_into (edgerun bench --into)")
    parser.add_argument("--runs", default="5,15", help="the two run counts, A,B (default 5,15)")
    parser.add_argument("--top", type=int, default=10, help="edgerun's stacks to print")
    parser.add_argument("--edgerun", default=os.path.join(ROOT, "build", "edgerun"))
    args = parser.parse_args()
    first, second = (int(r) for r in args.runs.split(","))
    if second <= first:
        sys.exit("--runs A,B needs B > A")

    with tempfile.TemporaryDirectory() as tmp:
        shim = os.path.join(tmp, "malloc_stacks.so")
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", shim,
                        os.path.join(ROOT, "bench", "malloc_stacks.c"), "-ldl"], check=True)
        before = count_stacks(shim, args.edgerun, args.model, args.threads, first, args.into,
                              os.path.join(tmp, "a.txt"))
        after = count_stacks(shim, args.edgerun, args.model, args.threads, second, args.into,
                             os.path.join(tmp, "b.txt"))
    runs = second - first
    per_run = {stack: (after[stack] - before.get(stack, 0)) / runs for stack in after}
    onednn = sum(n for stack, n in per_run.items() if n > 0 and any("libdnnl" in f for f in stack))
    ours = sorted(((n, stack) for stack, n in per_run.items()
                   if n > 0 and not any("libdnnl" in f for f in stack)), reverse=True)
    print(f"{args.model}, {args.threads} thread(s), {'run_into' if args.into else 'run()'}: "
          f"per run {sum(n for n, _ in ours):.1f} outside oneDNN, {onednn:.1f} inside it")
    binaries = {"edgerun": args.edgerun}
    cache = {}
    for n, stack in ours[:args.top]:
        frames = [symbol(f, binaries, cache) for f in stack
                  if not f.startswith(("libc.so", "libstdc++"))]
        print(f"{n:8.2f}  " + " <- ".join(frames[:4]))


if __name__ == "__main__":
    main()
