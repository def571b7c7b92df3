#include "runtime/value_maps.h"

namespace edgerun::runtime {

ValueMap to_value_map(const TensorMap& tensors) {
  ValueMap values;
  for (const auto& [name, tensor] : tensors) values[name] = Value(tensor);
  return values;
}

Result<TensorMap> to_tensor_map(ValueMap values) {
  TensorMap tensors;
  for (auto& [name, value] : values) {
    if (!value.is_tensor()) {
      return unsupported("output '" + name + "' is not a tensor; use run_values()");
    }
    tensors[name] = std::move(value.tensor());
  }
  return tensors;
}

}  // namespace edgerun::runtime
