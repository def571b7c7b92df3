// edgerun C++ API: prepare a model once, run it many times.
//
//   edgerun::Engine engine;
//   auto model = engine.prepare(edgerun::ModelArtifact::from_file("model.onnx"));
//   if (!model.is_ok()) { std::cerr << model.status().to_string(); return 1; }
//   auto outputs = model->run({{"image", image_tensor}});
//
// Errors are values (Status / Result); nothing here throws for bad models or bad inputs.
// A PreparedModel is immutable and may be run from several threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edgerun/dtype.hpp"
#include "edgerun/profile.hpp"
#include "edgerun/status.hpp"
#include "edgerun/tensor.hpp"
#include "edgerun/value.hpp"

namespace edgerun {

std::string_view version();

// Where a model may run, with the names the seeds use. Requests this machine cannot honour
// fall back to what it has and say so in the CapabilityReport.
enum class ComputeUnits { kAll, kCpuOnly, kCpuAndGpu, kCpuAndNeuralEngine };
std::string_view compute_units_name(ComputeUnits units);  // "all", "cpu_only", ...
std::optional<ComputeUnits> parse_compute_units(std::string_view name);

// Where a model comes from: a file (external data resolved next to it) or bytes in memory.
class ModelArtifact {
 public:
  static ModelArtifact from_file(std::string path);
  static ModelArtifact from_bytes(std::string bytes, std::string base_dir = ".");

  const std::string& path() const { return path_; }
  const std::string& bytes() const { return bytes_; }
  const std::string& base_dir() const { return base_dir_; }
  bool in_memory() const { return path_.empty(); }

 private:
  std::string path_;
  std::string bytes_;
  std::string base_dir_;
};

// The safety rails of a prepared model (docs/safety.md): the circuit breaker that moves an
// accelerated partition to the reference backend when it misbehaves, numeric checks, and the
// optional event log.
struct SafetyOptions {
  // The breaker trips when, after at least `min_runs` runs since it last closed, the share of
  // successful runs of a partition falls below `min_success_rate`...
  uint32_t min_runs = 10;
  double min_success_rate = 0.95;
  // ...or when the p99 of the partition's latency has exceeded `latency_budget_ms` on
  // `latency_budget_breaches` runs (0: no budget)...
  double latency_budget_ms = 0;
  uint32_t latency_budget_breaches = 3;
  // ...or when the process's resident memory passes this many bytes (0: no limit).
  uint64_t memory_limit_bytes = 0;
  // How long a tripped breaker sends runs to the reference before one probe run tries the
  // accelerator again (half-open).
  std::chrono::milliseconds cool_down{1000};
  // Keeps every breaker closed: the accelerators always run (failed steps are still retried on
  // the reference). The environment variable EDGERUN_FORCE_ACCELERATED=1 sets it too.
  bool force_accelerated = false;
  // Scans the float outputs of accelerated steps for NaN/Inf; when found, the step is rerun on
  // the reference, and counted as a numeric fault if the reference's outputs are finite.
  bool check_numerics = true;
  // When set, one JSON object per line is appended here for every prepare, compile, run,
  // fallback and breaker transition.
  std::string event_log_path;
};

struct PrepareOptions {
  ComputeUnits compute_units = ComputeUnits::kAll;
  // Concrete shapes for inputs, by input name; the first specialisation is built for them.
  std::map<std::string, Shape> input_shapes;
  // Values for symbolic dims, by symbol (e.g. {"batch", 1}); fixed for every run.
  std::map<std::string, int64_t> dim_values;
  // Backends that may run nodes, by name ("onednn", "reference"); empty: those the compute
  // units allow. {"reference"} gives exact results. Order does not matter: placement priority
  // is always accelerated backends first, the reference last.
  std::vector<std::string> backends;
  SafetyOptions safety;
  // Graph optimisations before placement (constant folding, pattern fusion). They never change
  // what a model computes beyond rounding; off, the model runs node for node as written (the
  // conformance suite runs both ways so that a wrong pass cannot hide).
  bool optimize = true;
  // Threads for the oneDNN backend's kernels (the reference backend runs on the calling thread).
  // 0: OMP_NUM_THREADS when set, else default_thread_count().
  int threads = 0;
};

// One thread per physical core: oneDNN's kernels gain nothing from a core's second hardware
// thread and lose to its contention.
int default_thread_count();

// Where prepare's time went, in milliseconds.
struct PrepareStats {
  double import_ms = 0;    // parse the ONNX file and build the graph
  double optimise_ms = 0;  // bind input shapes, fold constants, pick the backends
  double compile_ms = 0;   // place the nodes, compile the partitions (first specialisation)
  double total_ms = 0;
  int threads = 0;         // what PrepareOptions::threads resolved to
  // The planned peak of the intermediates of the first specialisation: the bytes of the arena
  // each run takes (arenas are pooled and reused). 0 when the input shapes are not known until
  // run time (each shape then gets its own plan when it is first seen).
  uint64_t arena_bytes = 0;
  // Values of that plan that take the bytes of an input dying at their node (an elementwise
  // op over its input, a residual sum over its addend) instead of bytes of their own.
  uint64_t arena_in_place = 0;
};

struct TensorSpec {
  std::string name;
  ValueKind kind = ValueKind::kTensor;
  DType dtype = DType::kUndefined;     // for sequences and optionals: the element tensors' dtype
  std::string type;                    // e.g. "float32[batch, 3, 224, 224]" or "sequence<...>"
  std::optional<std::vector<int64_t>> shape;  // -1 for dims not known statically
  std::vector<std::string> dim_names;  // symbol per dim, "" where none
};

struct IoSchema {
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
};

struct NodePlacement {
  std::string node;
  std::string op;
  std::string backend;
  std::string reason;  // why it is not on a higher-priority backend; "" when it is on the first
};

// One step of the plan: a partition of nodes that one backend runs as a unit.
struct PartitionReport {
  std::string backend;
  std::vector<size_t> nodes;  // indices into CapabilityReport::placements (graph order)
};

struct CapabilityReport {
  ComputeUnits requested = ComputeUnits::kAll;
  std::string actual;  // what actually runs, e.g. "cpu (reference)"
  std::vector<std::string> available_backends;
  std::vector<std::string> notes;  // why a request was not honoured, and similar
  std::vector<NodePlacement> placements;
  std::vector<PartitionReport> partitions;  // in execution order
  std::map<std::string, size_t> nodes_per_backend;
  size_t node_count = 0;
};

using TensorMap = std::map<std::string, Tensor>;
using ValueMap = std::map<std::string, Value>;

// Stops a run from another thread. Cooperative: executors check it between steps and, on the
// reference backend, between nodes; a run given a timeout also stops waiting at once.
class CancellationToken {
 public:
  void cancel() { cancelled_.store(true, std::memory_order_release); }
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> cancelled_{false};
};

// What a caller does when every pool instance is busy and the pool's queue is full.
enum class WhenOverloaded { kReject, kWait };

struct RunOptions {
  // 0: no deadline. Otherwise run() returns a kTimeout error once this much time has passed,
  // even if a backend hangs: the run then happens on a worker thread with its own copies of the
  // inputs, and a run that is abandoned finishes (or stops at the next step) in the background,
  // its shape specialisation discarded so the next run rebuilds it.
  std::chrono::milliseconds timeout{0};
  // When set and cancelled, the run stops with a kCancelled error (shared so an abandoned run
  // can keep reading it).
  std::shared_ptr<const CancellationToken> cancellation;
  // For ModelPool::run: reject with kOverloaded, or wait for room (within `timeout`, if any).
  WhenOverloaded when_overloaded = WhenOverloaded::kReject;
  Profile* profile = nullptr;  // when set, the run's steps and nodes are recorded here
};

// The failure taxonomy telemetry counts by (docs/safety.md).
enum class FailureKind {
  kCompileError,    // building a specialisation failed
  kSchemaMismatch,  // the inputs do not match the model's schema
  kTimeout,         // the run passed its deadline
  kCancelled,       // the caller cancelled the run
  kMemoryPressure,  // out of memory, or a breaker tripped on the memory limit
  kBackendError,    // an accelerated step failed at run time (retried on the reference)
  kNumericFault,    // an accelerated step produced NaN/Inf where the reference has none
  kFallback,        // a step ran on the reference instead of its accelerator
  kOther,           // any other failed run (e.g. a reference kernel error)
};
inline constexpr size_t kFailureKinds = 9;
std::string_view failure_kind_name(FailureKind kind);  // "compile_error", "timeout", ...

struct LatencySummary {
  uint64_t count = 0;
  double p50_ms = 0, p95_ms = 0, p99_ms = 0, max_ms = 0;  // from log-scale buckets, +-10 %
};

struct BackendShare {
  std::string backend;
  size_t nodes = 0;
  double node_share = 0;  // of the model's nodes
  uint64_t step_runs = 0;
  double run_ms = 0;      // total time in this backend's steps
  double time_share = 0;  // of the time in all steps
};

struct BreakerSnapshot {
  std::string backend;
  std::vector<size_t> nodes;  // the partition, as node indices in graph order
  std::string state;          // "closed", "open", "half_open" or "forced"
  uint64_t runs = 0, failures = 0;  // since it last closed
  uint64_t trips = 0;
  std::string last_trip_reason;
};

// A point-in-time copy of a prepared model's telemetry (PreparedModel::telemetry()).
struct TelemetrySnapshot {
  uint64_t prepares = 0;  // 1: telemetry starts when prepare succeeds
  double prepare_ms = 0;
  uint64_t compiles_ok = 0, compiles_failed = 0;
  uint64_t runs_ok = 0, runs_failed = 0;
  std::map<std::string, uint64_t> failures;  // by failure_kind_name, every kind present
  LatencySummary run_latency;
  LatencySummary compile_latency;
  std::vector<BackendShare> backends;
  std::string requested_compute_units;
  std::string actual_compute_units;
  std::vector<BreakerSnapshot> breakers;
  uint64_t abandoned_runs_in_flight = 0;  // runs past their deadline still finishing
  // Process memory from /proc/self/status (0 where unavailable).
  uint64_t process_rss_bytes = 0;
  uint64_t process_rss_high_water_bytes = 0;
  // The largest planned arena of the shape specialisations held now (one arena per run in
  // flight), and the arenas allocated for them so far.
  uint64_t planned_arena_bytes = 0;
  uint64_t arenas = 0;
};

struct RunStats {
  double latency_ms = 0;
  size_t specialisations = 0;  // shape specialisations the model holds after this run
};

class PreparedModel {
 public:
  PreparedModel() = default;

  // Runs the model. Inputs are checked against the schema (names, dtypes, ranks, fixed and
  // symbolic dims); new input shapes build (and keep) a new specialisation.
  Result<TensorMap> run(const TensorMap& inputs, const RunOptions& options = {}) const;
  Result<ValueMap> run_values(const ValueMap& inputs, const RunOptions& options = {},
                              RunStats* stats = nullptr) const;
  // Runs the model with its results written into the caller's tensors: `outputs` maps output
  // names (all or some of them) to tensors of exactly each output's dtype and shape, typically
  // Tensor::wrap over the caller's buffers, none sharing bytes with an input or another output.
  // Kernels write the results there directly where they can (else they are copied in at the
  // end), and the inputs are read in place, not copied. Once warm, a run over the same tensors
  // builds no tensors and allocates nothing in edgerun's own code (docs/memory.md). A wrong
  // tensor fails the call, naming it, before anything runs when prepare knows the output's
  // shape; if a run fails, the outputs' contents are unspecified. With a timeout the run works
  // on copies and the results are copied in when it finishes in time. Tensor inputs only.
  Status run_into(const TensorMap& inputs, TensorMap& outputs,
                  const RunOptions& options = {}) const;

  const IoSchema& io_schema() const;
  const CapabilityReport& capabilities() const;
  // Number of shape specialisations built so far.
  size_t specialisation_count() const;
  // Counters, latency percentiles, placement shares, breaker states and memory; cheap enough
  // to call at any time (it reads atomics).
  TelemetrySnapshot telemetry() const;
  // Runs that passed their deadline (or were cancelled while waited for) and are still
  // finishing in the background; tests wait for 0 before they end.
  uint64_t abandoned_runs() const;

  struct Impl;

 private:
  explicit PreparedModel(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
  friend class Engine;
};

// A few concurrent runs of one prepared model with a bounded queue in front (back-pressure).
// Its instances share the model's compiled specialisations (a PreparedModel is immutable and
// safe to run from several threads), so an instance is a slot to run in. A run abandoned at
// its deadline keeps its slot until it really finishes, so a hanging backend cannot pile up
// threads: the pool reports kOverloaded instead.
struct PoolOptions {
  size_t instances = 2;       // 1..4 runs at once
  size_t queue_capacity = 8;  // callers waiting for a slot; more are overloaded
};

class ModelPool {
 public:
  static Result<ModelPool> create(PreparedModel model, PoolOptions options = {});

  // Runs when a slot is free. Otherwise waits in the queue; when the queue is full, fails with
  // kOverloaded (options.when_overloaded == kReject) or waits for room in it (kWait). Time
  // spent waiting counts against options.timeout.
  Result<TensorMap> run(const TensorMap& inputs, const RunOptions& options = {}) const;
  Result<ValueMap> run_values(const ValueMap& inputs, const RunOptions& options = {}) const;

  const PreparedModel& model() const { return model_; }
  size_t running() const;  // runs in a slot now, abandoned ones included
  size_t queued() const;   // callers waiting for a slot

  struct State;

 private:
  ModelPool(PreparedModel model, PoolOptions options);
  PreparedModel model_;
  PoolOptions options_;
  std::shared_ptr<State> state_;
};

class Backend;  // src/backends/backend.h: not part of the stable API

struct EngineOptions {
  // Extension and test hook: backends created for every prepare, placed before the built-in
  // ones (highest priority first) and selectable by name in PrepareOptions::backends. The
  // tests use it to inject a backend that fails on purpose; nothing else sets it.
  std::vector<std::function<std::unique_ptr<Backend>()>> extra_backends;
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  // `stats`, when given, receives the time of each phase.
  Result<PreparedModel> prepare(const ModelArtifact& artifact, const PrepareOptions& options = {},
                                PrepareStats* stats = nullptr) const;

 private:
  EngineOptions options_;
};

}  // namespace edgerun
