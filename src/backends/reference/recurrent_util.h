// Shared pieces of the RNN, GRU and LSTM reference kernels: activation functions, reading the
// common inputs in a layout-independent way, and writing Y / Y_h in the requested layout.
//
// All three kernels compute in double on plain vectors: the recurrences are short loops and a
// single precision path keeps float16/float/double results consistent.
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"

namespace edgerun::reference::recurrent {

struct Activation {
  enum class Kind {
    kRelu, kTanh, kSigmoid, kAffine, kLeakyRelu, kThresholdedRelu, kScaledTanh, kHardSigmoid,
    kElu, kSoftsign, kSoftplus,
  };
  Kind kind = Kind::kTanh;
  double alpha = 0.0;
  double beta = 0.0;

  double operator()(double x) const {
    switch (kind) {
      case Kind::kRelu: return std::max(0.0, x);
      case Kind::kTanh: return std::tanh(x);
      case Kind::kSigmoid: return 1.0 / (1.0 + std::exp(-x));
      case Kind::kAffine: return alpha * x + beta;
      case Kind::kLeakyRelu: return x < 0.0 ? alpha * x : x;
      case Kind::kThresholdedRelu: return x > alpha ? x : 0.0;
      case Kind::kScaledTanh: return alpha * std::tanh(beta * x);
      case Kind::kHardSigmoid: return std::clamp(alpha * x + beta, 0.0, 1.0);
      case Kind::kElu: return x < 0.0 ? alpha * (std::exp(x) - 1.0) : x;
      case Kind::kSoftsign: return x / (1.0 + std::abs(x));
      case Kind::kSoftplus: return std::log1p(std::exp(x));
    }
    return x;
  }
};

// The activations of every direction, per_dir of them each, forward direction first. The
// activation_alpha/beta lists are consumed in order by the functions that take the parameter;
// functions without an explicit value use the default of the ONNX op of the same name.
inline Result<std::vector<Activation>> parse_activations(const KernelContext& ctx,
                                                         const std::string& op,
                                                         const std::vector<std::string>& defaults,
                                                         int64_t num_dir) {
  const size_t per_dir = defaults.size();
  std::vector<std::string> names = ctx.node().attr_strings("activations");
  if (names.empty()) {
    for (int64_t d = 0; d < num_dir; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
  } else if (names.size() == per_dir && num_dir == 2) {
    // Lenient: one set given for a bidirectional op applies to both directions.
    names.insert(names.end(), names.begin(), names.end());
  }
  if (names.size() != per_dir * static_cast<size_t>(num_dir)) {
    return Status(invalid_argument(op + " needs " + std::to_string(per_dir * num_dir) +
                                   " activations (" + std::to_string(per_dir) +
                                   " per direction), got " + std::to_string(names.size())));
  }
  const std::vector<float> alphas = ctx.attr_floats("activation_alpha");
  const std::vector<float> betas = ctx.attr_floats("activation_beta");
  size_t next_alpha = 0;
  size_t next_beta = 0;
  auto take = [](const std::vector<float>& v, size_t& i, double fallback) {
    return i < v.size() ? static_cast<double>(v[i++]) : fallback;
  };
  std::vector<Activation> out;
  using K = Activation::Kind;
  for (const std::string& raw : names) {
    std::string name = raw;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    Activation a;
    if (name == "relu") {
      a.kind = K::kRelu;
    } else if (name == "tanh") {
      a.kind = K::kTanh;
    } else if (name == "sigmoid") {
      a.kind = K::kSigmoid;
    } else if (name == "affine") {
      a.kind = K::kAffine;
      a.alpha = take(alphas, next_alpha, 1.0);
      a.beta = take(betas, next_beta, 0.0);
    } else if (name == "leakyrelu") {
      a.kind = K::kLeakyRelu;
      a.alpha = take(alphas, next_alpha, 0.01);
    } else if (name == "thresholdedrelu") {
      a.kind = K::kThresholdedRelu;
      a.alpha = take(alphas, next_alpha, 1.0);
    } else if (name == "scaledtanh") {
      a.kind = K::kScaledTanh;
      a.alpha = take(alphas, next_alpha, 1.0);
      a.beta = take(betas, next_beta, 1.0);
    } else if (name == "hardsigmoid") {
      a.kind = K::kHardSigmoid;
      a.alpha = take(alphas, next_alpha, 0.2);
      a.beta = take(betas, next_beta, 0.5);
    } else if (name == "elu") {
      a.kind = K::kElu;
      a.alpha = take(alphas, next_alpha, 1.0);
    } else if (name == "softsign") {
      a.kind = K::kSoftsign;
    } else if (name == "softplus") {
      a.kind = K::kSoftplus;
    } else {
      return Status(unsupported(op + " activation '" + raw + "' is not supported"));
    }
    out.push_back(a);
  }
  return out;
}

// The inputs every recurrent op shares, converted to double and to the sequence-major layout
// (X as [seq, batch, input], initial states as [dir, batch, hidden]).
struct Common {
  std::string op;
  int64_t seq = 0, batch = 0, input = 0, hidden = 0, num_dir = 1;
  bool batch_major = false;  // layout = 1
  bool reverse_only = false;
  double clip = 0.0;  // 0: no clipping
  std::vector<double> x, w, r, b, h0;
  std::vector<int64_t> seq_lens;  // per batch entry

  // Direction d processes time steps in reverse when it is the reverse pass.
  bool reversed(int64_t d) const { return reverse_only || d == 1; }
  double clipped(double v) const { return clip > 0.0 ? std::clamp(v, -clip, clip) : v; }
};

// Reads a [dir, batch, hidden] state (layout 0) or [batch, dir, hidden] (layout 1) into the
// [dir, batch, hidden] order; zeros when absent.
inline Result<std::vector<double>> read_state(const KernelContext& ctx, const Common& c,
                                              size_t index, const std::string& what) {
  std::vector<double> out(static_cast<size_t>(c.num_dir * c.batch * c.hidden), 0.0);
  if (!ctx.has_input(index)) return out;
  const Tensor& t = ctx.input(index);
  const Shape want = c.batch_major ? Shape{c.batch, c.num_dir, c.hidden}
                                   : Shape{c.num_dir, c.batch, c.hidden};
  if (t.shape() != want) {
    return Status(invalid_argument(c.op + " " + what + " must have shape " +
                                   shape_to_string(want) + ", got " +
                                   shape_to_string(t.shape())));
  }
  ER_ASSIGN_OR_RETURN(std::vector<double> v, read_doubles(t, what));
  if (!c.batch_major) return v;
  for (int64_t b = 0; b < c.batch; ++b) {
    for (int64_t d = 0; d < c.num_dir; ++d) {
      for (int64_t h = 0; h < c.hidden; ++h) {
        out[(d * c.batch + b) * c.hidden + h] = v[(b * c.num_dir + d) * c.hidden + h];
      }
    }
  }
  return out;
}

// Validates and reads X, W, R, B, sequence_lens and initial_h (inputs 0..5), where each
// direction has `gates` gate blocks of hidden_size rows.
inline Result<Common> read_common(const KernelContext& ctx, const std::string& op,
                                  int64_t gates) {
  Common c;
  c.op = op;
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor& r = ctx.input(2);
  if (!is_floating(x.dtype())) {
    return Status(unsupported(op + " does not support dtype " +
                              std::string(dtype_name(x.dtype()))));
  }
  const std::string direction = ctx.attr_string("direction", "forward");
  if (direction == "bidirectional") {
    c.num_dir = 2;
  } else if (direction == "reverse") {
    c.reverse_only = true;
  } else if (direction != "forward") {
    return Status(invalid_argument(op + " direction must be forward, reverse or bidirectional, "
                                   "got '" + direction + "'"));
  }
  c.batch_major = ctx.opset() >= 14 && ctx.attr_int("layout", 0) != 0;
  if (ctx.opset() >= 14) {
    const int64_t layout = ctx.attr_int("layout", 0);
    if (layout != 0 && layout != 1) {
      return Status(invalid_argument(op + " layout must be 0 or 1, got " +
                                     std::to_string(layout)));
    }
  }
  c.clip = ctx.has_attr("clip") ? ctx.attr_float("clip", 0.0f) : 0.0;
  if (ctx.has_attr("clip") && !(c.clip > 0.0)) {
    return Status(invalid_argument(op + " clip must be positive, got " + std::to_string(c.clip)));
  }
  if (x.rank() != 3) {
    return Status(invalid_argument(op + " X must have rank 3, got shape " +
                                   shape_to_string(x.shape())));
  }
  c.seq = c.batch_major ? x.dim(1) : x.dim(0);
  c.batch = c.batch_major ? x.dim(0) : x.dim(1);
  c.input = x.dim(2);
  if (w.rank() != 3 || w.dim(0) != c.num_dir || w.dim(2) != c.input || w.dim(1) % gates != 0) {
    return Status(invalid_argument(op + " W must have shape [" + std::to_string(c.num_dir) +
                                   ", " + std::to_string(gates) + "*hidden_size, " +
                                   std::to_string(c.input) + "], got " +
                                   shape_to_string(w.shape())));
  }
  c.hidden = w.dim(1) / gates;
  if (ctx.has_attr("hidden_size") && ctx.attr_int("hidden_size", 0) != c.hidden) {
    return Status(invalid_argument(op + " hidden_size is " +
                                   std::to_string(ctx.attr_int("hidden_size", 0)) +
                                   " but W has " + std::to_string(w.dim(1)) + " rows for " +
                                   std::to_string(gates) + " gates"));
  }
  const Shape r_want = {c.num_dir, gates * c.hidden, c.hidden};
  if (r.shape() != r_want) {
    return Status(invalid_argument(op + " R must have shape " + shape_to_string(r_want) +
                                   ", got " + shape_to_string(r.shape())));
  }
  ER_ASSIGN_OR_RETURN(std::vector<double> xv, read_doubles(x, "X"));
  c.x.resize(xv.size());
  if (c.batch_major) {
    for (int64_t t = 0; t < c.seq; ++t) {
      for (int64_t b = 0; b < c.batch; ++b) {
        for (int64_t i = 0; i < c.input; ++i) {
          c.x[(t * c.batch + b) * c.input + i] = xv[(b * c.seq + t) * c.input + i];
        }
      }
    }
  } else {
    c.x = std::move(xv);
  }
  ER_ASSIGN_OR_RETURN(c.w, read_doubles(w, "W"));
  ER_ASSIGN_OR_RETURN(c.r, read_doubles(r, "R"));
  c.b.assign(static_cast<size_t>(c.num_dir * 2 * gates * c.hidden), 0.0);
  if (ctx.has_input(3)) {
    const Shape b_want = {c.num_dir, 2 * gates * c.hidden};
    if (ctx.input(3).shape() != b_want) {
      return Status(invalid_argument(op + " B must have shape " + shape_to_string(b_want) +
                                     ", got " + shape_to_string(ctx.input(3).shape())));
    }
    ER_ASSIGN_OR_RETURN(c.b, read_doubles(ctx.input(3), "B"));
  }
  c.seq_lens.assign(static_cast<size_t>(c.batch), c.seq);
  if (ctx.has_input(4)) {
    const Tensor& sl = ctx.input(4);
    if (sl.rank() != 1 || sl.dim(0) != c.batch) {
      return Status(invalid_argument(op + " sequence_lens must have shape [" +
                                     std::to_string(c.batch) + "], got " +
                                     shape_to_string(sl.shape())));
    }
    ER_ASSIGN_OR_RETURN(c.seq_lens, read_ints(sl, "sequence_lens"));
    for (int64_t b = 0; b < c.batch; ++b) {
      if (c.seq_lens[b] < 0 || c.seq_lens[b] > c.seq) {
        return Status(invalid_argument(op + " sequence_lens[" + std::to_string(b) + "] = " +
                                       std::to_string(c.seq_lens[b]) + " is outside [0, " +
                                       std::to_string(c.seq) + "]"));
      }
    }
  }
  ER_ASSIGN_OR_RETURN(c.h0, read_state(ctx, c, 5, "initial_h"));
  return c;
}

// out[k] = sum_i in[i] * m[k, i] for a row-major [rows, cols] block starting at m.
inline void matvec_add(const double* m, int64_t rows, int64_t cols, const double* in,
                       double* out) {
  for (int64_t k = 0; k < rows; ++k) {
    double acc = 0.0;
    for (int64_t i = 0; i < cols; ++i) acc += m[k * cols + i] * in[i];
    out[k] += acc;
  }
}

// Stores y ([seq, dir, batch, hidden]) and a final state ([dir, batch, hidden]) in the
// requested layout and the input's dtype, for whichever outputs the node wants.
inline Status write_sequence(KernelContext& ctx, const Common& c, DType dtype, size_t index,
                             const std::vector<double>& y) {
  if (!ctx.wants_output(index)) return Status::ok();
  const Shape shape = c.batch_major ? Shape{c.batch, c.seq, c.num_dir, c.hidden}
                                    : Shape{c.seq, c.num_dir, c.batch, c.hidden};
  Tensor out(dtype, shape);
  return dispatch<FloatTypes>(dtype, c.op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    T* p = out.data<T>();
    for (int64_t t = 0; t < c.seq; ++t) {
      for (int64_t d = 0; d < c.num_dir; ++d) {
        for (int64_t b = 0; b < c.batch; ++b) {
          const int64_t dst = c.batch_major ? ((b * c.seq + t) * c.num_dir + d) * c.hidden
                                            : ((t * c.num_dir + d) * c.batch + b) * c.hidden;
          const int64_t src = ((t * c.num_dir + d) * c.batch + b) * c.hidden;
          for (int64_t h = 0; h < c.hidden; ++h) p[dst + h] = static_cast<T>(y[src + h]);
        }
      }
    }
    ctx.set_output(index, out);
    return Status::ok();
  });
}

inline Status write_state(KernelContext& ctx, const Common& c, DType dtype, size_t index,
                          const std::vector<double>& s) {
  if (!ctx.wants_output(index)) return Status::ok();
  const Shape shape = c.batch_major ? Shape{c.batch, c.num_dir, c.hidden}
                                    : Shape{c.num_dir, c.batch, c.hidden};
  Tensor out(dtype, shape);
  return dispatch<FloatTypes>(dtype, c.op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    T* p = out.data<T>();
    for (int64_t d = 0; d < c.num_dir; ++d) {
      for (int64_t b = 0; b < c.batch; ++b) {
        const int64_t dst = c.batch_major ? (b * c.num_dir + d) * c.hidden
                                          : (d * c.batch + b) * c.hidden;
        const int64_t src = (d * c.batch + b) * c.hidden;
        for (int64_t h = 0; h < c.hidden; ++h) p[dst + h] = static_cast<T>(s[src + h]);
      }
    }
    ctx.set_output(index, out);
    return Status::ok();
  });
}

}  // namespace edgerun::reference::recurrent
