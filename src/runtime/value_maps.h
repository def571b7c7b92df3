// Conversions between the tensor-only maps of PreparedModel::run and the value maps of
// run_values, shared by every API that offers both.
#pragma once

#include "edgerun/edgerun.hpp"

namespace edgerun::runtime {

ValueMap to_value_map(const TensorMap& tensors);
// Fails (kUnsupported, naming the output) when an output is a sequence or an optional.
Result<TensorMap> to_tensor_map(ValueMap values);

}  // namespace edgerun::runtime
