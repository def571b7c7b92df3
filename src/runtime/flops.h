// How much arithmetic a node does, for coverage reports (`edgerun inspect --plan`) and
// achieved-GFLOP/s figures: FLOPs with a multiply-add counted as two.
#pragma once

#include <vector>

#include "edgerun/tensor.hpp"
#include "ir/graph.h"

namespace edgerun {

// Exact for the matrix ops that dominate real models (Conv, ConvTranspose, MatMul, Gemm and
// their quantised forms: 2 x output elements x reduction length, plus bias); pooling counts one
// operation per window element; everything else one operation per element of its largest input
// or output. Shapes are those of the node's inputs and outputs in order; an omitted optional
// value has an empty entry.
double node_flops(const ir::Node& node, const std::vector<Shape>& inputs,
                  const std::vector<Shape>& outputs);

}  // namespace edgerun
