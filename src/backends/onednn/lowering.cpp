#include "backends/onednn/lowering.h"

#include <algorithm>

#include "backends/onednn/expand_depthwise_kernel.h"
#include "backends/onednn/lower_ops.h"
#include "memory/reloadable_copies.h"

namespace edgerun::onednn {
namespace {

using lower::Lowered;
using lower::unsupported_shapes;

// Every input is float32 data, except the parameters of ops that take them as inputs (Resize's
// scales, Slice's starts, a reduction's axes), which only their lowering reads.
Status check_inputs(const ir::Node& node, std::span<const NodeInput> inputs) {
  const bool parameters = *node.op == ir::Op::Resize || *node.op == ir::Op::Slice ||
                          *node.op == ir::Op::ReduceMean || *node.op == ir::Op::ReduceSum ||
                          *node.op == ir::Op::ReduceMax || *node.op == ir::Op::ReduceMin;
  const size_t data_inputs = parameters ? 1 : inputs.size();
  for (const NodeInput& in : inputs.first(std::min(data_inputs, inputs.size()))) {
    if (!in.present) continue;
    if (in.dtype != DType::kFloat32) return unsupported_shapes("an input is not float32");
    if (shape_size(in.shape) == 0) return unsupported_shapes("empty tensors are left to the reference");
  }
  return Status::ok();
}

// Lowering reads constants (to pack weights, fold parameters), and a weight's copy may have
// been given back after an earlier lowering packed it (memory/reloadable_copies.h).
void make_constants_resident(std::span<const NodeInput> inputs) {
  for (const NodeInput& in : inputs) {
    if (in.constant != nullptr) edgerun::memory::ensure_resident(in.constant->raw_data());
  }
}

Lowered lower_one(const ir::Node& node, const LoweringContext& cx, std::span<const NodeInput> in) {
  switch (*node.op) {
    case ir::Op::Add:
    case ir::Op::Sub:
    case ir::Op::Mul:
    case ir::Op::Div: return lower::lower_binary(node, cx, in);
    case ir::Op::Softmax:
    case ir::Op::LogSoftmax: return lower::lower_softmax(node, cx, in);
    case ir::Op::Conv: return lower::lower_conv(node, cx, in, nullptr);
    case ir::Op::MaxPool:
    case ir::Op::AveragePool:
    case ir::Op::GlobalAveragePool:
    case ir::Op::GlobalMaxPool: return lower::lower_pool(node, cx, in);
    case ir::Op::BatchNormalization: return lower::lower_batch_norm(node, cx, in);
    case ir::Op::Gemm: return lower::lower_gemm(node, cx, in, nullptr);
    case ir::Op::MatMul: return lower::lower_matmul(node, cx, in, nullptr);
    case ir::Op::Attention: return lower::lower_attention(node, cx, in);
    case ir::Op::ConvTranspose: return lower::lower_conv_transpose(node, cx, in);
    case ir::Op::Concat: return lower::lower_concat(node, cx, in);
    case ir::Op::LayerNormalization: return lower::lower_layer_norm(node, cx, in);
    case ir::Op::Resize: return lower::lower_resize(node, cx, in);
    case ir::Op::Transpose: return lower::lower_transpose(node, cx, in);
    case ir::Op::Slice: return lower::lower_slice(node, cx, in);
    case ir::Op::ReduceMean:
    case ir::Op::ReduceSum:
    case ir::Op::ReduceMax:
    case ir::Op::ReduceMin: return lower::lower_reduce(node, cx, in);
    default:
      if (lower::has_eltwise_steps(node)) return lower::lower_eltwise(node, cx, in);
      return internal_error("oneDNN cannot lower " + node.describe());
  }
}

// Runs `attempt` as asked; when a variant that may use blocked layouts finds no oneDNN
// implementation, tries again with plain layouts throughout. A dnnl::error here means oneDNN has
// no implementation for these shapes and attributes: the reference then runs the node.
template <typename Attempt>
Lowered with_plain_retry(const LoweringContext& cx, Attempt attempt) {
  try {
    Lowered first = attempt(cx);
    if (first.is_ok() || first.status().code() != StatusCode::kUnsupported || cx.plain_only) {
      return first;
    }
  } catch (const dnnl::error& e) {
    if (cx.plain_only) return unsupported_shapes(e.what());
  }
  LoweringContext plain = cx;
  plain.plain_only = true;
  plain.blocked_output_ok = false;
  try {
    return attempt(plain);
  } catch (const dnnl::error& e) {
    return unsupported_shapes(e.what());
  }
}

}  // namespace

Result<std::shared_ptr<const PreparedNode>> prepare_node(const ir::Node& node,
                                                         const LoweringContext& context,
                                                         std::span<const NodeInput> inputs) {
  if (inputs.size() != node.inputs.size()) {
    return internal_error("inputs do not match " + node.describe());
  }
  ER_RETURN_IF_ERROR(check_inputs(node, inputs));
  make_constants_resident(inputs);
  return with_plain_retry(context, [&](const LoweringContext& cx) {
    return lower_one(node, cx, inputs);
  });
}

bool can_take_post_ops(ir::Op op) {
  return op == ir::Op::Conv || op == ir::Op::Gemm || op == ir::Op::MatMul;
}

bool can_be_post_op(const ir::Node& node, size_t chain_input) {
  // The op's own domain: the default one, or ai.edgerun for the internal Swish.
  if (!node.op || node.domain != ir::op_info(*node.op).domain) return false;
  if (*node.op == ir::Op::Add) return node.inputs.size() == 2 && chain_input < 2;
  return lower::is_post_op_activation(*node.op) && chain_input == 0;
}

bool can_be_depthwise_post_op(const ir::Node& base, const ir::Node& conv, const ir::Graph& graph,
                              const ValueTypes& types) {
  if (*base.op != ir::Op::Conv || !conv.op || *conv.op != ir::Op::Conv || base.inputs.size() < 2 ||
      conv.inputs.size() != 3 || base.outputs.empty()) {
    return false;
  }
  const Shape* x = types.shape(base.inputs[0]);
  const Shape* w = types.shape(base.inputs[1]);
  const Shape* mid = types.shape(base.outputs[0]);
  const Shape* read = types.shape(conv.inputs[0]);
  const Shape* dw = types.shape(conv.inputs[1]);
  if (x == nullptr || w == nullptr || mid == nullptr || read == nullptr || dw == nullptr ||
      x->size() != 4 || (*x)[0] != 1 || mid->size() != 4 || *read != *mid || w->size() != 4) {
    return false;
  }
  // The base: 1x1, or a square window over few input channels (an image's).
  const int64_t k = (*w)[2];
  if (*w != Shape{(*mid)[1], (*x)[1], k, k} ||
      (k != 1 && ((*x)[1] > kMaxImageChannels || (*mid)[1] < kMinImageConvChannels))) {
    return false;
  }
  // Explicit pads all `pad`, strides all `stride`, no dilation.
  const auto window = [](const ir::Node& n, int64_t stride, int64_t pad) {
    const auto all = [](const std::vector<int64_t>& v, size_t size, int64_t value) {
      return v.size() == size &&
             std::all_of(v.begin(), v.end(), [&](int64_t e) { return e == value; });
    };
    return n.attr_string("auto_pad", "NOTSET") == "NOTSET" &&
           all(n.attr_ints("strides", {1, 1}), 2, stride) &&
           all(n.attr_ints("dilations", {1, 1}), 2, 1) &&
           all(n.attr_ints("pads", {0, 0, 0, 0}), 4, pad);
  };
  const int64_t channels = (*mid)[1];
  const std::vector<int64_t> strides = conv.attr_ints("strides", {1, 1});
  const int64_t stride = strides.empty() ? 0 : strides[0];
  const std::vector<int64_t> base_strides = base.attr_ints("strides", {1, 1});
  const std::vector<int64_t> base_pads = base.attr_ints("pads", {0, 0, 0, 0});
  const int64_t base_stride = base_strides.empty() ? 0 : base_strides[0];
  const int64_t base_pad = base_pads.empty() ? -1 : base_pads[0];
  const bool base_window =
      k == 1 ? window(base, 1, 0)
             : (base_stride == 1 || base_stride == 2) && base_pad >= 0 && base_pad < k &&
                   window(base, base_stride, base_pad);
  const bool constants = graph.initializers.count(conv.inputs[1]) > 0 &&
                         graph.initializers.count(conv.inputs[2]) > 0;
  return base.attr_int("group", 1) == 1 && base_window &&
         graph.initializers.count(base.inputs[1]) > 0 && conv.attr_int("group", 1) == channels &&
         dw->size() == 4 && ((*dw)[2] == 3 || (*dw)[2] == 5) &&
         *dw == Shape{channels, 1, (*dw)[2], (*dw)[2]} && (stride == 1 || stride == 2) &&
         window(conv, stride, (*dw)[2] / 2) && constants &&
         types.dtype(base.outputs[0]) == DType::kFloat32;
}

namespace {

// Whether the links around the depthwise convolution (one of them) are only activations for
// which `allowed` holds, at most `most` on either side.
template <typename Allowed>
bool activations_around_depthwise(std::span<const ir::Node* const> links, size_t most,
                                  Allowed allowed) {
  size_t before = 0, after = 0;
  bool seen = false;
  for (const ir::Node* link : links) {
    if (*link->op == ir::Op::Conv && !seen) {
      seen = true;
      continue;
    }
    if (!allowed(*link->op)) return false;
    ++(seen ? after : before);
  }
  return seen && before <= most && after <= most;
}

}  // namespace

bool own_expand_depthwise_takes(std::span<const ir::Node* const> links, const Shape& expanded) {
  const auto activation = [](ir::Op op) {
    return op == ir::Op::Relu || op == ir::Op::Clip || op == ir::Op::HardSwish ||
           op == ir::Op::Swish;
  };
  return expand_depthwise_runs_here() && expanded.size() == 4 &&
         expanded[2] * expanded[3] >= kOwnExpandDepthwiseMinPixels &&
         activations_around_depthwise(links, 1, activation);
}

bool onednn_depthwise_takes(std::span<const ir::Node* const> links, const Shape& expanded,
                            int64_t expand_kernel, int64_t window, int threads) {
  const auto piecewise_linear = [](ir::Op op) {
    return op == ir::Op::Relu || op == ir::Op::Clip || op == ir::Op::LeakyRelu;
  };
  const size_t bytes = static_cast<size_t>(shape_size(expanded)) * sizeof(float);
  return threads == 1 && expand_kernel == 1 && window == 3 && bytes >= kDepthwiseFusionMinBytes &&
         activations_around_depthwise(links, links.size(), piecewise_linear);
}

const PostOpNode* depthwise_link(std::span<const PostOpNode> links) {
  for (const PostOpNode& link : links) {
    if (*link.node->op == ir::Op::Conv) return &link;
  }
  return nullptr;
}

Result<std::shared_ptr<const PreparedNode>> prepare_fused(const ir::Node& base,
                                                          std::span<const PostOpNode> chain,
                                                          const LoweringContext& context,
                                                          std::span<const NodeInput> inputs) {
  const size_t num_base = base.inputs.size();
  if (inputs.size() < num_base) return internal_error("fused inputs do not match " + base.describe());
  ER_RETURN_IF_ERROR(check_inputs(base, inputs));
  make_constants_resident(inputs);
  const lower::FusedChain fused{chain, inputs};
  const std::span<const NodeInput> base_in = inputs.first(num_base);
  return with_plain_retry(context, [&](const LoweringContext& cx) -> Lowered {
    switch (*base.op) {
      case ir::Op::Conv: return lower::lower_conv(base, cx, base_in, &fused);
      case ir::Op::Gemm: return lower::lower_gemm(base, cx, base_in, &fused);
      case ir::Op::MatMul: return lower::lower_matmul(base, cx, base_in, &fused);
      default: return internal_error("cannot fuse post-ops into " + base.describe());
    }
  });
}

}  // namespace edgerun::onednn
