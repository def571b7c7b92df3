// Static shape inference: from the shapes of a specialisation's graph inputs and the graph's
// initializers, the concrete shape of every node output that follows from them, plus the values
// of small tensors fixed at prepare time (shape arithmetic such as Shape -> Gather -> Concat ->
// Reshape), so that backends can build their primitives before the first run.
#pragma once

#include "backends/backend.h"
#include "ir/graph.h"

namespace edgerun::runtime {

// Fills `types.shapes` and `types.values` for node outputs of the main graph (subgraph bodies
// are not visited) that follow from what `types` already knows. Never fails: a node without a
// rule, with unknown inputs or with inconsistent ones (a malformed model) leaves its outputs
// unknown, and the run then reports the error. A shape it does fill is exact.
void infer_shapes(const ir::Graph& graph, ValueTypes& types);

}  // namespace edgerun::runtime
