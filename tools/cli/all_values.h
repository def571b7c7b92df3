// A model with every intermediate value exposed as a graph output, so one run returns them all:
// for `parity --per-node` (where values first diverge) and `inspect --plan` (their shapes, for
// FLOP counts).
#pragma once

#include <string>
#include <vector>

#include "edgerun/edgerun.hpp"

namespace edgerun::cli {

// A node output of the main graph, in execution order.
struct ProducedValue {
  std::string value;
  std::string node;
  std::string op;
};

struct ExpandedModel {
  ModelArtifact artifact;
  std::vector<ProducedValue> values;
};

// The model with every node output of its main graph added to the graph outputs, so a run
// returns each intermediate value (partitions then materialise them, which does not change what
// each node computes).
Result<ExpandedModel> with_every_value_as_output(const std::string& path);

}  // namespace edgerun::cli
