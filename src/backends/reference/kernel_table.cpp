#include "backends/reference/kernel.h"

namespace edgerun::reference {

KernelFn kernel_for(ir::Op op) {
  switch (op) {
#define OP(id, domain, onnx_name, min_opset, max_opset) \
  case ir::Op::id:                                      \
    return &kernel_##id;
#include "ir/ops.def"
#undef OP
  }
  return nullptr;
}

}  // namespace edgerun::reference
