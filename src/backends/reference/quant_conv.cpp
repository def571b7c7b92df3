// Integer convolutions: ConvInteger (int32 result) and QLinearConv (requantised result).
//
// x is [N, C, D1..Dn], w is [M, C/group, k1..kn]. Padding stands for the real value 0, i.e.
// the input's zero point, so padded taps contribute nothing and are skipped. Products are exact
// in int32 and the sum wraps modulo 2^32, as the spec allows accumulation to overflow in 32 bits.
#include <algorithm>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/quant_util.h"

namespace edgerun::reference {
namespace {

struct ConvGeometry {
  int64_t batch = 0, channels = 0, out_channels = 0, group = 1;
  Shape in_spatial, kernel, out_spatial;
  std::vector<int64_t> strides, dilations, pads_begin;
};

std::string ints_to_string(const std::vector<int64_t>& v) { return shape_to_string(v); }

Result<ConvGeometry> conv_geometry(const KernelContext& ctx, const Shape& x, const Shape& w,
                                   std::string_view op) {
  const std::string name(op);
  if (x.size() < 3) {
    return invalid_argument(name + " input x must be [N, C, D1, ...] (rank >= 3), got " +
                            shape_to_string(x));
  }
  if (w.size() != x.size()) {
    return invalid_argument(name + " weight w must have x's rank " + std::to_string(x.size()) +
                            ", got " + shape_to_string(w));
  }
  const size_t spatial = x.size() - 2;
  ConvGeometry g;
  g.batch = x[0];
  g.channels = x[1];
  g.out_channels = w[0];
  g.group = ctx.attr_int("group", 1);
  if (g.group < 1 || g.out_channels % g.group != 0 || w[1] * g.group != g.channels) {
    return invalid_argument(name + " with group " + std::to_string(g.group) + " needs x channels " +
                            "(" + std::to_string(g.channels) + ") = group * w dim 1 (" +
                            std::to_string(w[1]) + ") and w dim 0 (" +
                            std::to_string(g.out_channels) + ") divisible by group");
  }
  g.in_spatial.assign(x.begin() + 2, x.end());
  g.kernel.assign(w.begin() + 2, w.end());
  if (ctx.has_attr("kernel_shape")) {
    const std::vector<int64_t> ks = ctx.attr_ints("kernel_shape");
    if (ks != g.kernel) {
      return invalid_argument(name + " kernel_shape " + ints_to_string(ks) +
                              " does not match the weight's spatial dims " +
                              shape_to_string(g.kernel));
    }
  }
  g.strides = ctx.attr_ints("strides", std::vector<int64_t>(spatial, 1));
  g.dilations = ctx.attr_ints("dilations", std::vector<int64_t>(spatial, 1));
  std::vector<int64_t> pads = ctx.attr_ints("pads", std::vector<int64_t>(2 * spatial, 0));
  if (g.strides.size() != spatial || g.dilations.size() != spatial || pads.size() != 2 * spatial) {
    return invalid_argument(
        name + " expects " + std::to_string(spatial) + " strides, " + std::to_string(spatial) +
        " dilations and " + std::to_string(2 * spatial) + " pads, got " +
        std::to_string(g.strides.size()) + ", " + std::to_string(g.dilations.size()) + " and " +
        std::to_string(pads.size()));
  }
  for (size_t d = 0; d < spatial; ++d) {
    if (g.strides[d] < 1 || g.dilations[d] < 1 || pads[d] < 0 || pads[d + spatial] < 0 ||
        g.kernel[d] < 1) {
      return invalid_argument(
          name + " needs strides, dilations and kernel dims >= 1 and pads >= " + "0, got strides " +
          ints_to_string(g.strides) + ", dilations " + ints_to_string(g.dilations) + ", kernel " +
          shape_to_string(g.kernel) + ", pads " + ints_to_string(pads));
    }
  }

  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  g.pads_begin.assign(spatial, 0);
  g.out_spatial.assign(spatial, 0);
  for (size_t d = 0; d < spatial; ++d) {
    const int64_t in = g.in_spatial[d];
    const int64_t s = g.strides[d];
    const int64_t extent = (g.kernel[d] - 1) * g.dilations[d] + 1;
    if (auto_pad == "NOTSET") {
      g.pads_begin[d] = pads[d];
      const int64_t padded = in + pads[d] + pads[d + spatial];
      g.out_spatial[d] = padded >= extent ? (padded - extent) / s + 1 : 0;
    } else if (auto_pad == "VALID") {
      g.out_spatial[d] = in >= extent ? (in - extent) / s + 1 : 0;
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      // Output covers ceil(in / stride) positions; the odd pad goes to the end for SAME_UPPER
      // and to the beginning for SAME_LOWER.
      g.out_spatial[d] = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (g.out_spatial[d] - 1) * s + extent - in);
      g.pads_begin[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    } else {
      return invalid_argument(name + " auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, " +
                              "got '" + auto_pad + "'");
    }
    if (g.out_spatial[d] < 1 && in > 0) {
      return invalid_argument(name + " kernel extent " + std::to_string(extent) +
                              " exceeds the padded input in spatial dim " + std::to_string(d) +
                              " (input " + shape_to_string(x) + ", pads " + ints_to_string(pads) +
                              ")");
    }
  }
  return g;
}

Shape output_shape(const ConvGeometry& g) {
  Shape out{g.batch, g.out_channels};
  out.insert(out.end(), g.out_spatial.begin(), g.out_spatial.end());
  return out;
}

// Sum over (x - x_zp) * (w - w_zp[m]) for every output element, [N, M, O1..On] row-major.
// w_zp holds one value or one per output channel.
template <class TX, class TW>
std::vector<int32_t> integer_conv(const ConvGeometry& g, const TX* x, int32_t x_zp, const TW* w,
                                  const std::vector<int32_t>& w_zp) {
  const size_t spatial = g.in_spatial.size();
  const int64_t in_size = shape_size(g.in_spatial);
  const int64_t k_size = shape_size(g.kernel);
  const int64_t out_size = shape_size(g.out_spatial);
  const int64_t c_per_group = g.channels / g.group;
  const int64_t m_per_group = g.out_channels / g.group;

  // Kernel tap coordinates, computed once: [k_size][spatial].
  std::vector<int64_t> taps(static_cast<size_t>(k_size) * spatial);
  for (int64_t t = 0; t < k_size; ++t) {
    int64_t rest = t;
    for (size_t d = spatial; d-- > 0;) {
      taps[static_cast<size_t>(t) * spatial + d] = rest % g.kernel[d];
      rest /= g.kernel[d];
    }
  }

  std::vector<int32_t> result(static_cast<size_t>(g.batch * g.out_channels * out_size));
  std::vector<int64_t> origin(spatial);
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t m = 0; m < g.out_channels; ++m) {
      const int64_t first_c = (m / m_per_group) * c_per_group;
      const int32_t wz = w_zp[w_zp.size() == 1 ? 0 : static_cast<size_t>(m)];
      const TX* x_base = x + (n * g.channels + first_c) * in_size;
      const TW* w_base = w + m * c_per_group * k_size;
      for (int64_t o = 0; o < out_size; ++o) {
        // Input coordinate of the first tap of this output position.
        int64_t rest = o;
        for (size_t d = spatial; d-- > 0;) {
          origin[d] = (rest % g.out_spatial[d]) * g.strides[d] - g.pads_begin[d];
          rest /= g.out_spatial[d];
        }
        uint32_t acc = 0;  // wraps modulo 2^32 without signed-overflow UB
        for (int64_t t = 0; t < k_size; ++t) {
          int64_t offset = 0;
          bool inside = true;
          for (size_t d = 0; d < spatial; ++d) {
            const int64_t pos =
                origin[d] + taps[static_cast<size_t>(t) * spatial + d] * g.dilations[d];
            if (pos < 0 || pos >= g.in_spatial[d]) {
              inside = false;
              break;
            }
            offset = offset * g.in_spatial[d] + pos;
          }
          if (!inside) continue;
          for (int64_t c = 0; c < c_per_group; ++c) {
            const int32_t xv = static_cast<int32_t>(x_base[c * in_size + offset]) - x_zp;
            const int32_t wv = static_cast<int32_t>(w_base[c * k_size + t]) - wz;
            acc += static_cast<uint32_t>(xv * wv);
          }
        }
        result[static_cast<size_t>((n * g.out_channels + m) * out_size + o)] =
            static_cast<int32_t>(acc);
      }
    }
  }
  return result;
}

Status check_8bit(const Tensor& t, std::string_view what) {
  if (t.dtype() == DType::kUInt8 || t.dtype() == DType::kInt8) return Status::ok();
  return invalid_argument(std::string(what) + " must be uint8 or int8, got " +
                          std::string(dtype_name(t.dtype())));
}

// A per-tensor zero point of `operand_dtype`, or 0 when the optional input is absent.
Result<int32_t> scalar_zero_point(const KernelContext& ctx, size_t input, DType operand_dtype,
                                  std::string_view what) {
  if (!ctx.has_input(input)) return 0;
  const Tensor& zp = ctx.input(input);
  if (zp.dtype() != operand_dtype) {
    return invalid_argument(std::string(what) + " must have dtype " +
                            std::string(dtype_name(operand_dtype)) + ", got " +
                            std::string(dtype_name(zp.dtype())));
  }
  if (!quant::is_per_tensor(zp)) {
    return invalid_argument(std::string(what) + " must hold one value, got shape " +
                            shape_to_string(zp.shape()));
  }
  std::vector<int32_t> v;
  ER_ASSIGN_OR_RETURN(v, quant::read_zero_points(zp, what));
  return v[0];
}

// One value (per tensor) or a 1-D tensor of `channels` values (per output channel).
Status check_per_channel(const Tensor& t, int64_t channels, std::string_view what) {
  if (quant::is_per_tensor(t) || (t.rank() == 1 && t.dim(0) == channels)) return Status::ok();
  return invalid_argument(std::string(what) + " must hold one value or " +
                          std::to_string(channels) + " (one per output channel), got shape " +
                          shape_to_string(t.shape()));
}

// The weight zero points (one, or one per output channel), 0 when absent.
Result<std::vector<int32_t>> weight_zero_points(const KernelContext& ctx, size_t input,
                                                const Tensor& w, std::string_view what) {
  if (!ctx.has_input(input)) return std::vector<int32_t>{0};
  const Tensor& zp = ctx.input(input);
  if (zp.dtype() != w.dtype()) {
    return invalid_argument(std::string(what) + " must have dtype " +
                            std::string(dtype_name(w.dtype())) + ", got " +
                            std::string(dtype_name(zp.dtype())));
  }
  ER_RETURN_IF_ERROR(check_per_channel(zp, w.dim(0), what));
  return quant::read_zero_points(zp, what);
}

template <class F>
Status dispatch_x_w(const Tensor& x, const Tensor& w, std::string_view op, F&& f) {
  return dispatch<quant::Int8Types>(x.dtype(), op, [&](auto xt) {
    return dispatch<quant::Int8Types>(w.dtype(), op, [&](auto wt) { return f(xt, wt); });
  });
}

}  // namespace

Status kernel_ConvInteger(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  ER_RETURN_IF_ERROR(check_8bit(x, "ConvInteger x"));
  ER_RETURN_IF_ERROR(check_8bit(w, "ConvInteger w"));
  ConvGeometry g;
  ER_ASSIGN_OR_RETURN(g, conv_geometry(ctx, x.shape(), w.shape(), "ConvInteger"));
  int32_t x_zp = 0;
  ER_ASSIGN_OR_RETURN(x_zp, scalar_zero_point(ctx, 2, x.dtype(), "ConvInteger x_zero_point"));
  std::vector<int32_t> w_zp;
  ER_ASSIGN_OR_RETURN(w_zp, weight_zero_points(ctx, 3, w, "ConvInteger w_zero_point"));

  std::vector<int32_t> acc;
  ER_RETURN_IF_ERROR(dispatch_x_w(x, w, "ConvInteger", [&](auto xt, auto wt) {
    using TX = typename decltype(xt)::type;
    using TW = typename decltype(wt)::type;
    acc = integer_conv(g, x.data<TX>(), x_zp, w.data<TW>(), w_zp);
    return Status::ok();
  }));
  ctx.set_output(0, Tensor::from_vector<int32_t>(output_shape(g), acc));
  return Status::ok();
}

// y = saturate(round((acc + B[m]) * (x_scale * w_scale[m] / y_scale)) + y_zp), where acc is the
// integer convolution of the zero-point-shifted operands and the multiplier is float32.
Status kernel_QLinearConv(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& x_scale = ctx.input(1);
  const Tensor& w = ctx.input(3);
  const Tensor& w_scale = ctx.input(4);
  const Tensor& y_scale = ctx.input(6);
  const Tensor& y_zp = ctx.input(7);
  ER_RETURN_IF_ERROR(check_8bit(x, "QLinearConv x"));
  ER_RETURN_IF_ERROR(check_8bit(w, "QLinearConv w"));
  ER_RETURN_IF_ERROR(check_8bit(y_zp, "QLinearConv y_zero_point"));
  ConvGeometry g;
  ER_ASSIGN_OR_RETURN(g, conv_geometry(ctx, x.shape(), w.shape(), "QLinearConv"));

  if (!quant::is_per_tensor(x_scale) || !quant::is_per_tensor(y_scale) ||
      !quant::is_per_tensor(y_zp)) {
    return invalid_argument(
        "QLinearConv x_scale, y_scale and y_zero_point must hold one value, "
        "got shapes " +
        shape_to_string(x_scale.shape()) + ", " + shape_to_string(y_scale.shape()) + " and " +
        shape_to_string(y_zp.shape()));
  }
  ER_RETURN_IF_ERROR(check_per_channel(w_scale, g.out_channels, "QLinearConv w_scale"));
  std::vector<float> xs, ws, ys;
  ER_ASSIGN_OR_RETURN(xs, quant::read_scales(x_scale, "QLinearConv x_scale"));
  ER_ASSIGN_OR_RETURN(ws, quant::read_scales(w_scale, "QLinearConv w_scale"));
  ER_ASSIGN_OR_RETURN(ys, quant::read_scales(y_scale, "QLinearConv y_scale"));
  int32_t x_zp = 0;
  ER_ASSIGN_OR_RETURN(x_zp, scalar_zero_point(ctx, 2, x.dtype(), "QLinearConv x_zero_point"));
  std::vector<int32_t> w_zp, y_zp_values;
  ER_ASSIGN_OR_RETURN(w_zp, weight_zero_points(ctx, 5, w, "QLinearConv w_zero_point"));
  ER_ASSIGN_OR_RETURN(y_zp_values, quant::read_zero_points(y_zp, "QLinearConv y_zero_point"));

  std::vector<int32_t> bias(static_cast<size_t>(g.out_channels), 0);
  if (ctx.has_input(8)) {
    const Tensor& b = ctx.input(8);
    if (b.dtype() != DType::kInt32 || b.rank() != 1 || b.dim(0) != g.out_channels) {
      return invalid_argument(
          "QLinearConv bias B must be int32 of shape [" + std::to_string(g.out_channels) +
          "], got " + std::string(dtype_name(b.dtype())) + " " + shape_to_string(b.shape()));
    }
    bias = b.to_vector<int32_t>();
  }

  std::vector<int32_t> acc;
  ER_RETURN_IF_ERROR(dispatch_x_w(x, w, "QLinearConv", [&](auto xt, auto wt) {
    using TX = typename decltype(xt)::type;
    using TW = typename decltype(wt)::type;
    acc = integer_conv(g, x.data<TX>(), x_zp, w.data<TW>(), w_zp);
    return Status::ok();
  }));

  Tensor y(y_zp.dtype(), output_shape(g));
  const int64_t out_size = shape_size(g.out_spatial);
  ER_RETURN_IF_ERROR(dispatch<quant::Int8Types>(y.dtype(), "QLinearConv", [&](auto yt) {
    using TY = typename decltype(yt)::type;
    TY* out = y.data<TY>();
    for (int64_t n = 0; n < g.batch; ++n) {
      for (int64_t m = 0; m < g.out_channels; ++m) {
        const size_t mi = static_cast<size_t>(m);
        const float multiplier = xs[0] * ws[ws.size() == 1 ? 0 : mi] / ys[0];
        const size_t base = static_cast<size_t>((n * g.out_channels + m) * out_size);
        for (int64_t o = 0; o < out_size; ++o) {
          // The bias add wraps in int32 like the accumulation it extends.
          const int32_t with_bias =
              static_cast<int32_t>(static_cast<uint32_t>(acc[base + static_cast<size_t>(o)]) +
                                   static_cast<uint32_t>(bias[mi]));
          out[base + static_cast<size_t>(o)] =
              quant::requantize<TY>(with_bias, multiplier, y_zp_values[0]);
        }
      }
    }
    return Status::ok();
  }));
  ctx.set_output(0, std::move(y));
  return Status::ok();
}

}  // namespace edgerun::reference
