// RoiAlign: bilinearly sampled average/max pooling of regions of interest.
#include <algorithm>
#include <cmath>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"

namespace edgerun::reference {
namespace {

// The four pixels around one sampling point and their bilinear weights. Points more than one
// pixel outside the map contribute nothing (all weights zero).
struct Tap {
  int64_t pos[4] = {0, 0, 0, 0};
  double w[4] = {0, 0, 0, 0};
};

Tap bilinear_tap(double y, double x, int64_t height, int64_t width) {
  Tap t;
  if (y < -1.0 || y > static_cast<double>(height) || x < -1.0 ||
      x > static_cast<double>(width)) {
    return t;
  }
  y = std::max(y, 0.0);
  x = std::max(x, 0.0);
  int64_t y_low = static_cast<int64_t>(y);
  int64_t x_low = static_cast<int64_t>(x);
  int64_t y_high = y_low + 1;
  int64_t x_high = x_low + 1;
  if (y_low >= height - 1) {
    y_low = y_high = height - 1;
    y = static_cast<double>(y_low);
  }
  if (x_low >= width - 1) {
    x_low = x_high = width - 1;
    x = static_cast<double>(x_low);
  }
  const double ly = y - static_cast<double>(y_low);
  const double lx = x - static_cast<double>(x_low);
  const double hy = 1.0 - ly;
  const double hx = 1.0 - lx;
  t.pos[0] = y_low * width + x_low;
  t.pos[1] = y_low * width + x_high;
  t.pos[2] = y_high * width + x_low;
  t.pos[3] = y_high * width + x_high;
  t.w[0] = hy * hx;
  t.w[1] = hy * lx;
  t.w[2] = ly * hx;
  t.w[3] = ly * lx;
  return t;
}

}  // namespace

Status kernel_RoiAlign(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& rois_t = ctx.input(1);
  const Tensor& idx_t = ctx.input(2);
  if (x.rank() != 4) {
    return invalid_argument("RoiAlign X must have rank 4 [N, C, H, W], got shape " +
                            shape_to_string(x.shape()));
  }
  if (rois_t.rank() != 2 || rois_t.dim(1) != 4) {
    return invalid_argument("RoiAlign rois must have shape [num_rois, 4], got " +
                            shape_to_string(rois_t.shape()));
  }
  const int64_t num_rois = rois_t.dim(0);
  if (idx_t.rank() != 1 || idx_t.dim(0) != num_rois) {
    return invalid_argument("RoiAlign batch_indices must have shape [" +
                            std::to_string(num_rois) + "], got " +
                            shape_to_string(idx_t.shape()));
  }
  if (!is_floating(rois_t.dtype())) {
    return invalid_argument("RoiAlign rois must be float, got " +
                            std::string(dtype_name(rois_t.dtype())));
  }
  const std::string mode = ctx.attr_string("mode", "avg");
  if (mode != "avg" && mode != "max") {
    return invalid_argument("RoiAlign mode must be 'avg' or 'max', got '" + mode + "'");
  }
  // Opset 16 added the half-pixel shift and made it the default; opset 10 had no shift.
  const std::string ctm = ctx.opset() >= 16
                              ? ctx.attr_string("coordinate_transformation_mode", "half_pixel")
                              : std::string("output_half_pixel");
  if (ctm != "half_pixel" && ctm != "output_half_pixel") {
    return invalid_argument(
        "RoiAlign coordinate_transformation_mode must be 'half_pixel' or 'output_half_pixel', "
        "got '" + ctm + "'");
  }
  const bool half_pixel = ctm == "half_pixel";
  const bool avg = mode == "avg";
  const int64_t out_h = ctx.attr_int("output_height", 1);
  const int64_t out_w = ctx.attr_int("output_width", 1);
  const int64_t sampling_ratio = ctx.attr_int("sampling_ratio", 0);
  const double spatial_scale = ctx.attr_float("spatial_scale", 1.0f);
  if (out_h <= 0 || out_w <= 0) {
    return invalid_argument("RoiAlign output_height/output_width must be positive, got " +
                            std::to_string(out_h) + "x" + std::to_string(out_w));
  }
  if (sampling_ratio < 0) {
    return invalid_argument("RoiAlign sampling_ratio must be >= 0, got " +
                            std::to_string(sampling_ratio));
  }

  const int64_t n = x.dim(0), channels = x.dim(1), height = x.dim(2), width = x.dim(3);
  ER_ASSIGN_OR_RETURN(std::vector<double> rois, read_doubles(rois_t, "rois"));
  ER_ASSIGN_OR_RETURN(std::vector<int64_t> batch_idx, read_ints(idx_t, "batch_indices"));
  for (int64_t r = 0; r < num_rois; ++r) {
    if (batch_idx[r] < 0 || batch_idx[r] >= n) {
      return invalid_argument("RoiAlign batch_indices[" + std::to_string(r) + "] = " +
                              std::to_string(batch_idx[r]) + " is outside [0, " +
                              std::to_string(n) + ")");
    }
  }

  Tensor y(x.dtype(), {num_rois, channels, out_h, out_w});
  if (height == 0 || width == 0) {
    ctx.set_output(0, y);
    return Status::ok();
  }
  return dispatch<TypeList<float, double, float16_t, bfloat16_t>>(
      x.dtype(), "RoiAlign", [&](auto tag) -> Status {
        using T = typename decltype(tag)::type;
        const T* in = x.data<T>();
        T* out = y.data<T>();
        const double offset = half_pixel ? 0.5 : 0.0;
        std::vector<Tap> taps;
        for (int64_t r = 0; r < num_rois; ++r) {
          const double* roi = &rois[r * 4];
          const double start_w = roi[0] * spatial_scale - offset;
          const double start_h = roi[1] * spatial_scale - offset;
          const double end_w = roi[2] * spatial_scale - offset;
          const double end_h = roi[3] * spatial_scale - offset;
          double roi_w = end_w - start_w;
          double roi_h = end_h - start_h;
          if (!half_pixel) {
            // Without the half-pixel shift, degenerate rois are widened to one pixel.
            roi_w = std::max(roi_w, 1.0);
            roi_h = std::max(roi_h, 1.0);
          }
          const double bin_h = roi_h / static_cast<double>(out_h);
          const double bin_w = roi_w / static_cast<double>(out_w);
          const int64_t grid_h = sampling_ratio > 0
                                     ? sampling_ratio
                                     : static_cast<int64_t>(std::ceil(roi_h / out_h));
          const int64_t grid_w = sampling_ratio > 0
                                     ? sampling_ratio
                                     : static_cast<int64_t>(std::ceil(roi_w / out_w));
          const int64_t gh = std::max<int64_t>(grid_h, 0);
          const int64_t gw = std::max<int64_t>(grid_w, 0);
          const double count = static_cast<double>(std::max<int64_t>(gh * gw, 1));

          // The sampling points depend only on the roi, so they are shared by all channels.
          taps.clear();
          for (int64_t ph = 0; ph < out_h; ++ph) {
            for (int64_t pw = 0; pw < out_w; ++pw) {
              for (int64_t iy = 0; iy < gh; ++iy) {
                const double yy = start_h + ph * bin_h + (iy + 0.5) * bin_h / gh;
                for (int64_t ix = 0; ix < gw; ++ix) {
                  const double xx = start_w + pw * bin_w + (ix + 0.5) * bin_w / gw;
                  taps.push_back(bilinear_tap(yy, xx, height, width));
                }
              }
            }
          }
          const int64_t per_bin = gh * gw;
          for (int64_t c = 0; c < channels; ++c) {
            const T* plane = in + (batch_idx[r] * channels + c) * height * width;
            T* dst = out + (r * channels + c) * out_h * out_w;
            for (int64_t bin = 0; bin < out_h * out_w; ++bin) {
              double acc = 0.0;
              for (int64_t s = 0; s < per_bin; ++s) {
                const Tap& t = taps[bin * per_bin + s];
                if (avg) {
                  for (int k = 0; k < 4; ++k) acc += t.w[k] * static_cast<double>(plane[t.pos[k]]);
                } else {
                  // Max mode takes the largest weighted corner, as the ONNX reference does.
                  double m = t.w[0] * static_cast<double>(plane[t.pos[0]]);
                  for (int k = 1; k < 4; ++k) {
                    m = std::max(m, t.w[k] * static_cast<double>(plane[t.pos[k]]));
                  }
                  acc = s == 0 ? m : std::max(acc, m);
                }
              }
              dst[bin] = static_cast<T>(avg ? acc / count : acc);
            }
          }
        }
        ctx.set_output(0, y);
        return Status::ok();
      });
}

}  // namespace edgerun::reference
