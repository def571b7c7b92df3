// Fusion: scaled dot-product attention as exporters spell it per head group,
//   Qt = Transpose(Q), Kt = Transpose(K), Vt = Transpose(V)     (the heads moved before the sequence)
//   P  = Softmax(MatMul(Qt [scaled], Kt) [scaled] [+ mask], last axis)
//   Y  = Transpose(MatMul(P, Vt))                               (back to sequence-major)
// where exactly one of the two [scaled] places divides or multiplies by a constant scalar (or
// neither does), becomes one Attention (ai.edgerun, internal) on the untransposed Q, K, V.
// PyTorch's nn.MultiheadAttention exports it on [S, B*H, D] with perms [1,0,2] (Q, V, Y) and
// [1,2,0] (K), scaling Q (BERT, ViT); per-head BERT code exports it on [B, S, H, D] with perms
// [0,2,1,3] and [0,2,3,1], scaling the scores and adding a mask. The Transposes fold into the
// fused op, which reads Q, K and V in place and writes Y sequence-major.
#pragma once

#include <cstddef>

#include "ir/graph.h"

namespace edgerun::opt {

// Exact pattern only: Softmax over the last axis; the exact perms above for the rank (3 or 4) of
// float32 Q, K, V of known, agreeing shapes; a scale that is a float32 constant with one
// element; a mask (float32) that broadcasts to the scores without widening them; every
// intermediate read only by the next node of the pattern. Anything else is left alone. In
// place; returns how many were fused.
size_t fuse_attention(ir::Graph& graph);

}  // namespace edgerun::opt
