// Constant folding: a node whose inputs are all initializers is computed once, at prepare, by
// its reference kernel, and its outputs become initializers. Exporters leave such nodes behind
// (a weight transposed in the graph, a scale computed from constants); folded, the weight is a
// constant a backend packs once instead of a value recomputed and repacked on every run.
#pragma once

#include <cstddef>

#include "ir/graph.h"

namespace edgerun::opt {

// Folds in graph order (a folded output may make its readers foldable), in place, not inside
// subgraphs. Nodes that cannot be evaluated ahead (reference::may_evaluate_ahead), whose kernel
// fails (the run reports it), or whose outputs would be much larger than their inputs (an
// Expand or ConstantOfShape that would bloat the model) stay. Returns how many were folded.
size_t fold_constants(ir::Graph& graph);

}  // namespace edgerun::opt
