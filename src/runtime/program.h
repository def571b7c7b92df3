// A graph compiled for execution: slots for its values and an ordered list of steps, each a
// partition compiled by one backend.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "edgerun/status.hpp"
#include "edgerun/value.hpp"
#include "ir/graph.h"
#include "memory/arena_pool.h"
#include "runtime/circuit_breaker.h"
#include "runtime/event_log.h"
#include "runtime/telemetry.h"

namespace edgerun::runtime {

struct Step {
  const Backend* backend = nullptr;
  std::vector<size_t> nodes;  // indices into the graph's nodes
  std::unique_ptr<Executable> executable;

  // Accelerated steps only (null/empty on the reference): the same partition compiled by the
  // reference backend, run when the breaker is open or the accelerated run fails; the slots the
  // partition reads from outside itself (restored before a rerun, since the failed run may have
  // released them) and the slots it writes.
  std::unique_ptr<Executable> reference;
  std::vector<int> read_slots;
  std::vector<int> written_slots;
  // Slots whose last reader is in this step but which a fallback may still need: they are
  // dropped when the step ends rather than inside it, so a rerun finds them in the frame.
  std::vector<int> release_after_step;
  CircuitBreaker* breaker = nullptr;  // owned by the prepared model; outlives the program
  // The first reference rerun brings back the weights prepare gave back (nothing leaves memory
  // after prepare, so later reruns skip the check).
  std::shared_ptr<std::once_flag> constants_resident = std::make_shared<std::once_flag>();
};

// What a Program::build needs beyond the graph: the fallback backend and where breakers live.
struct SafetyHooks {
  const Backend* reference = nullptr;  // null: steps get no fallback
  // The breaker of an accelerated partition, the same one for every specialisation.
  std::function<CircuitBreaker*(const Backend&, const std::vector<size_t>&)> breaker_for;
  // Set only for the build at prepare, before the model can run: a backend that packs every
  // read of a weight may give back the weight's reloadable copy (memory/reloadable_copies.h).
  bool release_packed_constants = false;
};

// What one run reports to and is controlled by; every pointer may be null.
struct RunContext {
  const RunControl* control = nullptr;
  Telemetry* telemetry = nullptr;
  EventLog* log = nullptr;
  const SafetyOptions* safety = nullptr;
  Profile* profile = nullptr;  // when set, the run, each step and each node are recorded
};

class Program {
 public:
  // Places the nodes on `backends` (priority order; the last one takes what the others leave)
  // with the partitioner and compiles each partition into a step. `input_shapes` (graph input
  // order; empty when not known) are the shapes of the specialisation being built. Errors name
  // every node no backend can run.
  static Result<std::unique_ptr<Program>> build(const ir::Graph& graph,
                                                const std::vector<const Backend*>& backends,
                                                const std::vector<Shape>& input_shapes = {},
                                                const SafetyHooks& hooks = {});

  // Runs with the graph's inputs in declaration order; returns its outputs in order. Between
  // steps it honours `context.control`; accelerated steps go through their breakers and fall
  // back to the reference when they fail.
  Result<std::vector<Value>> run(std::vector<Value> inputs, const RunContext& context = {}) const;
  // Runs with the graph's inputs (declaration order, tensors the caller keeps for the call; not
  // copied) and writes each graph output that has a tensor in `outputs` (declaration order;
  // null: not wanted) into it. Each must have the output's dtype and shape: kernels that can
  // write the result there directly do; the others' results are copied in at the end. An
  // output of another dtype or shape fails the run, naming both, and is not written. Once warm,
  // a run over the same tensors builds no tensor and allocates nothing here (ExecutionFrame::
  // kept); what backends allocate inside is theirs.
  Status run_into(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
                  const RunContext& context = {}) const;

  const std::vector<Step>& steps() const { return steps_; }
  // Whether `inputs` (graph input order) are tensors of exactly the shapes this program was
  // specialised for; false for a program built without shapes.
  bool specialised_for(const std::vector<Value>& inputs) const;
  bool specialised_for(std::span<const Tensor* const> inputs) const;
  // What prepare knew about every value of this specialisation (backends see it at compile).
  const ValueTypes& value_types() const { return types_; }
  // Trips the breaker of every accelerated step (the memory limit is process-wide).
  void trip_breakers(const std::string& reason) const;
  // Per node of the graph: why it is not on an earlier backend in the priority order ("" when
  // it runs on the first backend that was asked).
  const std::vector<std::string>& placement_reasons() const { return reasons_; }
  // Where this specialisation's planned intermediates live in a run's arena, and its size (the
  // planned peak), known before the first run.
  const ArenaPlan& arena_plan() const { return arena_plan_; }
  // Arenas allocated so far: the most runs that were ever in flight at once (0 when nothing is
  // planned). Steady-state runs take an idle one.
  size_t arenas_created() const { return arena_pool_ ? arena_pool_->arenas_created() : 0; }
  // Tensors of planned values that did not fit their region (a shape the plan did not foresee)
  // and went to the heap instead, over all runs.
  uint64_t arena_misses() const { return arena_misses_.load(std::memory_order_relaxed); }

 private:
  // What a run's frame keeps between runs, by slot: the values (constants set), the borrowed
  // tensors earlier runs left (ExecutionFrame::kept) and the caller's bound outputs.
  struct ValueTable {
    std::vector<Value> values;
    std::vector<Value> kept;
    std::vector<Tensor*> bound_outputs;
  };
  // A run's value table, taken from the idle ones (or built) into `frame` and given back when
  // the run ends: copying the constants into a fresh table allocated per constant and run.
  class ValueTableLease {
   public:
    ValueTableLease(const Program& program, ExecutionFrame& frame);
    ~ValueTableLease();
    ValueTableLease(const ValueTableLease&) = delete;
    ValueTableLease& operator=(const ValueTableLease&) = delete;

   private:
    const Program& program_;
    ExecutionFrame& frame_;
    ValueTable table_;
  };

  // Points `frame` at the run's arena, the slots and the context's control and profile.
  void attach(ExecutionFrame& frame, const memory::ArenaLease& lease,
              const RunContext& context) const;
  // The steps of one run over a frame whose inputs are set.
  Status run_steps(ExecutionFrame& frame, const RunContext& context) const;
  Status run_step(const Step& step, ExecutionFrame& frame, const RunContext& context) const;
  Status run_on_reference(const Step& step, ExecutionFrame& frame,
                          const RunContext& context) const;

  const ir::Graph* graph_ = nullptr;
  SlotTable slots_;
  std::vector<int> input_slots_;
  std::vector<Shape> input_shapes_;  // of the specialisation; empty when built without
  std::vector<int> output_slots_;
  std::vector<std::pair<int, Value>> constants_;
  std::vector<char> constant_slot_;  // by slot: holds one of constants_ (never released)
  mutable std::mutex tables_mutex_;
  mutable std::vector<ValueTable> idle_tables_;
  ValueTypes types_;  // Partitions point here, so it lives as long as the steps.
  std::vector<Step> steps_;
  std::vector<std::string> reasons_;
  ArenaPlan arena_plan_;
  std::unique_ptr<memory::ArenaPool> arena_pool_;
  mutable std::atomic<uint64_t> arena_misses_{0};
};

}  // namespace edgerun::runtime
