#include "runtime/program.h"

#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "backends/reference/kernel.h"
#include "memory/planner.h"
#include "memory/reloadable_copies.h"
#include "runtime/output_binding.h"
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

// The arena plan of one specialisation: every value a node produces whose shape and dtype are
// known before the run and that is not a graph output (the caller keeps those) gets a region.
// A value lives from the position where its producer runs to the last position where a node
// reads it, where positions follow the steps' order as the executables really run them
// (runs_at: a fused chain runs at its last link). Two extensions keep bytes alive longer:
// - a value read by an accelerated step with a reference fallback lives until the step ends,
//   because the fallback reruns the whole step from its saved reads;
// - the inputs of a node whose outputs may alias them (a Reshape's view, an Identity, control
//   flow) live as long as those outputs.
// In-place: an elementwise node may write over its input 0 when that input is planned, has the
// output's shape and dtype, dies at this node, and is no fallback's saved read; so may a node
// over the slot its executable accumulates into (Executable::accumulates_into) when that slot
// takes the same bytes.
ArenaPlan plan_arena(const ir::Graph& graph, const SlotTable& slots,
                     const std::vector<Step>& steps, const ValueTypes& types,
                     const std::vector<int>& output_slots) {
  std::vector<size_t> order;  // graph node indices in step order
  std::vector<size_t> step_of(graph.nodes.size(), 0);
  for (size_t s = 0; s < steps.size(); ++s) {
    for (size_t node : steps[s].nodes) {
      order.push_back(node);
      step_of[node] = s;
    }
  }
  std::vector<int64_t> position(graph.nodes.size(), 0);
  for (size_t p = 0; p < order.size(); ++p) position[order[p]] = static_cast<int64_t>(p);
  std::vector<int64_t> runs_at(graph.nodes.size(), 0);
  for (size_t node : order) {
    const size_t at = steps[step_of[node]].executable->runs_at(node);
    runs_at[node] = position[at < graph.nodes.size() ? at : node];
  }

  const int64_t end = static_cast<int64_t>(order.size());
  std::vector<int64_t> first(slots.size(), -1);
  std::vector<int64_t> last(slots.size(), -1);
  std::vector<int> producer(slots.size(), -1);
  std::vector<std::vector<int>> reads(graph.nodes.size());
  for (size_t node : order) {
    const ir::Node& n = graph.nodes[node];
    for (const std::string& name : node_reads(n)) {
      const int slot = slots.find(name);
      if (slot < 0) continue;
      reads[node].push_back(slot);
      last[slot] = std::max(last[slot], runs_at[node]);
    }
    for (const std::string& out : n.outputs) {
      const int slot = out.empty() ? -1 : slots.find(out);
      if (slot < 0) continue;
      producer[slot] = static_cast<int>(node);
      first[slot] = runs_at[node];
      last[slot] = std::max(last[slot], runs_at[node]);
    }
  }
  for (int slot : output_slots) last[static_cast<size_t>(slot)] = end;
  std::vector<char> saved_read(slots.size(), 0);
  for (const Step& step : steps) {
    if (!step.reference || step.nodes.empty()) continue;
    int64_t step_end = 0;
    for (size_t node : step.nodes) step_end = std::max(step_end, runs_at[node]);
    for (int slot : step.read_slots) {
      saved_read[static_cast<size_t>(slot)] = 1;
      last[static_cast<size_t>(slot)] = std::max(last[static_cast<size_t>(slot)], step_end);
    }
  }
  // Latest first, so an alias of an alias passes its lifetime all the way back.
  std::vector<size_t> by_time = order;
  std::stable_sort(by_time.begin(), by_time.end(),
                   [&](size_t a, size_t b) { return runs_at[a] > runs_at[b]; });
  for (size_t node : by_time) {
    const ir::Node& n = graph.nodes[node];
    if (n.op && reference::writes_fresh_outputs(*n.op)) continue;
    for (const std::string& out : n.outputs) {
      const int o = out.empty() ? -1 : slots.find(out);
      if (o < 0) continue;
      for (int r : reads[node]) last[static_cast<size_t>(r)] = std::max(last[r], last[o]);
    }
  }

  std::set<int> keep(output_slots.begin(), output_slots.end());
  ArenaPlan plan;
  plan.regions.resize(slots.size());
  std::vector<memory::UsageRecord> records;
  std::vector<int> record_slot;
  std::vector<int64_t> record_of(slots.size(), -1);
  // Records in production order, so a donor always precedes its taker.
  for (size_t node : order) {
    const ir::Node& n = graph.nodes[node];
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      const std::string& name = n.outputs[o];
      const int slot = name.empty() ? -1 : slots.find(name);
      if (slot < 0 || keep.count(slot) || producer[slot] != static_cast<int>(node)) continue;
      const Shape* shape = types.shape(name);
      const DType dtype = types.dtype(name);
      if (shape == nullptr || dtype == DType::kUndefined || dtype == DType::kString) continue;
      const int64_t count = shape_size(*shape);
      if (count <= 0) continue;
      const size_t plain = static_cast<size_t>(count) * dtype_size(dtype);
      const Executable::SlotBytes need =
          steps[step_of[node]].executable->planned_bytes(slot, plain);
      if (need.plain == 0 && need.backend == 0) continue;
      memory::UsageRecord record;
      // The fallback writes the plain tensor even where the accelerator never does.
      const size_t plain_bytes = steps[step_of[node]].reference ? plain : need.plain;
      record.bytes = memory::align_up(plain_bytes) + need.backend;
      record.first = first[slot];
      record.last = std::max(first[slot], last[slot]);
      // A donor's bytes can be taken when it is planned, dies at this node, is no fallback's
      // saved read and takes the same bytes in the same places.
      auto takes_over = [&](int donor) {
        return donor >= 0 && record_of[donor] >= 0 && !saved_read[donor] &&
               last[donor] == runs_at[node] &&
               plan.regions[static_cast<size_t>(donor)].plain_bytes == plain_bytes &&
               plan.regions[static_cast<size_t>(donor)].backend_bytes == need.backend;
      };
      int donor = -1;
      if (o == 0 && need.backend == 0 && n.op && reference::writes_in_place_safely(*n.op) &&
          steps[step_of[node]].executable->may_write_in_place(node) && !n.inputs.empty() &&
          !n.inputs[0].empty()) {
        const Shape* donor_shape = types.shape(n.inputs[0]);
        if (donor_shape != nullptr && *donor_shape == *shape && types.dtype(n.inputs[0]) == dtype) {
          donor = slots.find(n.inputs[0]);
        }
      }
      if (o == 0 && !takes_over(donor)) donor = steps[step_of[node]].executable->accumulates_into(node);
      if (takes_over(donor)) record.in_place_of = record_of[donor];
      record_of[slot] = static_cast<int64_t>(records.size());
      records.push_back(record);
      record_slot.push_back(slot);
      plan.regions[static_cast<size_t>(slot)] = {0, plain_bytes, need.backend};
    }
  }
  const memory::MemoryPlan placed = memory::plan_memory(records);
  for (size_t r = 0; r < records.size(); ++r) {
    plan.regions[static_cast<size_t>(record_slot[r])].offset = placed.offsets[r];
  }
  plan.arena_bytes = placed.arena_bytes;
  plan.planned_values = records.size();
  plan.in_place = placed.in_place;
  return plan;
}

// A graph output whose bytes are in the run's arena (a view of an intermediate) becomes an
// owned copy: the next run reuses the arena, the caller keeps the output.
void detach_from_arena(Value& v, const memory::Arena& arena) {
  if (v.is_tensor()) {
    if (arena.contains(v.tensor().raw_data())) v = Value(v.tensor().clone());
    return;
  }
  bool inside = false;
  for (const Tensor& item : v.items()) inside |= arena.contains(item.raw_data());
  if (!inside) return;
  std::vector<Tensor> items;
  for (const Tensor& item : v.items()) items.push_back(item.clone());
  v = Value::sequence(v.element_dtype(), std::move(items));
}

// Lets the backends of the build at prepare give back the copies of the weights they pack: a
// constant waits for a release from every node input that reads it, and stays whenever it is
// also read otherwise (a graph output, a subgraph's outer reference).
void expect_releases(const ir::Graph& graph, memory::EvictionWindow& window) {
  std::map<std::string, size_t> readers;
  std::set<std::string> pinned;
  for (const ir::ValueInfo& out : graph.outputs) pinned.insert(out.name);
  for (const ir::Node& node : graph.nodes) {
    size_t inputs = 0;
    for (const std::string& in : node.inputs) {
      if (in.empty()) continue;
      ++readers[in];
      ++inputs;
    }
    // node_reads lists the node's inputs first, then its subgraphs' outer references.
    const std::vector<std::string> reads = node_reads(node);
    for (size_t i = inputs; i < reads.size(); ++i) pinned.insert(reads[i]);
  }
  for (const auto& [name, tensor] : graph.initializers) {
    if (pinned.count(name)) {
      window.pin(tensor.raw_data());
    } else if (auto it = readers.find(name); it != readers.end()) {
      window.expect(tensor.raw_data(), it->second);
    }
  }
}

// Makes the constants that `step` reads in memory (any given back at prepare come back).
void ensure_constants_resident(const ir::Graph& graph, const Step& step) {
  for (size_t index : step.nodes) {
    for (const std::string& name : node_reads(graph.nodes[index])) {
      auto it = graph.initializers.find(name);
      if (it != graph.initializers.end()) memory::ensure_resident(it->second.raw_data());
    }
  }
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
  program->input_shapes_ = input_shapes;
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

  std::optional<memory::EvictionWindow> eviction;
  if (hooks.release_packed_constants) expect_releases(graph, eviction.emplace());

  program->types_ = infer_value_types(graph, input_shapes);
  const ValueTypes& types = program->types_;
  ER_ASSIGN_OR_RETURN(PartitionPlan plan, partition_graph(graph, backends, types));
  program->reasons_ = std::move(plan.reasons);

  // Each value is dropped after its last reader in execution order, unless it is a graph output
  // or a constant (the program owns those; a run's value table keeps them between runs).
  std::set<int> keep(program->output_slots_.begin(), program->output_slots_.end());
  program->constant_slot_.assign(slots.size(), 0);
  for (const auto& [slot, value] : program->constants_) {
    keep.insert(slot);
    program->constant_slot_[static_cast<size_t>(slot)] = 1;
  }
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
    // A step that may fall back keeps the values it reads from outside until it ends.
    std::vector<int> release_after_step;
    if (hooks.reference != nullptr && planned.backend->name() != hooks.reference->name()) {
      std::set<int> written;
      std::set<int> outside;
      for (size_t index : planned.nodes) {
        const ir::Node& node = graph.nodes[index];
        for (const std::string& name : node_reads(node)) {
          const int slot = slots.find(name);
          if (slot >= 0 && !written.count(slot)) outside.insert(slot);
        }
        for (const std::string& out : node.outputs) {
          const int slot = out.empty() ? -1 : slots.find(out);
          if (slot >= 0) written.insert(slot);
        }
      }
      for (size_t index : planned.nodes) {
        std::vector<int>& r = release[index];
        for (int slot : r) {
          if (outside.count(slot)) release_after_step.push_back(slot);
        }
        std::erase_if(r, [&](int slot) { return outside.count(slot) > 0; });
      }
    }
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
    step.release_after_step = std::move(release_after_step);
    // Any reference instance runs its partitions exactly; only the others get a fallback.
    if (hooks.reference != nullptr && planned.backend->name() != hooks.reference->name()) {
      ER_RETURN_IF_ERROR(add_fallback(graph, slots, partition, *hooks.reference, step));
      if (hooks.breaker_for) step.breaker = hooks.breaker_for(*planned.backend, step.nodes);
    }
    program->steps_.push_back(std::move(step));
  }
  for (const Step& step : program->steps_) {
    if (step.executable->reads_constants_during_runs()) ensure_constants_resident(graph, step);
  }
  program->arena_plan_ =
      plan_arena(graph, slots, program->steps_, types, program->output_slots_);
  program->arena_pool_ = std::make_unique<memory::ArenaPool>(program->arena_plan_.arena_bytes);
  return program;
}

bool Program::specialised_for(const std::vector<Value>& inputs) const {
  if (input_shapes_.empty() || inputs.size() != input_shapes_.size()) return false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].is_tensor() || inputs[i].tensor().shape() != input_shapes_[i]) return false;
  }
  return true;
}

bool Program::specialised_for(std::span<const Tensor* const> inputs) const {
  if (input_shapes_.empty() || inputs.size() != input_shapes_.size()) return false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i]->shape() != input_shapes_[i]) return false;
  }
  return true;
}

void Program::trip_breakers(const std::string& reason) const {
  for (const Step& step : steps_) {
    if (step.breaker != nullptr) step.breaker->trip(reason);
  }
}

Status Program::run_on_reference(const Step& step, ExecutionFrame& frame,
                                 const RunContext& context) const {
  // Back to the state before the step: its inputs are still in the frame (released only after
  // the step), none of its outputs are.
  for (int slot : step.written_slots) frame.values[static_cast<size_t>(slot)] = Value();
  // The accelerated step may have packed weights whose copies were given back at prepare.
  std::call_once(*step.constants_resident, [&] { ensure_constants_resident(*graph_, step); });
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
  const CircuitBreaker::Route route =
      step.breaker != nullptr ? step.breaker->route() : CircuitBreaker::Route::kAccelerated;
  if (route == CircuitBreaker::Route::kReference) {
    count(context, FailureKind::kFallback);
    return run_on_reference(step, frame, context);
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
    ER_RETURN_IF_ERROR(run_on_reference(step, frame, context));
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
  return run_on_reference(step, frame, context);
}

Program::ValueTableLease::ValueTableLease(const Program& program, ExecutionFrame& frame)
    : program_(program), frame_(frame) {
  {
    std::lock_guard<std::mutex> lock(program_.tables_mutex_);
    if (!program_.idle_tables_.empty()) {
      table_ = std::move(program_.idle_tables_.back());
      program_.idle_tables_.pop_back();
    }
  }
  if (table_.values.empty()) {
    table_.values.assign(program_.slots_.size(), Value());
    for (const auto& [slot, value] : program_.constants_) {
      table_.values[static_cast<size_t>(slot)] = value;
    }
    table_.kept.assign(program_.slots_.size(), Value());
    table_.bound_outputs.assign(program_.slots_.size(), nullptr);
  }
  frame_.values = std::move(table_.values);
  frame_.kept = &table_.kept;
  frame_.bound_outputs = &table_.bound_outputs;
}

Program::ValueTableLease::~ValueTableLease() {
  // Drop what the run left (an output it also returned, values of a failed run), keeping its
  // borrowed tensors for the next run, and keep the constants.
  for (size_t slot = 0; slot < frame_.values.size(); ++slot) {
    if (!program_.constant_slot_[slot]) frame_.release(static_cast<int>(slot));
  }
  for (int slot : program_.output_slots_) table_.bound_outputs[static_cast<size_t>(slot)] = nullptr;
  table_.values = std::move(frame_.values);
  std::lock_guard<std::mutex> lock(program_.tables_mutex_);
  program_.idle_tables_.push_back(std::move(table_));
}

void Program::attach(ExecutionFrame& frame, const memory::ArenaLease& lease,
                     const RunContext& context) const {
  if (const memory::Arena* arena = lease.get()) {
    frame.arena_plan = &arena_plan_;
    frame.arena = arena->data();
  }
  frame.slots = &slots_;
  frame.control = context.control;
  frame.profile = context.profile;
}

Status Program::run_steps(ExecutionFrame& frame, const RunContext& context) const {
  for (size_t s = 0; s < steps_.size(); ++s) {
    ER_RETURN_IF_ERROR(frame.stop_status());
    const double step_start_us = profile_start(context.profile);
    ER_RETURN_IF_ERROR(run_step(steps_[s], frame, context));
    for (int slot : steps_[s].release_after_step) frame.release(slot);
    if (context.profile != nullptr) {
      record_step(*context.profile, step_start_us, s, steps_[s].backend->name());
    }
  }
  if (frame.arena_misses > 0) {
    arena_misses_.fetch_add(frame.arena_misses, std::memory_order_relaxed);
  }
  return Status::ok();
}

Result<std::vector<Value>> Program::run(std::vector<Value> inputs,
                                        const RunContext& context) const {
  Profile* profile = context.profile;
  const double run_start_us = profile_start(profile);
  // Every exit returns the arena to the pool (the lease is destroyed after the frame).
  const memory::ArenaLease lease = arena_pool_->acquire();
  ExecutionFrame frame;
  const ValueTableLease table(*this, frame);  // the constants are in place already
  attach(frame, lease, context);
  for (size_t i = 0; i < inputs.size() && i < input_slots_.size(); ++i) {
    frame.values[static_cast<size_t>(input_slots_[i])] = std::move(inputs[i]);
  }
  ER_RETURN_IF_ERROR(run_steps(frame, context));
  std::vector<Value> outputs;
  outputs.reserve(output_slots_.size());
  for (int slot : output_slots_) {
    const Value& v = frame.values[static_cast<size_t>(slot)];
    if (v.empty()) {
      return runtime_error("graph output '" + slots_.name(slot) + "' was not produced");
    }
    outputs.push_back(v);
    if (lease.get() != nullptr) detach_from_arena(outputs.back(), *lease.get());
  }
  if (profile != nullptr) record_run(*profile, run_start_us);
  return outputs;
}

Status Program::run_into(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
                         const RunContext& context) const {
  Profile* profile = context.profile;
  const double run_start_us = profile_start(profile);
  const memory::ArenaLease lease = arena_pool_->acquire();
  ExecutionFrame frame;
  const ValueTableLease table(*this, frame);
  attach(frame, lease, context);
  for (size_t i = 0; i < inputs.size() && i < input_slots_.size(); ++i) {
    const int slot = input_slots_[i];
    const Tensor& t = *inputs[i];
    // Kernels never write into their inputs; the caller keeps the tensor for the call.
    frame.values[static_cast<size_t>(slot)] =
        t.dtype() == DType::kString
            ? Value(t)
            : Value(frame.borrow(slot, t.dtype(), t.shape(), const_cast<void*>(t.raw_data())));
  }
  for (size_t i = 0; i < outputs.size() && i < output_slots_.size(); ++i) {
    (*frame.bound_outputs)[static_cast<size_t>(output_slots_[i])] = outputs[i];
  }
  ER_RETURN_IF_ERROR(run_steps(frame, context));
  for (size_t i = 0; i < outputs.size() && i < output_slots_.size(); ++i) {
    Tensor* target = outputs[i];
    if (target == nullptr) continue;
    const int slot = output_slots_[i];
    const Value& v = frame.values[static_cast<size_t>(slot)];
    if (v.empty()) {
      return runtime_error("graph output '" + slots_.name(slot) + "' was not produced");
    }
    if (!v.is_tensor() || v.tensor().dtype() != target->dtype() ||
        v.tensor().shape() != target->shape()) {
      return output_mismatch(slots_.name(slot), describe_value(v), *target);
    }
    copy_into(v.tensor(), *target);
  }
  if (profile != nullptr) record_run(*profile, run_start_us);
  return Status::ok();
}

}  // namespace edgerun::runtime
