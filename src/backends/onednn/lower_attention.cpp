// Attention (ai.edgerun) on this CPU: edgerun's own kernel (attention_kernel.h) where the CPU
// has AVX-512 or AVX2, else oneDNN's primitives: a batched matmul Q Kᵀ with the scale as a
// post-op, the mask added in place, softmax in place, and a batched matmul P V. Either reads Q,
// K and V where they lie ([B, S, H, D], sequence-major) and writes Y [B, S, H, Dv] in place: no
// transpose copies. oneDNN's path reads them through strided descriptors whose batch dims are
// (B, H); its scores [B, H, S, Sk] are the only intermediate. Both keep their intermediates in
// the running thread's scratch, so concurrent runs never share them and a run allocates nothing.
#include <algorithm>
#include <array>
#include <initializer_list>
#include <tuple>
#include <utility>

#include "backends/onednn/attention_kernel.h"
#include "backends/onednn/lower_ops.h"
#include "backends/onednn/split_work.h"

namespace edgerun::onednn::lower {
namespace {

class AttentionNode final : public PreparedNode {
 public:
  dnnl::engine engine;
  memory::desc q, k, v, y, scores, scores_head, mask;
  dnnl::primitive qk, add, softmax, pv;
  memory::desc qk_scratch, add_scratch, softmax_scratch, pv_scratch;
  bool has_mask = false;

  // The shape and scale; for our own kernel (own_kernel set) also the mask strides (its mask
  // pointer is bound per run).
  AttentionGeometry geometry;

  // Per-head 2D matmuls (per_head) when oneDNN has no optimised batched matmul for the strides:
  // the same descriptors for one (batch, head), run at each head's offset.
  bool per_head = false;

  // The thread's scratch holds the primitives' scratchpad (one at a time, from 0) and then the
  // scores, from scores_offset: a run allocates nothing.
  size_t scores_offset = 0;
  size_t scratch_bytes = 0;
  uint64_t key = new_memory_key() << 24;  // names the thread's memory objects (thread_memory)

  void execute(dnnl::stream& stream, std::span<const memory> in,
               std::span<const memory> out) const override {
    if (own_kernel != nullptr) {
      execute_own(in, out);
      return;
    }
    const int64_t batch = geometry.batch, heads = geometry.heads, s_len = geometry.s,
                  sk_len = geometry.sk, d_len = geometry.d, dv_len = geometry.dv;
    char* scratch = static_cast<char*>(thread_scratchpad(scratch_bytes));
    enum Slot : uint64_t { kQ, kK, kV, kY, kScores, kScoresHead, kMask, kScratchpad };
    auto view = [&](Slot slot, const memory::desc& md, void* base, int64_t offset = 0) {
      return thread_memory(key + slot, md, engine, static_cast<float*>(base) + offset).get();
    };
    // Primitive `index` (0 to 3) with its scratchpad `pad`, which has its own memory object.
    auto run = [&](const dnnl::primitive& p, std::initializer_list<dnnl_exec_arg_t> args,
                   uint64_t index, const memory::desc& pad) {
      std::array<dnnl_exec_arg_t, 4> all{};
      size_t n = 0;
      for (const dnnl_exec_arg_t& a : args) all[n++] = a;
      if (pad.get_size() > 0) {
        all[n++] = {DNNL_ARG_SCRATCHPAD,
                    thread_memory(key + kScratchpad + index, pad, engine, scratch).get()};
      }
      execute_args(p, stream, std::span<const dnnl_exec_arg_t>(all.data(), n));
    };
    void* qp = in[0].get_data_handle();
    void* kp = in[1].get_data_handle();
    void* vp = in[2].get_data_handle();
    void* yp = out[0].get_data_handle();
    void* sp = scratch + scores_offset;
    const dnnl_memory_t s = view(kScores, scores, sp);
    auto each_head = [&](auto body) {
      for (int64_t b = 0; b < batch; ++b) {
        for (int64_t h = 0; h < heads; ++h) body(b, h);
      }
    };
    if (per_head) {
      each_head([&](int64_t b, int64_t h) {
        run(qk,
            {{DNNL_ARG_SRC, view(kQ, q, qp, (b * s_len * heads + h) * d_len)},
             {DNNL_ARG_WEIGHTS, view(kK, k, kp, (b * sk_len * heads + h) * d_len)},
             {DNNL_ARG_DST, view(kScoresHead, scores_head, sp, (b * heads + h) * s_len * sk_len)}},
            0, qk_scratch);
      });
    } else {
      run(qk, {{DNNL_ARG_SRC, view(kQ, q, qp)}, {DNNL_ARG_WEIGHTS, view(kK, k, kp)},
               {DNNL_ARG_DST, s}},
          0, qk_scratch);
    }
    if (has_mask) {
      run(add,
          {{DNNL_ARG_SRC_0, s}, {DNNL_ARG_SRC_1, view(kMask, mask, in[3].get_data_handle())},
           {DNNL_ARG_DST, s}},
          1, add_scratch);
    }
    run(softmax, {{DNNL_ARG_SRC, s}, {DNNL_ARG_DST, s}}, 2, softmax_scratch);
    if (per_head) {
      each_head([&](int64_t b, int64_t h) {
        run(pv,
            {{DNNL_ARG_SRC, view(kScoresHead, scores_head, sp, (b * heads + h) * s_len * sk_len)},
             {DNNL_ARG_WEIGHTS, view(kV, v, vp, (b * sk_len * heads + h) * dv_len)},
             {DNNL_ARG_DST, view(kY, y, yp, (b * s_len * heads + h) * dv_len)}},
            3, pv_scratch);
      });
    } else {
      run(pv,
          {{DNNL_ARG_SRC, s},
           {DNNL_ARG_WEIGHTS, view(kV, v, vp)},
           {DNNL_ARG_DST, view(kY, y, yp)}},
          3, pv_scratch);
    }
    stream.wait();
  }

  void execute_own(std::span<const memory> in, std::span<const memory> out) const {
    AttentionGeometry g = geometry;
    if (has_mask) g.mask = static_cast<const float*>(in[3].get_data_handle());
    const auto* q = static_cast<const float*>(in[0].get_data_handle());
    const auto* k = static_cast<const float*>(in[1].get_data_handle());
    const auto* v = static_cast<const float*>(in[2].get_data_handle());
    auto* y = static_cast<float*>(out[0].get_data_handle());
    const AttentionTasks tasks = attention_tasks(g, parts_over_threads(SIZE_MAX));
    const size_t bytes = attention_scratch_bytes(g);
    claim_over_threads(static_cast<size_t>(tasks.count), [&](int t) {
      attention_run(g, tasks, t, t + 1, q, k, v, y, static_cast<float*>(thread_scratchpad(bytes)));
    });
  }
};

// A [B, S, H, X] tensor read as [B, H, S, X] (or [B, H, X, S] when `transposed`).
memory::desc heads_view(int64_t b, int64_t s, int64_t h, int64_t x, bool transposed) {
  const int64_t row = h * x;  // one sequence position
  if (transposed) return memory::desc({b, h, x, s}, kF32, Dims{s * row, x, 1, row});
  return memory::desc({b, h, s, x}, kF32, Dims{s * row, x, row, 1});
}

// One head of a [B, S, H, X] tensor: [S, X] (or [X, S] when `transposed`) with rows H * X apart.
memory::desc head_view(int64_t s, int64_t h, int64_t x, bool transposed) {
  if (transposed) return memory::desc({x, s}, kF32, Dims{1, h * x});
  return memory::desc({s, x}, kF32, Dims{h * x, 1});
}

}  // namespace

Lowered lower_attention(const ir::Node& node, const LoweringContext& cx,
                        std::span<const NodeInput> in) {
  const Shape& qs = in[0].shape;
  const Shape& ks = in[1].shape;
  const Shape& vs = in[2].shape;
  const size_t rank = qs.size();
  if ((rank != 3 && rank != 4) || ks.size() != rank || vs.size() != rank) {
    return unsupported_shapes("Q, K, V must have rank 3 or 4");
  }
  const size_t o = rank - 3;
  const int64_t b = rank == 4 ? qs[0] : 1;
  const int64_t s = qs[o], h = qs[o + 1], d = qs[o + 2], sk = ks[o], dv = vs[o + 2];
  if ((rank == 4 && (ks[0] != b || vs[0] != b)) || ks[o + 1] != h || ks[o + 2] != d ||
      vs[o] != sk || vs[o + 1] != h) {
    return unsupported_shapes("Q, K, V do not agree");
  }
  const float scale = node.attr_float("scale", 1.0f);
  const bool divides = node.attr_int("scale_divides", 0) != 0;
  const float factor = divides ? 1.0f / scale : scale;

  auto result = std::make_shared<AttentionNode>();
  AttentionNode& n = *result;
  n.engine = *cx.engine;
  n.scores = plain({b, h, s, sk});
  Dims mask_dims;
  if (in.size() > 3 && in[3].present) {
    const Shape& ms = in[3].shape;
    if (ms.size() > rank) return unsupported_shapes("the mask has a higher rank than the scores");
    const Shape scores_shape = rank == 4 ? Shape{b, h, s, sk} : Shape{h, s, sk};
    mask_dims = pad_left(ms, 4);
    const Dims sd = pad_left(scores_shape, 4);
    for (size_t i = 0; i < 4; ++i) {
      if (mask_dims[i] != 1 && mask_dims[i] != sd[i]) {
        return unsupported_shapes("the mask does not broadcast");
      }
    }
    n.mask = plain(mask_dims);
    n.has_mask = true;
  }
  // Inputs and output as the plain tensors they are; execute() reads them through strided
  // views (oneDNN's path) or at computed offsets (the own kernel).
  n.inputs.resize(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i].present) continue;
    const memory::desc md = plain(dims_of(in[i].shape));
    n.inputs[i] = InputLayout{true, md, md};
  }
  Shape out_shape = qs;
  out_shape.back() = dv;
  n.outputs.push_back(OutputLayout{plain(dims_of(out_shape)), out_shape});

  AttentionGeometry& g = n.geometry;
  g.batch = b;
  g.heads = h;
  g.s = s;
  g.sk = sk;
  g.d = d;
  g.dv = dv;
  g.factor = factor;
  if (attention_kernel_runs_here() && !cx.attention_on_onednn) {
    n.own_kernel = "attentions";
    n.shares_team = true;
    if (n.has_mask) {
      int64_t stride = 1;  // the mask's own plain strides, 0 where it broadcasts
      for (size_t i = 4; i-- > 0;) {
        g.mask_strides[i] = mask_dims[i] == 1 ? 0 : stride;
        stride *= mask_dims[i];
      }
    }
    return std::shared_ptr<const PreparedNode>(std::move(result));
  }

  n.q = heads_view(b, s, h, d, false);
  n.k = heads_view(b, sk, h, d, true);
  n.v = heads_view(b, sk, h, dv, false);
  n.y = heads_view(b, s, h, dv, false);
  dnnl::primitive_attr qk_attr = user_scratchpad();
  if (factor != 1.0f) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, factor, 0.0f);
    qk_attr.set_post_ops(ops);
  }
  // Batched over (B, H) when oneDNN has an optimised matmul for the strided operands, else one
  // head at a time (2D matmuls with a row stride, which its GEMMs take).
  auto matmuls = [&](const memory::desc& q_md, const memory::desc& k_md, const memory::desc& v_md,
                     const memory::desc& y_md, const memory::desc& scores_md) {
    dnnl::matmul::primitive_desc qk_pd(dnnl::matmul::desc(q_md, k_md, scores_md), qk_attr,
                                       *cx.engine);
    dnnl::matmul::primitive_desc pv_pd(dnnl::matmul::desc(scores_md, v_md, y_md),
                                       user_scratchpad(), *cx.engine);
    return std::pair(qk_pd, pv_pd);
  };
  auto [qk_pd, pv_pd] = matmuls(n.q, n.k, n.v, n.y, n.scores);
  if (is_reference_impl(qk_pd.impl_info_str()) || is_reference_impl(pv_pd.impl_info_str())) {
    n.per_head = true;
    n.q = head_view(s, h, d, false);
    n.k = head_view(sk, h, d, true);
    n.v = head_view(sk, h, dv, false);
    n.y = head_view(s, h, dv, false);
    n.scores_head = plain({s, sk});
    std::tie(qk_pd, pv_pd) = matmuls(n.q, n.k, n.v, n.y, n.scores_head);
    // Slow reference code would be no faster than the reference kernel, which then runs it.
    if (is_reference_impl(qk_pd.impl_info_str()) || is_reference_impl(pv_pd.impl_info_str())) {
      return unsupported_shapes("oneDNN has no optimised matmul for these strides");
    }
  }
  n.qk = dnnl::matmul(qk_pd);
  n.qk_scratch = qk_pd.scratchpad_desc();
  n.pv = dnnl::matmul(pv_pd);
  n.pv_scratch = pv_pd.scratchpad_desc();
  if (n.has_mask) {
    dnnl::binary::desc add(dnnl::algorithm::binary_add, n.scores, n.mask, n.scores);
    dnnl::binary::primitive_desc add_pd(add, user_scratchpad(), *cx.engine);
    n.add = dnnl::binary(add_pd);
    n.add_scratch = add_pd.scratchpad_desc();
  }
  dnnl::softmax_v2_forward::desc sm(dnnl::prop_kind::forward_inference,
                                    dnnl::algorithm::softmax_accurate, n.scores, n.scores, 3);
  dnnl::softmax_v2_forward::primitive_desc sm_pd(sm, user_scratchpad(), *cx.engine);
  n.softmax = dnnl::softmax_v2_forward(sm_pd);
  n.softmax_scratch = sm_pd.scratchpad_desc();
  const size_t pad = std::max({n.qk_scratch.get_size(), n.add_scratch.get_size(),
                               n.softmax_scratch.get_size(), n.pv_scratch.get_size()});
  n.scores_offset = (pad + 63) / 64 * 64;
  n.scratch_bytes = n.scores_offset + n.scores.get_size();
  return std::shared_ptr<const PreparedNode>(std::move(result));
}

}  // namespace edgerun::onednn::lower
