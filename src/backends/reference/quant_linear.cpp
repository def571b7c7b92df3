// Linear (de)quantisation: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear.
//
// Arithmetic follows the ONNX reference: float32 inputs are divided by the scale in float32,
// rounded half to even, shifted by the zero point and saturated; int32 inputs are divided in
// double (numpy promotes int32 / float32 to float64).
#include <algorithm>
#include <cmath>
#include <string>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/quant_util.h"

namespace edgerun::reference {
namespace {

// Where the scale / zero point of a flat data index lives: (i / inner) % count.
struct ParamLayout {
  int64_t count = 1;
  int64_t inner = 1;
  int64_t index(int64_t i) const { return (i / inner) % count; }
};

Result<ParamLayout> param_layout(const KernelContext& ctx, const Tensor& x, const Tensor& scale,
                                 std::string_view op) {
  if (quant::is_per_tensor(scale)) return ParamLayout{};
  if (ctx.opset() < 13) {
    return invalid_argument(std::string(op) + " opset " + std::to_string(ctx.opset()) +
                            " is per-tensor only: scale must hold one value, got shape " +
                            shape_to_string(scale.shape()));
  }
  if (scale.rank() != 1) {
    return invalid_argument(std::string(op) +
                            " scale must be a scalar or a 1-D tensor, got shape " +
                            shape_to_string(scale.shape()));
  }
  int64_t axis = 0;
  ER_ASSIGN_OR_RETURN(axis, normalize_axis(ctx.attr_int("axis", 1), x.rank()));
  if (scale.dim(0) != x.dim(axis)) {
    return invalid_argument(std::string(op) + " per-axis scale has " +
                            std::to_string(scale.dim(0)) + " values but axis " +
                            std::to_string(axis) + " of input " + shape_to_string(x.shape()) +
                            " has " + std::to_string(x.dim(axis)));
  }
  ParamLayout layout;
  layout.count = scale.dim(0);
  for (int64_t d = axis + 1; d < x.rank(); ++d) layout.inner *= x.dim(d);
  return layout;
}

}  // namespace

Status kernel_QuantizeLinear(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  std::vector<float> scales;
  ER_ASSIGN_OR_RETURN(scales, quant::read_scales(scale, "QuantizeLinear y_scale"));
  ParamLayout layout;
  ER_ASSIGN_OR_RETURN(layout, param_layout(ctx, x, scale, "QuantizeLinear"));

  // Without a zero point the output is uint8 with zero point 0.
  DType out_dtype = DType::kUInt8;
  std::vector<int32_t> zero_points(scales.size(), 0);
  if (ctx.has_input(2)) {
    const Tensor& zp = ctx.input(2);
    out_dtype = zp.dtype();
    if (out_dtype != DType::kUInt8 && out_dtype != DType::kInt8) {
      return invalid_argument("QuantizeLinear y_zero_point must be uint8 or int8, got " +
                              std::string(dtype_name(out_dtype)));
    }
    ER_RETURN_IF_ERROR(
        quant::check_zero_point(zp, out_dtype, scale.shape(), "QuantizeLinear y_zero_point"));
    ER_ASSIGN_OR_RETURN(zero_points, quant::read_zero_points(zp, "QuantizeLinear y_zero_point"));
  }

  Tensor y(out_dtype, x.shape());
  ER_RETURN_IF_ERROR(dispatch<quant::QuantInputTypes>(x.dtype(), "QuantizeLinear", [&](auto xt) {
    using TX = typename decltype(xt)::type;
    return dispatch<quant::Int8Types>(out_dtype, "QuantizeLinear", [&](auto qt) {
      using Q = typename decltype(qt)::type;
      const TX* in = x.data<TX>();
      Q* out = y.data<Q>();
      for (int64_t i = 0; i < x.size(); ++i) {
        const size_t p = static_cast<size_t>(layout.index(i));
        double rounded = 0.0;
        if constexpr (std::is_same_v<TX, float>) {
          rounded = quant::round_half_even(in[i] / scales[p]);
        } else {
          rounded =
              quant::round_half_even(static_cast<double>(in[i]) / static_cast<double>(scales[p]));
        }
        out[i] = quant::saturate<Q>(rounded + static_cast<double>(zero_points[p]));
      }
      return Status::ok();
    });
  }));
  ctx.set_output(0, std::move(y));
  return Status::ok();
}

Status kernel_DequantizeLinear(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  std::vector<float> scales;
  ER_ASSIGN_OR_RETURN(scales, quant::read_scales(scale, "DequantizeLinear x_scale"));
  ParamLayout layout;
  ER_ASSIGN_OR_RETURN(layout, param_layout(ctx, x, scale, "DequantizeLinear"));

  std::vector<int32_t> zero_points(scales.size(), 0);
  if (ctx.has_input(2)) {
    const Tensor& zp = ctx.input(2);
    ER_RETURN_IF_ERROR(
        quant::check_zero_point(zp, x.dtype(), scale.shape(), "DequantizeLinear x_zero_point"));
    ER_ASSIGN_OR_RETURN(zero_points, quant::read_zero_points(zp, "DequantizeLinear x_zero_point"));
    // int32 data (typically a bias) is quantised symmetrically; a shift has no defined meaning.
    if (x.dtype() == DType::kInt32 &&
        std::any_of(zero_points.begin(), zero_points.end(), [](int32_t z) { return z != 0; })) {
      return invalid_argument(
          "DequantizeLinear of int32 needs a zero point of 0, got a nonzero one");
    }
  }

  Tensor y(DType::kFloat32, x.shape());
  ER_RETURN_IF_ERROR(
      dispatch<quant::DequantInputTypes>(x.dtype(), "DequantizeLinear", [&](auto xt) {
        using TX = typename decltype(xt)::type;
        const TX* in = x.data<TX>();
        float* out = y.data<float>();
        for (int64_t i = 0; i < x.size(); ++i) {
          const size_t p = static_cast<size_t>(layout.index(i));
          const int64_t shifted = static_cast<int64_t>(in[i]) - zero_points[p];
          out[i] = static_cast<float>(shifted) * scales[p];
        }
        return Status::ok();
      }));
  ctx.set_output(0, std::move(y));
  return Status::ok();
}

// The spec's formula in float32, step by step as in its function body. A range of zero (all
// inputs 0) would divide by zero; like the ONNX reference it uses a range of 1 instead.
Status kernel_DynamicQuantizeLinear(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kFloat32) {
    return unsupported("DynamicQuantizeLinear takes float32 input, got " +
                       std::string(dtype_name(x.dtype())));
  }
  const float* in = x.data<float>();
  // The range always includes 0 so that 0 is exactly representable. NaNs are skipped: they
  // would otherwise poison the scale of every element.
  float x_min = 0.0f;
  float x_max = 0.0f;
  for (int64_t i = 0; i < x.size(); ++i) {
    if (std::isnan(in[i])) continue;
    x_min = std::min(x_min, in[i]);
    x_max = std::max(x_max, in[i]);
  }
  constexpr float kQMin = 0.0f;
  constexpr float kQMax = 255.0f;
  const float range = x_max == x_min ? 1.0f : x_max - x_min;
  const float scale = range / (kQMax - kQMin);
  const float initial_zp = kQMin - x_min / scale;
  const float zp_value = quant::round_half_even(std::clamp(initial_zp, kQMin, kQMax));
  const uint8_t zp = quant::saturate<uint8_t>(zp_value);

  Tensor y(DType::kUInt8, x.shape());
  uint8_t* out = y.data<uint8_t>();
  for (int64_t i = 0; i < x.size(); ++i) {
    const float rounded = quant::round_half_even(in[i] / scale);
    out[i] = quant::saturate<uint8_t>(static_cast<double>(rounded) + zp);
  }
  ctx.set_output(0, std::move(y));
  ctx.set_output(1, Tensor::scalar<float>(scale));
  ctx.set_output(2, Tensor::scalar<uint8_t>(zp));
  return Status::ok();
}

}  // namespace edgerun::reference
