#include "runtime/value_types.h"

#include "runtime/shape_inference.h"

namespace edgerun::runtime {
namespace {

// Output dtype of `node` from its inputs' dtypes, or kUndefined when the op's rule is not here.
// Conservative: an op missing from these lists only makes its consumers unclaimable.
DType output_dtype(const ir::Node& node, size_t output, const ValueTypes& types) {
  if (!node.op) return DType::kUndefined;
  auto in = [&](size_t i) {
    return i < node.inputs.size() ? types.dtype(node.inputs[i]) : DType::kUndefined;
  };
  switch (*node.op) {
    case ir::Op::Shape:
    case ir::Op::Size:
    case ir::Op::ArgMax:
    case ir::Op::ArgMin:
    case ir::Op::NonZero: return DType::kInt64;
    case ir::Op::Equal:
    case ir::Op::Less:
    case ir::Op::LessOrEqual:
    case ir::Op::Greater:
    case ir::Op::GreaterOrEqual:
    case ir::Op::Not:
    case ir::Op::And:
    case ir::Op::Or:
    case ir::Op::Xor:
    case ir::Op::IsNaN:
    case ir::Op::IsInf: return DType::kBool;
    case ir::Op::Cast: {
      const int64_t to = node.attr_int("to", 0);
      return to >= 1 && to <= 16 ? static_cast<DType>(to) : DType::kUndefined;
    }
    case ir::Op::Where: return in(1);
    // Ops whose outputs all have the dtype of input 0.
    case ir::Op::Identity:
    case ir::Op::Relu:
    case ir::Op::LeakyRelu:
    case ir::Op::Sigmoid:
    case ir::Op::Tanh:
    case ir::Op::Elu:
    case ir::Op::Clip:
    case ir::Op::HardSwish:
    case ir::Op::Swish:
    case ir::Op::Gelu:
    case ir::Op::Attention:
    case ir::Op::HardSigmoid:
    case ir::Op::Softplus:
    case ir::Op::Exp:
    case ir::Op::Log:
    case ir::Op::Sqrt:
    case ir::Op::Abs:
    case ir::Op::Neg:
    case ir::Op::Erf:
    case ir::Op::Add:
    case ir::Op::Sub:
    case ir::Op::Mul:
    case ir::Op::Div:
    case ir::Op::Pow:
    case ir::Op::Max:
    case ir::Op::Min:
    case ir::Op::Conv:
    case ir::Op::ConvTranspose:
    case ir::Op::Gemm:
    case ir::Op::MatMul:
    case ir::Op::MaxPool:
    case ir::Op::AveragePool:
    case ir::Op::GlobalAveragePool:
    case ir::Op::GlobalMaxPool:
    case ir::Op::BatchNormalization:
    case ir::Op::LayerNormalization:
    case ir::Op::Softmax:
    case ir::Op::LogSoftmax:
    case ir::Op::Reshape:
    case ir::Op::Flatten:
    case ir::Op::Transpose:
    case ir::Op::Squeeze:
    case ir::Op::Unsqueeze:
    case ir::Op::Concat:
    case ir::Op::Split:
    case ir::Op::Slice:
    case ir::Op::Gather:
    case ir::Op::Expand:
    case ir::Op::Tile:
    case ir::Op::Pad:
    case ir::Op::Dropout:
    case ir::Op::ReduceMean:
    case ir::Op::ReduceSum:
    case ir::Op::ReduceMax:
    case ir::Op::ReduceMin:
      // Dropout's mask and MaxPool's indices are not of the data's dtype.
      if (output > 0 && (*node.op == ir::Op::Dropout || *node.op == ir::Op::MaxPool)) {
        return *node.op == ir::Op::Dropout ? DType::kBool : DType::kInt64;
      }
      return in(0);
    default: return DType::kUndefined;
  }
}

}  // namespace

ValueTypes infer_value_types(const ir::Graph& graph, const std::vector<Shape>& input_shapes) {
  ValueTypes types;
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const ir::ValueInfo& in = graph.inputs[i];
    if (in.type.kind != ir::TypeInfo::Kind::kTensor) continue;
    types.dtypes[in.name] = in.type.dtype;
    if (i < input_shapes.size() && (input_shapes[i].empty() || input_shapes[i][0] >= 0)) {
      // A shape key of {-1} marks a non-tensor input; anything else is the tensor's shape.
      types.shapes[in.name] = input_shapes[i];
    } else if (input_shapes.empty() && in.type.shape) {
      Shape s;
      bool known = true;
      for (const ir::Dim& d : *in.type.shape) {
        known = known && d.known();
        s.push_back(d.value);
      }
      if (known) types.shapes[in.name] = std::move(s);
    }
  }
  for (const auto& [name, tensor] : graph.initializers) {
    types.dtypes[name] = tensor.dtype();
    types.shapes[name] = tensor.shape();
  }
  for (const ir::ValueInfo& v : graph.value_infos) {
    if (v.type.kind == ir::TypeInfo::Kind::kTensor && v.type.dtype != DType::kUndefined) {
      types.dtypes.emplace(v.name, v.type.dtype);
    }
  }
  for (const ir::Node& node : graph.nodes) {
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o].empty() || types.dtypes.count(node.outputs[o])) continue;
      const DType d = output_dtype(node, o, types);
      if (d != DType::kUndefined) types.dtypes[node.outputs[o]] = d;
    }
  }
  infer_shapes(graph, types);
  return types;
}

}  // namespace edgerun::runtime
