// Ops that pass values through or materialise attributes.
#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"

namespace edgerun::reference {

Status kernel_Identity(KernelContext& ctx) {
  ctx.set_output_value(0, ctx.input_value(0));
  return Status::ok();
}

Status kernel_Constant(KernelContext& ctx) {
  const ir::Node& node = ctx.node();
  if (node.attributes.size() != 1) {
    return invalid_model("Constant needs exactly one value attribute, got " +
                         std::to_string(node.attributes.size()));
  }
  const ir::Attribute& a = node.attributes[0];
  switch (a.type) {
    case ir::AttrType::kTensor: ctx.set_output(0, a.t); break;
    case ir::AttrType::kFloat: ctx.set_output(0, Tensor::scalar<float>(a.f)); break;
    case ir::AttrType::kInt: ctx.set_output(0, Tensor::scalar<int64_t>(a.i)); break;
    case ir::AttrType::kString: ctx.set_output(0, Tensor::scalar<std::string>(a.s)); break;
    case ir::AttrType::kFloats:
      ctx.set_output(0, Tensor::from_vector<float>({static_cast<int64_t>(a.floats.size())}, a.floats));
      break;
    case ir::AttrType::kInts:
      ctx.set_output(0, Tensor::from_vector<int64_t>({static_cast<int64_t>(a.ints.size())}, a.ints));
      break;
    case ir::AttrType::kStrings:
      ctx.set_output(0, Tensor::from_vector<std::string>({static_cast<int64_t>(a.strings.size())},
                                                         a.strings));
      break;
    default:
      return unsupported("Constant attribute '" + a.name + "' of type " +
                         std::string(ir::attr_type_name(a.type)) + " is not supported");
  }
  return Status::ok();
}

// edgerun runs inference, where Dropout passes its input through and keeps every element.
// Random dropping in training mode (opset 12+) is refused instead of faked.
Status kernel_Dropout(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  if (ctx.opset() >= 12 && ctx.has_input(2)) {
    std::vector<double> training;
    ER_ASSIGN_OR_RETURN(training, read_doubles(ctx.input(2), "Dropout training_mode"));
    double ratio = 0.5;
    if (ctx.has_input(1)) {
      std::vector<double> r;
      ER_ASSIGN_OR_RETURN(r, read_doubles(ctx.input(1), "Dropout ratio"));
      if (!r.empty()) ratio = r[0];
    }
    if (!training.empty() && training[0] != 0.0 && ratio != 0.0) {
      return unsupported("Dropout in training mode with ratio " + std::to_string(ratio) +
                         " is random; edgerun only runs inference");
    }
  }
  ctx.set_output_value(0, ctx.input_value(0));
  if (ctx.wants_output(1)) {
    // The mask is bool from opset 10; before that it had the input's float type.
    const DType mask_type = ctx.opset() >= 10 ? DType::kBool : data.dtype();
    Tensor mask(mask_type, data.shape());
    ER_RETURN_IF_ERROR(dispatch<NumericBoolTypes>(mask_type, "Dropout mask", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* m = mask.data<T>();
      for (int64_t i = 0; i < mask.size(); ++i) m[i] = static_cast<T>(compute_t<T>(1));
      return Status::ok();
    }));
    ctx.set_output(1, std::move(mask));
  }
  return Status::ok();
}

}  // namespace edgerun::reference
