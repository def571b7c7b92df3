#include "backends/onednn/lowering.h"

#include <algorithm>
#include <cfloat>
#include <cstring>
#include <functional>
#include <numeric>
#include <optional>
#include <unordered_map>

#include "backends/onednn/onednn_backend.h"
#include "ir/conv_transpose_shape.h"

namespace edgerun::onednn {
namespace {

using dnnl::memory;
using Dims = memory::dims;
using Args = std::unordered_map<int, memory>;
constexpr memory::data_type kF32 = memory::data_type::f32;

// oneDNN has no rank-0 memory; a scalar is a one-element vector with the same bytes.
Dims dims_of(const Shape& shape) {
  Dims d(shape.begin(), shape.end());
  if (d.empty()) d.push_back(1);
  return d;
}

Dims row_major_strides(const Dims& dims) {
  Dims strides(dims.size());
  int64_t stride = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= std::max<int64_t>(dims[i], 1);
  }
  return strides;
}

// Plain (row-major, dense) float32 layout: the layout of edgerun tensors, used at every edge.
memory::desc plain(const Dims& dims) { return memory::desc(dims, kF32, row_major_strides(dims)); }

memory wrap(const memory::desc& md, const dnnl::engine& engine, const Tensor& t) {
  return memory(md, engine, const_cast<void*>(t.raw_data()));
}

Status unsupported_shapes(const std::string& why) { return unsupported("oneDNN: " + why); }

// Pads a shape with leading 1s to `rank`.
Dims pad_left(const Shape& shape, size_t rank) {
  Dims d(rank - shape.size(), 1);
  d.insert(d.end(), shape.begin(), shape.end());
  return d;
}

// The base of every lowered node: one primitive, its scratchpad (owned per run so concurrent
// runs never share one) and the engine it was built on.
class PrimitiveNode : public PreparedNode {
 protected:
  PrimitiveNode(const dnnl::engine& engine, dnnl::primitive primitive, memory::desc scratchpad)
      : engine_(engine), primitive_(std::move(primitive)), scratchpad_(scratchpad) {}

  void run(dnnl::stream& stream, Args& args) const {
    if (scratchpad_.get_size() > 0) args.emplace(DNNL_ARG_SCRATCHPAD, memory(scratchpad_, engine_));
    primitive_.execute(stream, args);
    stream.wait();
  }

 public:
  // The second operands of fused binary post-ops (residual Adds), taken from the inputs.
  struct Addend {
    int arg = 0;
    size_t input = 0;
    memory::desc md;
  };
  void set_addends(std::vector<Addend> addends) { addends_ = std::move(addends); }

 protected:
  void bind_addends(Args& args, std::span<const Tensor* const> in) const {
    for (const Addend& a : addends_) args.emplace(a.arg, wrap(a.md, engine_, *in[a.input]));
  }

  std::vector<Addend> addends_;

  dnnl::engine engine_;
  dnnl::primitive primitive_;
  memory::desc scratchpad_;
};

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// Reorders `from` into a fresh memory of layout `to` (at prepare time for constant weights).
memory reorder_now(const dnnl::engine& engine, memory from, const memory::desc& to) {
  memory out(to, engine);
  dnnl::stream stream(engine);
  dnnl::reorder(from, out).execute(stream, from, out);
  stream.wait();
  return out;
}

// ---- elementwise activations ----------------------------------------------------------------

struct EltwiseSpec {
  dnnl::algorithm algorithm;
  float alpha = 0;
  float beta = 0;
};

std::optional<EltwiseSpec> eltwise_spec(const ir::Node& node) {
  using A = dnnl::algorithm;
  switch (*node.op) {
    case ir::Op::Relu: return EltwiseSpec{A::eltwise_relu, 0, 0};
    case ir::Op::LeakyRelu: return EltwiseSpec{A::eltwise_relu, node.attr_float("alpha", 0.01f), 0};
    case ir::Op::Sigmoid: return EltwiseSpec{A::eltwise_logistic, 0, 0};
    case ir::Op::Tanh: return EltwiseSpec{A::eltwise_tanh, 0, 0};
    case ir::Op::Elu: return EltwiseSpec{A::eltwise_elu, node.attr_float("alpha", 1.0f), 0};
    case ir::Op::HardSwish: return EltwiseSpec{A::eltwise_hardswish, 0, 0};
    case ir::Op::Softplus: return EltwiseSpec{A::eltwise_soft_relu, 0, 0};
    case ir::Op::Exp: return EltwiseSpec{A::eltwise_exp, 0, 0};
    case ir::Op::Sqrt: return EltwiseSpec{A::eltwise_sqrt, 0, 0};
    case ir::Op::Abs: return EltwiseSpec{A::eltwise_abs, 0, 0};
    case ir::Op::Neg: return EltwiseSpec{A::eltwise_linear, -1.0f, 0};
    case ir::Op::Clip:
      // Opsets before 11 give the bounds as attributes; later ones as inputs (read in prepare).
      return EltwiseSpec{A::eltwise_clip, node.attr_float("min", -FLT_MAX),
                         node.attr_float("max", FLT_MAX)};
    default: return std::nullopt;
  }
}

// A chain of post-ops to fuse after a Conv, Gemm or MatMul, and the fused node's flat inputs.
struct FusedChain {
  std::span<const PostOpNode> links;
  std::span<const Tensor* const> inputs;
};

bool is_post_op_activation(ir::Op op) {
  switch (op) {
    case ir::Op::Relu:
    case ir::Op::LeakyRelu:
    case ir::Op::Sigmoid:
    case ir::Op::Tanh:
    case ir::Op::Elu:
    case ir::Op::HardSwish:
    case ir::Op::Softplus:
    case ir::Op::Clip: return true;
    default: return false;
  }
}

// Appends `chain` (if any) to `ops` for a base whose result has the ONNX shape `out_shape` and
// the oneDNN dims `dst_dims`, recording where the binary post-ops find their operands.
Status append_chain(const FusedChain* chain, const Shape& out_shape, const Dims& dst_dims,
                    dnnl::post_ops& ops, std::vector<PrimitiveNode::Addend>& addends) {
  if (chain == nullptr) return Status::ok();
  for (const PostOpNode& link : chain->links) {
    const ir::Node& n = *link.node;
    if (*n.op == ir::Op::Add) {
      const Tensor* other = chain->inputs[link.first_input];
      if (other == nullptr) return unsupported_shapes("Add without a second operand");
      const Shape& s = other->shape();
      if (out_shape.size() != dst_dims.size()) {
        return unsupported_shapes("a matrix-vector product takes no fused Add");
      }
      if (s.size() > out_shape.size()) {
        return unsupported_shapes("the Add operand would broadcast the result to a higher rank");
      }
      const Dims d = pad_left(s, out_shape.size());
      for (size_t i = 0; i < d.size(); ++i) {
        if (d[i] != 1 && d[i] != out_shape[i]) {
          return unsupported_shapes("the Add operand does not broadcast to the fused result");
        }
      }
      const memory::desc md = plain(d);
      addends.push_back({DNNL_ARG_ATTR_MULTIPLE_POST_OP(ops.len()) | DNNL_ARG_SRC_1,
                         link.first_input, md});
      ops.append_binary(dnnl::algorithm::binary_add, md);
      continue;
    }
    std::optional<EltwiseSpec> spec = eltwise_spec(n);
    if (!spec || !is_post_op_activation(*n.op) || link.chain_input != 0) {
      return internal_error("cannot fuse " + n.describe());
    }
    if (*n.op == ir::Op::Clip && n.opset >= 11) {
      // The bounds (inputs 1 and 2) sit at first_input and first_input + 1.
      for (size_t i : {size_t{1}, size_t{2}}) {
        if (i >= n.inputs.size() || n.inputs[i].empty()) continue;
        const Tensor* bound = chain->inputs[link.first_input + i - 1];
        if (bound == nullptr || bound->size() != 1) {
          return unsupported_shapes("Clip bounds must be scalars");
        }
        (i == 1 ? spec->alpha : spec->beta) = bound->data<float>()[0];
      }
    }
    if (*n.op == ir::Op::Clip && !(spec->alpha <= spec->beta)) {
      return unsupported_shapes("Clip with min > max (or NaN bounds) is left to the reference");
    }
    ops.append_eltwise(1.0f, spec->algorithm, spec->alpha, spec->beta);
  }
  return Status::ok();
}

class EltwiseNode final : public PrimitiveNode {
 public:
  EltwiseNode(const dnnl::engine& engine, dnnl::primitive p, memory::desc scratchpad,
              memory::desc md, Shape shape)
      : PrimitiveNode(engine, std::move(p), scratchpad), md_(md), shape_(std::move(shape)) {}

  Status execute(dnnl::stream& stream, std::span<const Tensor* const> in,
                 std::vector<Tensor>& out) const override {
    Tensor y(DType::kFloat32, shape_);
    Args args{{DNNL_ARG_SRC, wrap(md_, engine_, *in[0])}, {DNNL_ARG_DST, wrap(md_, engine_, y)}};
    run(stream, args);
    out[0] = std::move(y);
    return Status::ok();
  }

 private:
  memory::desc md_;
  Shape shape_;
};

Result<std::shared_ptr<const PreparedNode>> prepare_eltwise(const ir::Node& node,
                                                            const dnnl::engine& engine,
                                                            std::span<const Tensor* const> in) {
  EltwiseSpec spec = *eltwise_spec(node);
  if (*node.op == ir::Op::Clip && node.opset >= 11) {
    for (size_t i : {size_t{1}, size_t{2}}) {
      if (i >= in.size() || in[i] == nullptr) continue;
      if (in[i]->size() != 1) return unsupported_shapes("Clip bounds must be scalars");
      (i == 1 ? spec.alpha : spec.beta) = in[i]->data<float>()[0];
    }
  }
  if (*node.op == ir::Op::Clip && !(spec.alpha <= spec.beta)) {
    return unsupported_shapes("Clip with min > max (or NaN bounds) is left to the reference");
  }
  const memory::desc md = plain(dims_of(in[0]->shape()));
  dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, spec.algorithm, md, spec.alpha,
                                spec.beta);
  dnnl::eltwise_forward::primitive_desc pd(d, user_scratchpad(), engine);
  return std::shared_ptr<const PreparedNode>(std::make_shared<EltwiseNode>(
      engine, dnnl::eltwise_forward(pd), pd.scratchpad_desc(), md, in[0]->shape()));
}

// ---- binary ops with multidirectional broadcasting --------------------------------------------

class BinaryNode final : public PrimitiveNode {
 public:
  BinaryNode(const dnnl::engine& engine, dnnl::primitive p, memory::desc scratchpad,
             memory::desc src0, memory::desc src1, memory::desc dst, bool swapped, Shape shape)
      : PrimitiveNode(engine, std::move(p), scratchpad),
        src0_(src0),
        src1_(src1),
        dst_(dst),
        swapped_(swapped),
        shape_(std::move(shape)) {}

  Status execute(dnnl::stream& stream, std::span<const Tensor* const> in,
                 std::vector<Tensor>& out) const override {
    Tensor y(DType::kFloat32, shape_);
    const Tensor& a = *in[swapped_ ? 1 : 0];
    const Tensor& b = *in[swapped_ ? 0 : 1];
    Args args{{DNNL_ARG_SRC_0, wrap(src0_, engine_, a)},
              {DNNL_ARG_SRC_1, wrap(src1_, engine_, b)},
              {DNNL_ARG_DST, wrap(dst_, engine_, y)}};
    run(stream, args);
    out[0] = std::move(y);
    return Status::ok();
  }

 private:
  memory::desc src0_, src1_, dst_;
  bool swapped_;
  Shape shape_;
};

Result<std::shared_ptr<const PreparedNode>> prepare_binary(const ir::Node& node,
                                                           const dnnl::engine& engine,
                                                           std::span<const Tensor* const> in) {
  const Shape& sa = in[0]->shape();
  const Shape& sb = in[1]->shape();
  const size_t rank = std::max<size_t>({sa.size(), sb.size(), 1});
  Dims a = pad_left(sa, rank), b = pad_left(sb, rank), y(rank);
  for (size_t i = 0; i < rank; ++i) {
    if (a[i] != b[i] && a[i] != 1 && b[i] != 1) {
      return unsupported_shapes("shapes do not broadcast");  // the reference reports it
    }
    y[i] = a[i] == 1 ? b[i] : a[i];
  }
  Shape out_shape(rank, 0);
  for (size_t i = 0; i < rank; ++i) out_shape[i] = y[i];
  if (sa.empty() && sb.empty()) out_shape.clear();
  // oneDNN 2.6 broadcasts src1 only: src0 must have the output's shape. Add and Mul swap their
  // operands; Sub computes -(b - a), exact since negation is.
  bool swapped = false;
  const bool swappable =
      *node.op == ir::Op::Add || *node.op == ir::Op::Mul || *node.op == ir::Op::Sub;
  if (a != y) {
    if (b != y || !swappable) {
      return unsupported_shapes("the first input broadcasts, which oneDNN 2.6 cannot do");
    }
    std::swap(a, b);
    swapped = true;
  }
  dnnl::algorithm alg = dnnl::algorithm::binary_add;
  switch (*node.op) {
    case ir::Op::Add: alg = dnnl::algorithm::binary_add; break;
    case ir::Op::Sub: alg = dnnl::algorithm::binary_sub; break;
    case ir::Op::Mul: alg = dnnl::algorithm::binary_mul; break;
    case ir::Op::Div: alg = dnnl::algorithm::binary_div; break;
    default: return internal_error("not a binary op: " + node.op_type);
  }
  const memory::desc m0 = plain(a), m1 = plain(b), md = plain(y);
  dnnl::binary::desc d(alg, m0, m1, md);
  dnnl::primitive_attr attr = user_scratchpad();
  if (swapped && *node.op == ir::Op::Sub) {
    dnnl::post_ops negate;
    negate.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, -1.0f, 0.0f);
    attr.set_post_ops(negate);
  }
  dnnl::binary::primitive_desc pd(d, attr, engine);
  return std::shared_ptr<const PreparedNode>(std::make_shared<BinaryNode>(
      engine, dnnl::binary(pd), pd.scratchpad_desc(), m0, m1, md, swapped, out_shape));
}

// ---- Softmax / LogSoftmax ---------------------------------------------------------------------

Result<std::shared_ptr<const PreparedNode>> prepare_softmax(const ir::Node& node,
                                                            const dnnl::engine& engine,
                                                            std::span<const Tensor* const> in) {
  const Shape& shape = in[0]->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  if (rank == 0) return unsupported_shapes("softmax of a scalar");
  const bool new_semantics = node.opset >= 13;
  int64_t axis = node.attr_int("axis", new_semantics ? -1 : 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return unsupported_shapes("axis out of range");
  Dims dims;
  int softmax_axis = 0;
  if (new_semantics) {
    dims = dims_of(shape);
    softmax_axis = static_cast<int>(axis);
  } else {
    // Before opset 13 the input is coerced to 2D at `axis` and normalised over the second dim.
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= shape[static_cast<size_t>(i)];
    dims = {outer, inner};
    softmax_axis = 1;
  }
  const memory::desc md = plain(dims);
  const dnnl::algorithm alg = *node.op == ir::Op::LogSoftmax ? dnnl::algorithm::softmax_log
                                                             : dnnl::algorithm::softmax_accurate;
  dnnl::softmax_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, md, md, softmax_axis);
  dnnl::softmax_v2_forward::primitive_desc pd(d, user_scratchpad(), engine);
  return std::shared_ptr<const PreparedNode>(std::make_shared<EltwiseNode>(
      engine, dnnl::softmax_v2_forward(pd), pd.scratchpad_desc(), md, shape));
}

// ---- convolution and pooling windows -----------------------------------------------------------

struct Window {
  Dims kernel, strides, dilations, pad_begin, pad_end, out;
};

// Resolves ONNX window attributes (kernel, strides, dilations, pads, auto_pad) for the spatial
// dims `in`; ceil_mode is refused at claim time.
Result<Window> resolve_window(const ir::Node& node, const Dims& in, const Dims& kernel) {
  const size_t n = in.size();
  Window w;
  w.kernel = kernel;
  const std::vector<int64_t> strides = node.attr_ints("strides", std::vector<int64_t>(n, 1));
  const std::vector<int64_t> dilations = node.attr_ints("dilations", std::vector<int64_t>(n, 1));
  const std::vector<int64_t> pads = node.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  if (strides.size() != n || dilations.size() != n || pads.size() != 2 * n) {
    return unsupported_shapes("window attributes do not match the input's rank");
  }
  const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  for (size_t i = 0; i < n; ++i) {
    if (strides[i] < 1 || dilations[i] < 1 || kernel[i] < 1) {
      return unsupported_shapes("non-positive kernel, stride or dilation");
    }
    const int64_t effective = (kernel[i] - 1) * dilations[i] + 1;
    int64_t begin = pads[i], end = pads[i + n];
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (in[i] + strides[i] - 1) / strides[i];
      const int64_t total = std::max<int64_t>(0, (out - 1) * strides[i] + effective - in[i]);
      begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      end = total - begin;
    } else if (auto_pad == "VALID") {
      begin = end = 0;
    }
    if (begin < 0 || end < 0) return unsupported_shapes("negative pads");
    const int64_t span = in[i] + begin + end - effective;
    if (span < 0) return unsupported_shapes("the window is larger than the padded input");
    w.strides.push_back(strides[i]);
    w.dilations.push_back(dilations[i] - 1);  // oneDNN counts dilation from 0
    w.pad_begin.push_back(begin);
    w.pad_end.push_back(end);
    w.out.push_back(span / strides[i] + 1);
  }
  return w;
}

class ConvNode final : public PrimitiveNode {
 public:
  ConvNode(const dnnl::engine& engine, dnnl::primitive p, memory::desc scratchpad, memory::desc src,
           memory::desc user_weights, memory::desc weights, std::optional<memory> packed_weights,
           std::optional<memory::desc> bias, memory::desc dst, Shape out_shape)
      : PrimitiveNode(engine, std::move(p), scratchpad),
        src_(src),
        user_weights_(user_weights),
        weights_(weights),
        packed_weights_(std::move(packed_weights)),
        bias_(bias),
        dst_(dst),
        out_shape_(std::move(out_shape)) {}

  Status execute(dnnl::stream& stream, std::span<const Tensor* const> in,
                 std::vector<Tensor>& out) const override {
    Tensor y(DType::kFloat32, out_shape_);
    Args args{{DNNL_ARG_SRC, wrap(src_, engine_, *in[0])}, {DNNL_ARG_DST, wrap(dst_, engine_, y)}};
    if (packed_weights_) {
      args.emplace(DNNL_ARG_WEIGHTS, *packed_weights_);
    } else if (weights_ == user_weights_) {
      args.emplace(DNNL_ARG_WEIGHTS, wrap(user_weights_, engine_, *in[1]));
    } else {
      // Weights that change per run (a graph input) are reordered per run.
      memory w(weights_, engine_);
      memory user = wrap(user_weights_, engine_, *in[1]);
      dnnl::reorder(user, w).execute(stream, user, w);
      args.emplace(DNNL_ARG_WEIGHTS, w);
    }
    if (bias_) args.emplace(DNNL_ARG_BIAS, wrap(*bias_, engine_, *in[2]));
    bind_addends(args, in);
    run(stream, args);
    out[0] = std::move(y);
    return Status::ok();
  }

 private:
  memory::desc src_, user_weights_, weights_;
  std::optional<memory> packed_weights_;
  std::optional<memory::desc> bias_;
  memory::desc dst_;
  Shape out_shape_;
};

Result<std::shared_ptr<const PreparedNode>> prepare_conv(const ir::Node& node,
                                                         const dnnl::engine& engine,
                                                         std::span<const Tensor* const> in,
                                                         const std::vector<bool>& constant,
                                                         const FusedChain* chain = nullptr) {
  const Shape& xs = in[0]->shape();
  const Shape& ws = in[1]->shape();
  if (xs.size() < 3 || xs.size() > 5 || ws.size() != xs.size()) {
    return unsupported_shapes("Conv needs 1 to 3 spatial dims and weights of the same rank");
  }
  const int64_t group = node.attr_int("group", 1);
  const int64_t channels = xs[1], out_channels = ws[0];
  if (group < 1 || ws[1] * group != channels || out_channels % group != 0) {
    return unsupported_shapes("channels do not match the group count");
  }
  const bool has_bias = in.size() > 2 && in[2] != nullptr;
  if (has_bias && in[2]->shape() != Shape{out_channels}) {
    return unsupported_shapes("bias is not of shape [M]");
  }
  const Dims spatial(xs.begin() + 2, xs.end());
  const Dims kernel(ws.begin() + 2, ws.end());
  const std::vector<int64_t> kernel_attr = node.attr_ints("kernel_shape", kernel);
  if (kernel_attr != kernel) return unsupported_shapes("kernel_shape differs from the weights");
  ER_ASSIGN_OR_RETURN(Window w, resolve_window(node, spatial, kernel));

  Dims y_dims = {xs[0], out_channels};
  y_dims.insert(y_dims.end(), w.out.begin(), w.out.end());
  Dims w_dims;
  if (group > 1)
    w_dims = {group, out_channels / group, ws[1]};
  else
    w_dims = {out_channels, ws[1]};
  w_dims.insert(w_dims.end(), kernel.begin(), kernel.end());
  const memory::desc src = plain(dims_of(xs)), dst = plain(y_dims), user_w = plain(w_dims);
  const memory::desc any_w(w_dims, kF32, memory::format_tag::any);
  std::optional<memory::desc> bias;
  if (has_bias) bias = plain({out_channels});
  auto d = has_bias ? dnnl::convolution_forward::desc(
                          dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                          src, any_w, *bias, dst, w.strides, w.dilations, w.pad_begin, w.pad_end)
                    : dnnl::convolution_forward::desc(
                          dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                          src, any_w, dst, w.strides, w.dilations, w.pad_begin, w.pad_end);
  Shape out_shape(y_dims.begin(), y_dims.end());
  dnnl::post_ops ops;
  std::vector<PrimitiveNode::Addend> addends;
  ER_RETURN_IF_ERROR(append_chain(chain, out_shape, y_dims, ops, addends));
  dnnl::primitive_attr attr = user_scratchpad();
  attr.set_post_ops(ops);
  dnnl::convolution_forward::primitive_desc pd(d, attr, engine);
  std::optional<memory> packed;
  if (constant[1] && pd.weights_desc() != user_w) {
    // Constant weights go into the primitive's preferred layout once, here.
    packed = reorder_now(engine, wrap(user_w, engine, *in[1]), pd.weights_desc());
  }
  auto conv = std::make_shared<ConvNode>(engine, dnnl::convolution_forward(pd),
                                         pd.scratchpad_desc(), src, user_w, pd.weights_desc(),
                                         std::move(packed), bias, dst, std::move(out_shape));
  conv->set_addends(std::move(addends));
  return std::shared_ptr<const PreparedNode>(std::move(conv));
}

Result<std::shared_ptr<const PreparedNode>> prepare_pool(const ir::Node& node,
                                                         const dnnl::engine& engine,
                                                         std::span<const Tensor* const> in) {
  const Shape& xs = in[0]->shape();
  if (xs.size() < 3 || xs.size() > 5)
    return unsupported_shapes("pooling needs 1 to 3 spatial dims");
  const Dims spatial(xs.begin() + 2, xs.end());
  const bool global = *node.op == ir::Op::GlobalAveragePool || *node.op == ir::Op::GlobalMaxPool;
  Window w;
  if (global) {
    w.kernel = spatial;
    w.strides = Dims(spatial.size(), 1);
    w.dilations = w.pad_begin = w.pad_end = Dims(spatial.size(), 0);
    w.out = Dims(spatial.size(), 1);
  } else {
    const std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
    if (kernel.size() != spatial.size()) return unsupported_shapes("kernel_shape rank mismatch");
    ER_ASSIGN_OR_RETURN(w, resolve_window(node, spatial, kernel));
  }
  dnnl::algorithm alg = dnnl::algorithm::pooling_max;
  if (*node.op == ir::Op::AveragePool || *node.op == ir::Op::GlobalAveragePool) {
    alg = node.attr_int("count_include_pad", 0) != 0 ? dnnl::algorithm::pooling_avg_include_padding
                                                     : dnnl::algorithm::pooling_avg_exclude_padding;
  }
  Dims y_dims = {xs[0], xs[1]};
  y_dims.insert(y_dims.end(), w.out.begin(), w.out.end());
  const memory::desc src = plain(dims_of(xs)), dst = plain(y_dims);
  dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, src, dst, w.strides,
                                   w.kernel, w.dilations, w.pad_begin, w.pad_end);
  dnnl::pooling_v2_forward::primitive_desc pd(d, user_scratchpad(), engine);
  Shape out_shape(y_dims.begin(), y_dims.end());
  // Same execute as an elementwise node, with different src and dst descriptors.
  class PoolNode final : public PrimitiveNode {
   public:
    PoolNode(const dnnl::engine& e, dnnl::primitive p, memory::desc s, memory::desc src,
             memory::desc dst, Shape shape)
        : PrimitiveNode(e, std::move(p), s), src_(src), dst_(dst), shape_(std::move(shape)) {}
    Status execute(dnnl::stream& stream, std::span<const Tensor* const> in,
                   std::vector<Tensor>& out) const override {
      Tensor y(DType::kFloat32, shape_);
      Args args{{DNNL_ARG_SRC, wrap(src_, engine_, *in[0])},
                {DNNL_ARG_DST, wrap(dst_, engine_, y)}};
      run(stream, args);
      out[0] = std::move(y);
      return Status::ok();
    }

   private:
    memory::desc src_, dst_;
    Shape shape_;
  };
  return std::shared_ptr<const PreparedNode>(std::make_shared<PoolNode>(
      engine, dnnl::pooling_v2_forward(pd), pd.scratchpad_desc(), src, dst, std::move(out_shape)));
}

// ---- BatchNormalization (inference) -----------------------------------------------------------

class BatchNormNode final : public PrimitiveNode {
 public:
  BatchNormNode(const dnnl::engine& engine, dnnl::primitive p, memory::desc scratchpad,
                memory::desc data, memory::desc channel, Shape shape)
      : PrimitiveNode(engine, std::move(p), scratchpad),
        data_(data),
        channel_(channel),
        shape_(std::move(shape)) {}

  Status execute(dnnl::stream& stream, std::span<const Tensor* const> in,
                 std::vector<Tensor>& out) const override {
    Tensor y(DType::kFloat32, shape_);
    Args args{{DNNL_ARG_SRC, wrap(data_, engine_, *in[0])},
              {DNNL_ARG_DST, wrap(data_, engine_, y)},
              {DNNL_ARG_SCALE, wrap(channel_, engine_, *in[1])},
              {DNNL_ARG_SHIFT, wrap(channel_, engine_, *in[2])},
              {DNNL_ARG_MEAN, wrap(channel_, engine_, *in[3])},
              {DNNL_ARG_VARIANCE, wrap(channel_, engine_, *in[4])}};
    run(stream, args);
    out[0] = std::move(y);
    return Status::ok();
  }

 private:
  memory::desc data_, channel_;
  Shape shape_;
};

Result<std::shared_ptr<const PreparedNode>> prepare_batch_norm(const ir::Node& node,
                                                               const dnnl::engine& engine,
                                                               std::span<const Tensor* const> in) {
  const Shape& xs = in[0]->shape();
  if (xs.size() < 2 || xs.size() > 5) return unsupported_shapes("BatchNormalization rank");
  for (size_t i = 1; i < 5; ++i) {
    if (in.size() <= i || in[i] == nullptr || in[i]->shape() != Shape{xs[1]}) {
      return unsupported_shapes("scale, bias, mean and var must be of shape [C]");
    }
  }
  const memory::desc data = plain(dims_of(xs)), channel = plain({xs[1]});
  const auto flags = dnnl::normalization_flags::use_global_stats |
                     dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  dnnl::batch_normalization_forward::desc d(dnnl::prop_kind::forward_inference, data,
                                            node.attr_float("epsilon", 1e-5f), flags);
  dnnl::batch_normalization_forward::primitive_desc pd(d, user_scratchpad(), engine);
  return std::shared_ptr<const PreparedNode>(std::make_shared<BatchNormNode>(
      engine, dnnl::batch_normalization_forward(pd), pd.scratchpad_desc(), data, channel, xs));
}

// ---- ConvTranspose -----------------------------------------------------------------------------

Result<std::shared_ptr<const PreparedNode>> prepare_conv_transpose(
    const ir::Node& node, const dnnl::engine& engine, std::span<const Tensor* const> in,
    const std::vector<bool>& constant) {
  const Shape& xs = in[0]->shape();
  const Shape& ws = in[1]->shape();
  if (xs.size() < 3 || xs.size() > 5 || ws.size() != xs.size()) {
    return unsupported_shapes("ConvTranspose needs 1 to 3 spatial dims and weights of that rank");
  }
  const size_t nd = xs.size() - 2;
  const int64_t group = node.attr_int("group", 1);
  const int64_t channels = xs[1];
  if (group < 1 || ws[0] != channels || channels % group != 0) {
    return unsupported_shapes("channels do not match the weights and group count");
  }
  const int64_t out_channels = ws[1] * group;
  const bool has_bias = in.size() > 2 && in[2] != nullptr;
  if (has_bias && in[2]->shape() != Shape{out_channels}) {
    return unsupported_shapes("bias is not of shape [M]");
  }
  const Dims kernel(ws.begin() + 2, ws.end());
  if (node.attr_ints("kernel_shape", kernel) != kernel) {
    return unsupported_shapes("kernel_shape differs from the weights");
  }
  const auto spatial_attr = [&](const char* name, int64_t fallback, size_t count) {
    return node.attr_ints(name, std::vector<int64_t>(count, fallback));
  };
  const std::vector<int64_t> strides = spatial_attr("strides", 1, nd);
  const std::vector<int64_t> dilations = spatial_attr("dilations", 1, nd);
  const std::vector<int64_t> output_padding = spatial_attr("output_padding", 0, nd);
  const std::vector<int64_t> pads = spatial_attr("pads", 0, 2 * nd);
  std::vector<int64_t> output_shape = node.attr_ints("output_shape");
  if (output_shape.size() == nd + 2) {
    output_shape.erase(output_shape.begin(), output_shape.begin() + 2);  // names N and C too
  }
  if (strides.size() != nd || dilations.size() != nd || output_padding.size() != nd ||
      pads.size() != 2 * nd || (!output_shape.empty() && output_shape.size() != nd)) {
    return unsupported_shapes("window attributes do not match the input's rank");
  }
  const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  Dims out(nd), pad_begin(nd), pad_end(nd), dilation(nd);
  for (size_t d = 0; d < nd; ++d) {
    if (strides[d] < 1 || dilations[d] < 1 || kernel[d] < 1 || output_padding[d] < 0) {
      return unsupported_shapes("non-positive kernel, stride or dilation");
    }
    // The geometry the reference uses; oneDNN then has to express it with paddings.
    const std::optional<int64_t> size =
        output_shape.empty() ? std::nullopt : std::optional<int64_t>(output_shape[d]);
    const ir::TransposedExtent e =
        ir::conv_transpose_extent(xs[d + 2], kernel[d], strides[d], dilations[d],
                                  output_padding[d], pads[d], pads[d + nd], size, auto_pad);
    const int64_t full = e.full;
    out[d] = e.out;
    pad_begin[d] = e.pad_begin;
    // oneDNN: out = (in - 1) * stride + span - pad_begin - pad_end; output_padding extends
    // the end, which a smaller end padding expresses. An output larger than the full result
    // (a negative padding) is left to the reference.
    pad_end[d] = full - output_padding[d] - pad_begin[d] - out[d];
    if (out[d] < 1 || pad_begin[d] < 0 || pad_end[d] < 0) {
      return unsupported_shapes("an output beyond the full result needs negative padding");
    }
    dilation[d] = dilations[d] - 1;
  }
  // ONNX weights are (C, M/group, k...) = (group, C/group, M/group, k...); oneDNN reads
  // (group, M/group, C/group, k...): the same bytes with the two channel strides swapped.
  const int64_t k_size = std::accumulate(kernel.begin(), kernel.end(), int64_t{1},
                                         std::multiplies<int64_t>());
  const int64_t cg = channels / group, mg = ws[1];
  const Dims k_strides = row_major_strides(kernel);
  Dims w_dims, w_strides;
  if (group > 1) {
    w_dims = {group, mg, cg};
    w_strides = {cg * mg * k_size, k_size, mg * k_size};
  } else {
    w_dims = {mg, cg};
    w_strides = {k_size, mg * k_size};
  }
  w_dims.insert(w_dims.end(), kernel.begin(), kernel.end());
  w_strides.insert(w_strides.end(), k_strides.begin(), k_strides.end());
  Dims y_dims = {xs[0], out_channels};
  y_dims.insert(y_dims.end(), out.begin(), out.end());
  const memory::desc src = plain(dims_of(xs)), dst = plain(y_dims);
  const memory::desc user_w(w_dims, kF32, w_strides);
  const memory::desc any_w(w_dims, kF32, memory::format_tag::any);
  std::optional<memory::desc> bias;
  if (has_bias) bias = plain({out_channels});
  auto d = has_bias ? dnnl::deconvolution_forward::desc(
                          dnnl::prop_kind::forward_inference,
                          dnnl::algorithm::deconvolution_direct, src, any_w, *bias, dst, strides,
                          dilation, pad_begin, pad_end)
                    : dnnl::deconvolution_forward::desc(
                          dnnl::prop_kind::forward_inference,
                          dnnl::algorithm::deconvolution_direct, src, any_w, dst, strides,
                          dilation, pad_begin, pad_end);
  dnnl::deconvolution_forward::primitive_desc pd(d, user_scratchpad(), engine);
  std::optional<memory> packed;
  if (constant[1] && pd.weights_desc() != user_w) {
    packed = reorder_now(engine, wrap(user_w, engine, *in[1]), pd.weights_desc());
  }
  return std::shared_ptr<const PreparedNode>(std::make_shared<ConvNode>(
      engine, dnnl::deconvolution_forward(pd), pd.scratchpad_desc(), src, user_w,
      pd.weights_desc(), std::move(packed), bias, dst, Shape(y_dims.begin(), y_dims.end())));
}

// ---- Concat ------------------------------------------------------------------------------------

class ConcatNode final : public PrimitiveNode {
 public:
  ConcatNode(const dnnl::engine& engine, dnnl::primitive p, memory::desc scratchpad,
             std::vector<memory::desc> srcs, memory::desc dst, Shape shape)
      : PrimitiveNode(engine, std::move(p), scratchpad),
        srcs_(std::move(srcs)),
        dst_(dst),
        shape_(std::move(shape)) {}

  Status execute(dnnl::stream& stream, std::span<const Tensor* const> in,
                 std::vector<Tensor>& out) const override {
    Tensor y(DType::kFloat32, shape_);
    Args args{{DNNL_ARG_DST, wrap(dst_, engine_, y)}};
    for (size_t i = 0; i < srcs_.size(); ++i) {
      args.emplace(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), wrap(srcs_[i], engine_, *in[i]));
    }
    run(stream, args);
    out[0] = std::move(y);
    return Status::ok();
  }

 private:
  std::vector<memory::desc> srcs_;
  memory::desc dst_;
  Shape shape_;
};

Result<std::shared_ptr<const PreparedNode>> prepare_concat(const ir::Node& node,
                                                           const dnnl::engine& engine,
                                                           std::span<const Tensor* const> in) {
  if (in.empty() || in[0] == nullptr) return unsupported_shapes("Concat without inputs");
  const Shape& first = in[0]->shape();
  const int64_t rank = static_cast<int64_t>(first.size());
  if (rank == 0) return unsupported_shapes("Concat of scalars");
  if (rank > DNNL_MAX_NDIMS) return unsupported_shapes("rank above oneDNN's limit");
  int64_t axis = node.attr_int("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return unsupported_shapes("axis out of range");
  Shape out_shape = first;
  out_shape[static_cast<size_t>(axis)] = 0;
  std::vector<memory::desc> srcs;
  for (const Tensor* t : in) {
    if (t == nullptr || t->shape().size() != first.size()) {
      return unsupported_shapes("inputs of different ranks");  // the reference reports it
    }
    for (int64_t d = 0; d < rank; ++d) {
      if (d != axis && t->shape()[static_cast<size_t>(d)] != first[static_cast<size_t>(d)]) {
        return unsupported_shapes("inputs differ outside the axis");
      }
    }
    out_shape[static_cast<size_t>(axis)] += t->shape()[static_cast<size_t>(axis)];
    srcs.push_back(plain(dims_of(t->shape())));
  }
  const memory::desc dst = plain(dims_of(out_shape));
  dnnl::concat::primitive_desc pd(dst, static_cast<int>(axis), srcs, engine, user_scratchpad());
  return std::shared_ptr<const PreparedNode>(std::make_shared<ConcatNode>(
      engine, dnnl::concat(pd), pd.scratchpad_desc(), std::move(srcs), dst, std::move(out_shape)));
}

// ---- LayerNormalization ------------------------------------------------------------------------

class LayerNormNode final : public PrimitiveNode {
 public:
  LayerNormNode(const dnnl::engine& engine, dnnl::primitive p, memory::desc scratchpad,
                memory::desc data, memory::desc param, bool has_bias, Shape shape)
      : PrimitiveNode(engine, std::move(p), scratchpad),
        data_(data),
        param_(param),
        has_bias_(has_bias),
        shape_(std::move(shape)) {}

  Status execute(dnnl::stream& stream, std::span<const Tensor* const> in,
                 std::vector<Tensor>& out) const override {
    Tensor y(DType::kFloat32, shape_);
    Args args{{DNNL_ARG_SRC, wrap(data_, engine_, *in[0])},
              {DNNL_ARG_DST, wrap(data_, engine_, y)},
              {DNNL_ARG_SCALE, wrap(param_, engine_, *in[1])}};
    if (has_bias_) args.emplace(DNNL_ARG_SHIFT, wrap(param_, engine_, *in[2]));
    run(stream, args);
    out[0] = std::move(y);
    return Status::ok();
  }

 private:
  memory::desc data_, param_;
  bool has_bias_;
  Shape shape_;
};

Result<std::shared_ptr<const PreparedNode>> prepare_layer_norm(const ir::Node& node,
                                                               const dnnl::engine& engine,
                                                               std::span<const Tensor* const> in) {
  const Shape& xs = in[0]->shape();
  const int64_t rank = static_cast<int64_t>(xs.size());
  if (rank == 0) return unsupported_shapes("LayerNormalization of a scalar");
  int64_t axis = node.attr_int("axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return unsupported_shapes("axis out of range");
  const Shape tail(xs.begin() + axis, xs.end());
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= xs[static_cast<size_t>(i)];
  // oneDNN takes one scale and one shift per normalised element: Scale and B must cover the
  // whole normalised tail (leading 1s allowed), not broadcast within it.
  const bool has_bias = in.size() > 2 && in[2] != nullptr;
  for (size_t i = 1; i < (has_bias ? 3u : 2u); ++i) {
    if (in.size() <= i || in[i] == nullptr) return unsupported_shapes("Scale is missing");
    const Shape& ps = in[i]->shape();
    if (ps.size() > xs.size()) return unsupported_shapes("Scale or B has a higher rank than X");
    const Dims padded = pad_left(ps, xs.size());
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t want = d < axis ? 1 : xs[static_cast<size_t>(d)];
      if (padded[static_cast<size_t>(d)] != want) {
        return unsupported_shapes("Scale or B broadcasts within the normalised dims");
      }
    }
  }
  const memory::desc data = plain({outer, inner}), param = plain({inner});
  auto flags = dnnl::normalization_flags::use_scale;
  if (has_bias) flags = flags | dnnl::normalization_flags::use_shift;
  dnnl::layer_normalization_forward::desc d(dnnl::prop_kind::forward_inference, data,
                                            node.attr_float("epsilon", 1e-5f), flags);
  dnnl::layer_normalization_forward::primitive_desc pd(d, user_scratchpad(), engine);
  return std::shared_ptr<const PreparedNode>(
      std::make_shared<LayerNormNode>(engine, dnnl::layer_normalization_forward(pd),
                                      pd.scratchpad_desc(), data, param, has_bias, xs));
}

// ---- Gemm and MatMul --------------------------------------------------------------------------

class MatMulNode final : public PrimitiveNode {
 public:
  MatMulNode(const dnnl::engine& engine, dnnl::primitive p, memory::desc scratchpad,
             memory::desc src, memory::desc weights, memory::desc dst, Shape out_shape)
      : PrimitiveNode(engine, std::move(p), scratchpad),
        src_(src),
        weights_(weights),
        dst_(dst),
        out_shape_(std::move(out_shape)) {}

  // Gemm's C: added with a binary post-op, scaled by beta first (once when C is constant).
  void set_addend(memory::desc md, int post_op_index, float beta, std::optional<Tensor> scaled) {
    addend_ = md;
    addend_arg_ = DNNL_ARG_ATTR_MULTIPLE_POST_OP(post_op_index) | DNNL_ARG_SRC_1;
    beta_ = beta;
    scaled_addend_ = std::move(scaled);
  }

  Status execute(dnnl::stream& stream, std::span<const Tensor* const> in,
                 std::vector<Tensor>& out) const override {
    Tensor y(DType::kFloat32, out_shape_);
    Args args{{DNNL_ARG_SRC, wrap(src_, engine_, *in[0])},
              {DNNL_ARG_WEIGHTS, wrap(weights_, engine_, *in[1])},
              {DNNL_ARG_DST, wrap(dst_, engine_, y)}};
    Tensor scaled;
    if (addend_) {
      if (scaled_addend_) {
        scaled = *scaled_addend_;
      } else if (beta_ == 1.0f) {
        scaled = *in[2];
      } else {
        scaled = Tensor(DType::kFloat32, in[2]->shape());
        for (int64_t i = 0; i < scaled.size(); ++i) {
          scaled.data<float>()[i] = beta_ * in[2]->data<float>()[i];
        }
      }
      args.emplace(addend_arg_, wrap(*addend_, engine_, scaled));
    }
    bind_addends(args, in);
    run(stream, args);
    out[0] = std::move(y);
    return Status::ok();
  }

 private:
  memory::desc src_, weights_, dst_;
  Shape out_shape_;
  std::optional<memory::desc> addend_;
  int addend_arg_ = 0;
  float beta_ = 1.0f;
  std::optional<Tensor> scaled_addend_;
};

Result<std::shared_ptr<const PreparedNode>> prepare_gemm(const ir::Node& node,
                                                         const dnnl::engine& engine,
                                                         std::span<const Tensor* const> in,
                                                         const std::vector<bool>& constant,
                                                         const FusedChain* chain = nullptr) {
  const Shape& as = in[0]->shape();
  const Shape& bs = in[1]->shape();
  if (as.size() != 2 || bs.size() != 2) return unsupported_shapes("Gemm needs 2D A and B");
  const bool trans_a = node.attr_int("transA", 0) != 0, trans_b = node.attr_int("transB", 0) != 0;
  const int64_t m = trans_a ? as[1] : as[0], k = trans_a ? as[0] : as[1];
  const int64_t n = trans_b ? bs[0] : bs[1];
  if ((trans_b ? bs[1] : bs[0]) != k) return unsupported_shapes("inner dims differ");
  if (m == 0 || n == 0 || k == 0) return unsupported_shapes("empty matrices");
  const float alpha = node.attr_float("alpha", 1.0f), beta = node.attr_float("beta", 1.0f);
  // A transposed operand is the same bytes read with swapped strides.
  const memory::desc src({m, k}, kF32, trans_a ? Dims{1, m} : Dims{k, 1});
  const memory::desc weights({k, n}, kF32, trans_b ? Dims{1, k} : Dims{n, 1});
  const memory::desc dst = plain({m, n});
  dnnl::post_ops ops;
  int index = 0;
  if (alpha != 1.0f) {
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, alpha, 0.0f);
    ++index;
  }
  const bool has_c = in.size() > 2 && in[2] != nullptr && beta != 0.0f;
  std::optional<memory::desc> c_md;
  if (has_c) {
    const Shape& cs = in[2]->shape();
    if (cs.size() > 2) return unsupported_shapes("C has rank > 2");
    const Dims c = pad_left(cs, 2);
    if ((c[0] != 1 && c[0] != m) || (c[1] != 1 && c[1] != n)) {
      return unsupported_shapes("C does not broadcast to [M, N]");
    }
    c_md = plain(c);
    ops.append_binary(dnnl::algorithm::binary_add, *c_md);
  }
  std::vector<PrimitiveNode::Addend> addends;
  ER_RETURN_IF_ERROR(append_chain(chain, Shape{m, n}, Dims{m, n}, ops, addends));
  dnnl::primitive_attr attr = user_scratchpad();
  attr.set_post_ops(ops);
  dnnl::matmul::desc d(src, weights, dst);
  dnnl::matmul::primitive_desc pd(d, attr, engine);
  auto node_ptr = std::make_shared<MatMulNode>(engine, dnnl::matmul(pd), pd.scratchpad_desc(), src,
                                               weights, dst, Shape{m, n});
  if (has_c) {
    std::optional<Tensor> scaled;
    if (constant[2]) {
      Tensor t = in[2]->clone();
      for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] *= beta;
      scaled = std::move(t);
    }
    node_ptr->set_addend(*c_md, index, beta, std::move(scaled));
  }
  node_ptr->set_addends(std::move(addends));
  return std::shared_ptr<const PreparedNode>(std::move(node_ptr));
}

Result<std::shared_ptr<const PreparedNode>> prepare_matmul(const dnnl::engine& engine,
                                                           std::span<const Tensor* const> in,
                                                           const FusedChain* chain = nullptr) {
  Shape a = in[0]->shape(), b = in[1]->shape();
  if (a.empty() || b.empty()) return unsupported_shapes("MatMul of a scalar");
  const bool a_vector = a.size() == 1, b_vector = b.size() == 1;
  if (a_vector) a.insert(a.begin(), 1);
  if (b_vector) b.push_back(1);
  const size_t rank = std::max(a.size(), b.size());
  if (rank > DNNL_MAX_NDIMS) return unsupported_shapes("rank above oneDNN's limit");
  const Dims ad = pad_left(a, rank), bd = pad_left(b, rank);
  if (ad[rank - 1] != bd[rank - 2]) return unsupported_shapes("inner dims differ");
  Dims yd(rank);
  Shape out_shape;
  for (size_t i = 0; i + 2 < rank; ++i) {
    if (ad[i] != bd[i] && ad[i] != 1 && bd[i] != 1) return unsupported_shapes("batch dims differ");
    yd[i] = ad[i] == 1 ? bd[i] : ad[i];
    out_shape.push_back(yd[i]);
  }
  yd[rank - 2] = ad[rank - 2];
  yd[rank - 1] = bd[rank - 1];
  if (!a_vector) out_shape.push_back(yd[rank - 2]);
  if (!b_vector) out_shape.push_back(yd[rank - 1]);
  for (int64_t d : ad) {
    if (d == 0) return unsupported_shapes("empty operands");
  }
  for (int64_t d : bd) {
    if (d == 0) return unsupported_shapes("empty operands");
  }
  const memory::desc src = plain(ad), weights = plain(bd), dst = plain(yd);
  dnnl::post_ops ops;
  std::vector<PrimitiveNode::Addend> addends;
  ER_RETURN_IF_ERROR(append_chain(chain, out_shape, yd, ops, addends));
  dnnl::primitive_attr attr = user_scratchpad();
  attr.set_post_ops(ops);
  dnnl::matmul::desc d(src, weights, dst);
  dnnl::matmul::primitive_desc pd(d, attr, engine);
  auto matmul = std::make_shared<MatMulNode>(engine, dnnl::matmul(pd), pd.scratchpad_desc(), src,
                                             weights, dst, std::move(out_shape));
  matmul->set_addends(std::move(addends));
  return std::shared_ptr<const PreparedNode>(std::move(matmul));
}

// ---- claiming ----------------------------------------------------------------------------------

bool is_initializer(const ir::Graph& graph, const std::string& name) {
  return graph.initializers.count(name) > 0;
}

std::string check_float_inputs(const ir::Node& node, const ValueTypes& types) {
  for (const std::string& in : node.inputs) {
    if (in.empty()) continue;
    const DType d = types.dtype(in);
    if (d == DType::kUndefined)
      return "the dtype of input '" + in + "' is not known before it runs";
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

std::string check_rank(const ir::Node& node, const ValueTypes& types, size_t lo, size_t hi) {
  const Shape* s = node.inputs.empty() ? nullptr : types.shape(node.inputs[0]);
  if (s != nullptr && (s->size() < lo || s->size() > hi)) {
    return "input rank " + std::to_string(s->size()) + " is outside " + std::to_string(lo) + ".." +
           std::to_string(hi);
  }
  return {};
}

std::string check_window(const ir::Node& node) {
  const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" &&
      auto_pad != "VALID") {
    return "auto_pad '" + auto_pad + "' is not lowered";
  }
  if (node.attr_int("ceil_mode", 0) != 0) return "ceil_mode=1 is not lowered";
  return {};
}

std::string op_reason(const ir::Node& node, const ir::Graph& graph, const ValueTypes& types) {
  switch (*node.op) {
    case ir::Op::Relu:
    case ir::Op::LeakyRelu:
    case ir::Op::Sigmoid:
    case ir::Op::Tanh:
    case ir::Op::Elu:
    case ir::Op::Softplus:
    case ir::Op::Exp:
    case ir::Op::Sqrt:
    case ir::Op::Abs:
    case ir::Op::Neg:
    case ir::Op::HardSwish: return node.opset < 6 ? "opsets before 6 are not lowered" : "";
    case ir::Op::Clip:
      if (node.opset < 6) return "opsets before 6 are not lowered";
      for (size_t i = 1; i < node.inputs.size(); ++i) {
        if (!node.inputs[i].empty() && !is_initializer(graph, node.inputs[i])) {
          return "the bounds are not constant";
        }
      }
      return {};
    case ir::Op::Add:
    case ir::Op::Sub:
    case ir::Op::Mul:
    case ir::Op::Div:
      if (node.opset < 7) return "the legacy broadcast attribute (opset < 7) is not lowered";
      return node.inputs.size() == 2 ? "" : "needs two inputs";
    case ir::Op::Softmax:
    case ir::Op::LogSoftmax: return {};
    case ir::Op::Conv: {
      if (node.inputs.size() < 2) return "needs weights";
      std::string why = check_window(node);
      return why.empty() ? check_rank(node, types, 3, 5) : why;
    }
    case ir::Op::MaxPool:
    case ir::Op::AveragePool: {
      if (node.attr_int("storage_order", 0) != 0 && node.outputs.size() > 1) {
        return "storage_order is not lowered";
      }
      std::string why = check_window(node);
      return why.empty() ? check_rank(node, types, 3, 5) : why;
    }
    case ir::Op::GlobalAveragePool:
    case ir::Op::GlobalMaxPool: return check_rank(node, types, 3, 5);
    case ir::Op::BatchNormalization:
      if (node.opset < 7) return "opsets before 7 (is_test) are not lowered";
      if (node.opset < 9 && node.attr_int("spatial", 1) != 1) return "spatial=0 is not lowered";
      if (node.attr_int("training_mode", 0) != 0) return "training mode is not lowered";
      if (node.inputs.size() != 5) return "needs scale, bias, mean and var";
      return check_rank(node, types, 2, 5);
    case ir::Op::Gemm:
      if (node.opset < 7) return "the legacy broadcast attribute (opset < 7) is not lowered";
      return check_rank(node, types, 2, 2);
    case ir::Op::MatMul: return {};
    case ir::Op::ConvTranspose: {
      if (node.inputs.size() < 2) return "needs weights";
      const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
      if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" &&
          auto_pad != "VALID") {
        return "auto_pad '" + auto_pad + "' is not lowered";
      }
      return check_rank(node, types, 3, 5);
    }
    case ir::Op::Concat:
      if (node.opset < 4) return "opsets before 4 (optional axis) are not lowered";
      return node.inputs.empty() ? "needs inputs" : "";
    case ir::Op::LayerNormalization:
      if (node.attr_int("stash_type", 1) != 1) return "stash_type other than float is not lowered";
      if (node.inputs.size() < 2) return "needs Scale";
      for (size_t i = 1; i < node.outputs.size(); ++i) {
        if (!node.outputs[i].empty()) {
          return "the Mean and InvStdDev outputs are not lowered (oneDNN gives the variance, "
                 "not its inverse square root)";
        }
      }
      return {};
    case ir::Op::Log:
      // oneDNN's vectorised log is off by ~1e-6 absolute near 1, where the exact result is ~0.
      return "oneDNN's log approximation is not exact enough near 1";
    default: return "no oneDNN lowering for " + node.op_type;
  }
}

}  // namespace

std::string claim_reason(const ir::Node& node, const ir::Graph& graph, const ValueTypes& types) {
  if (!node.op || !node.domain.empty()) return "no oneDNN lowering for " + node.op_type;
  std::string why = op_reason(node, graph, types);
  if (why.empty()) why = check_single_output(node);
  if (why.empty()) why = check_float_inputs(node, types);
  return why;
}

std::string_view claim_summary(ir::Op op) {
  switch (op) {
    case ir::Op::Relu:
    case ir::Op::LeakyRelu:
    case ir::Op::Sigmoid:
    case ir::Op::Tanh:
    case ir::Op::Elu:
    case ir::Op::Softplus:
    case ir::Op::Exp:
    case ir::Op::Sqrt:
    case ir::Op::Abs:
    case ir::Op::Neg:
    case ir::Op::HardSwish: return "float32, opset 6+";
    case ir::Op::Clip: return "float32, opset 6+, constant bounds";
    case ir::Op::Add:
    case ir::Op::Sub:
    case ir::Op::Mul:
    case ir::Op::Div: return "float32, opset 7+ (broadcasting)";
    case ir::Op::Softmax:
    case ir::Op::LogSoftmax:
    case ir::Op::MatMul: return "float32";
    case ir::Op::Gemm: return "float32, opset 7+";
    case ir::Op::Conv: return "float32, 1-3 spatial dims";
    case ir::Op::MaxPool: return "float32, 1-3 spatial dims, no ceil_mode or indices";
    case ir::Op::AveragePool: return "float32, 1-3 spatial dims, no ceil_mode";
    case ir::Op::GlobalAveragePool:
    case ir::Op::GlobalMaxPool: return "float32, 1-3 spatial dims";
    case ir::Op::BatchNormalization: return "float32, opset 7+, inference";
    case ir::Op::ConvTranspose: return "float32, 1-3 spatial dims";
    case ir::Op::Concat: return "float32, opset 4+";
    case ir::Op::LayerNormalization: return "float32, stash_type 1, no Mean/InvStdDev outputs";
    default: return "";
  }
}

bool is_compute_heavy(ir::Op op) {
  switch (op) {
    case ir::Op::Conv:
    case ir::Op::ConvTranspose:
    case ir::Op::LayerNormalization:
    case ir::Op::Gemm:
    case ir::Op::MatMul:
    case ir::Op::MaxPool:
    case ir::Op::AveragePool:
    case ir::Op::GlobalAveragePool:
    case ir::Op::GlobalMaxPool:
    case ir::Op::BatchNormalization:
    case ir::Op::Softmax:
    case ir::Op::LogSoftmax: return true;
    default: return false;
  }
}

Result<std::shared_ptr<const PreparedNode>> prepare_node(const ir::Node& node,
                                                         const dnnl::engine& engine,
                                                         std::span<const Tensor* const> inputs,
                                                         const std::vector<bool>& constant) {
  for (const Tensor* t : inputs) {
    if (t == nullptr) continue;
    if (t->dtype() != DType::kFloat32) return unsupported_shapes("an input is not float32");
    if (t->size() == 0) return unsupported_shapes("empty tensors are left to the reference");
  }
  try {
    switch (*node.op) {
      case ir::Op::Add:
      case ir::Op::Sub:
      case ir::Op::Mul:
      case ir::Op::Div: return prepare_binary(node, engine, inputs);
      case ir::Op::Softmax:
      case ir::Op::LogSoftmax: return prepare_softmax(node, engine, inputs);
      case ir::Op::Conv: return prepare_conv(node, engine, inputs, constant);
      case ir::Op::MaxPool:
      case ir::Op::AveragePool:
      case ir::Op::GlobalAveragePool:
      case ir::Op::GlobalMaxPool: return prepare_pool(node, engine, inputs);
      case ir::Op::BatchNormalization: return prepare_batch_norm(node, engine, inputs);
      case ir::Op::Gemm: return prepare_gemm(node, engine, inputs, constant);
      case ir::Op::MatMul: return prepare_matmul(engine, inputs);
      case ir::Op::ConvTranspose: return prepare_conv_transpose(node, engine, inputs, constant);
      case ir::Op::Concat: return prepare_concat(node, engine, inputs);
      case ir::Op::LayerNormalization: return prepare_layer_norm(node, engine, inputs);
      default:
        if (eltwise_spec(node)) return prepare_eltwise(node, engine, inputs);
        return internal_error("oneDNN cannot lower " + node.describe());
    }
  } catch (const dnnl::error& e) {
    // oneDNN found no implementation for these shapes/attributes: the reference runs it.
    return unsupported_shapes(e.what());
  }
}

bool can_take_post_ops(ir::Op op) {
  return op == ir::Op::Conv || op == ir::Op::Gemm || op == ir::Op::MatMul;
}

bool can_be_post_op(const ir::Node& node, size_t chain_input) {
  if (!node.op || !node.domain.empty()) return false;
  if (*node.op == ir::Op::Add) return node.inputs.size() == 2 && chain_input < 2;
  return is_post_op_activation(*node.op) && chain_input == 0 && eltwise_spec(node).has_value();
}

Result<std::shared_ptr<const PreparedNode>> prepare_fused(const ir::Node& base,
                                                          std::span<const PostOpNode> chain,
                                                          const dnnl::engine& engine,
                                                          std::span<const Tensor* const> inputs,
                                                          const std::vector<bool>& constant) {
  const size_t num_base = base.inputs.size();
  if (inputs.size() < num_base || constant.size() != inputs.size()) {
    return internal_error("fused inputs do not match " + base.describe());
  }
  for (const Tensor* t : inputs) {
    if (t == nullptr) continue;
    if (t->dtype() != DType::kFloat32) return unsupported_shapes("an input is not float32");
    if (t->size() == 0) return unsupported_shapes("empty tensors are left to the reference");
  }
  const FusedChain fused{chain, inputs};
  const std::span<const Tensor* const> base_in = inputs.first(num_base);
  const std::vector<bool> base_constant(constant.begin(),
                                        constant.begin() + static_cast<ptrdiff_t>(num_base));
  try {
    switch (*base.op) {
      case ir::Op::Conv: return prepare_conv(base, engine, base_in, base_constant, &fused);
      case ir::Op::Gemm: return prepare_gemm(base, engine, base_in, base_constant, &fused);
      case ir::Op::MatMul: return prepare_matmul(engine, base_in, &fused);
      default: return internal_error("cannot fuse post-ops into " + base.describe());
    }
  } catch (const dnnl::error& e) {
    return unsupported_shapes(e.what());
  }
}

}  // namespace edgerun::onednn
