// Integer matrix products: MatMulInteger (int32 result) and QLinearMatMul (requantised result).
//
// Both follow numpy.matmul: 1-D operands gain a unit dim that is dropped from the result, and
// batch dims broadcast. Zero points (and QLinearMatMul scales) of 'a' may be per row and those
// of 'b' per column: a 1-D parameter of M values (of N values for 'b'), or an N-D one shaped
// [..., M, 1] ([..., 1, N] for 'b') that broadcasts against the batch dims. Products are exact
// in int32 and the sum wraps modulo 2^32, as the spec allows accumulation to overflow in 32 bits.
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/quant_util.h"

namespace edgerun::reference {
namespace {

// Shapes of a matmul after numpy's 1-D promotion.
struct MatMulShape {
  Shape a_batch, b_batch, out_batch;
  int64_t m = 0, k = 0, n = 0;
  Shape out;  // the final output shape, promoted unit dims removed
};

Result<MatMulShape> matmul_shape(const Shape& a, const Shape& b, std::string_view op) {
  if (a.empty() || b.empty()) {
    return invalid_argument(std::string(op) + " needs inputs of rank >= 1, got " +
                            shape_to_string(a) + " and " + shape_to_string(b));
  }
  MatMulShape s;
  const bool a_vec = a.size() == 1;
  const bool b_vec = b.size() == 1;
  s.m = a_vec ? 1 : a[a.size() - 2];
  s.k = a.back();
  const int64_t kb = b_vec ? b[0] : b[b.size() - 2];
  s.n = b_vec ? 1 : b.back();
  if (kb != s.k) {
    return invalid_argument(std::string(op) + " inner dims differ: a " + shape_to_string(a) +
                            " has K=" + std::to_string(s.k) + ", b " + shape_to_string(b) +
                            " has K=" + std::to_string(kb));
  }
  if (!a_vec) s.a_batch.assign(a.begin(), a.end() - 2);
  if (!b_vec) s.b_batch.assign(b.begin(), b.end() - 2);
  ER_ASSIGN_OR_RETURN(s.out_batch, broadcast_shapes({s.a_batch, s.b_batch}));
  s.out = s.out_batch;
  if (!a_vec) s.out.push_back(s.m);
  if (!b_vec) s.out.push_back(s.n);
  return s;
}

// Expands a per-row (rows == true: one value per [batch..., M] of 'a') or per-column (one value
// per [batch..., N] of 'b') parameter over `target`, which is the operand's batch dims followed
// by [M, 1] or [1, N]. The parameter must broadcast to it, which also forces it to be constant
// along K.
template <class T>
Result<std::vector<T>> expand_param(const std::vector<T>& values, const Shape& param_shape,
                                    const Shape& target, bool rows, std::string_view what) {
  const size_t total = static_cast<size_t>(shape_size(target));
  if (values.size() == 1) return std::vector<T>(total, values[0]);
  Shape p = param_shape;
  if (p.size() == 1) p = rows ? Shape{p[0], 1} : Shape{1, p[0]};
  bool ok = p.size() <= target.size();
  for (size_t i = 0; ok && i < p.size(); ++i) {
    const int64_t t = target[target.size() - p.size() + i];
    ok = p[i] == 1 || p[i] == t;
  }
  if (!ok) {
    return invalid_argument(std::string(what) + " of shape " + shape_to_string(param_shape) +
                            " is neither per-tensor nor per-" + (rows ? "row" : "column") +
                            " for an operand whose " + (rows ? "rows" : "columns") +
                            " have shape " + shape_to_string(target));
  }
  std::vector<T> out(total);
  BroadcastIterator it(target, {p});
  for (size_t i = 0; i < total; ++i) {
    out[i] = values[static_cast<size_t>(it.offset(0))];
    it.next();
  }
  return out;
}

// The row shape of 'a' ([batch..., M, 1]) and the column shape of 'b' ([batch..., 1, N]).
Shape row_shape(const MatMulShape& s) {
  Shape r = s.a_batch;
  r.push_back(s.m);
  r.push_back(1);
  return r;
}
Shape col_shape(const MatMulShape& s) {
  Shape c = s.b_batch;
  c.push_back(1);
  c.push_back(s.n);
  return c;
}

// Calls emit(out_index, acc, a_row, b_col) for every output element, where a_row indexes the
// row shape of 'a' and b_col the column shape of 'b' (for per-row / per-column parameters).
template <class TA, class TB, class Emit>
void integer_matmul(const MatMulShape& s, const TA* a, const std::vector<int32_t>& a_zp,
                    const TB* b, const std::vector<int32_t>& b_zp, Emit&& emit) {
  const int64_t batches = shape_size(s.out_batch);
  BroadcastIterator it(s.out_batch, {s.a_batch, s.b_batch});
  for (int64_t batch = 0; batch < batches; ++batch) {
    const int64_t ab = it.offset(0);
    const int64_t bb = it.offset(1);
    const TA* a_mat = a + ab * s.m * s.k;
    const TB* b_mat = b + bb * s.k * s.n;
    for (int64_t i = 0; i < s.m; ++i) {
      const int64_t a_row = ab * s.m + i;
      const int32_t za = a_zp[static_cast<size_t>(a_row)];
      for (int64_t j = 0; j < s.n; ++j) {
        const int64_t b_col = bb * s.n + j;
        const int32_t zb = b_zp[static_cast<size_t>(b_col)];
        // Each product fits in int32; summing in uint32 gives the wrapping the spec permits
        // without signed-overflow UB.
        uint32_t acc = 0;
        for (int64_t kk = 0; kk < s.k; ++kk) {
          const int32_t av = static_cast<int32_t>(a_mat[i * s.k + kk]) - za;
          const int32_t bv = static_cast<int32_t>(b_mat[kk * s.n + j]) - zb;
          acc += static_cast<uint32_t>(av * bv);
        }
        emit((batch * s.m + i) * s.n + j, static_cast<int32_t>(acc), a_row, b_col);
      }
    }
    it.next();
  }
}

bool is_8bit(DType d) { return d == DType::kUInt8 || d == DType::kInt8; }

Status check_8bit(const Tensor& t, std::string_view what) {
  if (is_8bit(t.dtype())) return Status::ok();
  return invalid_argument(std::string(what) + " must be uint8 or int8, got " +
                          std::string(dtype_name(t.dtype())));
}

// Reads an optional zero point of an operand and expands it over the row / column shape.
Result<std::vector<int32_t>> operand_zero_points(const KernelContext& ctx, size_t input,
                                                 DType operand_dtype, const Shape& target,
                                                 bool rows, std::string_view what) {
  if (!ctx.has_input(input)) return std::vector<int32_t>(shape_size(target), 0);
  const Tensor& zp = ctx.input(input);
  if (zp.dtype() != operand_dtype) {
    return invalid_argument(std::string(what) + " must have its operand's dtype " +
                            std::string(dtype_name(operand_dtype)) + ", got " +
                            std::string(dtype_name(zp.dtype())));
  }
  std::vector<int32_t> values;
  ER_ASSIGN_OR_RETURN(values, quant::read_zero_points(zp, what));
  return expand_param(values, zp.shape(), target, rows, what);
}

}  // namespace

Status kernel_MatMulInteger(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  ER_RETURN_IF_ERROR(check_8bit(a, "MatMulInteger A"));
  ER_RETURN_IF_ERROR(check_8bit(b, "MatMulInteger B"));
  MatMulShape s;
  ER_ASSIGN_OR_RETURN(s, matmul_shape(a.shape(), b.shape(), "MatMulInteger"));
  std::vector<int32_t> a_zp, b_zp;
  ER_ASSIGN_OR_RETURN(a_zp, operand_zero_points(ctx, 2, a.dtype(), row_shape(s), true,
                                                "MatMulInteger a_zero_point"));
  ER_ASSIGN_OR_RETURN(b_zp, operand_zero_points(ctx, 3, b.dtype(), col_shape(s), false,
                                                "MatMulInteger b_zero_point"));
  Tensor y(DType::kInt32, s.out);
  int32_t* out = y.data<int32_t>();
  ER_RETURN_IF_ERROR(dispatch<quant::Int8Types>(a.dtype(), "MatMulInteger", [&](auto at) {
    using TA = typename decltype(at)::type;
    return dispatch<quant::Int8Types>(b.dtype(), "MatMulInteger", [&](auto bt) {
      using TB = typename decltype(bt)::type;
      integer_matmul(s, a.data<TA>(), a_zp, b.data<TB>(), b_zp,
                     [&](int64_t o, int32_t acc, int64_t, int64_t) { out[o] = acc; });
      return Status::ok();
    });
  }));
  ctx.set_output(0, std::move(y));
  return Status::ok();
}

// y = saturate(round((a - a_zp) @ (b - b_zp) * (a_scale * b_scale / y_scale)) + y_zp), with the
// multiplier formed in float32 per (row, column) pair.
Status kernel_QLinearMatMul(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& a_scale = ctx.input(1);
  const Tensor& b = ctx.input(3);
  const Tensor& b_scale = ctx.input(4);
  const Tensor& y_scale = ctx.input(6);
  const Tensor& y_zp = ctx.input(7);
  ER_RETURN_IF_ERROR(check_8bit(a, "QLinearMatMul a"));
  ER_RETURN_IF_ERROR(check_8bit(b, "QLinearMatMul b"));
  ER_RETURN_IF_ERROR(check_8bit(y_zp, "QLinearMatMul y_zero_point"));
  if (!quant::is_per_tensor(y_scale) || !quant::is_per_tensor(y_zp)) {
    return invalid_argument("QLinearMatMul y_scale and y_zero_point must hold one value, got " +
                            shape_to_string(y_scale.shape()) + " and " +
                            shape_to_string(y_zp.shape()));
  }
  MatMulShape s;
  ER_ASSIGN_OR_RETURN(s, matmul_shape(a.shape(), b.shape(), "QLinearMatMul"));
  const Shape rows = row_shape(s);
  const Shape cols = col_shape(s);

  std::vector<float> as_values, bs_values, ys_values;
  ER_ASSIGN_OR_RETURN(as_values, quant::read_scales(a_scale, "QLinearMatMul a_scale"));
  ER_ASSIGN_OR_RETURN(bs_values, quant::read_scales(b_scale, "QLinearMatMul b_scale"));
  ER_ASSIGN_OR_RETURN(ys_values, quant::read_scales(y_scale, "QLinearMatMul y_scale"));
  ER_RETURN_IF_ERROR(quant::check_zero_point(ctx.input(2), a.dtype(), a_scale.shape(),
                                             "QLinearMatMul a_zero_point"));
  ER_RETURN_IF_ERROR(quant::check_zero_point(ctx.input(5), b.dtype(), b_scale.shape(),
                                             "QLinearMatMul b_zero_point"));
  std::vector<float> a_scales, b_scales;
  ER_ASSIGN_OR_RETURN(
      a_scales, expand_param(as_values, a_scale.shape(), rows, true, "QLinearMatMul a_scale"));
  ER_ASSIGN_OR_RETURN(
      b_scales, expand_param(bs_values, b_scale.shape(), cols, false, "QLinearMatMul b_scale"));
  std::vector<int32_t> a_zp, b_zp, y_zp_values;
  ER_ASSIGN_OR_RETURN(
      a_zp, operand_zero_points(ctx, 2, a.dtype(), rows, true, "QLinearMatMul a_zero_point"));
  ER_ASSIGN_OR_RETURN(
      b_zp, operand_zero_points(ctx, 5, b.dtype(), cols, false, "QLinearMatMul b_zero_point"));
  ER_ASSIGN_OR_RETURN(y_zp_values, quant::read_zero_points(y_zp, "QLinearMatMul y_zero_point"));
  const float out_scale = ys_values[0];
  const int32_t out_zp = y_zp_values[0];

  Tensor y(y_zp.dtype(), s.out);
  ER_RETURN_IF_ERROR(dispatch<quant::Int8Types>(a.dtype(), "QLinearMatMul", [&](auto at) {
    using TA = typename decltype(at)::type;
    return dispatch<quant::Int8Types>(b.dtype(), "QLinearMatMul", [&](auto bt) {
      using TB = typename decltype(bt)::type;
      return dispatch<quant::Int8Types>(y.dtype(), "QLinearMatMul", [&](auto yt) {
        using TY = typename decltype(yt)::type;
        TY* out = y.data<TY>();
        integer_matmul(s, a.data<TA>(), a_zp, b.data<TB>(), b_zp,
                       [&](int64_t o, int32_t acc, int64_t a_row, int64_t b_col) {
                         const float multiplier = a_scales[static_cast<size_t>(a_row)] *
                                                  b_scales[static_cast<size_t>(b_col)] / out_scale;
                         out[o] = quant::requantize<TY>(acc, multiplier, out_zp);
                       });
        return Status::ok();
      });
    });
  }));
  ctx.set_output(0, std::move(y));
  return Status::ok();
}

}  // namespace edgerun::reference
