// The tensor a Constant node produces, from whichever value attribute it carries.
#pragma once

#include "edgerun/status.hpp"
#include "edgerun/tensor.hpp"
#include "ir/graph.h"

namespace edgerun::ir {

// value (a tensor), value_float(s), value_int(s) or value_string(s); sparse_value is unsupported.
Result<Tensor> constant_node_value(const Node& node);

}  // namespace edgerun::ir
