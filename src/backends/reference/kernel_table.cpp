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

bool writes_in_place_safely(ir::Op op) {
  switch (op) {
    case ir::Op::Add:
    case ir::Op::Sub:
    case ir::Op::Mul:
    case ir::Op::Div:
    case ir::Op::Relu:
    case ir::Op::LeakyRelu:
    case ir::Op::Elu:
    case ir::Op::Sigmoid:
    case ir::Op::HardSigmoid:
    case ir::Op::HardSwish:
    case ir::Op::Swish:
    case ir::Op::Tanh:
    case ir::Op::Exp:
    case ir::Op::Log:
    case ir::Op::Sqrt:
    case ir::Op::Neg:
    case ir::Op::Abs:
    case ir::Op::Erf:
    case ir::Op::Gelu:
    case ir::Op::Softplus: return true;
    default: return false;
  }
}

bool writes_fresh_outputs(ir::Op op) {
  if (writes_in_place_safely(op)) return true;
  switch (op) {
    case ir::Op::Softmax:
    case ir::Op::LogSoftmax:
    case ir::Op::MatMul:
    case ir::Op::Gemm:
    case ir::Op::Conv:
    case ir::Op::Concat:
    case ir::Op::Transpose:
    case ir::Op::Gather:
    case ir::Op::LayerNormalization:
    case ir::Op::BatchNormalization: return true;
    default: return false;
  }
}

}  // namespace edgerun::reference
