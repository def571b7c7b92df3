// Fusion: layer normalisation as exporters decompose it (PyTorch at opsets before 17),
//   m = ReduceMean(x, last axis); d = x - m; v = ReduceMean(Pow(d, 2), last axis);
//   y = d / Sqrt(v + eps) * scale + bias
// becomes one LayerNormalization (ONNX opset 17, used whatever the model's opset, as Gelu is):
// one oneDNN layer_normalization primitive instead of nine passes over the activations.
#pragma once

#include <cstddef>

#include "ir/graph.h"

namespace edgerun::opt {

// Exact pattern only: both ReduceMeans over the last axis alone with keepdims, a Pow exponent of
// exactly 2, a scalar float32 epsilon, float32 x of known shape [..., C], scale (and, when the
// Add follows, bias) float32 constants of shape [C]; the intermediates read by nothing else.
// Anything else is left alone. In place; returns how many were fused.
size_t fuse_layer_norm(ir::Graph& graph);

}  // namespace edgerun::opt
