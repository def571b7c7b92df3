// Fusion: x * Sigmoid(x), how PyTorch exports nn.SiLU (either operand order), becomes one Swish
// (ai.edgerun, internal), and x * Sigmoid(x * alpha) with a constant scalar alpha becomes Swish
// with that alpha: oneDNN then runs it as one eltwise_swish, or as a post-op of the convolution
// or product before it, instead of a Sigmoid and a binary Mul that reads x a second time. A
// Sigmoid whose output gates another tensor (squeeze-and-excitation's x * Sigmoid(fc(pool(x))))
// is not a Swish and stays.
#pragma once

#include <cstddef>

#include "ir/graph.h"

namespace edgerun::opt {

// In place, not inside subgraphs; returns how many were fused. The Sigmoid's output (and the
// scaling Mul's, when there is one) must be read by the next node of the pattern alone; alpha
// must be a float32 constant of rank 0, so that it cannot broadcast x to a higher rank.
size_t fuse_swish(ir::Graph& graph);

}  // namespace edgerun::opt
