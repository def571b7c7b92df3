// Shape-arithmetic folding: once the graph inputs' shapes are fixed (declared, or bound at
// prepare by PrepareOptions::input_shapes / dim_values), the values shape inference knows
// (ValueTypes::values: Shape -> Gather -> Unsqueeze -> Concat chains feeding a Reshape, sizes,
// small constants) become initializers and the nodes that computed them are removed. Without it
// those nodes run on every call, each a step on the reference backend between accelerated ones.
#pragma once

#include <cstddef>

#include "ir/graph.h"

namespace edgerun::opt {

// Folds every node of the main graph whose outputs shape inference knows as values from the
// declared input shapes; values that depend on a dim that is not fixed (a symbolic batch) are
// not known, so they stay nodes and the model still runs for every shape. Graph outputs and
// nodes with subgraphs stay. In place; returns how many nodes were folded.
size_t fold_shape_values(ir::Graph& graph);

}  // namespace edgerun::opt
