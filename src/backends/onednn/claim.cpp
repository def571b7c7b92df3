#include "backends/onednn/claim.h"

#include <array>
#include <oneapi/dnnl/dnnl.hpp>

namespace edgerun::onednn {
namespace {

using Rule = std::string (*)(const ir::Node&, const ir::Graph&, const ValueTypes&);

// Fixed for the specialisation being built: an initializer, or a value shape inference knows.
bool is_constant(const ir::Graph& graph, const ValueTypes& types, const std::string& name) {
  return graph.initializers.count(name) > 0 || types.value(name) != nullptr;
}

// Every input after the first is absent or constant.
std::string check_constant_parameters(const ir::Node& node, const ir::Graph& graph,
                                      const ValueTypes& types, std::string_view what) {
  for (size_t i = 1; i < node.inputs.size(); ++i) {
    if (!node.inputs[i].empty() && !is_constant(graph, types, node.inputs[i])) {
      return std::string(what) + " not constant";
    }
  }
  return {};
}

std::string check_rank(const ir::Node& node, const ValueTypes& types, size_t lo, size_t hi) {
  const Shape* s = node.inputs.empty() ? nullptr : types.shape(node.inputs[0]);
  if (s != nullptr && (s->size() < lo || s->size() > hi)) {
    return "input rank " + std::to_string(s->size()) + " is outside " + std::to_string(lo) + ".." +
           std::to_string(hi);
  }
  return {};
}

std::string check_auto_pad(const ir::Node& node) {
  const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" &&
      auto_pad != "VALID") {
    return "auto_pad '" + auto_pad + "' is not lowered";
  }
  return {};
}

std::string check_window(const ir::Node& node, const ValueTypes& types) {
  std::string why = check_auto_pad(node);
  if (!why.empty()) return why;
  if (node.attr_int("ceil_mode", 0) != 0) return "ceil_mode=1 is not lowered";
  return check_rank(node, types, 3, 5);
}

// ---- claim rules, one per group of ops -----------------------------------------------------------

std::string activation(const ir::Node& node, const ir::Graph&, const ValueTypes&) {
  return node.opset < 6 ? "opsets before 6 are not lowered" : "";
}

std::string clip(const ir::Node& node, const ir::Graph& graph, const ValueTypes& types) {
  if (node.opset < 6) return "opsets before 6 are not lowered";
  return check_constant_parameters(node, graph, types, "the bounds are");
}

std::string pow(const ir::Node& node, const ir::Graph& graph, const ValueTypes& types) {
  if (node.opset < 7) return "the legacy broadcast attribute (opset < 7) is not lowered";
  return check_constant_parameters(node, graph, types, "the exponent is");
}

std::string transpose(const ir::Node& node, const ir::Graph&, const ValueTypes& types) {
  return check_rank(node, types, 1, DNNL_MAX_NDIMS);
}

std::string slice(const ir::Node& node, const ir::Graph& graph, const ValueTypes& types) {
  std::string why = check_constant_parameters(node, graph, types, "starts, ends, axes and steps are");
  return why.empty() ? check_rank(node, types, 1, DNNL_MAX_NDIMS) : why;
}

std::string reduce(const ir::Node& node, const ir::Graph& graph, const ValueTypes& types) {
  if (node.attr_int("noop_with_empty_axes", 0) != 0) return "noop_with_empty_axes is not lowered";
  std::string why = check_constant_parameters(node, graph, types, "the axes are");
  return why.empty() ? check_rank(node, types, 1, DNNL_MAX_NDIMS) : why;
}

std::string binary(const ir::Node& node, const ir::Graph&, const ValueTypes&) {
  if (node.opset < 7) return "the legacy broadcast attribute (opset < 7) is not lowered";
  return node.inputs.size() == 2 ? "" : "needs two inputs";
}

std::string always(const ir::Node&, const ir::Graph&, const ValueTypes&) { return {}; }

std::string conv(const ir::Node& node, const ir::Graph&, const ValueTypes& types) {
  if (node.inputs.size() < 2) return "needs weights";
  return check_window(node, types);
}

std::string pool(const ir::Node& node, const ir::Graph&, const ValueTypes& types) {
  if (node.attr_int("storage_order", 0) != 0 && node.outputs.size() > 1) {
    return "storage_order is not lowered";
  }
  return check_window(node, types);
}

std::string global_pool(const ir::Node& node, const ir::Graph&, const ValueTypes& types) {
  return check_rank(node, types, 3, 5);
}

std::string batch_norm(const ir::Node& node, const ir::Graph&, const ValueTypes& types) {
  if (node.opset < 7) return "opsets before 7 (is_test) are not lowered";
  if (node.opset < 9 && node.attr_int("spatial", 1) != 1) return "spatial=0 is not lowered";
  if (node.attr_int("training_mode", 0) != 0) return "training mode is not lowered";
  if (node.inputs.size() != 5) return "needs scale, bias, mean and var";
  return check_rank(node, types, 2, 5);
}

std::string gemm(const ir::Node& node, const ir::Graph&, const ValueTypes& types) {
  if (node.opset < 7) return "the legacy broadcast attribute (opset < 7) is not lowered";
  return check_rank(node, types, 2, 2);
}

std::string conv_transpose(const ir::Node& node, const ir::Graph&, const ValueTypes& types) {
  if (node.inputs.size() < 2) return "needs weights";
  std::string why = check_auto_pad(node);
  return why.empty() ? check_rank(node, types, 3, 5) : why;
}

std::string concat(const ir::Node& node, const ir::Graph&, const ValueTypes&) {
  if (node.opset < 4) return "opsets before 4 (optional axis) are not lowered";
  return node.inputs.empty() ? "needs inputs" : "";
}

std::string layer_norm(const ir::Node& node, const ir::Graph&, const ValueTypes&) {
  if (node.attr_int("stash_type", 1) != 1) return "stash_type other than float is not lowered";
  if (node.inputs.size() < 2) return "needs Scale";
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    if (!node.outputs[i].empty()) {
      return "the Mean and InvStdDev outputs are not lowered (oneDNN gives the variance, not its "
             "inverse square root)";
    }
  }
  return {};
}

std::string dropout(const ir::Node& node, const ir::Graph&, const ValueTypes&) {
  // Training mode (an input from opset 12) is refused by the reference kernel, which runs it.
  if (node.opset >= 12 && node.inputs.size() > 2 && !node.inputs[2].empty()) {
    return "training_mode may be set";
  }
  return {};
}

std::string resize(const ir::Node& node, const ir::Graph& graph, const ValueTypes& types) {
  if (node.opset < 10) return "Upsample-era Resize is not lowered";
  if (node.attr_string("mode", "nearest") != "nearest") {
    return "only nearest mode is lowered (oneDNN's linear weights round differently)";
  }
  if (node.opset >= 18 && !node.attr_ints("axes").empty()) return "axes is not lowered";
  std::string why = check_constant_parameters(node, graph, types, "roi, scales and sizes are");
  return why.empty() ? check_rank(node, types, 3, 5) : why;
}

std::string attention(const ir::Node& node, const ir::Graph&, const ValueTypes& types) {
  return check_rank(node, types, 3, 4);
}

std::string inexact_log(const ir::Node&, const ir::Graph&, const ValueTypes&) {
  // oneDNN's vectorised log is off by ~1e-6 absolute near 1, where the exact result is ~0.
  return "oneDNN's log approximation is not exact enough near 1";
}

struct LoweredOp {
  ir::Op op;
  Rule rule;
  std::string_view summary;
  bool compute_heavy;
  bool view;  // runs as a view of its input (claim.h)
  bool data_only = view;  // only input 0 must be float32; the others are parameters
};

constexpr std::string_view kActivation = "float32, opset 6+";
constexpr std::string_view kBinary = "float32, opset 7+ (broadcasting)";
constexpr std::string_view kView = "float32; a view of its input, no copy";
constexpr std::string_view kReduce = "float32, constant axes";

constexpr std::array kLoweredOps = {
    LoweredOp{ir::Op::Relu, activation, kActivation, false, false},
    LoweredOp{ir::Op::LeakyRelu, activation, kActivation, false, false},
    LoweredOp{ir::Op::Sigmoid, activation, kActivation, false, false},
    LoweredOp{ir::Op::Tanh, activation, kActivation, false, false},
    LoweredOp{ir::Op::Elu, activation, kActivation, false, false},
    LoweredOp{ir::Op::Softplus, activation, kActivation, false, false},
    LoweredOp{ir::Op::Exp, activation, kActivation, false, false},
    LoweredOp{ir::Op::Sqrt, activation, kActivation, false, false},
    LoweredOp{ir::Op::Abs, activation, kActivation, false, false},
    LoweredOp{ir::Op::Neg, activation, kActivation, false, false},
    LoweredOp{ir::Op::HardSwish, activation, kActivation, false, false},
    LoweredOp{ir::Op::HardSigmoid, activation, kActivation, false, false},
    LoweredOp{ir::Op::Swish, always, "float32", false, false},
    LoweredOp{ir::Op::Gelu, activation, "float32", false, false},
    LoweredOp{ir::Op::Clip, clip, "float32, opset 6+, constant bounds", false, false},
    LoweredOp{ir::Op::Add, binary, kBinary, false, false},
    LoweredOp{ir::Op::Sub, binary, kBinary, false, false},
    LoweredOp{ir::Op::Mul, binary, kBinary, false, false},
    LoweredOp{ir::Op::Div, binary, kBinary, false, false},
    LoweredOp{ir::Op::Softmax, always, "float32", true, false},
    LoweredOp{ir::Op::LogSoftmax, always, "float32", true, false},
    LoweredOp{ir::Op::MatMul, always, "float32", true, false},
    LoweredOp{ir::Op::Gemm, gemm, "float32, opset 7+", true, false},
    LoweredOp{ir::Op::Conv, conv, "float32, 1-3 spatial dims", true, false},
    LoweredOp{ir::Op::ConvTranspose, conv_transpose, "float32, 1-3 spatial dims", true, false},
    LoweredOp{ir::Op::MaxPool, pool, "float32, 1-3 spatial dims, no ceil_mode or indices", true,
              false},
    LoweredOp{ir::Op::AveragePool, pool, "float32, 1-3 spatial dims, no ceil_mode", true, false},
    LoweredOp{ir::Op::GlobalAveragePool, global_pool, "float32, 1-3 spatial dims", true, false},
    LoweredOp{ir::Op::GlobalMaxPool, global_pool, "float32, 1-3 spatial dims", true, false},
    LoweredOp{ir::Op::BatchNormalization, batch_norm, "float32, opset 7+, inference", true, false},
    LoweredOp{ir::Op::Concat, concat, "float32, opset 4+", false, false},
    LoweredOp{ir::Op::LayerNormalization, layer_norm,
              "float32, stash_type 1, no Mean/InvStdDev outputs", true, false},
    LoweredOp{ir::Op::Pow, pow, "float32, constant exponent 2 or 1", false, false, true},
    LoweredOp{ir::Op::Transpose, transpose, "float32 (a strided copy)", false, false},
    LoweredOp{ir::Op::Slice, slice, "float32, constant parameters, positive steps", false, false,
              true},
    LoweredOp{ir::Op::ReduceMean, reduce, kReduce, true, false, true},
    LoweredOp{ir::Op::ReduceSum, reduce, kReduce, true, false, true},
    LoweredOp{ir::Op::ReduceMax, reduce, kReduce, true, false, true},
    LoweredOp{ir::Op::ReduceMin, reduce, kReduce, true, false, true},
    LoweredOp{ir::Op::Resize, resize,
              "float32, nearest mode, constant scales/sizes, where oneDNN picks the same elements",
              false, false, true},
    LoweredOp{ir::Op::Attention, attention,
              "float32, rank 3 or 4; Q, K, V read untransposed (our own kernel with AVX-512 or "
              "AVX2, else oneDNN's strided matmuls)",
              true, false},
    LoweredOp{ir::Op::Log, inexact_log, "", false, false},
    LoweredOp{ir::Op::Reshape, always, kView, false, true},
    LoweredOp{ir::Op::Flatten, always, kView, false, true},
    LoweredOp{ir::Op::Squeeze, always, kView, false, true},
    LoweredOp{ir::Op::Unsqueeze, always, kView, false, true},
    LoweredOp{ir::Op::Identity, always, kView, false, true},
    LoweredOp{ir::Op::Dropout, dropout, "float32, inference; a view of its input, no copy", false,
              true},
};

const LoweredOp* find_lowered(ir::Op op) {
  for (const LoweredOp& entry : kLoweredOps) {
    if (entry.op == op) return &entry;
  }
  return nullptr;
}

// The dtypes the claim needs: every input of a lowered op is float32; with `data_only`, input 0
// is, and the others (shapes, axes, scales) are whatever the op takes.
std::string check_float_inputs(const ir::Node& node, const ValueTypes& types, bool data_only) {
  for (size_t i = 0;
       i < (data_only ? std::min<size_t>(1, node.inputs.size()) : node.inputs.size());
       ++i) {
    const std::string& in = node.inputs[i];
    if (in.empty()) continue;
    const DType d = types.dtype(in);
    if (d == DType::kUndefined) return "the dtype of input '" + in + "' is not known before it runs";
    if (d != DType::kFloat32) {
      return "input '" + in + "' is " + std::string(dtype_name(d)) + "; only float32 is lowered";
    }
  }
  return {};
}

// Only the first output may be wanted.
std::string check_single_output(const ir::Node& node) {
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    if (!node.outputs[i].empty()) return "output " + std::to_string(i) + " is not lowered";
  }
  return {};
}

}  // namespace

std::string claim_reason(const ir::Node& node, const ir::Graph& graph, const ValueTypes& types) {
  // The domain is the op's own: the default one, or ai.edgerun for the internal fused ops.
  const LoweredOp* entry = node.op && node.domain == ir::op_info(*node.op).domain
                               ? find_lowered(*node.op)
                               : nullptr;
  if (entry == nullptr) return "no oneDNN lowering for " + node.op_type;
  std::string why = entry->rule(node, graph, types);
  if (why.empty()) why = check_single_output(node);
  if (why.empty()) why = check_float_inputs(node, types, entry->data_only);
  return why;
}

std::string_view claim_summary(ir::Op op) {
  const LoweredOp* entry = find_lowered(op);
  return entry == nullptr ? std::string_view() : entry->summary;
}

bool is_compute_heavy(ir::Op op) {
  const LoweredOp* entry = find_lowered(op);
  return entry != nullptr && entry->compute_heavy;
}

bool is_view_op(ir::Op op) {
  const LoweredOp* entry = find_lowered(op);
  return entry != nullptr && entry->view;
}

}  // namespace edgerun::onednn
