#include "edgerun/value.hpp"

#include <string>

namespace edgerun {

std::string describe_value(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kEmpty: return "no value";
    case Value::Kind::kNone: return "optional(none)";
    case Value::Kind::kTensor:
      return std::string(dtype_name(value.tensor().dtype())) + shape_to_string(value.tensor().shape());
    case Value::Kind::kSequence:
      return "sequence<" + std::string(dtype_name(value.element_dtype())) + ">[" +
             std::to_string(value.items().size()) + "]";
  }
  return "?";
}

}  // namespace edgerun
