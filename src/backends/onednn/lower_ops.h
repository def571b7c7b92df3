// Shared pieces of the per-family lowerings (lower_*.cpp): memory descriptors, the one
// PreparedNode implementation (a primitive plus how its arguments bind), and the fused chain.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "backends/onednn/lowering.h"

namespace edgerun::onednn::lower {

using dnnl::memory;
using Dims = memory::dims;
constexpr memory::data_type kF32 = memory::data_type::f32;

// oneDNN has no rank-0 memory; a scalar is a one-element vector with the same bytes.
Dims dims_of(const Shape& shape);
Dims row_major_strides(const Dims& dims);
// Plain (row-major, dense) float32: the layout of edgerun tensors.
memory::desc plain(const Dims& dims);
bool is_plain(const memory::desc& md);
// Whether `a` and `b` put every element at the same byte: equal, or layouts of the same dims
// and type that differ only in the strides of dims of size 1 (channels-last and plain
// [N, C, 1, 1], say) or in naming (16 channels in blocks of 16 are channels-last). Either then
// reads the other's memory as it is.
bool same_bytes(const memory::desc& a, const memory::desc& b);
// The layout that reads the bytes of `from` (a strided layout, such as channels-last) as a
// tensor of dims `to` with the same elements in the same row-major order: what a Reshape of
// data in that layout is without a copy. nullopt where no strides do that (merging dims that
// are not adjacent in memory, such as channels-last's H and C).
std::optional<memory::desc> reshaped_layout(const memory::desc& from, const Dims& to);
// `shape` padded with leading 1s to `rank`.
Dims pad_left(const Shape& shape, size_t rank);
Status unsupported_shapes(const std::string& why);

// The layout an input arrives in: its blocked layout, or plain of its shape.
memory::desc arrival_layout(const NodeInput& input);

// One primitive and how each of its arguments is fed: from an input, an output, or memory the
// node holds (constants transformed at lowering time). Scratchpad is allocated per run so
// concurrent runs never share one.
class PrimitiveNode final : public PreparedNode {
 public:
  PrimitiveNode(const dnnl::engine& engine, dnnl::primitive primitive, memory::desc scratchpad);

  // Input `input` (of the node's inputs) is read by the primitive as `arg`.
  void bind_input(int arg, size_t input, const memory::desc& view, const memory::desc& want);
  // As bind_input, but the primitive reads the bytes of the input (in layout `want`) described
  // as `read_as`: the same bytes seen with other dims (a Transpose's permuted axes).
  void bind_input_read_as(int arg, size_t input, const memory::desc& view,
                          const memory::desc& want, const memory::desc& read_as);
  // Input `input` (converted to `want`, as for bind_input) goes through `transform` (SRC ->
  // DST of layout `result`) each run, and the primitive reads that result as `arg`. `source`,
  // when given, is how the transform reads the input's bytes (a strided view of part of them);
  // the result lives in the calling thread's scratch, after the primitive's scratchpad.
  void bind_transformed_input(int arg, size_t input, const memory::desc& view,
                              const memory::desc& want, dnnl::primitive transform,
                              const memory::desc& result,
                              std::optional<memory::desc> source = std::nullopt);
  void bind_output(int arg, const memory::desc& desc, Shape shape);
  void bind_held(int arg, memory held);
  // Output 0 starts as a copy of input `input` (in the output's layout `want`) before the
  // primitive adds onto it: the sum post-op. No copy when the two are one memory.
  void bind_sum_input(size_t input, const memory::desc& view, const memory::desc& want);
  // Marks inputs the node reads nothing from (at least `count` entries exist).
  void reserve_inputs(size_t count);
  // A primitive that runs after the main one on output 0, in place (SRC = DST).
  void then_in_place(dnnl::primitive primitive, memory::desc scratchpad);
  // Swish with `alpha` over output 0 (bound before), in place, by our own kernel
  // (vector_kernels.h), last.
  void then_swish(float alpha);

  void execute(dnnl::stream& stream, std::span<const memory> in,
               std::span<const memory> out) const override;

 private:
  struct Transform {
    dnnl::primitive primitive;
    memory::desc result;
    std::optional<memory::desc> source;
    size_t offset = 0;  // of the result in the thread's scratch
  };
  struct Binding {
    int arg = 0;
    int input = -1;
    int output = -1;
    std::optional<memory> held;
    std::optional<Transform> transform;
    std::optional<memory::desc> read_as;
  };
  dnnl::engine engine_;
  dnnl::primitive primitive_;
  memory::desc scratchpad_;
  size_t scratch_bytes_ = 0;  // the scratchpad, then the transformed inputs
  uint64_t key_;              // names this node's per-thread memories (thread_memory)
  std::vector<Binding> bindings_;
  std::vector<std::pair<dnnl::primitive, memory::desc>> in_place_;
  std::optional<float> swish_alpha_;
  size_t swish_count_ = 0;  // floats of output 0
  dnnl::primitive sum_copy_;  // copies the sum input into output 0, built once
};

dnnl::primitive_attr user_scratchpad();
// The calling thread's stream on `engine`, made once per thread: a run does not construct one.
// The thread keeps a handle of the engine, so the address it compares cannot be reused.
dnnl::stream& thread_stream(const dnnl::engine& engine);
// The calling thread's scratchpad as memory of layout `desc` (a primitive's scratchpad_desc).
// Valid until the thread asks for a larger one; primitives use it only inside one execute().
const memory& scratchpad_memory(const memory::desc& desc, const dnnl::engine& engine);
// The calling thread's scratch buffer of at least `bytes` (the one scratchpad_memory uses),
// valid until the thread asks for a larger one.
void* thread_scratchpad(size_t bytes);
// `bytes` rounded up to the alignment of places in the thread's scratch.
size_t scratch_aligned(size_t bytes);
// A number no other node has: its per-thread memories take keys (number << 24) + i, i < 2^24.
uint64_t new_memory_key();
// The calling thread's memory object for `key`, pointed at `data`. Making a dnnl::memory
// allocates, and a node may run on any thread, so each thread keeps one per key and re-points
// it; a run makes none once a thread has its own. Keys are never reused, and a thread keeps a
// few per node it ever ran.
const memory& thread_memory(uint64_t key, const memory::desc& desc, const dnnl::engine& engine,
                            void* data);
// Runs `primitive` with `args` through the C API: the C++ overload takes an unordered_map,
// which allocates on every call.
void execute_args(const dnnl::primitive& primitive, dnnl::stream& stream,
                  std::span<const dnnl_exec_arg_t> args);
// Runs reorder `reorder` from `from` into `to` through execute_args (no argument map).
void run_reorder(const dnnl::reorder& reorder, dnnl::stream& stream, const memory& from,
                 const memory& to);
// Runs `primitive` (an eltwise) over `data` in place, SRC = DST, with the calling thread's
// scratchpad of layout `scratchpad` when it needs one.
void run_in_place(const dnnl::primitive& primitive, const memory::desc& scratchpad,
                  const memory& data, dnnl::stream& stream, const dnnl::engine& engine);
// The bytes at `data` (described by `view`) reordered now into a fresh memory of layout `to`.
memory pack(const dnnl::engine& engine, const void* data, const memory::desc& view,
            const memory::desc& to);
// `from` (plain data described by `view`) reordered now into a fresh memory of layout `to`.
memory reorder_now(const dnnl::engine& engine, const Tensor& from, const memory::desc& view,
                   const memory::desc& to);

// ---- elementwise activations, also used as post-ops ----------------------------------------------

struct EltwiseStep {
  dnnl::algorithm algorithm;
  float alpha = 0;
  float beta = 0;
};

// The oneDNN eltwise steps that compute `node` (HardSigmoid takes two), with Clip bounds read
// from `inputs` when given as inputs (they must be constant scalars); nullopt when `node` is
// not an elementwise activation oneDNN has.
Result<std::vector<EltwiseStep>> eltwise_steps(const ir::Node& node,
                                               std::span<const NodeInput> inputs);
bool has_eltwise_steps(const ir::Node& node);
bool is_post_op_activation(ir::Op op);

// A chain of post-ops to fuse after a Conv, Gemm or MatMul, and the fused node's flat inputs.
struct FusedChain {
  std::span<const PostOpNode> links;
  std::span<const NodeInput> inputs;
};

// The inputs a node's post-op operands index: the chain's flat inputs, or the node's own
// (`in`) without a chain.
inline std::span<const NodeInput> flat_inputs(const FusedChain* chain,
                                              std::span<const NodeInput> in) {
  return chain != nullptr ? chain->inputs : in;
}

// Post-ops for `chain` after a base whose result has the ONNX shape `out_shape`, the oneDNN dims
// `dst_dims` and the layout `dst`: appends them to `ops` and records, per residual Add, which
// flat input feeds which argument and in which layout (the result's own layout when the operand
// has the result's shape, so blocked residuals stay blocked).
//
// With `use_sum`, the first Add whose operand has the result's full shape becomes oneDNN's sum
// post-op (the operand is copied into the result's memory and the primitive adds onto it),
// which every optimised convolution supports; other Adds are binary post-ops.
//
// A Swish that ends the chain is no post-op where this CPU runs our own kernel: `swish_after`
// then holds its alpha, and the caller has the lowered node apply it (then_swish) after the
// primitive (vector_kernels.h says why).
struct ChainAddend {
  int arg = 0;
  size_t input = 0;
  memory::desc view;
  memory::desc want;
  bool sum = false;
};
Status append_chain(const FusedChain* chain, const Shape& out_shape, const Dims& dst_dims,
                    const memory::desc& dst, bool use_sum, dnnl::post_ops& ops,
                    std::vector<ChainAddend>& addends, std::optional<float>& swish_after);
// Whether `impl` (a primitive descriptor's impl_info_str) is oneDNN's slow reference code.
bool is_reference_impl(const std::string& impl);
void bind_addends(PrimitiveNode& node, const std::vector<ChainAddend>& addends);

// ---- the per-family lowerings --------------------------------------------------------------------

using Lowered = Result<std::shared_ptr<const PreparedNode>>;

Lowered lower_eltwise(const ir::Node& node, const LoweringContext& cx,
                      std::span<const NodeInput> in);
Lowered lower_binary(const ir::Node& node, const LoweringContext& cx,
                     std::span<const NodeInput> in);
Lowered lower_softmax(const ir::Node& node, const LoweringContext& cx,
                      std::span<const NodeInput> in);
Lowered lower_batch_norm(const ir::Node& node, const LoweringContext& cx,
                         std::span<const NodeInput> in);
Lowered lower_layer_norm(const ir::Node& node, const LoweringContext& cx,
                         std::span<const NodeInput> in);
Lowered lower_concat(const ir::Node& node, const LoweringContext& cx,
                     std::span<const NodeInput> in);
Lowered lower_conv(const ir::Node& node, const LoweringContext& cx, std::span<const NodeInput> in,
                   const FusedChain* chain);
// A 1x1 Conv `base` (inputs `in`) with `chain` holding a depthwise link that
// own_expand_depthwise_takes, on edgerun's own kernel.
Lowered lower_expand_depthwise(const ir::Node& base, std::span<const NodeInput> in,
                               const FusedChain& chain);
Lowered lower_conv_transpose(const ir::Node& node, const LoweringContext& cx,
                             std::span<const NodeInput> in);
Lowered lower_pool(const ir::Node& node, const LoweringContext& cx,
                   std::span<const NodeInput> in);
Lowered lower_transpose(const ir::Node& node, const LoweringContext& cx,
                        std::span<const NodeInput> in);
Lowered lower_slice(const ir::Node& node, const LoweringContext& cx,
                    std::span<const NodeInput> in);
Lowered lower_reduce(const ir::Node& node, const LoweringContext& cx,
                     std::span<const NodeInput> in);
Lowered lower_resize(const ir::Node& node, const LoweringContext& cx,
                     std::span<const NodeInput> in);
Lowered lower_gemm(const ir::Node& node, const LoweringContext& cx, std::span<const NodeInput> in,
                   const FusedChain* chain);
Lowered lower_matmul(const ir::Node& node, const LoweringContext& cx,
                     std::span<const NodeInput> in, const FusedChain* chain);
Lowered lower_attention(const ir::Node& node, const LoweringContext& cx,
                        std::span<const NodeInput> in);

}  // namespace edgerun::onednn::lower
