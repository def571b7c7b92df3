#include "ir/constant_value.h"

namespace edgerun::ir {

Result<Tensor> constant_node_value(const Node& node) {
  if (node.attributes.size() != 1) {
    return invalid_model("Constant needs exactly one value attribute, got " +
                         std::to_string(node.attributes.size()));
  }
  const Attribute& a = node.attributes[0];
  const auto length = [](size_t n) { return Shape{static_cast<int64_t>(n)}; };
  switch (a.type) {
    case AttrType::kTensor: return a.t;
    case AttrType::kFloat: return Tensor::scalar<float>(a.f);
    case AttrType::kInt: return Tensor::scalar<int64_t>(a.i);
    case AttrType::kString: return Tensor::scalar<std::string>(a.s);
    case AttrType::kFloats: return Tensor::from_vector<float>(length(a.floats.size()), a.floats);
    case AttrType::kInts: return Tensor::from_vector<int64_t>(length(a.ints.size()), a.ints);
    case AttrType::kStrings:
      return Tensor::from_vector<std::string>(length(a.strings.size()), a.strings);
    default:
      return unsupported("Constant attribute '" + a.name + "' of type " +
                         std::string(attr_type_name(a.type)) + " is not supported");
  }
}

}  // namespace edgerun::ir
