// `edgerun bench`: how long a model takes to prepare and to run, and how much memory it holds.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "commands.h"
#include "inputs.h"
#include "measurements.h"
#include "runtime/telemetry_report.h"

namespace edgerun::cli {
namespace {

constexpr double kDefaultSeconds = 5;
constexpr size_t kMinTimedRuns = 10;  // with --seconds: percentiles of fewer mean little
constexpr size_t kTopOps = 10;

int fail(const Status& s) {
  std::cerr << "error: " << s.to_string() << "\n";
  return 1;
}

struct OpTime {
  std::string op;
  double total_ms = 0;
  size_t events = 0;
};

// Node events summed by op (a fused chain is its own entry, e.g. "Conv+Relu"), largest first.
std::vector<OpTime> time_by_op(const Profile& profile) {
  std::map<std::string, OpTime> by_op;
  for (const ProfileEvent& e : profile.events()) {
    if (e.kind != ProfileEvent::Kind::kNode) continue;
    OpTime& t = by_op[e.op];
    t.op = e.op;
    t.total_ms += e.duration_us / 1000;
    ++t.events;
  }
  std::vector<OpTime> ops;
  for (auto& [op, t] : by_op) ops.push_back(std::move(t));
  std::sort(ops.begin(), ops.end(),
            [](const OpTime& a, const OpTime& b) { return a.total_ms > b.total_ms; });
  return ops;
}

// What libgomp was told to do with idle threads (see openmp_policy.h).
std::string openmp_wait_policy() {
  if (const char* spin = std::getenv("GOMP_SPINCOUNT")) return std::string("GOMP_SPINCOUNT=") + spin;
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  return policy != nullptr ? policy : "default";
}

struct BenchResult {
  PrepareStats prepare;
  double first_run_ms = 0;
  int warmup_runs = 0;
  LatencySummary latency;
  double throughput_per_s = 0;
  std::optional<uint64_t> peak_rss;
  std::optional<uint64_t> baseline_rss;  // the peak before prepare: what the tool itself uses
  std::vector<OpTime> top_ops;  // with --profile
  TelemetrySnapshot telemetry;  // the model's own counters after the timed runs
  // The planned arena of the specialisation that ran: from prepare when the input shapes were
  // fixed there, else from the first run, which bound them.
  uint64_t arena_bytes = 0;
  bool arena_planned_at_prepare = false;
};

nlohmann::json to_json(const BenchArgs& args, const CapabilityReport& caps,
                       const BenchResult& r) {
  nlohmann::json top_ops = nlohmann::json::array();
  for (const OpTime& t : r.top_ops) {
    top_ops.push_back({{"op", t.op},
                       {"total_ms", t.total_ms},
                       {"ms_per_run", t.total_ms / static_cast<double>(r.latency.runs)},
                       {"events", t.events}});
  }
  return {{"model", args.model},
          {"compute_units", compute_units_name(caps.requested)},
          {"actual", caps.actual},
          {"threads", r.prepare.threads},
          {"openmp_wait_policy", openmp_wait_policy()},
          {"notes", caps.notes},
          {"prepare_ms", r.prepare.total_ms},
          {"import_ms", r.prepare.import_ms},
          {"optimise_ms", r.prepare.optimise_ms},
          {"compile_ms", r.prepare.compile_ms},
          {"first_run_ms", r.first_run_ms},
          {"warmup_runs", r.warmup_runs},
          {"runs", r.latency.runs},
          {"p50_ms", r.latency.p50_ms},
          {"p95_ms", r.latency.p95_ms},
          {"p99_ms", r.latency.p99_ms},
          {"mean_ms", r.latency.mean_ms},
          {"min_ms", r.latency.min_ms},
          {"max_ms", r.latency.max_ms},
          {"throughput_per_s", r.throughput_per_s},
          {"peak_rss_bytes", r.peak_rss ? nlohmann::json(*r.peak_rss) : nlohmann::json()},
          {"baseline_rss_bytes",
           r.baseline_rss ? nlohmann::json(*r.baseline_rss) : nlohmann::json()},
          {"arena_bytes", r.arena_bytes},
          {"arena_planned_at", r.arena_planned_at_prepare ? "prepare" : "first_run"},
          {"profile", args.profile.empty() ? nlohmann::json() : nlohmann::json(args.profile)},
          {"top_ops", top_ops},
          {"timeout_ms", args.timeout_ms},
          {"into", args.into},
          {"telemetry", nlohmann::json::parse(telemetry_to_json(r.telemetry))}};
}

void print_text(const BenchArgs& args, const CapabilityReport& caps, const BenchResult& r) {
  std::cout << std::fixed << std::setprecision(3);
  std::cout << "model: " << args.model << "\n"
            << "compute units: " << compute_units_name(caps.requested) << " (runs on "
            << caps.actual << "), threads: " << r.prepare.threads
            << " (OpenMP wait policy: " << openmp_wait_policy() << ")\n";
  for (const std::string& note : caps.notes) std::cout << "note: " << note << "\n";
  std::cout << "prepare: " << r.prepare.total_ms << " ms (import " << r.prepare.import_ms
            << ", optimise " << r.prepare.optimise_ms << ", compile " << r.prepare.compile_ms
            << ")\n"
            << "first run: " << r.first_run_ms << " ms\n"
            << "latency over " << r.latency.runs
            << (args.into ? " runs into bound outputs" : " runs") << " (after " << r.warmup_runs
            << " warmup): p50 " << r.latency.p50_ms << "  p95 " << r.latency.p95_ms << "  p99 "
            << r.latency.p99_ms << "  mean " << r.latency.mean_ms << "  min " << r.latency.min_ms
            << " ms\n"
            << "throughput: " << std::setprecision(1) << r.throughput_per_s << " runs/s\n";
  if (r.peak_rss) {
    std::cout << "peak RSS: " << static_cast<double>(*r.peak_rss) / (1024.0 * 1024.0) << " MiB";
    if (r.baseline_rss) {
      std::cout << " (" << static_cast<double>(*r.baseline_rss) / (1024.0 * 1024.0)
                << " MiB of it before prepare)";
    }
    std::cout << "\n";
  } else {
    std::cout << "peak RSS: unknown (/proc/self/status unreadable)\n";
  }
  std::cout << "planned arena: " << r.arena_bytes << " bytes ("
            << static_cast<double>(r.arena_bytes) / 1024.0 << " KiB) per run, planned "
            << (r.arena_planned_at_prepare ? "at prepare"
                                           : "when the first run bound the input shapes")
            << "\n";
  std::cout << "telemetry:\n" << telemetry_to_text(r.telemetry);
  if (args.profile.empty()) return;
  std::cout << "profile: wrote " << args.profile << " (timed runs, one event per run, step and "
            << "node)\n";
  double node_total_ms = 0;
  for (const OpTime& t : r.top_ops) node_total_ms += t.total_ms;
  std::cout << "top ops by time (ms per run, share of node time, events):\n"
            << std::setprecision(3);
  for (size_t i = 0; i < r.top_ops.size() && i < kTopOps; ++i) {
    const OpTime& t = r.top_ops[i];
    std::cout << "  " << std::left << std::setw(32) << t.op << std::right << std::setw(10)
              << t.total_ms / static_cast<double>(r.latency.runs) << std::setw(7)
              << std::setprecision(1) << 100.0 * t.total_ms / std::max(node_total_ms, 1e-9)
              << " %" << std::setw(8) << t.events << "\n"
              << std::setprecision(3);
  }
}

}  // namespace

int bench_command(const BenchArgs& args) {
  if (args.timeout_ms > 0 && !args.profile.empty()) {
    return fail(invalid_argument("--timeout-ms cannot be combined with --profile: a run abandoned "
                                 "at its deadline would still be writing into the profile"));
  }
  PrepareOptions options;
  options.compute_units = *parse_compute_units(args.compute_units);
  options.threads = args.threads;
  if (Status s = parse_shape_options(args.shapes, &options); !s.is_ok()) return fail(s);

  Engine engine;
  BenchResult result;
  result.baseline_rss = peak_rss_bytes();
  Result<PreparedModel> model =
      engine.prepare(ModelArtifact::from_file(args.model), options, &result.prepare);
  if (!model.is_ok()) return fail(model.status());

  // With --json, stdout holds only the JSON object; what the inputs were goes to stderr.
  Result<ValueMap> feeds =
      make_feeds(*model, args.inputs, args.seed, args.json ? std::cerr : std::cout);
  if (!feeds.is_ok()) return fail(feeds.status());

  const auto first_start = std::chrono::steady_clock::now();
  Result<ValueMap> first = model->run_values(*feeds);
  if (!first.is_ok()) return fail(first.status());
  result.first_run_ms = ms_since(first_start);
  // --into: the inputs as tensors and one output tensor each, allocated once.
  TensorMap inputs, outputs;
  if (args.into) {
    for (const auto& [name, value] : *feeds) {
      if (!value.is_tensor()) {
        return fail(invalid_argument("--into runs take tensor inputs; '" + name + "' is " +
                                     describe_value(value)));
      }
      inputs[name] = value.tensor();
    }
    for (const auto& [name, value] : first.value()) {
      if (value.is_tensor()) outputs[name] = Tensor(value.tensor().dtype(), value.tensor().shape());
    }
  }
  const auto run_once = [&](const RunOptions& options) -> Status {
    if (args.into) return model->run_into(inputs, outputs, options);
    return model->run_values(*feeds, options).status();
  };
  for (int i = 0; i < args.warmup; ++i) {
    if (Status s = run_once({}); !s.is_ok()) return fail(s);
  }
  result.warmup_runs = args.warmup;

  Profile profile;
  RunOptions run_options;
  if (!args.profile.empty()) run_options.profile = &profile;
  // A timed run past its deadline fails the benchmark with the timeout error.
  run_options.timeout = std::chrono::milliseconds(args.timeout_ms);
  const double seconds = args.runs == 0 && args.seconds == 0 ? kDefaultSeconds : args.seconds;
  std::vector<double> times;
  const auto timed_start = std::chrono::steady_clock::now();
  for (;;) {
    if (args.runs > 0 && times.size() >= static_cast<size_t>(args.runs)) break;
    if (args.runs == 0 && times.size() >= kMinTimedRuns &&
        ms_since(timed_start) >= seconds * 1000) {
      break;
    }
    const auto start = std::chrono::steady_clock::now();
    if (Status s = run_once(run_options); !s.is_ok()) return fail(s);
    times.push_back(ms_since(start));
  }
  const double timed_ms = ms_since(timed_start);
  result.latency = summarize_latencies(times);
  result.throughput_per_s = static_cast<double>(times.size()) / (timed_ms / 1000);
  result.peak_rss = peak_rss_bytes();

  if (!args.profile.empty()) {
    std::ofstream trace(args.profile, std::ios::binary | std::ios::trunc);
    trace << profile.chrome_trace_json();
    trace.close();
    if (!trace) {
      return fail(invalid_argument("cannot write the profile to '" + args.profile + "'"));
    }
    result.top_ops = time_by_op(profile);
  }

  result.telemetry = model->telemetry();
  result.arena_planned_at_prepare = result.prepare.arena_bytes > 0;
  result.arena_bytes = result.arena_planned_at_prepare ? result.prepare.arena_bytes
                                                       : result.telemetry.planned_arena_bytes;
  const CapabilityReport& caps = model->capabilities();
  if (args.json) {
    std::cout << to_json(args, caps, result).dump(2) << "\n";
  } else {
    print_text(args, caps, result);
  }
  return 0;
}

}  // namespace edgerun::cli
