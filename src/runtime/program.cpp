#include "runtime/program.h"

#include <chrono>
#include <cmath>
#include <set>

#include "runtime/partitioner.h"
#include "runtime/profiler.h"
#include "runtime/value_types.h"

namespace edgerun::runtime {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t elapsed_ns(Clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
}

// Compiles the reference's copy of an accelerated partition, and the slots a rerun restores and
// clears. A partition the reference cannot compile keeps no fallback (and fails when it fails).
Status add_fallback(const ir::Graph& graph, const SlotTable& slots, const Partition& partition,
                    const Backend& reference, Step& step) {
  std::set<int> written;
  std::set<int> read;
  for (size_t index : partition.nodes) {
    const ir::Node& node = graph.nodes[index];
    for (const std::string& name : node_reads(node)) {
      const int slot = slots.find(name);
      if (slot >= 0 && !written.count(slot)) read.insert(slot);
    }
    for (const std::string& out : node.outputs) {
      const int slot = out.empty() ? -1 : slots.find(out);
      if (slot >= 0) written.insert(slot);
    }
  }
  Result<std::unique_ptr<Executable>> compiled = reference.compile(partition);
  if (!compiled.is_ok()) return Status::ok();
  step.reference = std::move(compiled).value();
  step.read_slots.assign(read.begin(), read.end());
  step.written_slots.assign(written.begin(), written.end());
  return Status::ok();
}

bool has_non_finite(const Tensor& t) {
  if (t.dtype() == DType::kFloat32) {
    const float* p = t.data<float>();
    for (int64_t i = 0; i < t.size(); ++i) {
      if (!std::isfinite(p[i])) return true;
    }
  } else if (t.dtype() == DType::kFloat64) {
    const double* p = t.data<double>();
    for (int64_t i = 0; i < t.size(); ++i) {
      if (!std::isfinite(p[i])) return true;
    }
  }
  return false;
}

bool writes_non_finite(const Step& step, const ExecutionFrame& frame) {
  for (int slot : step.written_slots) {
    const Value& v = frame.values[static_cast<size_t>(slot)];
    if (v.is_tensor() && has_non_finite(v.tensor())) return true;
    for (const Tensor& item : v.items()) {
      if (has_non_finite(item)) return true;
    }
  }
  return false;
}

void count(const RunContext& context, FailureKind kind) {
  if (context.telemetry != nullptr) context.telemetry->count(kind);
}

}  // namespace

Result<std::unique_ptr<Program>> Program::build(const ir::Graph& graph,
                                                const std::vector<const Backend*>& backends,
                                                const std::vector<Shape>& input_shapes,
                                                const SafetyHooks& hooks) {
  auto program = std::unique_ptr<Program>(new Program());
  program->graph_ = &graph;
  SlotTable& slots = program->slots_;
  for (const ir::ValueInfo& in : graph.inputs) program->input_slots_.push_back(slots.add(in.name));
  for (const auto& [name, tensor] : graph.initializers) {
    program->constants_.emplace_back(slots.add(name), Value(tensor));
  }
  for (const ir::Node& node : graph.nodes) {
    for (const std::string& out : node.outputs) {
      if (!out.empty()) slots.add(out);
    }
  }
  for (const ir::ValueInfo& out : graph.outputs) program->output_slots_.push_back(slots.add(out.name));

  program->types_ = infer_value_types(graph, input_shapes);
  const ValueTypes& types = program->types_;
  ER_ASSIGN_OR_RETURN(PartitionPlan plan, partition_graph(graph, backends, types));
  program->reasons_ = std::move(plan.reasons);

  // Each value is dropped after its last reader in execution order, unless it is a graph output.
  std::set<int> keep(program->output_slots_.begin(), program->output_slots_.end());
  std::vector<size_t> order;
  for (const PlannedPartition& p : plan.partitions) {
    order.insert(order.end(), p.nodes.begin(), p.nodes.end());
  }
  std::vector<std::vector<int>> release(graph.nodes.size());
  {
    std::vector<int> last_reader(slots.size(), -1);  // position in `order`
    for (size_t pos = 0; pos < order.size(); ++pos) {
      const ir::Node& node = graph.nodes[order[pos]];
      for (const std::string& r : node_reads(node)) {
        const int slot = slots.find(r);
        if (slot >= 0) last_reader[slot] = static_cast<int>(pos);
      }
      for (const std::string& out : node.outputs) {
        // An output nobody reads is dropped right after its producer.
        const int slot = out.empty() ? -1 : slots.find(out);
        if (slot >= 0 && last_reader[slot] < static_cast<int>(pos)) {
          last_reader[slot] = static_cast<int>(pos);
        }
      }
    }
    for (size_t slot = 0; slot < last_reader.size(); ++slot) {
      if (last_reader[slot] >= 0 && !keep.count(static_cast<int>(slot))) {
        release[order[last_reader[slot]]].push_back(static_cast<int>(slot));
      }
    }
  }

  for (const PlannedPartition& planned : plan.partitions) {
    Partition partition;
    partition.graph = &graph;
    partition.slots = &slots;
    partition.nodes = planned.nodes;
    partition.types = &types;
    for (size_t i : planned.nodes) partition.release_after.push_back(release[i]);
    Result<std::unique_ptr<Executable>> executable = planned.backend->compile(partition);
    if (!executable.is_ok()) return executable.status();
    Step step;
    step.backend = planned.backend;
    step.nodes = partition.nodes;
    step.executable = std::move(executable).value();
    // Any reference instance runs its partitions exactly; only the others get a fallback.
    if (hooks.reference != nullptr && planned.backend->name() != hooks.reference->name()) {
      ER_RETURN_IF_ERROR(add_fallback(graph, slots, partition, *hooks.reference, step));
      if (hooks.breaker_for) step.breaker = hooks.breaker_for(*planned.backend, step.nodes);
    }
    program->steps_.push_back(std::move(step));
  }
  return program;
}

void Program::trip_breakers(const std::string& reason) const {
  for (const Step& step : steps_) {
    if (step.breaker != nullptr) step.breaker->trip(reason);
  }
}

Status Program::run_on_reference(const Step& step, ExecutionFrame& frame,
                                 const RunContext& context,
                                 const std::vector<Value>& saved_reads) const {
  // Back to the state before the step: its inputs as they were, none of its outputs.
  for (size_t i = 0; i < step.read_slots.size() && i < saved_reads.size(); ++i) {
    frame.values[static_cast<size_t>(step.read_slots[i])] = saved_reads[i];
  }
  for (int slot : step.written_slots) frame.values[static_cast<size_t>(slot)] = Value();
  const auto start = Clock::now();
  Status status = step.reference->run(frame);
  if (context.telemetry != nullptr) context.telemetry->record_step("reference", elapsed_ns(start));
  return status;
}

Status Program::run_step(const Step& step, ExecutionFrame& frame,
                         const RunContext& context) const {
  const std::string_view backend = step.backend->name();
  if (!step.reference) {
    const auto start = Clock::now();
    Status status = step.executable->run(frame);
    if (context.telemetry != nullptr) context.telemetry->record_step(backend, elapsed_ns(start));
    return status;
  }
  std::vector<Value> saved_reads;
  saved_reads.reserve(step.read_slots.size());
  for (int slot : step.read_slots) saved_reads.push_back(frame.values[static_cast<size_t>(slot)]);

  const CircuitBreaker::Route route =
      step.breaker != nullptr ? step.breaker->route() : CircuitBreaker::Route::kAccelerated;
  if (route == CircuitBreaker::Route::kReference) {
    count(context, FailureKind::kFallback);
    return run_on_reference(step, frame, context, saved_reads);
  }
  const auto start = Clock::now();
  Status status = step.executable->run(frame);
  const uint64_t ns = elapsed_ns(start);
  if (context.telemetry != nullptr) context.telemetry->record_step(backend, ns);
  // A run stopped by its deadline or a cancel says nothing about the accelerator; an
  // unfinished probe hands the next run the chance to probe.
  if (!status.is_ok() && !frame.stop_status().is_ok()) {
    if (route == CircuitBreaker::Route::kProbe) step.breaker->release_probe();
    return frame.stop_status();
  }

  std::string failure;
  bool reran = false;
  if (!status.is_ok()) {
    failure = status.to_string();
    count(context, status.code() == StatusCode::kOutOfMemory ? FailureKind::kMemoryPressure
                                                             : FailureKind::kBackendError);
  } else if (context.safety != nullptr && context.safety->check_numerics &&
             writes_non_finite(step, frame)) {
    // NaN/Inf is a fault only where the reference computes finite values from the same inputs.
    ER_RETURN_IF_ERROR(run_on_reference(step, frame, context, saved_reads));
    reran = true;
    if (!writes_non_finite(step, frame)) {
      failure = "NaN/Inf in the outputs of " + std::string(backend) +
                " where the reference's are finite";
      count(context, FailureKind::kNumericFault);
    }
  }
  const bool ok = failure.empty();
  if (step.breaker != nullptr) step.breaker->record(route, ok, ns, failure);
  if (ok) return Status::ok();
  count(context, FailureKind::kFallback);
  if (context.log != nullptr) {
    context.log->write("fallback", {{"backend", std::string(backend)}, {"reason", failure}});
  }
  if (reran) return Status::ok();
  return run_on_reference(step, frame, context, saved_reads);
}

Result<std::vector<Value>> Program::run(std::vector<Value> inputs,
                                        const RunContext& context) const {
  Profile* profile = context.profile;
  const double run_start_us = profile_start(profile);
  ExecutionFrame frame;
  frame.slots = &slots_;
  frame.control = context.control;
  frame.profile = profile;
  frame.values.resize(slots_.size());
  for (const auto& [slot, value] : constants_) frame.values[static_cast<size_t>(slot)] = value;
  for (size_t i = 0; i < inputs.size() && i < input_slots_.size(); ++i) {
    frame.values[static_cast<size_t>(input_slots_[i])] = std::move(inputs[i]);
  }
  for (size_t s = 0; s < steps_.size(); ++s) {
    ER_RETURN_IF_ERROR(frame.stop_status());
    const double step_start_us = profile_start(profile);
    ER_RETURN_IF_ERROR(run_step(steps_[s], frame, context));
    if (profile != nullptr) record_step(*profile, step_start_us, s, steps_[s].backend->name());
  }
  std::vector<Value> outputs;
  outputs.reserve(output_slots_.size());
  for (int slot : output_slots_) {
    const Value& v = frame.values[static_cast<size_t>(slot)];
    if (v.empty()) {
      return runtime_error("graph output '" + slots_.name(slot) + "' was not produced");
    }
    outputs.push_back(v);
  }
  if (profile != nullptr) record_run(*profile, run_start_us);
  return outputs;
}

}  // namespace edgerun::runtime
