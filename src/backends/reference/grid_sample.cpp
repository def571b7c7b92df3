// GridSample (opset 16): samples a 4-D input at normalised grid locations.
#include <algorithm>
#include <cmath>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"

namespace edgerun::reference {
namespace {

enum class Interp { kBilinear, kNearest, kBicubic };
enum class Padding { kZeros, kBorder, kReflection };

// Maps a grid coordinate in [-1, 1] to a pixel coordinate. With align_corners the extremes are
// pixel centres, otherwise they are the outer pixel edges.
double denormalize(double v, int64_t size, bool align_corners) {
  const double n = static_cast<double>(size);
  return align_corners ? (v + 1.0) / 2.0 * (n - 1.0) : ((v + 1.0) * n - 1.0) / 2.0;
}

// Folds v into [lo, hi] as if the range were mirrored repeatedly at both ends.
double reflect(double v, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0.0) return lo;
  if (v >= lo && v <= hi) return v;
  const double d = v < lo ? lo - v : v - hi;
  const double flips = std::floor(d / range);
  const double r = d - flips * range;
  const bool even = std::fmod(flips, 2.0) == 0.0;
  if (v < lo) return even ? lo + r : hi - r;
  return even ? hi - r : lo + r;
}

struct Sampler {
  const double* plane;  // one (n, c) plane converted to double
  int64_t h, w;
  Padding padding;
  double lo_x, hi_x, lo_y, hi_y;  // the reflection range

  double at(int64_t r, int64_t c) const {
    switch (padding) {
      case Padding::kZeros:
        if (r < 0 || r >= h || c < 0 || c >= w) return 0.0;
        break;
      case Padding::kBorder:
        break;
      case Padding::kReflection:
        c = static_cast<int64_t>(reflect(static_cast<double>(c), lo_x, hi_x));
        r = static_cast<int64_t>(reflect(static_cast<double>(r), lo_y, hi_y));
        break;
    }
    // Also keeps reflected indices in range when a rounding edge case lands outside.
    r = std::clamp<int64_t>(r, 0, h - 1);
    c = std::clamp<int64_t>(c, 0, w - 1);
    return plane[r * w + c];
  }
};

// Cubic convolution weights (a = -0.75) for the 4 taps around a point at fraction t.
void cubic_weights(double t, double out[4]) {
  constexpr double a = -0.75;
  auto near = [&](double d) { return ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0; };
  auto far = [&](double d) { return ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a; };
  out[0] = far(t + 1.0);
  out[1] = near(t);
  out[2] = near(1.0 - t);
  out[3] = far(2.0 - t);
}

}  // namespace

Status kernel_GridSample(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& grid_t = ctx.input(1);
  if (x.rank() != 4) {
    return invalid_argument("GridSample X must have rank 4 [N, C, H, W], got shape " +
                            shape_to_string(x.shape()));
  }
  if (grid_t.rank() != 4 || grid_t.dim(3) != 2 || grid_t.dim(0) != x.dim(0)) {
    return invalid_argument("GridSample grid must have shape [" + std::to_string(x.dim(0)) +
                            ", H_out, W_out, 2], got " + shape_to_string(grid_t.shape()));
  }
  if (!is_floating(grid_t.dtype())) {
    return invalid_argument("GridSample grid must be float, got " +
                            std::string(dtype_name(grid_t.dtype())));
  }
  const std::string mode_s = ctx.attr_string("mode", "bilinear");
  Interp mode;
  if (mode_s == "bilinear") {
    mode = Interp::kBilinear;
  } else if (mode_s == "nearest") {
    mode = Interp::kNearest;
  } else if (mode_s == "bicubic") {
    mode = Interp::kBicubic;
  } else {
    return invalid_argument("GridSample mode must be bilinear, nearest or bicubic, got '" +
                            mode_s + "'");
  }
  const std::string pad_s = ctx.attr_string("padding_mode", "zeros");
  Padding padding;
  if (pad_s == "zeros") {
    padding = Padding::kZeros;
  } else if (pad_s == "border") {
    padding = Padding::kBorder;
  } else if (pad_s == "reflection") {
    padding = Padding::kReflection;
  } else {
    return invalid_argument("GridSample padding_mode must be zeros, border or reflection, got '" +
                            pad_s + "'");
  }
  const bool align_corners = ctx.attr_int("align_corners", 0) != 0;

  const int64_t n = x.dim(0), channels = x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t out_h = grid_t.dim(1), out_w = grid_t.dim(2);
  Tensor y(x.dtype(), {n, channels, out_h, out_w});
  if (y.size() == 0) {
    ctx.set_output(0, y);
    return Status::ok();
  }
  if (h == 0 || w == 0) {
    return invalid_argument("GridSample X needs non-empty spatial dims, got shape " +
                            shape_to_string(x.shape()));
  }
  ER_ASSIGN_OR_RETURN(std::vector<double> grid, read_doubles(grid_t, "grid"));
  ER_ASSIGN_OR_RETURN(std::vector<double> xs, read_doubles(x, "X"));

  Sampler s{nullptr, h, w, padding, 0, 0, 0, 0};
  if (align_corners) {
    s.lo_x = 0.0, s.hi_x = static_cast<double>(w - 1);
    s.lo_y = 0.0, s.hi_y = static_cast<double>(h - 1);
  } else {
    s.lo_x = -0.5, s.hi_x = static_cast<double>(w) - 0.5;
    s.lo_y = -0.5, s.hi_y = static_cast<double>(h) - 0.5;
  }
  std::vector<double> result(static_cast<size_t>(y.size()));
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t c = 0; c < channels; ++c) {
      s.plane = &xs[(b * channels + c) * h * w];
      double* dst = &result[(b * channels + c) * out_h * out_w];
      for (int64_t i = 0; i < out_h * out_w; ++i) {
        const double* g = &grid[(b * out_h * out_w + i) * 2];
        double px = denormalize(g[0], w, align_corners);
        double py = denormalize(g[1], h, align_corners);
        if (mode == Interp::kNearest) {
          px = std::nearbyint(px);
          py = std::nearbyint(py);
        }
        // Points outside the sampling range are moved back in before interpolating; taps that
        // still fall outside are handled per pixel by the sampler.
        if (padding == Padding::kBorder) {
          px = std::clamp(px, 0.0, static_cast<double>(w - 1));
          py = std::clamp(py, 0.0, static_cast<double>(h - 1));
        } else if (padding == Padding::kReflection) {
          px = reflect(px, s.lo_x, s.hi_x);
          py = reflect(py, s.lo_y, s.hi_y);
        }
        double v = 0.0;
        const bool far_outside = !(px >= -3.0 && px <= static_cast<double>(w) + 2.0 &&
                                   py >= -3.0 && py <= static_cast<double>(h) + 2.0);
        if (far_outside) {
          // Every tap is padding (also avoids casting huge or NaN coordinates to integers).
          v = padding == Padding::kZeros ? 0.0 : std::nan("");
        } else if (mode == Interp::kNearest) {
          // Clamping or reflecting may leave a fraction, so round again.
          v = s.at(static_cast<int64_t>(std::nearbyint(py)),
                   static_cast<int64_t>(std::nearbyint(px)));
        } else if (mode == Interp::kBilinear) {
          const double x0 = std::floor(px), y0 = std::floor(py);
          const double fx = px - x0, fy = py - y0;
          const int64_t c0 = static_cast<int64_t>(x0), r0 = static_cast<int64_t>(y0);
          v = (1 - fy) * ((1 - fx) * s.at(r0, c0) + fx * s.at(r0, c0 + 1)) +
              fy * ((1 - fx) * s.at(r0 + 1, c0) + fx * s.at(r0 + 1, c0 + 1));
        } else {
          const double x0 = std::floor(px), y0 = std::floor(py);
          double wx[4], wy[4];
          cubic_weights(px - x0, wx);
          cubic_weights(py - y0, wy);
          const int64_t c0 = static_cast<int64_t>(x0) - 1, r0 = static_cast<int64_t>(y0) - 1;
          for (int64_t dy = 0; dy < 4; ++dy) {
            double row = 0.0;
            for (int64_t dx = 0; dx < 4; ++dx) row += wx[dx] * s.at(r0 + dy, c0 + dx);
            v += wy[dy] * row;
          }
        }
        dst[i] = v;
      }
    }
  }
  ER_RETURN_IF_ERROR(dispatch<NumericTypes>(x.dtype(), "GridSample", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    T* out = y.data<T>();
    for (int64_t i = 0; i < y.size(); ++i) {
      if constexpr (std::is_integral_v<T>) {
        out[i] = std::isfinite(result[i]) ? static_cast<T>(std::nearbyint(result[i])) : T{};
      } else {
        out[i] = static_cast<T>(result[i]);
      }
    }
    return Status::ok();
  }));
  ctx.set_output(0, y);
  return Status::ok();
}

}  // namespace edgerun::reference
