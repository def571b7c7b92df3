// Loss ops: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opsets 12-13).
#include <cmath>
#include <limits>
#include <optional>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/reduce_util.h"

namespace edgerun::reference {
namespace {

// The (N, C, D) view of an (N, C, d1, ..., dk) input with its (N, d1, ..., dk) target.
struct LossLayout {
  int64_t n = 0;
  int64_t c = 0;
  int64_t d = 1;
};

Result<LossLayout> check_layout(const Tensor& input, const Tensor& target, const char* op) {
  if (input.rank() < 2) {
    return invalid_argument(std::string(op) + " needs an input of shape (N, C, d1, ...), got " +
                            shape_to_string(input.shape()));
  }
  bool ok = target.rank() == input.rank() - 1 && target.dim(0) == input.dim(0);
  for (int64_t i = 2; ok && i < input.rank(); ++i) ok = target.dim(i - 1) == input.dim(i);
  if (!ok) {
    return invalid_argument(std::string(op) + " target shape must be the input shape " +
                            shape_to_string(input.shape()) + " without axis 1, got " +
                            shape_to_string(target.shape()));
  }
  LossLayout l;
  l.n = input.dim(0);
  l.c = input.dim(1);
  for (int64_t i = 2; i < input.rank(); ++i) l.d *= input.dim(i);
  return l;
}

// Computes the weighted negative log-likelihood of `logp(n, c, d)` and sets output 0.
// T is the element type of the loss and of the optional weight input.
template <class T, class LogP>
Status nll(KernelContext& ctx, const LossLayout& l, const Tensor& target, size_t weight_input,
           LogP&& logp, const char* op) {
  const std::string reduction = ctx.attr_string("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean") {
    return invalid_argument(std::string(op) + " reduction must be none, sum or mean, got '" +
                            reduction + "'");
  }
  std::optional<int64_t> ignore;
  if (ctx.has_attr("ignore_index")) ignore = ctx.attr_int("ignore_index", 0);
  ER_ASSIGN_OR_RETURN(std::vector<int64_t> labels, read_ints(target, "target"));
  const T* weight = nullptr;
  if (ctx.has_input(weight_input)) {
    const Tensor& w = ctx.input(weight_input);
    if (w.dtype() != dtype_of<T> || w.rank() != 1 || w.dim(0) != l.c) {
      return invalid_argument(std::string(op) + " weight must be a " +
                              std::string(dtype_name(dtype_of<T>)) + " vector of " +
                              std::to_string(l.c) + " class weights, got " +
                              std::string(dtype_name(w.dtype())) + " " +
                              shape_to_string(w.shape()));
    }
    weight = w.data<T>();
  }
  Tensor per_item(dtype_of<T>, target.shape());
  T* out = per_item.data<T>();
  double total = 0.0;
  double total_weight = 0.0;
  for (int64_t n = 0; n < l.n; ++n) {
    for (int64_t d = 0; d < l.d; ++d) {
      const int64_t at = n * l.d + d;
      const int64_t label = labels[at];
      double loss = 0.0;
      if (!(ignore && label == *ignore)) {
        if (label < 0 || label >= l.c) {
          return invalid_argument(std::string(op) + " target " + std::to_string(label) +
                                  " at position " + std::to_string(at) + " is outside 0.." +
                                  std::to_string(l.c - 1) + " and is not ignore_index");
        }
        const double w = weight ? to_double(weight[label]) : 1.0;
        loss = -logp(n, label, d) * w;
        total_weight += w;
      }
      total += loss;
      out[at] = from_double<T>(loss);
    }
  }
  if (reduction == "none") {
    ctx.set_output(0, per_item);
  } else {
    // An all-ignored batch gives 0/0 = NaN for mean, as the ONNX reference does.
    const double r = reduction == "sum" ? total : total / total_weight;
    ctx.set_output(0, Tensor::scalar<T>(from_double<T>(r)));
  }
  return Status::ok();
}

}  // namespace

Status kernel_NegativeLogLikelihoodLoss(KernelContext& ctx) {
  const Tensor& input = ctx.input(0);
  const Tensor& target = ctx.input(1);
  ER_ASSIGN_OR_RETURN(LossLayout l, check_layout(input, target, "NegativeLogLikelihoodLoss"));
  return dispatch<FloatTypes>(input.dtype(), "NegativeLogLikelihoodLoss", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* in = input.data<T>();
    auto logp = [&](int64_t n, int64_t c, int64_t d) {
      return to_double(in[(n * l.c + c) * l.d + d]);
    };
    return nll<T>(ctx, l, target, 2, logp, "NegativeLogLikelihoodLoss");
  });
}

Status kernel_SoftmaxCrossEntropyLoss(KernelContext& ctx) {
  const Tensor& scores = ctx.input(0);
  const Tensor& labels = ctx.input(1);
  ER_ASSIGN_OR_RETURN(LossLayout l, check_layout(scores, labels, "SoftmaxCrossEntropyLoss"));
  return dispatch<FloatTypes>(scores.dtype(), "SoftmaxCrossEntropyLoss", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* in = scores.data<T>();
    // log_softmax over the class axis, shifted by the maximum for stability.
    std::vector<double> logp(static_cast<size_t>(scores.size()));
    for (int64_t n = 0; n < l.n; ++n) {
      for (int64_t d = 0; d < l.d; ++d) {
        const int64_t base = n * l.c * l.d + d;
        double peak = -std::numeric_limits<double>::infinity();
        for (int64_t c = 0; c < l.c; ++c) peak = std::max(peak, to_double(in[base + c * l.d]));
        double sum = 0.0;
        for (int64_t c = 0; c < l.c; ++c) sum += std::exp(to_double(in[base + c * l.d]) - peak);
        const double log_sum = std::log(sum);
        for (int64_t c = 0; c < l.c; ++c) {
          logp[base + c * l.d] = to_double(in[base + c * l.d]) - peak - log_sum;
        }
      }
    }
    auto get = [&](int64_t n, int64_t c, int64_t d) { return logp[(n * l.c + c) * l.d + d]; };
    ER_RETURN_IF_ERROR(nll<T>(ctx, l, labels, 2, get, "SoftmaxCrossEntropyLoss"));
    if (ctx.wants_output(1)) {
      Tensor log_prob(scores.dtype(), scores.shape());
      T* dst = log_prob.data<T>();
      for (int64_t i = 0; i < scores.size(); ++i) dst[i] = from_double<T>(logp[i]);
      ctx.set_output(1, log_prob);
    }
    return Status::ok();
  });
}

}  // namespace edgerun::reference
