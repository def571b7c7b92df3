// A graph compiled for execution: slots for its values and an ordered list of steps, each a
// partition compiled by one backend.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "edgerun/status.hpp"
#include "edgerun/value.hpp"
#include "ir/graph.h"

namespace edgerun::runtime {

struct Step {
  const Backend* backend = nullptr;
  std::vector<size_t> nodes;  // indices into the graph's nodes
  std::unique_ptr<Executable> executable;
};

class Program {
 public:
  // Places the nodes on `backends` (priority order; the last one takes what the others leave)
  // with the partitioner and compiles each partition into a step. `input_shapes` (graph input
  // order; empty when not known) are the shapes of the specialisation being built. Errors name
  // every node no backend can run.
  static Result<std::unique_ptr<Program>> build(const ir::Graph& graph,
                                                const std::vector<const Backend*>& backends,
                                                const std::vector<Shape>& input_shapes = {});

  // Runs with the graph's inputs in declaration order; returns its outputs in order. With a
  // `profile`, the run, each step and each node are recorded in it.
  Result<std::vector<Value>> run(std::vector<Value> inputs, Profile* profile = nullptr) const;

  const std::vector<Step>& steps() const { return steps_; }
  // What prepare knew about every value of this specialisation (backends see it at compile).
  const ValueTypes& value_types() const { return types_; }
  // Per node of the graph: why it is not on an earlier backend in the priority order ("" when
  // it runs on the first backend that was asked).
  const std::vector<std::string>& placement_reasons() const { return reasons_; }

 private:
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
