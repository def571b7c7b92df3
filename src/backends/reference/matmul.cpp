// Matrix products and linear algebra: MatMul (numpy semantics), Gemm and Det.
#include <cmath>
#include <utility>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/nn_util.h"

namespace edgerun::reference {
namespace {

using nn::acc_t;

// Converts an accumulated value back to the element type: integer products wrap like numpy's.
template <class T, class A>
T from_acc(A v) {
  if constexpr (std::is_floating_point_v<compute_t<T>>) {
    return T(static_cast<compute_t<T>>(v));
  } else {
    return static_cast<T>(v);
  }
}

}  // namespace

Status kernel_MatMul(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.rank() < 1 || b.rank() < 1) {
    return invalid_argument("MatMul operands must have rank >= 1, got " +
                            shape_to_string(a.shape()) + " and " + shape_to_string(b.shape()));
  }
  if (a.dtype() != b.dtype()) {
    return invalid_argument("MatMul operands must have the same dtype, got " +
                            std::string(dtype_name(a.dtype())) + " and " +
                            std::string(dtype_name(b.dtype())));
  }
  // numpy: a 1-D left operand is a row vector, a 1-D right operand a column vector; the added
  // dim is dropped from the result.
  Shape as = a.shape();
  Shape bs = b.shape();
  const bool a_vec = as.size() == 1;
  const bool b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  const int64_t m = as[as.size() - 2];
  const int64_t k = as.back();
  const int64_t n = bs.back();
  if (bs[bs.size() - 2] != k) {
    return invalid_argument("MatMul inner dims differ: " + shape_to_string(a.shape()) + " x " +
                            shape_to_string(b.shape()));
  }
  const Shape a_batch(as.begin(), as.end() - 2);
  const Shape b_batch(bs.begin(), bs.end() - 2);
  Shape batch;
  ER_ASSIGN_OR_RETURN(batch, broadcast_shapes({a_batch, b_batch}));
  Shape out_shape = batch;
  if (!a_vec) out_shape.push_back(m);
  if (!b_vec) out_shape.push_back(n);
  Tensor out = ctx.allocate_output(0, a.dtype(), out_shape);
  const int64_t batches = shape_size(batch);
  ER_RETURN_IF_ERROR(dispatch<NumericTypes>(a.dtype(), "MatMul", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* py = out.data<T>();
    BroadcastIterator it(batch, {a_batch, b_batch});
    for (int64_t bi = 0; bi < batches; ++bi, it.next()) {
      const T* ma = pa + it.offset(0) * m * k;
      const T* mb = pb + it.offset(1) * k * n;
      T* my = py + bi * m * n;
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          A acc = 0;
          for (int64_t p = 0; p < k; ++p) {
            acc += static_cast<A>(static_cast<compute_t<T>>(ma[i * k + p])) *
                   static_cast<A>(static_cast<compute_t<T>>(mb[p * n + j]));
          }
          my[i * n + j] = from_acc<T>(acc);
        }
      }
    }
    return Status::ok();
  }));
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

Status kernel_Gemm(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.rank() != 2 || b.rank() != 2) {
    return invalid_argument("Gemm A and B must be 2-D, got " + shape_to_string(a.shape()) +
                            " and " + shape_to_string(b.shape()));
  }
  if (a.dtype() != b.dtype()) {
    return invalid_argument("Gemm A and B must have the same dtype, got " +
                            std::string(dtype_name(a.dtype())) + " and " +
                            std::string(dtype_name(b.dtype())));
  }
  const bool trans_a = ctx.attr_int("transA", 0) != 0;
  const bool trans_b = ctx.attr_int("transB", 0) != 0;
  const double alpha = ctx.attr_float("alpha", 1.0f);
  const double beta = ctx.attr_float("beta", 1.0f);
  const int64_t m = trans_a ? a.dim(1) : a.dim(0);
  const int64_t k = trans_a ? a.dim(0) : a.dim(1);
  const int64_t kb = trans_b ? b.dim(1) : b.dim(0);
  const int64_t n = trans_b ? b.dim(0) : b.dim(1);
  if (k != kb) {
    return invalid_argument("Gemm inner dims differ: A' is " + std::to_string(m) + "x" +
                            std::to_string(k) + ", B' is " + std::to_string(kb) + "x" +
                            std::to_string(n));
  }
  const Shape out_shape{m, n};
  const bool has_c = ctx.has_input(2);
  if (!has_c && ctx.opset() < 11) {
    return invalid_argument("Gemm before opset 11 requires input C");
  }
  Shape c_shape;
  if (has_c) {
    const Tensor& c = ctx.input(2);
    c_shape = c.shape();
    if (c.dtype() != a.dtype()) {
      return invalid_argument("Gemm C must have A's dtype " + std::string(dtype_name(a.dtype())) +
                              ", got " + std::string(dtype_name(c.dtype())));
    }
    // Before opset 7 C broadcasts only when the broadcast attribute asks for it.
    const bool may_broadcast = ctx.opset() >= 7 || ctx.attr_int("broadcast", 0) != 0;
    auto bs = broadcast_shapes({c_shape, out_shape});
    if (!bs.is_ok() || *bs != out_shape || c_shape.size() > 2 ||
        (!may_broadcast && c_shape != out_shape)) {
      return invalid_argument("Gemm C of shape " + shape_to_string(c_shape) +
                              (may_broadcast ? " does not broadcast to " : " must equal ") +
                              shape_to_string(out_shape));
    }
  }
  Tensor out = ctx.allocate_output(0, a.dtype(), out_shape);
  ER_RETURN_IF_ERROR(dispatch<NumericTypes>(a.dtype(), "Gemm", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    const T* pc = has_c ? ctx.input(2).data<T>() : nullptr;
    T* py = out.data<T>();
    const std::vector<int64_t> cstr = broadcast_strides(c_shape, out_shape);
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        A acc = 0;
        for (int64_t p = 0; p < k; ++p) {
          const T va = trans_a ? pa[p * m + i] : pa[i * k + p];
          const T vb = trans_b ? pb[j * k + p] : pb[p * n + j];
          acc += static_cast<A>(static_cast<compute_t<T>>(va)) *
                 static_cast<A>(static_cast<compute_t<T>>(vb));
        }
        double y = alpha * static_cast<double>(acc);
        if (pc != nullptr) {
          const int64_t off = (cstr.empty() ? 0 : i * cstr[0] + j * cstr[1]);
          y += beta * static_cast<double>(static_cast<compute_t<T>>(pc[off]));
        }
        if constexpr (std::is_floating_point_v<compute_t<T>>) {
          py[i * n + j] = T(static_cast<compute_t<T>>(y));
        } else {
          py[i * n + j] = static_cast<T>(static_cast<int64_t>(y));
        }
      }
    }
    return Status::ok();
  }));
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

// Determinants by LU decomposition with partial pivoting, in double.
Status kernel_Det(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2 || x.dim(x.rank() - 1) != x.dim(x.rank() - 2)) {
    return invalid_argument("Det input must have shape (..., M, M), got " +
                            shape_to_string(x.shape()));
  }
  const int64_t n = x.dim(x.rank() - 1);
  const Shape out_shape(x.shape().begin(), x.shape().end() - 2);
  Tensor out(x.dtype(), out_shape);
  const int64_t count = shape_size(out_shape);
  ER_RETURN_IF_ERROR(dispatch<FloatTypes>(x.dtype(), "Det", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    std::vector<double> lu(static_cast<size_t>(n * n));
    for (int64_t b = 0; b < count; ++b) {
      for (int64_t i = 0; i < n * n; ++i) {
        lu[i] = static_cast<double>(static_cast<compute_t<T>>(px[b * n * n + i]));
      }
      double det = 1.0;
      for (int64_t col = 0; col < n && det != 0.0; ++col) {
        int64_t pivot = col;
        for (int64_t r = col + 1; r < n; ++r) {
          if (std::abs(lu[r * n + col]) > std::abs(lu[pivot * n + col])) pivot = r;
        }
        if (lu[pivot * n + col] == 0.0) {
          det = 0.0;
          break;
        }
        if (pivot != col) {
          for (int64_t c = 0; c < n; ++c) std::swap(lu[pivot * n + c], lu[col * n + c]);
          det = -det;
        }
        const double d = lu[col * n + col];
        det *= d;
        for (int64_t r = col + 1; r < n; ++r) {
          const double f = lu[r * n + col] / d;
          for (int64_t c = col; c < n; ++c) lu[r * n + c] -= f * lu[col * n + c];
        }
      }
      out.data<T>()[b] = T(static_cast<compute_t<T>>(det));
    }
    return Status::ok();
  }));
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

}  // namespace edgerun::reference
