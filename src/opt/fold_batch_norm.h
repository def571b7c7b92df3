// Folding: a BatchNormalization (inference) with constant parameters right after a Conv with
// constant weights is folded into the convolution, W' = W * s and B' = (B - mean) * s + bias per
// output channel with s = scale / sqrt(var + epsilon). At graph level, so every backend runs one
// convolution instead of a convolution and a pass over its output.
#pragma once

#include <cstddef>

#include "ir/graph.h"

namespace edgerun::opt {

// In place; returns how many were folded. The Conv's output must be read by the BN alone, every
// parameter a float32 constant of the right shape, the BN in inference mode (no training_mode,
// no statistics outputs, spatial). The folded weights are new initializers (the old ones may be
// shared). The result differs from the unfolded graph by rounding only.
size_t fold_batch_norm(ir::Graph& graph);

}  // namespace edgerun::opt
