// Gemm and MatMul on oneDNN's matmul primitive. Activations are plain; constant weights are
// reordered once, here, into the layout the primitive prefers.
#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include "backends/onednn/lower_ops.h"
#include "backends/onednn/one_row_product.h"
#include "backends/onednn/sliced_node.h"
#include "memory/page_hints.h"

namespace edgerun::onednn::lower {
namespace {

// The weights descriptor the primitive is built with: oneDNN's choice for constant weights
// (packed once by bind_matmul_weights), the caller's view otherwise.
memory::desc weights_for(const NodeInput& weights, const memory::desc& view) {
  return weights.constant != nullptr ? memory::desc(view.dims(), kF32, memory::format_tag::any)
                                     : view;
}

void bind_matmul_weights(PrimitiveNode& node, const LoweringContext& cx, const NodeInput& weights,
                         const memory::desc& view, const memory::desc& preferred) {
  if (weights.constant != nullptr) {
    node.bind_held(DNNL_ARG_WEIGHTS, reorder_now(*cx.engine, *weights.constant, view, preferred));
  } else {
    node.bind_input(DNNL_ARG_WEIGHTS, 1, view, view);
  }
}

// The matmul primitive for src x weights -> dst with `ops`, its activation and weights bound
// (weights packed once when constant).
std::shared_ptr<PrimitiveNode> matmul_node(const LoweringContext& cx,
                                           std::span<const NodeInput> in,
                                           const memory::desc& src,
                                           const memory::desc& weights_view,
                                           const memory::desc& dst, const dnnl::post_ops& ops) {
  dnnl::primitive_attr attr = user_scratchpad();
  attr.set_post_ops(ops);
  dnnl::matmul::desc d(src, weights_for(in[1], weights_view), dst);
  dnnl::matmul::primitive_desc pd(d, attr, *cx.engine);
  auto result =
      std::make_shared<PrimitiveNode>(*cx.engine, dnnl::matmul(pd), pd.scratchpad_desc());
  result->reserve_inputs(in.size());
  result->bind_input(DNNL_ARG_SRC, 0, src, src);
  bind_matmul_weights(*result, cx, in[1], weights_view, pd.weights_desc());
  return result;
}

// What a Gemm needs to be split by output columns.
struct GemmSplit {
  const dnnl::matmul::primitive_desc* whole = nullptr;
  dnnl::post_ops ops;         // eltwise and binary (C) post-ops only
  memory::desc src;           // A, [M, K] (read whole by every slice)
  memory::desc weights_view;  // B as [K, N], over `weights` (constant)
  const Tensor* weights = nullptr;
  bool trans_b = false;
  const Tensor* c = nullptr;  // C scaled by beta, [1, N] or [1, 1]; null when none
  int c_arg = 0;
};

// `ops` for a slice of `cols` of the result's columns: a binary operand that varies along the
// columns (a bias row) covers the slice's columns only.
dnnl::post_ops narrowed(const dnnl::post_ops& ops, int64_t cols) {
  dnnl::post_ops out;
  for (int i = 0; i < ops.len(); ++i) {
    if (ops.kind(i) == dnnl::primitive::kind::binary) {
      dnnl::algorithm alg;
      memory::desc md;
      ops.get_params_binary(i, alg, md);
      const Dims d = md.dims();
      out.append_binary(alg, d.back() == 1 ? md : plain({d[0], cols}));
      continue;
    }
    float scale = 0, alpha = 0, beta = 0;
    dnnl::algorithm alg;
    ops.get_params_eltwise(i, scale, alg, alpha, beta);
    out.append_eltwise(scale, alg, alpha, beta);
  }
  return out;
}

// The Gemm as `slices` products over ranges of its output columns, each with its part of the
// packed weights and of C, or null when oneDNN would run a slice on another kernel than the
// whole's. A classifier's one-row product streams its weights once: two threads stream them
// faster than one.
std::shared_ptr<SlicedNode> slice_gemm(const dnnl::engine& engine, const GemmSplit& g,
                                       int slices) {
  const Dims wd = g.weights_view.dims();
  const int64_t k = wd[0], n = wd[1], m = g.src.dims()[0];
  // Whole column blocks of oneDNN's packed weights (64 columns), or of 16 for narrow outputs.
  const auto ranges = block_ranges(n, n >= 64 * slices ? 64 : 16, slices);
  if (ranges.size() < 2) return nullptr;
  const float* weights = static_cast<const float*>(g.weights->raw_data());
  std::vector<Slice> parts;
  for (const auto& [first, last] : ranges) {
    const int64_t cols = last - first;
    // A range of columns of B, and of the [M, N] result, is the same bytes with N's strides;
    // one row of the result is dense (oneDNN's fast kernels take only dense results).
    const memory::desc view({k, cols}, kF32, g.trans_b ? Dims{1, k} : Dims{n, 1});
    const memory::desc dst = m == 1 ? plain({1, cols}) : memory::desc({m, cols}, kF32, Dims{n, 1});
    std::optional<dnnl::matmul::primitive_desc> pd;
    try {
      dnnl::primitive_attr attr = user_scratchpad();
      attr.set_post_ops(narrowed(g.ops, cols));
      pd.emplace(dnnl::matmul::desc(g.src, memory::desc({k, cols}, kF32, memory::format_tag::any),
                                    dst),
                 attr, engine);
    } catch (const dnnl::error&) {
      return nullptr;
    }
    if (std::string(pd->impl_info_str()) != g.whole->impl_info_str()) return nullptr;
    Slice slice;
    slice.primitive = dnnl::matmul(*pd);
    slice.scratchpad = pd->scratchpad_desc();
    slice.args.push_back(SliceArg{DNNL_ARG_SRC, 0, -1, g.src, 0, {}});
    const memory packed =
        pack(engine, weights + (g.trans_b ? first * k : first), view, pd->weights_desc());
    slice.args.push_back(SliceArg{DNNL_ARG_WEIGHTS, -1, -1, {}, 0, packed});
    if (g.c != nullptr) {
      const bool per_column = g.c->size() > 1;
      const memory::desc c_md = plain({1, per_column ? cols : 1});
      memory own(c_md, engine);
      std::memcpy(own.get_data_handle(),
                  static_cast<const float*>(g.c->raw_data()) + (per_column ? first : 0),
                  c_md.get_size());
      slice.args.push_back(SliceArg{g.c_arg, -1, -1, {}, 0, own});
    }
    slice.args.push_back(SliceArg{DNNL_ARG_DST, -1, 0, dst,
                                  static_cast<size_t>(first) * sizeof(float), {}});
    parts.push_back(std::move(slice));
  }
  // The weights now live in the slices; the original is read again only by a reference fallback.
  edgerun::memory::page_out(g.weights->raw_data(), g.weights->nbytes());
  return std::make_shared<SlicedNode>(engine, std::move(parts));
}

}  // namespace

Lowered lower_gemm(const ir::Node& node, const LoweringContext& cx, std::span<const NodeInput> in,
                   const FusedChain* chain) {
  const Shape& as = in[0].shape;
  const Shape& bs = in[1].shape;
  if (as.size() != 2 || bs.size() != 2) return unsupported_shapes("Gemm needs 2D A and B");
  const bool trans_a = node.attr_int("transA", 0) != 0, trans_b = node.attr_int("transB", 0) != 0;
  const int64_t m = trans_a ? as[1] : as[0], k = trans_a ? as[0] : as[1];
  const int64_t n = trans_b ? bs[0] : bs[1];
  if ((trans_b ? bs[1] : bs[0]) != k) return unsupported_shapes("inner dims differ");
  if (m == 0 || n == 0 || k == 0) return unsupported_shapes("empty matrices");
  const float alpha = node.attr_float("alpha", 1.0f), beta = node.attr_float("beta", 1.0f);
  // A transposed operand is the same bytes read with swapped strides.
  const memory::desc src({m, k}, kF32, trans_a ? Dims{1, m} : Dims{k, 1});
  const memory::desc weights_view({k, n}, kF32, trans_b ? Dims{1, k} : Dims{n, 1});
  const memory::desc dst = plain({m, n});
  dnnl::post_ops ops;
  if (alpha != 1.0f) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, alpha, 0.0f);
  const bool has_c = in.size() > 2 && in[2].present && beta != 0.0f;
  const int c_index = ops.len();
  std::optional<memory::desc> c_md;
  if (has_c) {
    const Shape& cs = in[2].shape;
    if (cs.size() > 2) return unsupported_shapes("C has rank > 2");
    const Dims c = pad_left(cs, 2);
    if ((c[0] != 1 && c[0] != m) || (c[1] != 1 && c[1] != n)) {
      return unsupported_shapes("C does not broadcast to [M, N]");
    }
    c_md = plain(c);
    ops.append_binary(dnnl::algorithm::binary_add, *c_md);
  }
  std::vector<ChainAddend> addends;
  std::optional<float> swish_after;
  const int chain_start = ops.len();
  ER_RETURN_IF_ERROR(
      append_chain(chain, Shape{m, n}, Dims{m, n}, dst, false, ops, addends, swish_after));
  const int arg = DNNL_ARG_ATTR_MULTIPLE_POST_OP(c_index) | DNNL_ARG_SRC_1;
  // C scaled by beta once, here, when it is constant.
  Tensor scaled;
  if (has_c && in[2].constant != nullptr) {
    scaled = in[2].constant->clone();
    for (int64_t i = 0; i < scaled.size(); ++i) scaled.data<float>()[i] *= beta;
  }
  // Our kernel adds C as a row (one row of C, or a scalar: all C can be for one row of A).
  if (m == 1 && (!has_c || scaled.defined())) {
    std::vector<float> c;
    if (has_c) {
      const float* values = scaled.data<float>();
      for (int64_t j = 0; j < n; ++j) c.push_back(values[scaled.size() == 1 ? 0 : j]);
    }
    const OneRow one_row{m, k, n, trans_b, alpha, std::move(c), &ops, chain_start, &addends,
                         swish_after};
    if (auto own = own_one_row_product(cx, in[1].constant, flat_inputs(chain, in), one_row, dst)) {
      own->inputs.resize(in.size());
      own->inputs[0] = InputLayout{true, src, src};
      own->outputs.push_back(OutputLayout{dst, Shape{m, n}});
      return std::shared_ptr<const PreparedNode>(std::move(own));
    }
  }
  const bool c_splits = !has_c || (scaled.defined() && c_md->dims()[0] == 1);
  if (cx.slices > 1 && in[1].constant != nullptr && addends.empty() && c_splits) {
    dnnl::primitive_attr attr = user_scratchpad();
    attr.set_post_ops(ops);
    const dnnl::matmul::primitive_desc whole(
        dnnl::matmul::desc(src, memory::desc({k, n}, kF32, memory::format_tag::any), dst), attr,
        *cx.engine);
    const GemmSplit split{&whole, ops, src, weights_view, in[1].constant, trans_b,
                          has_c ? &scaled : nullptr, arg};
    std::shared_ptr<SlicedNode> sliced = slice_gemm(*cx.engine, split, cx.slices);
    if (sliced && (!swish_after || sliced->then_swish(*swish_after))) {
      sliced->inputs.resize(in.size());
      sliced->inputs[0] = InputLayout{true, src, src};
      sliced->outputs.push_back(OutputLayout{dst, Shape{m, n}});
      return std::shared_ptr<const PreparedNode>(std::move(sliced));
    }
  }
  auto result = matmul_node(cx, in, src, weights_view, dst, ops);
  if (has_c) {
    if (scaled.defined()) {
      result->bind_held(arg, reorder_now(*cx.engine, scaled, *c_md, *c_md));
    } else if (beta == 1.0f) {
      result->bind_input(arg, 2, *c_md, *c_md);
    } else {
      // C changes per run: scaled by beta each run, as the reference does, before the add.
      dnnl::eltwise_forward::desc scale(dnnl::prop_kind::forward_inference,
                                        dnnl::algorithm::eltwise_linear, *c_md, beta, 0.0f);
      dnnl::eltwise_forward::primitive_desc scale_pd(scale, *cx.engine);
      result->bind_transformed_input(arg, 2, *c_md, *c_md, dnnl::eltwise_forward(scale_pd),
                                      *c_md);
    }
  }
  bind_addends(*result, addends);
  result->bind_output(DNNL_ARG_DST, dst, Shape{m, n});
  if (swish_after) result->then_swish(*swish_after);
  return std::shared_ptr<const PreparedNode>(std::move(result));
}

Lowered lower_matmul(const ir::Node&, const LoweringContext& cx, std::span<const NodeInput> in,
                     const FusedChain* chain) {
  Shape a = in[0].shape, b = in[1].shape;
  if (a.empty() || b.empty()) return unsupported_shapes("MatMul of a scalar");
  const bool a_vector = a.size() == 1, b_vector = b.size() == 1;
  if (a_vector) a.insert(a.begin(), 1);
  if (b_vector) b.push_back(1);
  const size_t rank = std::max(a.size(), b.size());
  if (rank > DNNL_MAX_NDIMS) return unsupported_shapes("rank above oneDNN's limit");
  Dims ad = pad_left(a, rank), bd = pad_left(b, rank);
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
  if (b.size() == 2 && !b_vector && a.size() > 2) {
    // The same matrix B for every batch: one [rows, K] x [K, N] product over all of A's rows
    // (the same bytes), instead of a batch of small products (a transformer's [seq, 1, K]
    // activations would otherwise be seq products of one row each).
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < rank; ++i) rows *= ad[i];
    ad = {rows, ad[rank - 1]};
    bd = {bd[rank - 2], bd[rank - 1]};
    yd = {rows, bd[1]};
  }
  for (const Dims* dims : {&ad, &bd}) {
    for (int64_t d : *dims) {
      if (d == 0) return unsupported_shapes("empty operands");
    }
  }
  const memory::desc src = plain(ad), weights_view = plain(bd), dst = plain(yd);
  dnnl::post_ops ops;
  std::vector<ChainAddend> addends;
  std::optional<float> swish_after;
  ER_RETURN_IF_ERROR(append_chain(chain, out_shape, yd, dst, false, ops, addends, swish_after));
  if (bd.size() == 2) {
    const OneRow one_row{ad[0], ad[1], bd[1], false, 1.0f, {}, &ops, 0, &addends, swish_after};
    if (auto own = own_one_row_product(cx, in[1].constant, flat_inputs(chain, in), one_row, dst)) {
      own->inputs.resize(in.size());
      own->inputs[0] = InputLayout{true, src, src};
      own->outputs.push_back(OutputLayout{dst, std::move(out_shape)});
      return std::shared_ptr<const PreparedNode>(std::move(own));
    }
  }
  auto result = matmul_node(cx, in, src, weights_view, dst, ops);
  bind_addends(*result, addends);
  result->bind_output(DNNL_ARG_DST, dst, std::move(out_shape));
  if (swish_after) result->then_swish(*swish_after);
  return std::shared_ptr<const PreparedNode>(std::move(result));
}

}  // namespace edgerun::onednn::lower
