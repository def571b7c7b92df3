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
  // Places every node on the first backend in `backends` (priority order) that supports it and
  // compiles runs of consecutive nodes with the same backend into steps. Errors name every node
  // no backend can run.
  static Result<std::unique_ptr<Program>> build(const ir::Graph& graph,
                                                const std::vector<const Backend*>& backends);

  // Runs with the graph's inputs in declaration order; returns its outputs in order.
  Result<std::vector<Value>> run(std::vector<Value> inputs) const;

  const std::vector<Step>& steps() const { return steps_; }

 private:
  const ir::Graph* graph_ = nullptr;
  SlotTable slots_;
  std::vector<int> input_slots_;
  std::vector<int> output_slots_;
  std::vector<std::pair<int, Value>> constants_;
  std::vector<Step> steps_;
};

}  // namespace edgerun::runtime
