// Fusion: the exact GELU as exporters write it, x * (erf(x / sqrt(2)) + 1) * 0.5 spread over five
// nodes (Div or Mul, Erf, Add, Mul, Mul, in any operand order and either association of the two
// Muls), becomes one Gelu node (ONNX opset 20). Backends then run it as one kernel (oneDNN's
// gelu_erf, also as a post-op of the MatMul before it) instead of five passes over memory.
#pragma once

#include "ir/graph.h"

namespace edgerun::opt {

// Rewrites every match in `graph` (not in subgraphs) in place; returns how many were fused. An
// intermediate read by anything else, or a graph output, prevents the match.
size_t fuse_gelu(ir::Graph& graph);

}  // namespace edgerun::opt
