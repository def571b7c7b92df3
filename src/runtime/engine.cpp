#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "backends/onednn/executable.h"
#include "backends/onednn/onednn_backend.h"
#include "backends/reference/reference_backend.h"
#include "memory/allocator_policy.h"
#include "onnx/importer.h"
#include "opt/optimize.h"
#include "runtime/input_binding.h"
#include "runtime/prepared_model_impl.h"
#include "runtime/thread_count.h"

namespace edgerun {

std::string_view version() { return EDGERUN_VERSION; }

std::string_view compute_units_name(ComputeUnits units) {
  switch (units) {
    case ComputeUnits::kAll: return "all";
    case ComputeUnits::kCpuOnly: return "cpu_only";
    case ComputeUnits::kCpuAndGpu: return "cpu_and_gpu";
    case ComputeUnits::kCpuAndNeuralEngine: return "cpu_and_ne";
  }
  return "unknown";
}

std::optional<ComputeUnits> parse_compute_units(std::string_view name) {
  for (ComputeUnits u : {ComputeUnits::kAll, ComputeUnits::kCpuOnly, ComputeUnits::kCpuAndGpu,
                         ComputeUnits::kCpuAndNeuralEngine}) {
    if (compute_units_name(u) == name) return u;
  }
  return std::nullopt;
}

ModelArtifact ModelArtifact::from_file(std::string path) {
  ModelArtifact a;
  a.base_dir_ = std::filesystem::path(path).parent_path().string();
  if (a.base_dir_.empty()) a.base_dir_ = ".";
  a.path_ = std::move(path);
  return a;
}

ModelArtifact ModelArtifact::from_bytes(std::string bytes, std::string base_dir) {
  ModelArtifact a;
  a.bytes_ = std::move(bytes);
  a.base_dir_ = std::move(base_dir);
  return a;
}

namespace {

TensorSpec spec_of(const ir::ValueInfo& v) {
  TensorSpec spec;
  spec.name = v.name;
  spec.type = ir::type_to_string(v.type);
  // Sequences and optionals report the tensor type inside them (optional<sequence<T>> -> T).
  const ir::TypeInfo* type = &v.type;
  if (type->kind == ir::TypeInfo::Kind::kOptional) spec.kind = ValueKind::kOptional;
  if (type->kind == ir::TypeInfo::Kind::kSequence) spec.kind = ValueKind::kSequence;
  while ((type->kind == ir::TypeInfo::Kind::kOptional ||
          type->kind == ir::TypeInfo::Kind::kSequence) && type->element) {
    type = type->element.get();
  }
  spec.dtype = type->dtype;
  if (spec.kind != ValueKind::kTensor) return spec;
  if (v.type.shape) {
    std::vector<int64_t> dims;
    for (const ir::Dim& d : *v.type.shape) {
      dims.push_back(d.value);
      spec.dim_names.push_back(d.symbol);
    }
    spec.shape = std::move(dims);
  }
  return spec;
}

// The backends a prepare may use, in placement priority order (accelerated first, the reference
// last), from the compute units and the allow-list; notes say where a request was not honoured.
Status select_backends(const EngineOptions& engine_options, const PrepareOptions& options,
                       PreparedModel::Impl& impl, std::vector<std::string>& notes) {
  // Every compute-unit setting includes the CPU; this build has no GPU or Neural Engine
  // backend, so those requests run on the CPU backends.
  switch (options.compute_units) {
    case ComputeUnits::kAll:
    case ComputeUnits::kCpuOnly: break;
    case ComputeUnits::kCpuAndGpu:
    case ComputeUnits::kCpuAndNeuralEngine:
      notes.push_back("compute units '" + std::string(compute_units_name(options.compute_units)) +
                      "' requested, but this edgerun has no " +
                      (options.compute_units == ComputeUnits::kCpuAndGpu ? "GPU"
                                                                         : "Neural Engine") +
                      " backend; the CPU backends (onednn, reference) run the model");
      break;
  }
  std::vector<std::unique_ptr<Backend>> candidates;
  for (const auto& make_backend : engine_options.extra_backends) {
    std::unique_ptr<Backend> extra = make_backend ? make_backend() : nullptr;
    if (!extra) return invalid_argument("EngineOptions::extra_backends holds a null factory");
    candidates.push_back(std::move(extra));
  }
  candidates.push_back(
      std::make_unique<onednn::OneDnnBackend>(resolve_thread_count(options.threads),
                                              onednn::ThreadChoice::kTeam));
  candidates.push_back(std::make_unique<reference::ReferenceBackend>());
  for (const std::string& wanted : options.backends) {
    bool known = false;
    std::string available;
    for (const auto& b : candidates) {
      known = known || b->name() == wanted;
      available += (available.empty() ? "" : ", ") + std::string(b->name());
    }
    if (!known) {
      return invalid_argument("unknown backend '" + wanted +
                              "' in PrepareOptions::backends; available: " + available);
    }
  }
  for (auto& b : candidates) {
    const bool allowed = options.backends.empty() ||
                         std::find(options.backends.begin(), options.backends.end(),
                                   b->name()) != options.backends.end();
    if (allowed) impl.owned_backends.push_back(std::move(b));
  }
  if (impl.owned_backends.empty()) return invalid_argument("PrepareOptions::backends is empty");
  for (const auto& b : impl.owned_backends) impl.backends.push_back(b.get());
  return Status::ok();
}

// The safety options as the model uses them: EDGERUN_FORCE_ACCELERATED=1 forces the breakers
// closed whatever the options say, so an operator can override a deployed program.
Result<SafetyOptions> effective_safety(const SafetyOptions& requested) {
  SafetyOptions safety = requested;
  if (safety.min_success_rate < 0 || safety.min_success_rate > 1) {
    return invalid_argument("SafetyOptions::min_success_rate is " +
                            std::to_string(safety.min_success_rate) + ", must be in [0, 1]");
  }
  if (safety.cool_down.count() < 0) {
    return invalid_argument("SafetyOptions::cool_down is negative");
  }
  const char* force = std::getenv("EDGERUN_FORCE_ACCELERATED");
  if (force != nullptr && std::string(force) == "1") safety.force_accelerated = true;
  return safety;
}

// What prepare decided about threads for the oneDNN steps, when more than one was asked for
// and some units (a fused chain counts once) still run on the calling thread alone, or are
// split by edgerun's own team: users who ask for T threads see how a run uses them.
std::optional<std::string> one_thread_note(const runtime::Program& program, int threads) {
  if (threads <= 1) return std::nullopt;
  size_t one_thread = 0, split = 0;
  onednn::ThreadChoiceStats timed;
  for (const runtime::Step& step : program.steps()) {
    one_thread += onednn::single_thread_nodes(*step.executable);
    split += onednn::team_split_nodes(*step.executable);
    const onednn::ThreadChoiceStats s = onednn::thread_choice_stats(*step.executable);
    timed.timed += s.timed;
    timed.timed_one_thread += s.timed_one_thread;
  }
  if (one_thread == 0 && timed.timed == 0 && split == 0) return std::nullopt;
  const std::string t = std::to_string(threads);
  if (split > 0) {
    return "onednn: " + std::to_string(split) + " units split over a team of " + t +
           " threads; " + std::to_string(one_thread) + " run on one thread";
  }
  return "onednn: " + std::to_string(one_thread) + " units run on one thread of " + t + " (" +
         std::to_string(one_thread - timed.timed_one_thread) + " too small to split; " +
         std::to_string(timed.timed) + " timed at prepare, of which " +
         std::to_string(timed.timed_one_thread) + " were no faster on " + t + " threads)";
}

// "onednn: N <what>" for the N nodes `count` finds over the program's steps, or none for 0.
std::optional<std::string> count_note(const runtime::Program& program,
                                      size_t (*count)(const Executable&), const char* what) {
  size_t total = 0;
  for (const runtime::Step& step : program.steps()) total += count(*step.executable);
  if (total == 0) return std::nullopt;
  return "onednn: " + std::to_string(total) + " " + what;
}

// Which nodes run on edgerun's own kernels rather than oneDNN primitives (a classifier's head,
// a squeeze-excitation's scaling): the placement says oneDNN, this says whose code.
std::optional<std::string> own_kernel_note(const runtime::Program& program) {
  std::map<std::string, size_t> counts;
  for (const runtime::Step& step : program.steps()) {
    for (const auto& [what, count] : onednn::own_kernel_nodes(*step.executable)) {
      counts[what] += count;
    }
  }
  if (counts.empty()) return std::nullopt;
  std::string note = "onednn: edgerun's own kernels run";
  const char* separator = " ";
  for (const auto& [what, count] : counts) {
    note += separator + std::to_string(count) + " " + what;
    separator = ", ";
  }
  return note;
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

Result<std::shared_ptr<PreparedModel::Impl>> prepare_model(const EngineOptions& engine_options,
                                                           const ModelArtifact& artifact,
                                                           const PrepareOptions& options,
                                                           PrepareStats* stats) {
  if (options.threads < 0) {
    return invalid_argument("PrepareOptions::threads is " + std::to_string(options.threads) +
                            "; it must be positive, or 0 for the default");
  }
  const auto prepare_start = std::chrono::steady_clock::now();
  Result<ir::Model> imported =
      artifact.in_memory()
          ? onnx_import::import_model_bytes(artifact.bytes(), {artifact.base_dir(), nullptr})
          : onnx_import::import_model_file(artifact.path());
  if (!imported.is_ok()) return imported.status();
  const double import_ms = ms_since(prepare_start);
  const auto optimise_start = std::chrono::steady_clock::now();
  auto impl = std::make_shared<PreparedModel::Impl>();
  impl->options = options;
  ir::Model model = std::move(imported).value();
  ER_RETURN_IF_ERROR(runtime::apply_shape_options(model.graph, impl->options));
  opt::prepare_graph(model.graph, options.optimize);
  impl->model = std::make_shared<const ir::Model>(std::move(model));

  std::vector<std::string> notes;
  ER_RETURN_IF_ERROR(select_backends(engine_options, impl->options, *impl, notes));
  ER_ASSIGN_OR_RETURN(impl->safety, effective_safety(options.safety));
  impl->fallback_reference = std::make_unique<reference::ReferenceBackend>();
  impl->log = std::make_unique<runtime::EventLog>(impl->safety.event_log_path);
  std::vector<std::string> backend_names;
  for (const Backend* b : impl->backends) backend_names.emplace_back(b->name());
  if (std::find(backend_names.begin(), backend_names.end(), "reference") == backend_names.end()) {
    backend_names.emplace_back("reference");  // the fallback runs there
  }
  impl->telemetry = std::make_unique<runtime::Telemetry>(std::move(backend_names));

  const ir::Graph& graph = impl->model->graph;
  for (const ir::ValueInfo& in : graph.inputs) impl->schema.inputs.push_back(spec_of(in));
  for (const ir::ValueInfo& out : graph.outputs) impl->schema.outputs.push_back(spec_of(out));

  // Compile once up front so that an unsupported op fails prepare, not the first run. When every
  // input shape is known the result is the first specialisation; otherwise it only checks.
  std::vector<Shape> declared;
  bool concrete = true;
  for (const ir::ValueInfo& in : graph.inputs) {
    Shape s;
    concrete = concrete && in.type.kind == ir::TypeInfo::Kind::kTensor && in.type.shape;
    if (in.type.shape) {
      for (const ir::Dim& d : *in.type.shape) {
        concrete = concrete && d.known();
        s.push_back(d.value);
      }
    }
    declared.push_back(std::move(s));
  }
  const double optimise_ms = ms_since(optimise_start);
  const auto compile_start = std::chrono::steady_clock::now();
  std::shared_ptr<const runtime::Program> program;
  if (concrete) {
    ER_ASSIGN_OR_RETURN(program, impl->specialise(declared, /*at_prepare=*/true));
  } else {
    ER_ASSIGN_OR_RETURN(program, runtime::Program::build(graph, impl->backends));
  }
  if (stats != nullptr) {
    stats->import_ms = import_ms;
    stats->optimise_ms = optimise_ms;
    stats->compile_ms = ms_since(compile_start);
    stats->total_ms = ms_since(prepare_start);
    stats->threads = resolve_thread_count(options.threads);
    stats->arena_bytes = program->arena_plan().arena_bytes;
    stats->arena_in_place = program->arena_plan().in_place;
  }

  const int stats_threads = resolve_thread_count(options.threads);
  CapabilityReport& report = impl->capabilities;
  report.requested = options.compute_units;
  for (const Backend* b : impl->backends) report.available_backends.emplace_back(b->name());
  report.notes = std::move(notes);
  if (const std::optional<std::string> note = one_thread_note(*program, stats_threads)) {
    report.notes.push_back(*note);
  }
  // Convolutions by Winograd's algorithm, whose results differ from the direct algorithm's in
  // the last bits: users comparing against another runtime see why.
  if (const std::optional<std::string> note =
          count_note(*program, onednn::winograd_nodes,
                     "3x3 convolutions run by Winograd's algorithm (fewer multiplications; "
                     "results within about 2e-6 of the largest output of the direct "
                     "algorithm's)")) {
    report.notes.push_back(*note);
  }
  // Depthwise convolutions inside the convolution before them: such a node's profile event
  // and time cover both.
  if (const std::optional<std::string> note =
          count_note(*program, onednn::depthwise_post_op_nodes,
                     "depthwise convolutions fused with the convolutions before them "
                     "(their expanded inputs are never written to memory)")) {
    report.notes.push_back(*note);
  }
  if (const std::optional<std::string> note = own_kernel_note(*program)) {
    report.notes.push_back(*note);
  }
  if (!concrete) {
    report.notes.push_back(
        "input shapes are not all known at prepare time; placement was decided from dtypes and "
        "declared shapes, and oneDNN primitives are built on the first run of each shape");
  }
  // Placements in graph order; the steps may run them in another valid order.
  std::vector<const Backend*> placed(graph.nodes.size(), nullptr);
  for (const runtime::Step& step : program->steps()) {
    for (size_t index : step.nodes) placed[index] = step.backend;
    report.partitions.push_back({std::string(step.backend->name()), step.nodes});
  }
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node& node = graph.nodes[i];
    const std::string backend(placed[i] != nullptr ? placed[i]->name() : "none");
    report.placements.push_back(
        {node.name, node.op_type, backend, program->placement_reasons()[i]});
    ++report.nodes_per_backend[backend];
  }
  std::string actual;
  for (const Backend* b : impl->backends) {
    if (report.nodes_per_backend.count(std::string(b->name()))) {
      actual += (actual.empty() ? "" : " + ") + std::string(b->name());
    }
  }
  report.actual = "cpu (" + (actual.empty() ? std::string("no nodes") : actual) + ")";
  report.node_count = graph.nodes.size();
  const double prepare_ms = ms_since(prepare_start);
  impl->telemetry->record_prepare(prepare_ms);
  impl->log->write("prepare", {{"outcome", "ok"}, {"actual", report.actual}},
                   {{"ms", prepare_ms}});
  return impl;
}

}  // namespace

Engine::Engine(EngineOptions options) : options_(std::move(options)) {
  memory::retain_freed_buffers();
}

Result<PreparedModel> Engine::prepare(const ModelArtifact& artifact, const PrepareOptions& options,
                                      PrepareStats* stats) const {
  Result<std::shared_ptr<PreparedModel::Impl>> prepared =
      prepare_model(options_, artifact, options, stats);
  if (!prepared.is_ok()) {
    if (!options.safety.event_log_path.empty()) {
      runtime::EventLog(options.safety.event_log_path)
          .write("prepare", {{"outcome", "failed"}, {"message", prepared.status().to_string()}});
    }
    return prepared.status();
  }
  return PreparedModel(std::move(prepared).value());
}

}  // namespace edgerun
