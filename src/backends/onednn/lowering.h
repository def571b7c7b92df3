// Op lowering for the oneDNN backend: how one node (or a fused chain) becomes a oneDNN primitive
// once its input shapes, and the layouts its inputs arrive in, are known.
//
// Layouts: edgerun tensors are plain (row-major, dense). Inside a partition a value read only by
// oneDNN nodes may instead stay in a blocked layout a primitive prefers (nChw8c and the like), so
// chains of convolutions, pools and elementwise ops never convert in between. A lowered node says
// what layout it wants for each input and which one it writes for each output; the executable
// converts at the few places where two disagree, and back to plain where a value leaves the
// partition or meets a node that reads only plain tensors.
#pragma once

#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "edgerun/status.hpp"
#include "edgerun/tensor.hpp"
#include "ir/graph.h"

namespace edgerun::onednn {

// What lowering may know about one input: its dtype and shape, its value when it is an
// initializer (constant data may be folded into the primitive once), and the blocked layout it
// arrives in (nullopt: a plain edgerun tensor). Non-constant data is never read at lowering
// time, so a lowered node depends only on what these describe.
struct NodeInput {
  bool present = false;  // false for an omitted optional input
  DType dtype = DType::kUndefined;
  Shape shape;
  const Tensor* constant = nullptr;
  std::optional<dnnl::memory::desc> layout;

  bool operator==(const NodeInput& other) const;  // ignores `constant` (fixed per node)
};

// How a lowered node reads input i. `view` is how a plain edgerun tensor's bytes are read (dims
// and strides, e.g. a transposed Gemm operand); `want` is the layout the primitive reads. When
// they differ, the input is reordered into `want` first. `used` is false for inputs the node
// folded in at lowering time (packed weights, Clip bounds).
struct InputLayout {
  bool used = false;
  dnnl::memory::desc view;
  dnnl::memory::desc want;
};

// What a lowered node writes for output i: the layout (blocked or plain) and the ONNX shape.
struct OutputLayout {
  dnnl::memory::desc desc;
  Shape shape;
};

// A node lowered for one NodeInput list. Immutable; execute() may run from several threads.
class PreparedNode {
 public:
  virtual ~PreparedNode() = default;
  // `inputs` holds, per used input, memory in its InputLayout::want layout (unused ones are
  // empty); `outputs` per output memory of OutputLayout::desc, which execute() fills.
  virtual void execute(dnnl::stream& stream, std::span<const dnnl::memory> inputs,
                       std::span<const dnnl::memory> outputs) const = 0;

  std::vector<InputLayout> inputs;
  std::vector<OutputLayout> outputs;
  // The input output 0 starts from (a residual Add fused as oneDNN's sum post-op adds onto
  // it), read in output 0's layout. When the executable hands both the same memory, the node
  // adds in place instead of copying it first.
  std::optional<size_t> sum_input;
  // A convolution by oneDNN's Winograd kernels (lower_conv.cpp), counted for the capability
  // report: its results differ from the direct algorithm's in the last bits.
  bool winograd = false;
  // Whether execute() shares its work over the calling thread's open Team (team.h): a node
  // split into slices (sliced_node.h), a one-row product (one_row_product.h). A team runs any
  // other node on the calling thread alone.
  bool shares_team = false;
  // What edgerun's own kernel computes where one does instead of a oneDNN primitive ("one-row
  // products", "channel scalings"; vector_kernels.h), for the capability report; null otherwise.
  const char* own_kernel = nullptr;
};

// Whether `node` may write a blocked layout: its output is read only by oneDNN nodes of the same
// partition. When false, a node whose inputs are plain does not choose a blocked layout just
// to convert back at once.
// `plain_only` asks for plain layouts throughout (the retry when a blocked variant has no
// oneDNN implementation).
// `slices` > 1 asks for a Conv, a one-row Gemm, a binary op or a pooling split into up to that
// many one-thread primitives over parts of its output, which the calling thread's open Team
// runs side by side (sliced_node.h); shapes, layouts or kernels that do not split run as one
// primitive.
struct LoweringContext {
  const dnnl::engine* engine = nullptr;
  bool blocked_output_ok = false;
  bool plain_only = false;
  int slices = 0;
  // Attention on oneDNN's primitives even where edgerun's own kernel runs (attention_kernel.h):
  // tests compare the two.
  bool attention_on_onednn = false;
};

// Lowers `node` for `inputs` (one per node input). kUnsupported means oneDNN cannot take these
// shapes or layouts (the node then runs on the reference kernel); any other error is a failure.
Result<std::shared_ptr<const PreparedNode>> prepare_node(const ir::Node& node,
                                                         const LoweringContext& context,
                                                         std::span<const NodeInput> inputs);

// ---- fused post-ops ----------------------------------------------------------------------------
//
// A Conv, Gemm or MatMul whose output feeds a chain of activations and residual Adds (each
// intermediate read by the next link only) runs as one primitive with oneDNN post-ops. The
// executable finds the chains at compile time; these say what may be fused and build it.

// Whether `op` can carry post-ops (Conv, Gemm, MatMul).
bool can_take_post_ops(ir::Op op);

// Whether `node`, reading the chain's value as its input `chain_input`, can be fused as a
// post-op: an activation (Relu, LeakyRelu, Sigmoid, Tanh, Elu, HardSwish, Swish, HardSigmoid,
// Gelu, Softplus, Clip) on input 0, or an Add of two inputs.
bool can_be_post_op(const ir::Node& node, size_t chain_input);

// Whether `conv`, reading the result of the 1x1 convolution `base` (or of activations after it)
// as its input 0, can follow it as a depthwise link: the 1x1 result is then consumed row by row
// while still in the cache and never written to memory. Asks for one image; a `base` over
// constant weights that is 1x1 of stride 1 and unpadded, or square over at most
// kMaxImageChannels input channels (a CNN's first layer over an image) with stride 1 or 2 and
// equal pads, into kMinImageConvChannels or more; and a 3x3 or 5x5 depthwise `conv` with pads
// of 1 or 2 and stride 1 or 2 over constant weights and bias. Which kernel runs the chain, if
// any, is for own_expand_depthwise_takes and onednn_depthwise_takes to say.
//
// With fewer output channels our kernel's register tiles (12 pixels by 16 channels) load one
// input value per FMA: MobileNet-V3-small's 3 -> 16 at 224x224 with its depthwise convolution
// took 256 us against 253 apart at one thread and 190 against 165 at two; MobileNet-V2's and
// EfficientNet-B0's 3 -> 32 took 620 against 651 and 723 against 858 at one thread.
inline constexpr int64_t kMaxImageChannels = 4;
inline constexpr int64_t kMinImageConvChannels = 32;
bool can_be_depthwise_post_op(const ir::Node& base, const ir::Node& conv, const ir::Graph& graph,
                              const ValueTypes& types);

// Whether edgerun's own kernel (expand_depthwise_kernel.h) runs a chain whose depthwise link
// passed can_be_depthwise_post_op, given the chain's links in order and the 1x1 result's shape
// `expanded`: this CPU runs the kernel, at most one activation (Relu, Clip, HardSwish, Swish)
// comes before the depthwise convolution and one after, and the 1x1 result has at least
// kOwnExpandDepthwiseMinPixels pixels. Probe, MobileNet-V2's and EfficientNet-B0's blocks, cold
// caches, one and two threads: at 112x112 to 28x28 the kernel took 0.6-0.9 of the time of
// oneDNN's two convolutions apart; at 14x14 and 7x7 (hundreds of input channels, whose weights
// the kernel reads once per row) 0.9-1.3.
inline constexpr int64_t kOwnExpandDepthwiseMinPixels = 28 * 28;
bool own_expand_depthwise_takes(std::span<const ir::Node* const> links, const Shape& expanded);

// Whether oneDNN's depthwise post-op runs such a chain, whose base is `expand_kernel` square
// and whose depthwise window is `window` square, where our kernel does not: a 1x1 base and a
// 3x3 window (its only ones), on one thread (oneDNN's
// fused kernel has one padding for the whole image, so a team cannot split it into row
// slices), only Relu, Clip or LeakyRelu around the depthwise link (it computes a Swish inline
// twice: EfficientNet's 16 -> 96 expansion with Swish took 1209 us fused, 1088 apart), and a 1x1
// result of at least kDepthwiseFusionMinBytes. A probe with cold caches found the fusion a third
// faster on a 4.8 MB result (MobileNet-V2's 16 -> 96 expansion at 112x112: 590 -> 400 us) and no
// faster on 1.8 MB (24 -> 144 at 56x56).
inline constexpr size_t kDepthwiseFusionMinBytes = size_t{4} << 20;
bool onednn_depthwise_takes(std::span<const ir::Node* const> links, const Shape& expanded,
                            int64_t expand_kernel, int64_t window, int threads);

// One link of a chain: the node, which of its inputs is the chain's value, and where its other
// inputs start in the fused node's flat input list.
struct PostOpNode {
  const ir::Node* node = nullptr;
  size_t chain_input = 0;
  size_t first_input = 0;
};

// The depthwise convolution among a chain's `links` (can_be_depthwise_post_op; fusion_units
// admits at most one), or null.
const PostOpNode* depthwise_link(std::span<const PostOpNode> links);

// Lowers `base` with `chain` fused after it. `inputs` are base's inputs, then for each link its
// inputs other than the chain's value, in order. The result has one output, the last link's.
// kUnsupported means these shapes cannot be fused (an Add whose other operand broadcasts the
// result wider, ...): the nodes then run one by one.
Result<std::shared_ptr<const PreparedNode>> prepare_fused(const ir::Node& base,
                                                          std::span<const PostOpNode> chain,
                                                          const LoweringContext& context,
                                                          std::span<const NodeInput> inputs);

}  // namespace edgerun::onednn
