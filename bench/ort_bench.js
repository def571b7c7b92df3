#!/usr/bin/env node
// The ONNX Runtime side of bench/compare: times one model at one thread count with
// onnxruntime-node (CPU execution provider) the way `edgerun bench` times edgerun, and prints
// one JSON object.
//
// usage: node bench/ort_bench.js MODEL.onnx [--threads N] [--warmup K] [--seconds S]
//
// Session: all graph optimisations, intraOpNumThreads = N, one inter-op thread, sequential.
// After `warmup` untimed runs, timed runs continue until S seconds have passed and at least 10
// runs are done (edgerun bench --seconds does the same). Inputs are fixed-seed random data
// (float32 in [-1, 1), integer ids in [0, 10), as edgerun generates them); unfixed dims are 1.
// Percentiles are nearest-rank. The Node binding adds some 15-20 us per run, which matters
// only for tiny models.
//
// onnxruntime-node is loaded from ORT_NODE_DIR (install it there with
// `npm install --ignore-scripts onnxruntime-node@1.30.0`).
'use strict';

const ortDir = process.env.ORT_NODE_DIR;
if (!ortDir) {
  console.error('error: set ORT_NODE_DIR to a folder where ' +
                '`npm install --ignore-scripts onnxruntime-node@1.30.0` was run');
  process.exit(2);
}
const ort = require(require.resolve('onnxruntime-node', { paths: [ortDir] }));

function parseArgs(argv) {
  const args = { model: null, threads: 1, warmup: 10, seconds: 5 };
  for (let i = 2; i < argv.length; i++) {
    const flag = argv[i];
    const number = () => {
      const v = Number(argv[++i]);
      if (!(v >= 0)) throw new Error(`${flag} needs a non-negative number`);
      return v;
    };
    if (flag === '--threads') args.threads = number();
    else if (flag === '--warmup') args.warmup = number();
    else if (flag === '--seconds') args.seconds = number();
    else if (!args.model && !flag.startsWith('--')) args.model = flag;
    else throw new Error(`unknown argument ${flag}`);
  }
  if (!args.model) throw new Error('usage: node ort_bench.js MODEL.onnx [--threads N] ...');
  return args;
}

// xorshift32: the same inputs on every run of this script.
function randomSource(seed) {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

function makeFeeds(session) {
  const random = randomSource(12345);
  const feeds = {};
  session.inputNames.forEach((name, i) => {
    const meta = session.inputMetadata[i];
    const dims = (meta.shape || []).map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const count = dims.reduce((a, b) => a * b, 1);
    const fill = (Type, value) => Type.from({ length: count }, value);
    if (meta.type === 'float32') {
      feeds[name] = new ort.Tensor('float32', fill(Float32Array, () => random() * 2 - 1), dims);
    } else if (meta.type === 'int64') {
      const ids = fill(BigInt64Array, () => BigInt(Math.floor(random() * 10)));
      feeds[name] = new ort.Tensor('int64', ids, dims);
    } else if (meta.type === 'int32') {
      const ids = fill(Int32Array, () => Math.floor(random() * 10));
      feeds[name] = new ort.Tensor('int32', ids, dims);
    } else {
      throw new Error(`input '${name}' has type ${meta.type}, which this script does not generate`);
    }
  });
  return feeds;
}

function nearestRank(sorted, percent) {
  const rank = Math.ceil((percent / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

const msSince = (start) => Number(process.hrtime.bigint() - start) / 1e6;

async function main() {
  const args = parseArgs(process.argv);
  // Node.js and the binding's own memory, to tell apart from what the session adds.
  const baselineRssBytes = process.resourceUsage().maxRSS * 1024;
  const createStart = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const createMs = msSince(createStart);
  const feeds = makeFeeds(session);
  const firstStart = process.hrtime.bigint();
  await session.run(feeds);
  const firstRunMs = msSince(firstStart);
  for (let i = 0; i < args.warmup; i++) await session.run(feeds);

  const times = [];
  const timedStart = process.hrtime.bigint();
  while (times.length < 10 || msSince(timedStart) < args.seconds * 1000) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(msSince(start));
  }
  const sorted = times.slice().sort((a, b) => a - b);
  console.log(JSON.stringify({
    tool: 'onnxruntime-node', ort_version: ort.env.versions.common, model: args.model,
    threads: args.threads, prepare_ms: createMs, first_run_ms: firstRunMs, runs: times.length,
    min_ms: sorted[0], p50_ms: nearestRank(sorted, 50), p95_ms: nearestRank(sorted, 95),
    p99_ms: nearestRank(sorted, 99), mean_ms: times.reduce((a, b) => a + b, 0) / times.length,
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024, baseline_rss_bytes: baselineRssBytes,
  }));
  await session.release();
}

main().catch((e) => { console.error(`error: ${e.message}`); process.exit(1); });
