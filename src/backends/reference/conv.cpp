// Convolutions: Conv and ConvTranspose over 1-D, 2-D and 3-D (any N-D) inputs, with groups,
// strides, dilations, explicit or automatic padding.
#include <optional>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/nn_util.h"
#include "ir/conv_transpose_shape.h"

namespace edgerun::reference {
namespace {

using nn::ints_to_string;
using nn::next_index;
using nn::product;

struct ConvShapes {
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  std::vector<int64_t> kernel;
};

// Checks X, W and the optional bias that both convolutions share. Conv's W is (M, C/group, k...),
// ConvTranspose's is (C, M/group, k...).
Result<ConvShapes> check_conv_inputs(const KernelContext& ctx, const char* op, bool transpose) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  std::vector<int64_t> spatial;
  ER_ASSIGN_OR_RETURN(spatial, nn::spatial_dims(x, std::string(op) + " input X"));
  if (w.rank() != x.rank()) {
    return invalid_argument(std::string(op) + " W must have X's rank " +
                            std::to_string(x.rank()) + ", got shape " +
                            shape_to_string(w.shape()));
  }
  if (w.dtype() != x.dtype()) {
    return invalid_argument(std::string(op) + " W must have X's dtype " +
                            std::string(dtype_name(x.dtype())) + ", got " +
                            std::string(dtype_name(w.dtype())));
  }
  ConvShapes s;
  s.batch = x.dim(0);
  s.in_channels = x.dim(1);
  s.group = ctx.attr_int("group", 1);
  if (s.group < 1 || s.in_channels % s.group != 0) {
    return invalid_argument(std::string(op) + " group " + std::to_string(s.group) +
                            " must be >= 1 and divide the " + std::to_string(s.in_channels) +
                            " input channels");
  }
  s.kernel.assign(w.shape().begin() + 2, w.shape().end());
  const std::vector<int64_t> kernel_attr = ctx.attr_ints("kernel_shape");
  if (!kernel_attr.empty() && kernel_attr != s.kernel) {
    return invalid_argument(std::string(op) + " kernel_shape " + ints_to_string(kernel_attr) +
                            " disagrees with W of shape " + shape_to_string(w.shape()));
  }
  if (transpose) {
    if (w.dim(0) != s.in_channels) {
      return invalid_argument("ConvTranspose W must have shape (C, M/group, k...) with C = " +
                              std::to_string(s.in_channels) + ", got " +
                              shape_to_string(w.shape()));
    }
    s.out_channels = w.dim(1) * s.group;
  } else {
    if (w.dim(1) != s.in_channels / s.group || w.dim(0) % s.group != 0) {
      return invalid_argument("Conv W must have shape (M, C/group, k...) with C/group = " +
                              std::to_string(s.in_channels / s.group) +
                              " and M divisible by group " + std::to_string(s.group) +
                              ", got " + shape_to_string(w.shape()));
    }
    s.out_channels = w.dim(0);
  }
  if (ctx.has_input(2)) {
    const Tensor& b = ctx.input(2);
    if (b.rank() != 1 || b.dim(0) != s.out_channels || b.dtype() != x.dtype()) {
      return invalid_argument(std::string(op) + " B must be a 1-D " +
                              std::string(dtype_name(x.dtype())) + " tensor of " +
                              std::to_string(s.out_channels) + " values, got " +
                              std::string(dtype_name(b.dtype())) + " " +
                              shape_to_string(b.shape()));
    }
  }
  return s;
}

}  // namespace

Status kernel_Conv(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  ConvShapes s;
  ER_ASSIGN_OR_RETURN(s, check_conv_inputs(ctx, "Conv", false));
  nn::Window win;
  ER_ASSIGN_OR_RETURN(win, nn::forward_window(ctx, std::vector<int64_t>(x.shape().begin() + 2,
                                                                        x.shape().end()),
                                              s.kernel, false, true));
  Shape out_shape{s.batch, s.out_channels};
  out_shape.insert(out_shape.end(), win.out.begin(), win.out.end());
  Tensor out(x.dtype(), out_shape);
  const size_t nd = win.rank();
  const int64_t in_size = product(win.in);
  const int64_t out_size = product(win.out);
  const int64_t k_size = product(win.kernel);
  const int64_t c_per_group = s.in_channels / s.group;
  const int64_t m_per_group = s.out_channels / s.group;
  // Per kernel position, its dilated offset in every spatial dim.
  std::vector<int64_t> k_offsets(static_cast<size_t>(k_size) * nd);
  {
    std::vector<int64_t> k(nd, 0);
    for (int64_t kp = 0; kp < k_size; ++kp, next_index(k, win.kernel)) {
      for (size_t d = 0; d < nd; ++d) k_offsets[kp * nd + d] = k[d] * win.dilations[d];
    }
  }
  const std::vector<int64_t> in_strides = strides_of(win.in);
  ER_RETURN_IF_ERROR(dispatch<FloatTypes>(x.dtype(), "Conv", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    const T* pb = ctx.has_input(2) ? ctx.input(2).data<T>() : nullptr;
    T* py = out.data<T>();
    std::vector<int64_t> o(nd, 0);
    // For each output position, the input offset of its window origin, or -1 per kernel
    // position that falls into padding.
    std::vector<int64_t> in_off(static_cast<size_t>(k_size));
    for (int64_t op = 0; op < out_size; ++op, next_index(o, win.out)) {
      for (int64_t kp = 0; kp < k_size; ++kp) {
        int64_t off = 0;
        for (size_t d = 0; d < nd; ++d) {
          const int64_t i = o[d] * win.strides[d] - win.pad_begin[d] + k_offsets[kp * nd + d];
          if (i < 0 || i >= win.in[d]) {
            off = -1;
            break;
          }
          off += i * in_strides[d];
        }
        in_off[kp] = off;
      }
      for (int64_t n = 0; n < s.batch; ++n) {
        for (int64_t m = 0; m < s.out_channels; ++m) {
          const int64_t g = m / m_per_group;
          double acc = pb ? static_cast<double>(static_cast<C>(pb[m])) : 0.0;
          for (int64_t c = 0; c < c_per_group; ++c) {
            const T* xc = px + (n * s.in_channels + g * c_per_group + c) * in_size;
            const T* wc = pw + (m * c_per_group + c) * k_size;
            for (int64_t kp = 0; kp < k_size; ++kp) {
              if (in_off[kp] < 0) continue;
              acc += static_cast<double>(static_cast<C>(xc[in_off[kp]])) *
                     static_cast<double>(static_cast<C>(wc[kp]));
            }
          }
          py[(n * s.out_channels + m) * out_size + op] = T(static_cast<C>(acc));
        }
      }
    }
    return Status::ok();
  }));
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

Status kernel_ConvTranspose(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  ConvShapes s;
  ER_ASSIGN_OR_RETURN(s, check_conv_inputs(ctx, "ConvTranspose", true));
  const std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
  const size_t nd = in.size();
  std::vector<int64_t> strides, dilations, output_padding;
  ER_ASSIGN_OR_RETURN(strides, nn::spatial_attr(ctx, "strides", nd, 1, 1));
  ER_ASSIGN_OR_RETURN(dilations, nn::spatial_attr(ctx, "dilations", nd, 1, 1));
  ER_ASSIGN_OR_RETURN(output_padding, nn::spatial_attr(ctx, "output_padding", nd, 0, 0));
  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" &&
      auto_pad != "SAME_LOWER") {
    return invalid_argument("auto_pad must be NOTSET, VALID, SAME_UPPER or SAME_LOWER, got '" +
                            auto_pad + "'");
  }
  std::vector<int64_t> pads = ctx.attr_ints("pads");
  if (pads.empty()) pads.assign(2 * nd, 0);
  if (pads.size() != 2 * nd) {
    return invalid_argument("pads must have " + std::to_string(2 * nd) + " values, got " +
                            ints_to_string(pads));
  }
  std::vector<int64_t> output_shape = ctx.attr_ints("output_shape");
  // output_shape may also name the batch and channel dims.
  if (output_shape.size() == nd + 2) {
    output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
  }
  if (!output_shape.empty() && output_shape.size() != nd) {
    return invalid_argument("output_shape must have " + std::to_string(nd) + " values, got " +
                            ints_to_string(ctx.attr_ints("output_shape")));
  }
  std::vector<int64_t> out(nd), pad_begin(nd);
  for (size_t d = 0; d < nd; ++d) {
    const std::optional<int64_t> size =
        output_shape.empty() ? std::nullopt : std::optional<int64_t>(output_shape[d]);
    const ir::TransposedExtent e =
        ir::conv_transpose_extent(in[d], s.kernel[d], strides[d], dilations[d], output_padding[d],
                                  pads[d], pads[d + nd], size, auto_pad);
    out[d] = e.out;
    pad_begin[d] = e.pad_begin;
    if (out[d] < 0) {
      return invalid_argument("ConvTranspose output dim " + std::to_string(d) +
                              " would be negative (" + std::to_string(out[d]) + ")");
    }
  }
  Shape y_shape{s.batch, s.out_channels};
  y_shape.insert(y_shape.end(), out.begin(), out.end());
  Tensor y(x.dtype(), y_shape);
  const int64_t in_size = product(in);
  const int64_t out_size = product(out);
  const int64_t k_size = product(s.kernel);
  const int64_t c_per_group = s.in_channels / s.group;
  const int64_t m_per_group = s.out_channels / s.group;
  const std::vector<int64_t> out_strides = strides_of(out);
  ER_RETURN_IF_ERROR(dispatch<FloatTypes>(x.dtype(), "ConvTranspose", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    const T* pb = ctx.has_input(2) ? ctx.input(2).data<T>() : nullptr;
    std::vector<double> acc(static_cast<size_t>(y.size()), 0.0);
    std::vector<int64_t> i(nd, 0), k(nd, 0);
    // Scatter: every input element adds its kernel-weighted footprint to the output.
    for (int64_t ip = 0; ip < in_size; ++ip, next_index(i, in)) {
      for (int64_t kp = 0; kp < k_size; ++kp, next_index(k, s.kernel)) {
        int64_t off = 0;
        for (size_t d = 0; d < nd; ++d) {
          const int64_t o = i[d] * strides[d] + k[d] * dilations[d] - pad_begin[d];
          if (o < 0 || o >= out[d]) {
            off = -1;
            break;
          }
          off += o * out_strides[d];
        }
        if (off < 0) continue;
        for (int64_t n = 0; n < s.batch; ++n) {
          for (int64_t c = 0; c < s.in_channels; ++c) {
            const int64_t g = c / c_per_group;
            const double xv = static_cast<C>(px[(n * s.in_channels + c) * in_size + ip]);
            for (int64_t mo = 0; mo < m_per_group; ++mo) {
              const double wv = static_cast<C>(pw[(c * m_per_group + mo) * k_size + kp]);
              acc[(n * s.out_channels + g * m_per_group + mo) * out_size + off] += xv * wv;
            }
          }
        }
      }
    }
    T* py = y.data<T>();
    for (int64_t n = 0; n < s.batch; ++n) {
      for (int64_t m = 0; m < s.out_channels; ++m) {
        const double bias = pb ? static_cast<double>(static_cast<C>(pb[m])) : 0.0;
        for (int64_t p = 0; p < out_size; ++p) {
          const int64_t idx = (n * s.out_channels + m) * out_size + p;
          py[idx] = T(static_cast<C>(acc[idx] + bias));
        }
      }
    }
    return Status::ok();
  }));
  ctx.set_output(0, std::move(y));
  return Status::ok();
}

}  // namespace edgerun::reference
