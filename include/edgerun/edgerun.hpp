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

#include <cstdint>
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

struct RunOptions {
  Profile* profile = nullptr;  // when set, the run's steps and nodes are recorded here
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

  const IoSchema& io_schema() const;
  const CapabilityReport& capabilities() const;
  // Number of shape specialisations built so far.
  size_t specialisation_count() const;

  struct Impl;

 private:
  explicit PreparedModel(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
  friend class Engine;
};

struct EngineOptions {};

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
