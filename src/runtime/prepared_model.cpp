#include <algorithm>
#include <chrono>
#include <span>

#include "core/small_array.h"
#include "runtime/deadline_runner.h"
#include "runtime/input_binding.h"
#include "runtime/output_binding.h"
#include "runtime/prepared_model_impl.h"
#include "runtime/process_memory.h"
#include "runtime/value_maps.h"

namespace edgerun {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t elapsed_ns(Clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
}

FailureKind failure_kind_of(const Status& status) {
  switch (status.code()) {
    case StatusCode::kTimeout: return FailureKind::kTimeout;
    case StatusCode::kCancelled: return FailureKind::kCancelled;
    case StatusCode::kOutOfMemory: return FailureKind::kMemoryPressure;
    default: return FailureKind::kOther;
  }
}

Shape shape_key(const Value& input) {
  return input.is_tensor() ? input.tensor().shape() : Shape{-1};
}
Shape shape_key(const Tensor* input) { return input->shape(); }

Status check_run_options(const PreparedModel::Impl* impl, const RunOptions& options) {
  if (impl == nullptr) return invalid_argument("run() on an empty PreparedModel");
  if (options.timeout.count() < 0) {
    return invalid_argument("RunOptions::timeout is negative (" +
                            std::to_string(options.timeout.count()) + " ms)");
  }
  if (options.timeout.count() > 0 && options.profile != nullptr) {
    // A run abandoned at its deadline would go on writing into the caller's profile.
    return invalid_argument("RunOptions::profile cannot be combined with a timeout");
  }
  return Status::ok();
}

}  // namespace

Result<std::shared_ptr<const runtime::Program>> PreparedModel::Impl::specialise(
    const std::vector<Shape>& shapes, bool at_prepare) const {
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = specialisations.find(shapes);
    if (it != specialisations.end()) return it->second;
  }
  // Compile outside the lock; if two threads race, the first to insert wins.
  runtime::SafetyHooks hooks;
  hooks.reference = fallback_reference.get();
  hooks.breaker_for = [this](const Backend& backend, const std::vector<size_t>& nodes) {
    return breaker_for(backend, nodes);
  };
  hooks.release_packed_constants = at_prepare;
  const auto start = Clock::now();
  Result<std::unique_ptr<runtime::Program>> built =
      runtime::Program::build(model->graph, backends, shapes, hooks);
  const uint64_t ns = elapsed_ns(start);
  if (telemetry) telemetry->record_compile(built.is_ok(), ns);
  if (log) {
    log->write("compile", {{"outcome", built.is_ok() ? "ok" : built.status().to_string()}},
               {{"ms", static_cast<double>(ns) / 1e6}});
  }
  if (!built.is_ok()) return built.status();
  std::shared_ptr<const runtime::Program> program = std::move(built).value();
  std::lock_guard<std::mutex> lock(mutex);
  auto [it, inserted] = specialisations.emplace(shapes, program);
  if (inserted) {
    specialisation_order.push_back(shapes);
    if (specialisation_order.size() > kMaxSpecialisations) {
      specialisations.erase(specialisation_order.front());
      specialisation_order.erase(specialisation_order.begin());
    }
  }
  return it->second;
}

void PreparedModel::Impl::discard(const runtime::Program* program) const {
  std::shared_ptr<const runtime::Program> last = last_program.load();
  if (last.get() == program) last_program.compare_exchange_strong(last, nullptr);
  std::lock_guard<std::mutex> lock(mutex);
  for (auto it = specialisations.begin(); it != specialisations.end(); ++it) {
    if (it->second.get() != program) continue;
    std::erase(specialisation_order, it->first);
    specialisations.erase(it);
    return;
  }
}

runtime::CircuitBreaker* PreparedModel::Impl::breaker_for(const Backend& backend,
                                                          const std::vector<size_t>& nodes) const {
  std::lock_guard<std::mutex> lock(breaker_mutex);
  auto& slot = breakers[{std::string(backend.name()), nodes}];
  if (!slot) {
    slot = std::make_unique<runtime::CircuitBreaker>(std::string(backend.name()), nodes, safety,
                                                     log.get());
  }
  return slot.get();
}

template <class Inputs>
Result<std::shared_ptr<const runtime::Program>> PreparedModel::Impl::program_for(
    const Inputs& inputs) const {
  std::shared_ptr<const runtime::Program> last = last_program.load();
  if (last != nullptr && last->specialised_for(inputs)) return last;
  std::vector<Shape> key;
  for (const auto& input : inputs) key.push_back(shape_key(input));
  Result<std::shared_ptr<const runtime::Program>> program = specialise(key);
  if (program.is_ok()) last_program.store(program.value());
  return program;
}

runtime::RunContext PreparedModel::Impl::run_context(const RunControl& control,
                                                     Profile* profile) const {
  runtime::RunContext context;
  context.control = &control;
  context.telemetry = telemetry.get();
  context.log = log.get();
  context.safety = &safety;
  context.profile = profile;
  return context;
}

void PreparedModel::Impl::check_memory_limit(const runtime::Program& program) const {
  if (safety.memory_limit_bytes == 0) return;
  const runtime::ProcessMemory memory = runtime::read_process_memory();
  if (memory.rss_bytes > safety.memory_limit_bytes) {
    telemetry->count(FailureKind::kMemoryPressure);
    program.trip_breakers("process resident memory " + std::to_string(memory.rss_bytes) +
                          " bytes passed the limit of " +
                          std::to_string(safety.memory_limit_bytes) + " bytes");
  }
}

Result<ValueMap> PreparedModel::Impl::execute(
    const ValueMap& inputs, const RunControl& control,
    std::function<void(std::shared_ptr<const runtime::Program>)> used, RunOutcome* outcome,
    Profile* profile) const {
  const auto start = Clock::now();
  const ir::Graph& graph = model->graph;
  Result<std::vector<Value>> bound = runtime::bind_inputs(graph, inputs, options.dim_values);
  if (!bound.is_ok()) {
    *outcome = {FailureKind::kSchemaMismatch, 0};
    return bound.status();
  }
  Result<std::shared_ptr<const runtime::Program>> program = program_for(bound.value());
  if (!program.is_ok()) {
    *outcome = {FailureKind::kCompileError, 0};
    return program.status();
  }
  if (used) used(program.value());
  Result<std::vector<Value>> outputs =
      program.value()->run(std::move(bound).value(), run_context(control, profile));
  check_memory_limit(*program.value());
  if (!outputs.is_ok()) {
    *outcome = {failure_kind_of(outputs.status()), 0};
    return outputs.status();
  }
  ValueMap result;
  for (size_t i = 0; i < graph.outputs.size(); ++i) {
    result[graph.outputs[i].name] = std::move(outputs.value()[i]);
  }
  *outcome = {FailureKind::kOther, elapsed_ns(start)};
  return result;
}

Status PreparedModel::Impl::execute_into(const TensorMap& inputs, TensorMap& outputs,
                                         const RunControl& control, RunOutcome* outcome,
                                         Profile* profile) const {
  const auto start = Clock::now();
  const ir::Graph& graph = model->graph;
  // Graph-order pointers, on the stack for the usual few inputs and outputs: a run over bound
  // tensors allocates nothing here.
  SmallArray<const Tensor*, 8> input_tensors(graph.inputs.size());
  SmallArray<Tensor*, 8> output_tensors(graph.outputs.size());
  const std::span<const Tensor*> ordered = input_tensors.span();
  const std::span<Tensor*> targets = output_tensors.span();
  Status bound = runtime::order_input_tensors(graph, inputs, options.dim_values, ordered);
  if (bound.is_ok()) bound = runtime::order_output_tensors(graph, inputs, outputs, targets);
  if (!bound.is_ok()) {
    *outcome = {FailureKind::kSchemaMismatch, 0};
    return bound;
  }
  Result<std::shared_ptr<const runtime::Program>> program = program_for(ordered);
  if (!program.is_ok()) {
    *outcome = {FailureKind::kCompileError, 0};
    return program.status();
  }
  // Where prepare knows an output's dtype and shape, a wrong tensor fails before anything runs.
  if (Status s = runtime::check_output_tensors(graph, program.value()->value_types(), targets);
      !s.is_ok()) {
    *outcome = {FailureKind::kSchemaMismatch, 0};
    return s;
  }
  Status status = program.value()->run_into(ordered, targets, run_context(control, profile));
  check_memory_limit(*program.value());
  *outcome = status.is_ok() ? RunOutcome{FailureKind::kOther, elapsed_ns(start)}
                            : RunOutcome{failure_kind_of(status), 0};
  return status;
}

void PreparedModel::Impl::record_outcome(const Status& status, const RunOutcome& outcome) const {
  const FailureKind kind = outcome.kind;
  const uint64_t nanoseconds = outcome.nanoseconds;
  if (status.is_ok()) {
    telemetry->record_run_ok(nanoseconds);
  } else {
    telemetry->record_run_failed(kind);
  }
  if (log && log->enabled()) {
    log->write("run",
               {{"outcome", status.is_ok() ? "ok" : std::string(failure_kind_name(kind))},
                {"message", status.is_ok() ? "" : status.to_string()}},
               {{"ms", static_cast<double>(nanoseconds) / 1e6}});
  }
}

Result<ValueMap> PreparedModel::run_values(const ValueMap& inputs, const RunOptions& options,
                                           RunStats* stats) const {
  ER_RETURN_IF_ERROR(check_run_options(impl_.get(), options));
  const auto start = Clock::now();
  Result<ValueMap> result = ValueMap();
  if (options.timeout.count() > 0) {
    result = runtime::run_with_deadline(impl_, inputs, options);
  } else {
    RunControl control;
    control.cancellation = options.cancellation.get();
    Impl::RunOutcome outcome;
    result = impl_->execute(inputs, control, nullptr, &outcome, options.profile);
    impl_->record_outcome(result.status(), outcome);
  }
  if (result.is_ok() && stats != nullptr) {
    stats->latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    stats->specialisations = specialisation_count();
  }
  return result;
}

Result<TensorMap> PreparedModel::run(const TensorMap& inputs, const RunOptions& options) const {
  Result<ValueMap> outputs = run_values(runtime::to_value_map(inputs), options);
  if (!outputs.is_ok()) return outputs.status();
  return runtime::to_tensor_map(std::move(outputs).value());
}

Status PreparedModel::run_into(const TensorMap& inputs, TensorMap& outputs,
                               const RunOptions& options) const {
  ER_RETURN_IF_ERROR(check_run_options(impl_.get(), options));
  if (options.timeout.count() > 0) {
    // A run abandoned at its deadline must not write into the caller's tensors afterwards: it
    // runs on its own copies, and the results are copied in only when it finishes in time.
    Result<TensorMap> results = run(inputs, options);
    if (!results.is_ok()) return results.status();
    return runtime::copy_outputs_into(impl_->model->graph, results.value(), outputs);
  }
  RunControl control;
  control.cancellation = options.cancellation.get();
  Impl::RunOutcome outcome;
  Status status = impl_->execute_into(inputs, outputs, control, &outcome, options.profile);
  impl_->record_outcome(status, outcome);
  return status;
}

const IoSchema& PreparedModel::io_schema() const {
  static const IoSchema kEmpty;
  return impl_ ? impl_->schema : kEmpty;
}

const CapabilityReport& PreparedModel::capabilities() const {
  static const CapabilityReport kEmpty;
  return impl_ ? impl_->capabilities : kEmpty;
}

size_t PreparedModel::specialisation_count() const {
  if (!impl_) return 0;
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->specialisations.size();
}

uint64_t PreparedModel::abandoned_runs() const {
  return impl_ ? impl_->abandoned_runs->load() : 0;
}

TelemetrySnapshot PreparedModel::telemetry() const {
  if (!impl_) return {};
  TelemetrySnapshot s = impl_->telemetry->snapshot();
  const CapabilityReport& caps = impl_->capabilities;
  s.requested_compute_units = std::string(compute_units_name(caps.requested));
  s.actual_compute_units = caps.actual;
  for (BackendShare& share : s.backends) {
    auto it = caps.nodes_per_backend.find(share.backend);
    share.nodes = it == caps.nodes_per_backend.end() ? 0 : it->second;
    share.node_share = caps.node_count == 0 ? 0
                                            : static_cast<double>(share.nodes) /
                                                  static_cast<double>(caps.node_count);
  }
  {
    std::lock_guard<std::mutex> lock(impl_->breaker_mutex);
    for (const auto& [key, breaker] : impl_->breakers) s.breakers.push_back(breaker->snapshot());
  }
  s.abandoned_runs_in_flight = abandoned_runs();
  const runtime::ProcessMemory memory = runtime::read_process_memory();
  s.process_rss_bytes = memory.rss_bytes;
  s.process_rss_high_water_bytes = memory.rss_high_water_bytes;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    for (const auto& [shapes, program] : impl_->specialisations) {
      s.planned_arena_bytes = std::max<uint64_t>(s.planned_arena_bytes,
                                                 program->arena_plan().arena_bytes);
      s.arenas += program->arenas_created();
    }
  }
  return s;
}

}  // namespace edgerun
