// Attention (ai.edgerun, internal): the fused scaled dot-product attention that
// opt/fuse_attention.cpp builds from the exported MatMul-Scale-Softmax-MatMul pattern.
//
//   Q [B, S, H, D], K [B, Sk, H, D], V [B, Sk, H, Dv] (or the same without B), mask optional,
//   broadcastable to the scores [B, H, S, Sk] (numpy rules), attributes scale (float),
//   scale_divides (int: 1 divides by scale, 0 multiplies), scale_query (int: 1 scales Q before
//   the product, 0 scales the scores after it).
//   Y [B, S, H, Dv] = softmax_last((Q_h K_hᵀ) scaled + mask) V_h per batch and head h.
//
// The arithmetic is the unfused nodes', in their order and precision (the elementwise scale and
// mask in float, the products accumulated in double as MatMul does, Softmax in double), so the
// fused graph gives the unfused graph's results.
#include <algorithm>
#include <cmath>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"

namespace edgerun::reference {

Status kernel_Attention(KernelContext& ctx) {
  const Tensor& q = ctx.input(0);
  const Tensor& k = ctx.input(1);
  const Tensor& v = ctx.input(2);
  for (const Tensor* t : {&q, &k, &v}) {
    if (t->dtype() != DType::kFloat32) {
      return invalid_argument("Attention takes float32 Q, K and V, got " +
                              std::string(dtype_name(t->dtype())));
    }
  }
  const int64_t rank = q.rank();
  if ((rank != 3 && rank != 4) || k.rank() != rank || v.rank() != rank) {
    return invalid_argument("Attention wants Q, K, V of rank 3 [S, H, D] or 4 [B, S, H, D], got " +
                            shape_to_string(q.shape()) + ", " + shape_to_string(k.shape()) +
                            ", " + shape_to_string(v.shape()));
  }
  const int64_t o = rank - 3;  // offset of the sequence axis
  const int64_t batch = rank == 4 ? q.dim(0) : 1;
  const int64_t s = q.dim(o), h = q.dim(o + 1), d = q.dim(o + 2);
  const int64_t sk = k.dim(o), dv = v.dim(o + 2);
  const bool same_batch = rank == 3 || (k.dim(0) == batch && v.dim(0) == batch);
  if (!same_batch || k.dim(o + 1) != h || k.dim(o + 2) != d || v.dim(o) != sk ||
      v.dim(o + 1) != h) {
    return invalid_argument("Attention Q, K, V do not agree: " + shape_to_string(q.shape()) +
                            ", " + shape_to_string(k.shape()) + ", " +
                            shape_to_string(v.shape()));
  }
  Shape scores_shape = rank == 4 ? Shape{batch, h, s, sk} : Shape{h, s, sk};
  std::vector<int64_t> mask_strides;
  const float* mask = nullptr;
  if (ctx.has_input(3)) {
    const Tensor& m = ctx.input(3);
    auto b = broadcast_shapes({m.shape(), scores_shape});
    if (m.dtype() != DType::kFloat32 || !b.is_ok() || *b != scores_shape) {
      return invalid_argument("Attention mask " + shape_to_string(m.shape()) +
                              " must be float32 and broadcast to the scores " +
                              shape_to_string(scores_shape));
    }
    mask_strides = broadcast_strides(m.shape(), scores_shape);
    mask = m.data<float>();
  }
  const float scale = ctx.attr_float("scale", 1.0f);
  const bool divides = ctx.attr_int("scale_divides", 0) != 0;
  const bool scale_query = ctx.attr_int("scale_query", 0) != 0;
  auto scaled = [&](float x) { return divides ? x / scale : x * scale; };

  Shape out_shape = q.shape();
  out_shape.back() = dv;
  Tensor out(DType::kFloat32, out_shape);
  const float* pq = q.data<float>();
  const float* pk = k.data<float>();
  const float* pv = v.data<float>();
  float* py = out.data<float>();
  std::vector<float> qh(static_cast<size_t>(s * d));
  std::vector<float> scores(static_cast<size_t>(s * sk));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t hh = 0; hh < h; ++hh) {
      // Element (i, x) of head hh of a [.., S, H, X] tensor.
      auto at = [&](const float* base, int64_t seq, int64_t i, int64_t x, int64_t width) {
        return base[((b * seq + i) * h + hh) * width + x];
      };
      for (int64_t i = 0; i < s; ++i) {
        for (int64_t x = 0; x < d; ++x) {
          const float value = at(pq, s, i, x, d);
          qh[static_cast<size_t>(i * d + x)] = scale_query ? scaled(value) : value;
        }
      }
      for (int64_t i = 0; i < s; ++i) {
        for (int64_t j = 0; j < sk; ++j) {
          double acc = 0;
          for (int64_t x = 0; x < d; ++x) {
            acc += static_cast<double>(qh[static_cast<size_t>(i * d + x)]) *
                   static_cast<double>(at(pk, sk, j, x, d));
          }
          float score = static_cast<float>(acc);
          if (!scale_query) score = scaled(score);
          if (mask != nullptr) {
            const int64_t index[4] = {b, hh, i, j};
            int64_t offset = 0;
            for (size_t a = 0; a < mask_strides.size(); ++a) {
              offset += index[a + (rank == 4 ? 0 : 1)] * mask_strides[a];
            }
            score = score + mask[offset];
          }
          scores[static_cast<size_t>(i * sk + j)] = score;
        }
        // Softmax over the row, as the Softmax kernel computes it.
        if (sk == 0) continue;
        float* row = scores.data() + i * sk;
        double max_v = row[0];
        for (int64_t j = 1; j < sk; ++j) max_v = std::max(max_v, static_cast<double>(row[j]));
        double sum = 0;
        for (int64_t j = 0; j < sk; ++j) sum += std::exp(static_cast<double>(row[j]) - max_v);
        for (int64_t j = 0; j < sk; ++j) {
          row[j] = static_cast<float>(std::exp(static_cast<double>(row[j]) - max_v) / sum);
        }
      }
      for (int64_t i = 0; i < s; ++i) {
        for (int64_t x = 0; x < dv; ++x) {
          double acc = 0;
          for (int64_t j = 0; j < sk; ++j) {
            acc += static_cast<double>(scores[static_cast<size_t>(i * sk + j)]) *
                   static_cast<double>(at(pv, sk, j, x, dv));
          }
          py[((b * s + i) * h + hh) * dv + x] = static_cast<float>(acc);
        }
      }
    }
  }
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

}  // namespace edgerun::reference
