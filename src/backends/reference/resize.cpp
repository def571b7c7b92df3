// Resize (opsets 10-18) and its predecessor Upsample (opsets 7-9).
//
// Interpolation is separable: every output coordinate along an axis maps to a short list of
// (input index, weight) taps, and an output element is the sum over the Cartesian product of
// its per-axis taps of the product of the weights times the input element. Nearest mode has
// a single tap of weight 1 per axis and copies values exactly.
#include <algorithm>
#include <cmath>
#include <limits>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/reduce_util.h"

namespace edgerun::reference {
namespace {

enum class Mode { kNearest, kLinear, kCubic };
enum class Coord {
  kHalfPixel, kPytorchHalfPixel, kAlignCorners, kAsymmetric, kTfHalfPixelForNn,
  kTfCropAndResize
};
// kLegacy is the rounding of Upsample and Resize-10: floor when enlarging, ceil when shrinking.
enum class Rounding { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kLegacy };

struct ResizeSpec {
  Mode mode = Mode::kNearest;
  Coord coord = Coord::kAsymmetric;
  Rounding rounding = Rounding::kLegacy;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  bool antialias = false;
  double extrapolation = 0.0;
  std::vector<double> scales;     // per input axis
  // in_len * scale per axis: the coordinate formulas use this unrounded output length (the
  // ONNX reference does), which differs from the integer output size when scales are given.
  std::vector<double> real_len;
  Shape out_shape;
  std::vector<double> roi_start;  // per input axis, only read by tf_crop_and_resize
  std::vector<double> roi_end;
};

// Per-axis interpolation taps for every output coordinate of that axis.
struct AxisTaps {
  std::vector<int64_t> begin;  // taps of output j are [begin[j], begin[j + 1])
  std::vector<int64_t> index;
  std::vector<double> weight;
  std::vector<char> outside;   // tf_crop_and_resize sampled outside the input
};

Result<Mode> parse_mode(const std::string& s) {
  if (s == "nearest") return Mode::kNearest;
  if (s == "linear" || s == "bilinear") return Mode::kLinear;
  if (s == "cubic") return Mode::kCubic;
  return unsupported("mode must be nearest, linear or cubic, got '" + s + "'");
}

Result<Coord> parse_coord(const std::string& s, int64_t opset) {
  if (s == "half_pixel") return Coord::kHalfPixel;
  if (s == "pytorch_half_pixel") return Coord::kPytorchHalfPixel;
  if (s == "align_corners") return Coord::kAlignCorners;
  if (s == "asymmetric") return Coord::kAsymmetric;
  if (s == "tf_crop_and_resize") return Coord::kTfCropAndResize;
  if (s == "tf_half_pixel_for_nn" && opset < 13) return Coord::kTfHalfPixelForNn;
  return unsupported("coordinate_transformation_mode '" + s + "' is not supported at opset " +
                     std::to_string(opset));
}

Result<Rounding> parse_rounding(const std::string& s) {
  if (s == "round_prefer_floor") return Rounding::kRoundPreferFloor;
  if (s == "round_prefer_ceil") return Rounding::kRoundPreferCeil;
  if (s == "floor") return Rounding::kFloor;
  if (s == "ceil") return Rounding::kCeil;
  return unsupported("nearest_mode must be round_prefer_floor, round_prefer_ceil, floor or ceil, "
                     "got '" + s + "'");
}

double original_coordinate(const ResizeSpec& spec, size_t axis, int64_t j, int64_t in_len) {
  const double x = static_cast<double>(j);
  const double scale = spec.scales[axis];
  const double out_len = spec.real_len[axis];
  switch (spec.coord) {
    case Coord::kHalfPixel: return (x + 0.5) / scale - 0.5;
    case Coord::kPytorchHalfPixel: return out_len > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case Coord::kAlignCorners:
      return out_len == 1.0 ? 0.0 : x * static_cast<double>(in_len - 1) / (out_len - 1.0);
    case Coord::kAsymmetric: return x / scale;
    case Coord::kTfHalfPixelForNn: return (x + 0.5) / scale;
    case Coord::kTfCropAndResize: {
      const double start = spec.roi_start[axis];
      const double end = spec.roi_end[axis];
      const double span = static_cast<double>(in_len - 1);
      if (out_len > 1.0) return start * span + x * (end - start) * span / (out_len - 1.0);
      return 0.5 * (start + end) * span;
    }
  }
  return x;
}

int64_t nearest_index(Rounding r, double x, double scale) {
  const double fl = std::floor(x);
  switch (r) {
    case Rounding::kRoundPreferFloor:
      return static_cast<int64_t>(x - fl == 0.5 ? fl : std::round(x));
    case Rounding::kRoundPreferCeil:
      return static_cast<int64_t>(x - fl == 0.5 ? std::ceil(x) : std::round(x));
    case Rounding::kFloor: return static_cast<int64_t>(fl);
    case Rounding::kCeil: return static_cast<int64_t>(std::ceil(x));
    case Rounding::kLegacy: return static_cast<int64_t>(scale < 1.0 ? std::ceil(x) : fl);
  }
  return static_cast<int64_t>(fl);
}

double cubic_kernel(double d, double a) {
  d = std::fabs(d);
  if (d <= 1.0) return ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0;
  if (d < 2.0) return ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a;
  return 0.0;
}

AxisTaps make_taps(const ResizeSpec& spec, size_t axis, int64_t in_len, int64_t out_len) {
  AxisTaps taps;
  taps.begin.reserve(static_cast<size_t>(out_len) + 1);
  const double scale = spec.scales[axis];
  // Antialiasing widens the kernel by 1/scale when shrinking so every input sample counts.
  const double stretch = spec.antialias && scale < 1.0 ? scale : 1.0;
  const double radius = spec.mode == Mode::kCubic ? 2.0 : 1.0;
  const int64_t first = static_cast<int64_t>(std::floor(-radius / stretch)) + 1;
  const int64_t last = 1 - first;  // inclusive
  for (int64_t j = 0; j < out_len; ++j) {
    taps.begin.push_back(static_cast<int64_t>(taps.index.size()));
    double x = original_coordinate(spec, axis, j, in_len);
    const bool outside = spec.coord == Coord::kTfCropAndResize &&
                         (x < 0.0 || x > static_cast<double>(in_len - 1));
    // Past the kernel's reach every tap clamps to the same edge sample, so clamping x changes
    // nothing but keeps the integer conversions below defined for wild roi values.
    const double reach = radius / stretch + 2.0;
    x = std::clamp(x, -reach, static_cast<double>(in_len) + reach);
    taps.outside.push_back(outside ? 1 : 0);
    if (spec.mode == Mode::kNearest) {
      const int64_t i = nearest_index(spec.rounding, x, scale);
      taps.index.push_back(std::clamp<int64_t>(i, 0, in_len - 1));
      taps.weight.push_back(1.0);
      continue;
    }
    const double x0 = std::floor(x);
    const double t = x - x0;
    const size_t start = taps.index.size();
    double total = 0.0;
    for (int64_t k = first; k <= last; ++k) {
      const double d = stretch * (static_cast<double>(k) - t);
      double w = spec.mode == Mode::kCubic ? cubic_kernel(d, spec.cubic_a)
                                           : std::max(0.0, 1.0 - std::fabs(d));
      const int64_t i = static_cast<int64_t>(x0) + k;
      if (spec.exclude_outside && (i < 0 || i >= in_len)) w = 0.0;
      total += w;
      taps.index.push_back(std::clamp<int64_t>(i, 0, in_len - 1));
      taps.weight.push_back(w);
    }
    if (total != 0.0) {
      for (size_t k = start; k < taps.weight.size(); ++k) taps.weight[k] /= total;
    }
    // Drop zero-weight taps: they do not change the sum and would multiply the work.
    size_t keep = start;
    for (size_t k = start; k < taps.weight.size(); ++k) {
      if (taps.weight[k] == 0.0) continue;
      taps.index[keep] = taps.index[k];
      taps.weight[keep] = taps.weight[k];
      ++keep;
    }
    taps.index.resize(keep);
    taps.weight.resize(keep);
  }
  taps.begin.push_back(static_cast<int64_t>(taps.index.size()));
  return taps;
}

Status run_resize(KernelContext& ctx, ResizeSpec spec, const char* name) {
  const Tensor& x = ctx.input(0);
  const size_t rank = static_cast<size_t>(x.rank());
  Tensor out(x.dtype(), spec.out_shape);
  if (out.size() == 0) {
    ctx.set_output(0, out);
    return Status::ok();
  }
  if (x.size() == 0) {
    return invalid_argument(std::string(name) + " cannot fill output " +
                            shape_to_string(spec.out_shape) + " from empty input " +
                            shape_to_string(x.shape()));
  }
  if (spec.real_len.empty()) {
    for (size_t d = 0; d < rank; ++d) {
      spec.real_len.push_back(static_cast<double>(x.dim(static_cast<int64_t>(d))) *
                              spec.scales[d]);
    }
  }
  std::vector<AxisTaps> taps;
  for (size_t d = 0; d < rank; ++d) {
    taps.push_back(make_taps(spec, d, x.dim(static_cast<int64_t>(d)), spec.out_shape[d]));
  }
  const std::vector<int64_t> in_strides = strides_of(x.shape());
  const bool interpolate = spec.mode != Mode::kNearest;
  auto body = [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* in = x.data<T>();
    T* dst = out.data<T>();
    std::vector<int64_t> o_idx(rank, 0);
    std::vector<int64_t> cursor(rank, 0);
    for (int64_t e = 0; e < out.size(); ++e) {
      bool outside = false;
      for (size_t d = 0; d < rank; ++d) {
        outside = outside || taps[d].outside[o_idx[d]] != 0;
        cursor[d] = taps[d].begin[o_idx[d]];
      }
      if (outside) {
        dst[e] = from_double<T>(spec.extrapolation);
      } else if (!interpolate) {
        int64_t offset = 0;
        for (size_t d = 0; d < rank; ++d) offset += taps[d].index[cursor[d]] * in_strides[d];
        dst[e] = in[offset];
      } else {
        double sum = 0.0;
        bool empty = false;
        for (size_t d = 0; d < rank; ++d) empty = empty || taps[d].begin[o_idx[d] + 1] == cursor[d];
        while (!empty) {
          double w = 1.0;
          int64_t offset = 0;
          for (size_t d = 0; d < rank; ++d) {
            w *= taps[d].weight[cursor[d]];
            offset += taps[d].index[cursor[d]] * in_strides[d];
          }
          sum += w * to_double(in[offset]);
          size_t d = rank;
          while (d-- > 0) {
            if (++cursor[d] < taps[d].begin[o_idx[d] + 1]) break;
            cursor[d] = taps[d].begin[o_idx[d]];
          }
          if (d == static_cast<size_t>(-1)) break;
        }
        if constexpr (kIsFloatLike<T>) {
          dst[e] = from_double<T>(sum);
        } else {
          dst[e] = from_double<T>(std::nearbyint(sum));
        }
      }
      for (size_t d = rank; d-- > 0;) {
        if (++o_idx[d] < spec.out_shape[d]) break;
        o_idx[d] = 0;
      }
    }
    return Status::ok();
  };
  if (interpolate) {
    ER_RETURN_IF_ERROR(dispatch<NumericTypes>(x.dtype(), name, body));
  } else {
    ER_RETURN_IF_ERROR(dispatch<NumericBoolTypes>(x.dtype(), name, body));
  }
  ctx.set_output(0, out);
  return Status::ok();
}

// Fills spec.scales and spec.out_shape from per-axis scales.
Status scales_to_shape(ResizeSpec& spec, const Shape& in_shape, const std::vector<double>& scales) {
  if (scales.size() != in_shape.size()) {
    return invalid_argument("scales must have one value per input axis (" +
                            std::to_string(in_shape.size()) + "), got " +
                            std::to_string(scales.size()));
  }
  spec.scales = scales;
  spec.out_shape.clear();
  for (size_t d = 0; d < scales.size(); ++d) {
    if (!(scales[d] > 0.0) || !std::isfinite(scales[d])) {
      return invalid_argument("scales must be positive, got " + std::to_string(scales[d]) +
                              " for axis " + std::to_string(d));
    }
    const double n = std::floor(static_cast<double>(in_shape[d]) * scales[d]);
    if (n > static_cast<double>(std::numeric_limits<int32_t>::max())) {
      return invalid_argument("scale " + std::to_string(scales[d]) + " makes axis " +
                              std::to_string(d) + " too large");
    }
    spec.out_shape.push_back(static_cast<int64_t>(n));
  }
  return Status::ok();
}

// A Resize input given as an empty tensor counts as omitted (scales when sizes are used).
bool present(const KernelContext& ctx, size_t i) {
  return ctx.has_input(i) && ctx.input(i).size() > 0;
}

}  // namespace

Status kernel_Resize(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t opset = ctx.opset();
  const size_t rank = static_cast<size_t>(x.rank());
  ResizeSpec spec;
  ER_ASSIGN_OR_RETURN(spec.mode, parse_mode(ctx.attr_string("mode", "nearest")));
  if (opset < 11) {
    if (spec.mode == Mode::kCubic) return unsupported("cubic mode needs Resize opset 11 or later");
    if (!ctx.has_input(1)) return invalid_argument("Resize-10 needs the scales input");
    ER_ASSIGN_OR_RETURN(std::vector<double> scales, read_doubles(ctx.input(1), "scales"));
    ER_RETURN_IF_ERROR(scales_to_shape(spec, x.shape(), scales));
    return run_resize(ctx, spec, "Resize");
  }
  ER_ASSIGN_OR_RETURN(spec.coord,
                      parse_coord(ctx.attr_string("coordinate_transformation_mode", "half_pixel"),
                                  opset));
  ER_ASSIGN_OR_RETURN(spec.rounding,
                      parse_rounding(ctx.attr_string("nearest_mode", "round_prefer_floor")));
  spec.cubic_a = ctx.attr_float("cubic_coeff_a", -0.75f);
  spec.exclude_outside = ctx.attr_int("exclude_outside", 0) != 0;
  spec.extrapolation = ctx.attr_float("extrapolation_value", 0.0f);
  spec.antialias = opset >= 18 && ctx.attr_int("antialias", 0) != 0;

  // Axes the scales / sizes / roi refer to (opset 18); all axes by default.
  std::vector<int64_t> axes;
  if (opset >= 18 && ctx.has_attr("axes")) {
    std::vector<bool> seen(rank, false);
    for (int64_t a : ctx.attr_ints("axes")) {
      ER_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(a, static_cast<int64_t>(rank)));
      if (seen[axis]) return invalid_argument("axes lists axis " + std::to_string(a) + " twice");
      seen[axis] = true;
      axes.push_back(axis);
    }
  } else {
    for (size_t d = 0; d < rank; ++d) axes.push_back(static_cast<int64_t>(d));
  }
  const size_t n = axes.size();

  spec.roi_start.assign(rank, 0.0);
  spec.roi_end.assign(rank, 1.0);
  if (spec.coord == Coord::kTfCropAndResize && present(ctx, 1)) {
    ER_ASSIGN_OR_RETURN(std::vector<double> roi, read_doubles(ctx.input(1), "roi"));
    if (roi.size() != 2 * n) {
      return invalid_argument("roi must hold " + std::to_string(2 * n) +
                              " values (starts then ends), got " + std::to_string(roi.size()));
    }
    for (size_t k = 0; k < n; ++k) {
      spec.roi_start[axes[k]] = roi[k];
      spec.roi_end[axes[k]] = roi[n + k];
    }
  }

  const bool has_scales = present(ctx, 2);
  const bool has_sizes = present(ctx, 3);
  if (has_scales == has_sizes) {
    return invalid_argument(has_scales ? "Resize takes scales or sizes, not both"
                                       : "Resize needs one of scales and sizes");
  }
  if (has_scales) {
    ER_ASSIGN_OR_RETURN(std::vector<double> given, read_doubles(ctx.input(2), "scales"));
    if (given.size() != n) {
      return invalid_argument("scales must hold " + std::to_string(n) + " values, got " +
                              std::to_string(given.size()));
    }
    std::vector<double> scales(rank, 1.0);
    for (size_t k = 0; k < n; ++k) scales[axes[k]] = given[k];
    ER_RETURN_IF_ERROR(scales_to_shape(spec, x.shape(), scales));
  } else {
    ER_ASSIGN_OR_RETURN(std::vector<int64_t> sizes, read_ints(ctx.input(3), "sizes"));
    if (sizes.size() != n) {
      return invalid_argument("sizes must hold " + std::to_string(n) + " values, got " +
                              std::to_string(sizes.size()));
    }
    spec.out_shape = x.shape();
    spec.scales.assign(rank, 1.0);
    for (size_t k = 0; k < n; ++k) {
      if (sizes[k] < 0) {
        return invalid_argument("sizes must be non-negative, got " + std::to_string(sizes[k]));
      }
      if (x.dim(axes[k]) == 0 && sizes[k] != 0) {
        return invalid_argument("cannot resize empty axis " + std::to_string(axes[k]) +
                                " to " + std::to_string(sizes[k]));
      }
    }
    const std::string policy =
        opset >= 18 ? ctx.attr_string("keep_aspect_ratio_policy", "stretch") : "stretch";
    if (policy == "stretch") {
      spec.real_len.assign(rank, 0.0);
      for (size_t d = 0; d < rank; ++d) spec.real_len[d] = static_cast<double>(x.dim(d));
      for (size_t k = 0; k < n; ++k) {
        const int64_t in_len = x.dim(axes[k]);
        spec.out_shape[axes[k]] = sizes[k];
        spec.real_len[axes[k]] = static_cast<double>(sizes[k]);
        spec.scales[axes[k]] =
            in_len == 0 ? 1.0 : static_cast<double>(sizes[k]) / static_cast<double>(in_len);
      }
    } else if (policy == "not_larger" || policy == "not_smaller") {
      // One common scale keeps the aspect ratio; the output is rounded from it.
      double common = policy == "not_larger" ? std::numeric_limits<double>::infinity() : 0.0;
      for (size_t k = 0; k < n; ++k) {
        const int64_t in_len = x.dim(axes[k]);
        if (in_len == 0) continue;
        const double s = static_cast<double>(sizes[k]) / static_cast<double>(in_len);
        common = policy == "not_larger" ? std::min(common, s) : std::max(common, s);
      }
      if (!std::isfinite(common) || common <= 0.0) common = 1.0;
      for (size_t k = 0; k < n; ++k) {
        spec.scales[axes[k]] = common;
        spec.out_shape[axes[k]] = static_cast<int64_t>(
            std::floor(common * static_cast<double>(x.dim(axes[k])) + 0.5));
      }
    } else {
      return unsupported("keep_aspect_ratio_policy must be stretch, not_larger or not_smaller, "
                         "got '" + policy + "'");
    }
  }
  return run_resize(ctx, spec, "Resize");
}

Status kernel_Upsample(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  ResizeSpec spec;
  ER_ASSIGN_OR_RETURN(spec.mode, parse_mode(ctx.attr_string("mode", "nearest")));
  if (spec.mode == Mode::kCubic) return unsupported("Upsample has no cubic mode");
  std::vector<double> scales;
  if (ctx.opset() >= 9) {
    if (!ctx.has_input(1)) return invalid_argument("Upsample-9 needs the scales input");
    ER_ASSIGN_OR_RETURN(scales, read_doubles(ctx.input(1), "scales"));
  } else {
    for (float s : ctx.attr_floats("scales")) scales.push_back(s);
  }
  ER_RETURN_IF_ERROR(scales_to_shape(spec, x.shape(), scales));
  return run_resize(ctx, spec, "Upsample");
}

}  // namespace edgerun::reference
