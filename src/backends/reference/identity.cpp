// Ops that pass values through or materialise attributes.
#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "ir/constant_value.h"

namespace edgerun::reference {

Status kernel_Identity(KernelContext& ctx) {
  ctx.set_output_value(0, ctx.input_value(0));
  return Status::ok();
}

Status kernel_Constant(KernelContext& ctx) {
  ER_ASSIGN_OR_RETURN(Tensor value, ir::constant_node_value(ctx.node()));
  ctx.set_output(0, std::move(value));
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
