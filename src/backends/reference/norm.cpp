// Normalisations: BatchNormalization, InstanceNormalization, LayerNormalization,
// GroupNormalization, MeanVarianceNormalization and LRN. Statistics are computed in double.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/nn_util.h"

namespace edgerun::reference {
namespace {

using nn::ints_to_string;

struct Moments {
  double mean = 0.0;
  double var = 0.0;  // population variance
};

// Mean and variance of `count` elements `stride` apart, as doubles.
template <class T>
Moments moments(const T* data, int64_t count, int64_t stride = 1) {
  Moments m;
  if (count == 0) return m;
  for (int64_t i = 0; i < count; ++i) m.mean += static_cast<compute_t<T>>(data[i * stride]);
  m.mean /= static_cast<double>(count);
  for (int64_t i = 0; i < count; ++i) {
    const double d = static_cast<double>(static_cast<compute_t<T>>(data[i * stride])) - m.mean;
    m.var += d * d;
  }
  m.var /= static_cast<double>(count);
  return m;
}

template <class T>
T to_t(double v) {
  return T(static_cast<compute_t<T>>(v));
}

// A 1-D float tensor of `n` values, read as doubles.
Result<std::vector<double>> read_param(const KernelContext& ctx, size_t i, const char* op,
                                       const char* name, int64_t n) {
  const Tensor& t = ctx.input(i);
  if (t.size() != n || !is_floating(t.dtype())) {
    return invalid_argument(std::string(op) + " " + name + " must hold " + std::to_string(n) +
                            " float values, got " + std::string(dtype_name(t.dtype())) + " " +
                            shape_to_string(t.shape()));
  }
  return read_doubles(t, std::string(op) + " " + name);
}

Tensor tensor_from_doubles(DType dtype, Shape shape, const std::vector<double>& values) {
  Tensor t(dtype, std::move(shape));
  (void)dispatch<FloatTypes>(dtype, "", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    for (int64_t i = 0; i < t.size(); ++i) t.data<T>()[i] = to_t<T>(values[i]);
    return Status::ok();
  });
  return t;
}

}  // namespace

// Inference normalises with the given running statistics. Training mode (training_mode=1 from
// opset 14; before that, asking for the statistics outputs) normalises with the batch's own
// statistics and also returns the updated running mean and variance.
Status kernel_BatchNormalization(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t opset = ctx.opset();
  if (x.rank() < 2) {
    return invalid_argument("BatchNormalization X must have shape (N, C, ...), got " +
                            shape_to_string(x.shape()));
  }
  const int64_t batch = x.dim(0);
  const int64_t channels = x.dim(1);
  const int64_t spatial = batch * channels == 0 ? 0 : x.size() / (batch * channels);
  // spatial=0 (before opset 9) keeps separate statistics per channel *and* position.
  const bool per_position = opset < 9 && ctx.attr_int("spatial", 1) == 0;
  const int64_t features = per_position ? channels * spatial : channels;
  const int64_t inner = per_position ? 1 : spatial;  // consecutive elements sharing a feature
  bool training = false;
  if (opset >= 14) {
    training = ctx.attr_int("training_mode", 0) != 0;
  } else {
    for (size_t i = 1; i < 5; ++i) training = training || ctx.wants_output(i);
  }
  std::vector<double> scale, bias, mean, var;
  const char* op = "BatchNormalization";
  ER_ASSIGN_OR_RETURN(scale, read_param(ctx, 1, op, "scale", features));
  ER_ASSIGN_OR_RETURN(bias, read_param(ctx, 2, op, "B", features));
  ER_ASSIGN_OR_RETURN(mean, read_param(ctx, 3, op, "input_mean", features));
  ER_ASSIGN_OR_RETURN(var, read_param(ctx, 4, op, "input_var", features));
  const double epsilon = ctx.attr_float("epsilon", 1e-5f);
  const double momentum = ctx.attr_float("momentum", 0.9f);
  Tensor y = ctx.allocate_output(0, x.dtype(), x.shape());
  std::vector<double> batch_mean(static_cast<size_t>(features), 0.0);
  std::vector<double> batch_var(static_cast<size_t>(features), 0.0);
  ER_RETURN_IF_ERROR(dispatch<FloatTypes>(x.dtype(), op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    // Element (n, f, i) lives at (n * features + f) * inner + i.
    auto at = [&](int64_t n, int64_t f, int64_t i) { return (n * features + f) * inner + i; };
    if (training) {
      const int64_t count = batch * inner;
      for (int64_t f = 0; f < features; ++f) {
        double sum = 0.0;
        for (int64_t n = 0; n < batch; ++n) {
          for (int64_t i = 0; i < inner; ++i) sum += static_cast<compute_t<T>>(px[at(n, f, i)]);
        }
        const double mu = count ? sum / static_cast<double>(count) : 0.0;
        double sq = 0.0;
        for (int64_t n = 0; n < batch; ++n) {
          for (int64_t i = 0; i < inner; ++i) {
            const double d = static_cast<double>(static_cast<compute_t<T>>(px[at(n, f, i)])) - mu;
            sq += d * d;
          }
        }
        batch_mean[f] = mu;
        batch_var[f] = count ? sq / static_cast<double>(count) : 0.0;
      }
    }
    const std::vector<double>& use_mean = training ? batch_mean : mean;
    const std::vector<double>& use_var = training ? batch_var : var;
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t f = 0; f < features; ++f) {
        const double k = scale[f] / std::sqrt(use_var[f] + epsilon);
        for (int64_t i = 0; i < inner; ++i) {
          const double v = static_cast<compute_t<T>>(px[at(n, f, i)]);
          py[at(n, f, i)] = to_t<T>((v - use_mean[f]) * k + bias[f]);
        }
      }
    }
    return Status::ok();
  }));
  ctx.set_output(0, std::move(y));
  if (!training) return Status::ok();
  const DType stat_type = ctx.input(3).dtype();
  const Shape stat_shape = ctx.input(3).shape();
  std::vector<double> running_mean(mean.size()), running_var(var.size());
  for (size_t f = 0; f < mean.size(); ++f) {
    running_mean[f] = mean[f] * momentum + batch_mean[f] * (1.0 - momentum);
    running_var[f] = var[f] * momentum + batch_var[f] * (1.0 - momentum);
  }
  ctx.set_output(1, tensor_from_doubles(stat_type, stat_shape, running_mean));
  ctx.set_output(2, tensor_from_doubles(stat_type, stat_shape, running_var));
  if (opset < 14) {
    // saved_mean / saved_var: the batch statistics a backward pass would reuse; like other
    // runtimes, the variance is saved as its inverse standard deviation.
    std::vector<double> inv_std(batch_var.size());
    for (size_t f = 0; f < inv_std.size(); ++f) {
      inv_std[f] = 1.0 / std::sqrt(batch_var[f] + epsilon);
    }
    ctx.set_output(3, tensor_from_doubles(stat_type, stat_shape, batch_mean));
    ctx.set_output(4, tensor_from_doubles(stat_type, stat_shape, inv_std));
  }
  return Status::ok();
}

Status kernel_InstanceNormalization(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 3) {
    return invalid_argument("InstanceNormalization X must have shape (N, C, D1, ...), got " +
                            shape_to_string(x.shape()));
  }
  const char* op = "InstanceNormalization";
  const int64_t channels = x.dim(1);
  std::vector<double> scale, bias;
  ER_ASSIGN_OR_RETURN(scale, read_param(ctx, 1, op, "scale", channels));
  ER_ASSIGN_OR_RETURN(bias, read_param(ctx, 2, op, "B", channels));
  const double epsilon = ctx.attr_float("epsilon", 1e-5f);
  const int64_t planes = x.dim(0) * channels;
  const int64_t plane_size = planes == 0 ? 0 : x.size() / planes;
  Tensor y(x.dtype(), x.shape());
  ER_RETURN_IF_ERROR(dispatch<FloatTypes>(x.dtype(), op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    for (int64_t p = 0; p < planes; ++p) {
      const T* src = x.data<T>() + p * plane_size;
      T* dst = y.data<T>() + p * plane_size;
      const Moments m = moments(src, plane_size);
      const int64_t c = p % channels;
      const double k = scale[c] / std::sqrt(m.var + epsilon);
      for (int64_t i = 0; i < plane_size; ++i) {
        dst[i] = to_t<T>((static_cast<compute_t<T>>(src[i]) - m.mean) * k + bias[c]);
      }
    }
    return Status::ok();
  }));
  ctx.set_output(0, std::move(y));
  return Status::ok();
}

// Normalises over the trailing dims from `axis` on; Scale and B broadcast against X.
Status kernel_LayerNormalization(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const bool has_bias = ctx.has_input(2);
  int64_t axis = 0;
  ER_ASSIGN_OR_RETURN(axis, normalize_axis(ctx.attr_int("axis", -1), x.rank()));
  const double epsilon = ctx.attr_float("epsilon", 1e-5f);
  const auto stash = static_cast<DType>(ctx.attr_int("stash_type", 1));
  if (!is_floating(stash)) {
    return invalid_argument("LayerNormalization stash_type must be a float type, got " +
                            std::to_string(static_cast<int>(stash)));
  }
  std::vector<Shape> params{scale.shape()};
  if (has_bias) params.push_back(ctx.input(2).shape());
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = ctx.input(i + 1);
    auto b = broadcast_shapes({p.shape(), x.shape()});
    if (!b.is_ok() || *b != x.shape() || p.dtype() != x.dtype()) {
      return invalid_argument(std::string("LayerNormalization ") + (i ? "B" : "Scale") +
                              " must be " + std::string(dtype_name(x.dtype())) +
                              " and broadcast to X's shape " + shape_to_string(x.shape()) +
                              ", got " + std::string(dtype_name(p.dtype())) + " " +
                              shape_to_string(p.shape()));
    }
  }
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.dim(i);
  const int64_t inner = outer == 0 ? 0 : x.size() / outer;
  Shape stat_shape(x.shape().begin(), x.shape().begin() + axis);
  stat_shape.resize(static_cast<size_t>(x.rank()), 1);
  std::vector<double> means(static_cast<size_t>(outer)), inv_stds(static_cast<size_t>(outer));
  Tensor y = ctx.allocate_output(0, x.dtype(), x.shape());
  ER_RETURN_IF_ERROR(dispatch<FloatTypes>(x.dtype(), "LayerNormalization", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    const T* ps = scale.data<T>();
    const T* pb = has_bias ? ctx.input(2).data<T>() : nullptr;
    T* py = y.data<T>();
    BroadcastIterator it(x.shape(), params);
    for (int64_t o = 0; o < outer; ++o) {
      const Moments m = moments(px + o * inner, inner);
      means[o] = m.mean;
      inv_stds[o] = 1.0 / std::sqrt(m.var + epsilon);
      for (int64_t i = 0; i < inner; ++i, it.next()) {
        const int64_t idx = o * inner + i;
        double v = (static_cast<compute_t<T>>(px[idx]) - m.mean) * inv_stds[o];
        v *= static_cast<compute_t<T>>(ps[it.offset(0)]);
        if (pb) v += static_cast<compute_t<T>>(pb[it.offset(1)]);
        py[idx] = to_t<T>(v);
      }
    }
    return Status::ok();
  }));
  ctx.set_output(0, std::move(y));
  if (ctx.wants_output(1)) ctx.set_output(1, tensor_from_doubles(stash, stat_shape, means));
  if (ctx.wants_output(2)) ctx.set_output(2, tensor_from_doubles(stash, stat_shape, inv_stds));
  return Status::ok();
}

// Opset 18 gives one scale and bias per group; one per channel (opset 21's layout) is accepted
// as well, since the two cannot be confused unless they coincide.
Status kernel_GroupNormalization(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const char* op = "GroupNormalization";
  if (x.rank() < 2) {
    return invalid_argument("GroupNormalization X must have shape (N, C, ...), got " +
                            shape_to_string(x.shape()));
  }
  const int64_t groups = ctx.attr_int("num_groups", 0);
  const int64_t channels = x.dim(1);
  if (groups < 1 || channels % groups != 0) {
    return invalid_argument("GroupNormalization num_groups must be >= 1 and divide the " +
                            std::to_string(channels) + " channels, got " + std::to_string(groups));
  }
  const int64_t per = ctx.input(1).size() == channels ? channels : groups;
  std::vector<double> scale, bias;
  ER_ASSIGN_OR_RETURN(scale, read_param(ctx, 1, op, "scale", per));
  ER_ASSIGN_OR_RETURN(bias, read_param(ctx, 2, op, "bias", per));
  const double epsilon = ctx.attr_float("epsilon", 1e-5f);
  const int64_t batch = x.dim(0);
  const int64_t spatial = batch * channels == 0 ? 0 : x.size() / (batch * channels);
  const int64_t group_size = channels / groups * spatial;
  Tensor y(x.dtype(), x.shape());
  ER_RETURN_IF_ERROR(dispatch<FloatTypes>(x.dtype(), op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    for (int64_t b = 0; b < batch * groups; ++b) {
      const T* src = x.data<T>() + b * group_size;
      T* dst = y.data<T>() + b * group_size;
      const Moments m = moments(src, group_size);
      const double inv_std = 1.0 / std::sqrt(m.var + epsilon);
      const int64_t g = b % groups;
      for (int64_t i = 0; i < group_size; ++i) {
        const int64_t p = per == groups ? g : g * (channels / groups) + i / spatial;
        dst[i] = to_t<T>((static_cast<compute_t<T>>(src[i]) - m.mean) * inv_std * scale[p] +
                         bias[p]);
      }
    }
    return Status::ok();
  }));
  ctx.set_output(0, std::move(y));
  return Status::ok();
}

// (X - mean) / (std + 1e-9) with statistics over `axes` (default N and the first two spatial dims).
Status kernel_MeanVarianceNormalization(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  for (int64_t a : ctx.attr_ints("axes", {0, 2, 3})) {
    int64_t axis = 0;
    ER_ASSIGN_OR_RETURN(axis, normalize_axis(a, rank));
    if (reduced[axis]) {
      return invalid_argument("MeanVarianceNormalization axes " +
                              ints_to_string(ctx.attr_ints("axes")) + " repeat axis " +
                              std::to_string(a));
    }
    reduced[axis] = true;
  }
  // Each element belongs to the group named by its kept coordinates.
  Shape kept(static_cast<size_t>(rank));
  for (int64_t i = 0; i < rank; ++i) kept[i] = reduced[i] ? 1 : x.dim(i);
  const int64_t groups = shape_size(kept);
  const int64_t count = groups == 0 ? 0 : x.size() / groups;
  std::vector<int64_t> group_of(static_cast<size_t>(x.size()));
  {
    BroadcastIterator it(x.shape(), {kept});
    for (int64_t i = 0; i < x.size(); ++i, it.next()) group_of[i] = it.offset(0);
  }
  Tensor y(x.dtype(), x.shape());
  ER_RETURN_IF_ERROR(dispatch<FloatTypes>(x.dtype(), "MeanVarianceNormalization", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    std::vector<double> mean(static_cast<size_t>(groups), 0.0), var(mean.size(), 0.0);
    for (int64_t i = 0; i < x.size(); ++i) mean[group_of[i]] += static_cast<compute_t<T>>(px[i]);
    for (double& m : mean) m /= static_cast<double>(count);
    for (int64_t i = 0; i < x.size(); ++i) {
      const double d = static_cast<compute_t<T>>(px[i]) - mean[group_of[i]];
      var[group_of[i]] += d * d;
    }
    for (int64_t i = 0; i < x.size(); ++i) {
      const int64_t g = group_of[i];
      const double sd = std::sqrt(var[g] / static_cast<double>(count));
      y.data<T>()[i] = to_t<T>((static_cast<compute_t<T>>(px[i]) - mean[g]) / (sd + 1e-9));
    }
    return Status::ok();
  }));
  ctx.set_output(0, std::move(y));
  return Status::ok();
}

// Local response normalisation across channels: x / (bias + alpha / size * sum(x^2))^beta over
// the `size` neighbouring channels (floor((size-1)/2) before, ceil((size-1)/2) after).
Status kernel_LRN(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 3) {
    return invalid_argument("LRN X must have shape (N, C, D1, ...), got " +
                            shape_to_string(x.shape()));
  }
  const int64_t size = ctx.attr_int("size", 0);
  if (size < 1) return invalid_argument("LRN size must be >= 1, got " + std::to_string(size));
  const double alpha = ctx.attr_float("alpha", 1e-4f);
  const double beta = ctx.attr_float("beta", 0.75f);
  const double bias = ctx.attr_float("bias", 1.0f);
  const int64_t batch = x.dim(0), channels = x.dim(1);
  const int64_t spatial = batch * channels == 0 ? 0 : x.size() / (batch * channels);
  const int64_t before = (size - 1) / 2, after = size - 1 - before;
  Tensor y(x.dtype(), x.shape());
  ER_RETURN_IF_ERROR(dispatch<FloatTypes>(x.dtype(), "LRN", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t lo = std::max<int64_t>(0, c - before);
        const int64_t hi = std::min<int64_t>(channels - 1, c + after);
        for (int64_t s = 0; s < spatial; ++s) {
          double sq = 0.0;
          for (int64_t k = lo; k <= hi; ++k) {
            const double v = static_cast<compute_t<T>>(px[(n * channels + k) * spatial + s]);
            sq += v * v;
          }
          const int64_t idx = (n * channels + c) * spatial + s;
          const double v = static_cast<compute_t<T>>(px[idx]);
          py[idx] = to_t<T>(v / std::pow(bias + alpha / static_cast<double>(size) * sq, beta));
        }
      }
    }
    return Status::ok();
  }));
  ctx.set_output(0, std::move(y));
  return Status::ok();
}

}  // namespace edgerun::reference
