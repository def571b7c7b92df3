// A 1x1 expansion (or an image's first convolution), its activation, a 3x3 or 5x5 depthwise
// convolution and its activation (the chain own_expand_depthwise_takes admits) on edgerun's
// own kernel (expand_depthwise_kernel.h): the weights packed once here, the output rows split
// over the calling thread's team or OpenMP threads, each part with its ring of expanded rows in
// that thread's scratch.
#include <algorithm>
#include <optional>
#include <vector>

#include "backends/onednn/expand_depthwise_kernel.h"
#include "backends/onednn/lower_ops.h"
#include "backends/onednn/split_work.h"

namespace edgerun::onednn::lower {
namespace {

class ExpandDepthwiseNode final : public PreparedNode {
 public:
  ExpandDepthwiseGeometry geometry;
  ExpandDepthwiseWeights weights;
  size_t scratch_bytes = 0;  // a thread's ring and padded rows

  void execute(dnnl::stream&, std::span<const memory> in,
               std::span<const memory> out) const override {
    const auto* x = static_cast<const float*>(in[0].get_data_handle());
    auto* y = static_cast<float*>(out[0].get_data_handle());
    const int64_t rows = geometry.out_height();
    // One band of rows per thread: a band recomputes the few expanded rows it shares with the
    // band before it, so fewer bands waste less.
    const int parts = parts_over_threads(static_cast<size_t>(rows));
    claim_over_threads(static_cast<size_t>(parts), [&](int p) {
      const auto [first, last] = part_range(static_cast<size_t>(rows), p, parts);
      expand_depthwise_rows(geometry, weights, x, y, static_cast<int64_t>(first),
                            static_cast<int64_t>(last),
                            static_cast<float*>(thread_scratchpad(scratch_bytes)));
    });
  }
};

// The kernel's form of an activation link (its inputs other than the chain's value start at
// first_input of the flat inputs); nullopt for one it does not compute.
Result<std::optional<BlockActivation>> block_activation(const PostOpNode& link,
                                                        std::span<const NodeInput> flat) {
  const ir::Node& n = *link.node;
  // eltwise_steps reads Clip's bounds at their own input positions.
  std::vector<NodeInput> link_inputs(n.inputs.size());
  for (size_t i = 1; i < n.inputs.size(); ++i) link_inputs[i] = flat[link.first_input + i - 1];
  ER_ASSIGN_OR_RETURN(std::vector<EltwiseStep> steps, eltwise_steps(n, link_inputs));
  if (steps.size() != 1) return std::optional<BlockActivation>();
  const EltwiseStep& step = steps[0];
  BlockActivation a;
  switch (step.algorithm) {
    case dnnl::algorithm::eltwise_relu:
      if (step.alpha != 0.0f) return std::optional<BlockActivation>();  // LeakyRelu
      a.lo = 0.0f;
      break;
    case dnnl::algorithm::eltwise_clip:
      a.lo = step.alpha;
      a.hi = step.beta;
      break;
    case dnnl::algorithm::eltwise_hardswish: a.kind = BlockActivation::Kind::kHardSwish; break;
    case dnnl::algorithm::eltwise_swish:
      a.kind = BlockActivation::Kind::kSwish;
      a.alpha = step.alpha;
      break;
    default: return std::optional<BlockActivation>();
  }
  return std::optional<BlockActivation>(a);
}

}  // namespace

Lowered lower_expand_depthwise(const ir::Node& base, std::span<const NodeInput> in,
                               const FusedChain& chain) {
  const Shape& xs = in[0].shape;
  const Shape& ws = in[1].shape;
  const PostOpNode* depthwise = depthwise_link(chain.links);
  if (depthwise == nullptr || xs.size() != 4 || xs[0] != 1 || ws.size() != 4) {
    return unsupported_shapes("not an expansion and depthwise convolution of one image");
  }
  if (ws[2] != ws[3]) {
    return unsupported_shapes(base.describe() + "'s window is not square");
  }
  const NodeInput& dw_weights = chain.inputs[depthwise->first_input];
  const NodeInput& dw_bias = chain.inputs[depthwise->first_input + 1];
  const bool has_bias = in.size() > 2 && in[2].present;
  if (in[1].constant == nullptr || dw_weights.constant == nullptr || dw_bias.constant == nullptr ||
      (has_bias && in[2].constant == nullptr)) {
    return unsupported_shapes(base.describe() + " and its depthwise convolution need constant " +
                              "weights and biases for edgerun's kernel");
  }
  auto result = std::make_shared<ExpandDepthwiseNode>();
  ExpandDepthwiseGeometry& g = result->geometry;
  g.in_height = xs[2];
  g.in_width = xs[3];
  g.in_channels = xs[1];
  g.channels = ws[0];
  g.expand_kernel = ws[3];
  g.expand_stride = base.attr_ints("strides", {1, 1})[0];
  g.expand_pad = base.attr_ints("pads", {0, 0, 0, 0})[0];
  g.height = (g.in_height + 2 * g.expand_pad - g.expand_kernel) / g.expand_stride + 1;
  g.width = (g.in_width + 2 * g.expand_pad - g.expand_kernel) / g.expand_stride + 1;
  g.stride = depthwise->node->attr_ints("strides", {1, 1})[0];
  g.window = dw_weights.shape.size() == 4 ? dw_weights.shape[3] : 0;
  if (ws != Shape{g.channels, g.in_channels, g.expand_kernel, g.expand_kernel} ||
      dw_weights.shape != Shape{g.channels, 1, g.window, g.window} ||
      (g.window != 3 && g.window != 5) || dw_bias.shape != Shape{g.channels} ||
      (has_bias && in[2].shape != Shape{g.channels})) {
    return unsupported_shapes(base.describe() + "'s weights do not make an expansion to " +
                              depthwise->node->describe());
  }
  bool after_depthwise = false;
  for (const PostOpNode& link : chain.links) {
    if (&link == depthwise) {
      after_depthwise = true;
      continue;
    }
    ER_ASSIGN_OR_RETURN(std::optional<BlockActivation> a, block_activation(link, chain.inputs));
    if (!a) return unsupported_shapes(link.node->describe() + " is no activation of the kernel");
    (after_depthwise ? g.depthwise_activation : g.expand_activation) = *a;
  }
  result->weights = pack_expand_depthwise(
      g, in[1].constant->data<float>(), has_bias ? in[2].constant->data<float>() : nullptr,
      dw_weights.constant->data<float>(), dw_bias.constant->data<float>());

  result->scratch_bytes = expand_depthwise_scratch_floats(g) * sizeof(float);
  result->own_kernel = "expansions with their depthwise convolutions";
  result->shares_team = true;
  result->inputs.resize(chain.inputs.size());  // only X is read at run time
  result->inputs[0] = InputLayout{true, plain(dims_of(xs)),
                                  memory::desc(dims_of(xs), kF32, memory::format_tag::nhwc)};
  const Shape out_shape = {1, g.channels, g.out_height(), g.out_width()};
  result->outputs.push_back(
      OutputLayout{memory::desc(dims_of(out_shape), kF32, memory::format_tag::nhwc), out_shape});
  return std::shared_ptr<const PreparedNode>(std::move(result));
}

}  // namespace edgerun::onednn::lower
