// The dtype and shape passes: what a graph's values are known to be before it runs, so backends can claim
// nodes by dtype (and, where known, by shape) at prepare time.
#pragma once

#include <vector>

#include "backends/backend.h"
#include "ir/graph.h"

namespace edgerun::runtime {

// Dtypes of graph inputs, initializers, annotated values and every node output whose dtype
// follows from its op and inputs; shapes of initializers and of graph inputs (from
// `input_shapes`, in input order, when given, else from fully known declarations), and by shape
// inference (runtime/shape_inference.h) the shapes and small values that follow from them.
ValueTypes infer_value_types(const ir::Graph& graph, const std::vector<Shape>& input_shapes);

}  // namespace edgerun::runtime
