// Optional ops. An optional holding a value is that value itself; the empty optional is
// Value::none() (see edgerun/value.hpp).
#include "backends/reference/kernel.h"

namespace edgerun::reference {

Status kernel_Optional(KernelContext& ctx) {
  if (ctx.has_input(0)) {
    ctx.set_output_value(0, ctx.input_value(0));
    return Status::ok();
  }
  // Without an input the 'type' attribute says what the empty optional would hold.
  if (!ctx.has_attr("type")) {
    return invalid_model("Optional without an input needs the 'type' attribute");
  }
  ctx.set_output_value(0, Value::none());
  return Status::ok();
}

Status kernel_OptionalHasElement(KernelContext& ctx) {
  // From opset 18 the input itself may be omitted, which counts as empty.
  const bool has = ctx.has_input(0) && !ctx.input_value(0).is_none();
  ctx.set_output(0, Tensor::scalar<bool>(has));
  return Status::ok();
}

Status kernel_OptionalGetElement(KernelContext& ctx) {
  const Value& v = ctx.input_value(0);
  if (v.is_none()) {
    return invalid_argument("OptionalGetElement on an empty optional; check it with "
                            "OptionalHasElement first");
  }
  ctx.set_output_value(0, v);
  return Status::ok();
}

}  // namespace edgerun::reference
