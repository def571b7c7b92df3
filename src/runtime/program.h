// A graph compiled for execution: slots for its values and an ordered list of steps, each a
// partition compiled by one backend.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "edgerun/status.hpp"
#include "edgerun/value.hpp"
#include "ir/graph.h"
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
  CircuitBreaker* breaker = nullptr;  // owned by the prepared model; outlives the program
};

// What a Program::build needs beyond the graph: the fallback backend and where breakers live.
struct SafetyHooks {
  const Backend* reference = nullptr;  // null: steps get no fallback
  // The breaker of an accelerated partition, the same one for every specialisation.
  std::function<CircuitBreaker*(const Backend&, const std::vector<size_t>&)> breaker_for;
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

  const std::vector<Step>& steps() const { return steps_; }
  // What prepare knew about every value of this specialisation (backends see it at compile).
  const ValueTypes& value_types() const { return types_; }
  // Trips the breaker of every accelerated step (the memory limit is process-wide).
  void trip_breakers(const std::string& reason) const;
  // Per node of the graph: why it is not on an earlier backend in the priority order ("" when
  // it runs on the first backend that was asked).
  const std::vector<std::string>& placement_reasons() const { return reasons_; }

 private:
  Status run_step(const Step& step, ExecutionFrame& frame, const RunContext& context) const;
  Status run_on_reference(const Step& step, ExecutionFrame& frame, const RunContext& context,
                          const std::vector<Value>& saved_reads) const;

  const ir::Graph* graph_ = nullptr;
  SlotTable slots_;
  std::vector<int> input_slots_;
  std::vector<int> output_slots_;
  std::vector<std::pair<int, Value>> constants_;
  ValueTypes types_;  // Partitions point here, so it lives as long as the steps.
  std::vector<Step> steps_;
  std::vector<std::string> reasons_;
};

}  // namespace edgerun::runtime
