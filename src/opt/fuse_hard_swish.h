// Fusion: x * HardSigmoid(x) with alpha = 1/6 and beta = 0.5, how PyTorch exports hardswish
// before opset 14, becomes one HardSwish (opset 14, used whatever the model's opset): oneDNN then
// runs it as one eltwise, or as a post-op of the convolution before it. A HardSigmoid whose
// output multiplies another tensor (squeeze-and-excitation's channel gate) is not a HardSwish
// and stays.
#pragma once

#include <cstddef>

#include "ir/graph.h"

namespace edgerun::opt {

// In place, not inside subgraphs; returns how many were fused. The HardSigmoid's output must be
// read by the Mul alone.
size_t fuse_hard_swish(ir::Graph& graph);

}  // namespace edgerun::opt
