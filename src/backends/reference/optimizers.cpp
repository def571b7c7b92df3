// Training optimizers of the ai.onnx.preview.training domain: Adagrad, Adam and Momentum.
//
// Each takes a learning rate R and an update count T (scalars), then N tensors to optimize
// followed by their gradients and optimizer states, group by group:
//   Adagrad:  R, T, X1..XN, G1..GN, H1..HN          -> X1_new..XN_new, H1_new..HN_new
//   Momentum: R, T, X1..XN, G1..GN, V1..VN          -> X1_new..XN_new, V1_new..VN_new
//   Adam:     R, T, X1..XN, G1..GN, V1..VN, H1..HN  -> X1_new.., V1_new.., H1_new..
// All arithmetic is done in double and stored back in the tensors' dtype (float or double).
#include <cmath>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"

namespace edgerun::reference {
namespace {

// The learning rate, the update count and the N-tuples of tensors of one optimizer call.
struct OptimizerInputs {
  double rate = 0.0;
  int64_t step = 0;
  size_t n = 0;
  // groups[k][i]: the i-th tensor of group k (X, G, then the states).
  std::vector<std::vector<Tensor>> groups;
};

Result<OptimizerInputs> read_inputs(const KernelContext& ctx, const char* op, size_t num_groups,
                                    const char* layout) {
  OptimizerInputs in;
  const size_t count = ctx.num_inputs();
  if (count < 2 + num_groups || (count - 2) % num_groups != 0) {
    return invalid_argument(std::string(op) + " expects R, T and then " +
                            std::to_string(num_groups) + " equally long lists (" + layout +
                            "), got " + std::to_string(count) + " inputs");
  }
  for (size_t i = 0; i < count; ++i) {
    if (!ctx.has_input(i)) {
      return invalid_argument(std::string(op) + " needs every input, but input " +
                              std::to_string(i) + " is omitted");
    }
  }
  const Tensor& r = ctx.input(0);
  const Tensor& t = ctx.input(1);
  if (r.size() != 1 || (r.dtype() != DType::kFloat32 && r.dtype() != DType::kFloat64)) {
    return invalid_argument("R must be a float or double scalar, got " +
                            std::string(dtype_name(r.dtype())) + " of shape " +
                            shape_to_string(r.shape()));
  }
  if (t.size() != 1 || t.dtype() != DType::kInt64) {
    return invalid_argument("T must be an int64 scalar, got " +
                            std::string(dtype_name(t.dtype())) + " of shape " +
                            shape_to_string(t.shape()));
  }
  in.rate = r.dtype() == DType::kFloat32 ? r.data<float>()[0] : r.data<double>()[0];
  in.step = t.data<int64_t>()[0];
  in.n = (count - 2) / num_groups;
  in.groups.assign(num_groups, {});
  for (size_t k = 0; k < num_groups; ++k) {
    for (size_t i = 0; i < in.n; ++i) {
      const Tensor& v = ctx.input(2 + k * in.n + i);
      const Tensor& x = ctx.input(2 + i);
      if (v.dtype() != DType::kFloat32 && v.dtype() != DType::kFloat64) {
        return invalid_argument(std::string(op) + " optimizes float or double tensors, got " +
                                std::string(dtype_name(v.dtype())) + " for input " +
                                std::to_string(2 + k * in.n + i));
      }
      if (v.dtype() != x.dtype() || v.shape() != x.shape()) {
        return invalid_argument(
            "input " + std::to_string(2 + k * in.n + i) + " must match the dtype and shape of " +
            "its tensor X" + std::to_string(i + 1) + " (" + std::string(dtype_name(x.dtype())) +
            " " + shape_to_string(x.shape()) + "), got " + std::string(dtype_name(v.dtype())) +
            " " + shape_to_string(v.shape()));
      }
      in.groups[k].push_back(v);
    }
  }
  return in;
}

double load(const Tensor& t, int64_t i) {
  return t.dtype() == DType::kFloat32 ? t.data<float>()[i] : t.data<double>()[i];
}

void store(Tensor& t, int64_t i, double v) {
  if (t.dtype() == DType::kFloat32) {
    t.data<float>()[i] = static_cast<float>(v);
  } else {
    t.data<double>()[i] = v;
  }
}

// One fresh output per input of `like`.
std::vector<Tensor> outputs_like(const std::vector<Tensor>& like) {
  std::vector<Tensor> out;
  for (const Tensor& t : like) out.emplace_back(t.dtype(), t.shape());
  return out;
}

// Stores output groups in order: group k's i-th tensor is output k * n + i.
void set_outputs(KernelContext& ctx, const std::vector<std::vector<Tensor>>& groups) {
  size_t slot = 0;
  for (const auto& group : groups) {
    for (const Tensor& t : group) ctx.set_output(slot++, t);
  }
}

Status check_outputs(const KernelContext& ctx, const char* op, const OptimizerInputs& in,
                     size_t num_groups) {
  if (ctx.num_outputs() > num_groups * in.n) {
    return invalid_argument(std::string(op) + " with " + std::to_string(in.n) +
                            " tensors has at most " + std::to_string(num_groups * in.n) +
                            " outputs, got " + std::to_string(ctx.num_outputs()));
  }
  return Status::ok();
}

}  // namespace

Status kernel_Adagrad(KernelContext& ctx) {
  ER_ASSIGN_OR_RETURN(OptimizerInputs in, read_inputs(ctx, "Adagrad", 3, "X, G, H"));
  ER_RETURN_IF_ERROR(check_outputs(ctx, "Adagrad", in, 2));
  const double decay = ctx.attr_float("decay_factor", 0.0f);
  const double epsilon = ctx.attr_float("epsilon", 1e-6f);
  const double norm = ctx.attr_float("norm_coefficient", 0.0f);
  // The learning rate decays with the number of updates done so far.
  const double r = in.rate / (1.0 + static_cast<double>(in.step) * decay);
  std::vector<Tensor> x_new = outputs_like(in.groups[0]);
  std::vector<Tensor> h_new = outputs_like(in.groups[2]);
  for (size_t t = 0; t < in.n; ++t) {
    const Tensor& x = in.groups[0][t];
    const Tensor& g = in.groups[1][t];
    const Tensor& h = in.groups[2][t];
    for (int64_t i = 0; i < x.size(); ++i) {
      const double xv = load(x, i);
      const double grad = norm * xv + load(g, i);  // gradient of the L2 penalty added
      const double acc = load(h, i) + grad * grad;
      store(h_new[t], i, acc);
      store(x_new[t], i, xv - r * grad / (std::sqrt(acc) + epsilon));
    }
  }
  set_outputs(ctx, {x_new, h_new});
  return Status::ok();
}

Status kernel_Momentum(KernelContext& ctx) {
  ER_ASSIGN_OR_RETURN(OptimizerInputs in, read_inputs(ctx, "Momentum", 3, "X, G, V"));
  ER_RETURN_IF_ERROR(check_outputs(ctx, "Momentum", in, 2));
  const double alpha = ctx.attr_float("alpha", 0.0f);
  const double beta = ctx.attr_float("beta", 0.0f);
  const double norm = ctx.attr_float("norm_coefficient", 0.0f);
  const std::string mode = ctx.attr_string("mode", "standard");
  if (mode != "standard" && mode != "nesterov") {
    return invalid_argument("Momentum mode must be 'standard' or 'nesterov', got '" + mode +
                            "'");
  }
  const bool nesterov = mode == "nesterov";
  // The first update (T == 0) takes the whole gradient as the initial momentum.
  const double beta_adjusted = in.step > 0 ? beta : 1.0;
  std::vector<Tensor> x_new = outputs_like(in.groups[0]);
  std::vector<Tensor> v_new = outputs_like(in.groups[2]);
  for (size_t t = 0; t < in.n; ++t) {
    const Tensor& x = in.groups[0][t];
    const Tensor& g = in.groups[1][t];
    const Tensor& v = in.groups[2][t];
    for (int64_t i = 0; i < x.size(); ++i) {
      const double xv = load(x, i);
      const double grad = norm * xv + load(g, i);
      const double velocity = alpha * load(v, i) + beta_adjusted * grad;
      store(v_new[t], i, velocity);
      const double step = nesterov ? grad + alpha * velocity : velocity;
      store(x_new[t], i, xv - in.rate * step);
    }
  }
  set_outputs(ctx, {x_new, v_new});
  return Status::ok();
}

Status kernel_Adam(KernelContext& ctx) {
  ER_ASSIGN_OR_RETURN(OptimizerInputs in, read_inputs(ctx, "Adam", 4, "X, G, V, H"));
  ER_RETURN_IF_ERROR(check_outputs(ctx, "Adam", in, 3));
  const double alpha = ctx.attr_float("alpha", 0.9f);
  const double beta = ctx.attr_float("beta", 0.999f);
  const double epsilon = ctx.attr_float("epsilon", 1e-6f);
  const double norm = ctx.attr_float("norm_coefficient", 0.0f);
  const double norm_post = ctx.attr_float("norm_coefficient_post", 0.0f);
  // Bias correction of the two running averages, from the first update on.
  double r = in.rate;
  if (in.step > 0) {
    const auto step = static_cast<double>(in.step);
    r = in.rate * std::sqrt(1.0 - std::pow(beta, step)) / (1.0 - std::pow(alpha, step));
  }
  std::vector<Tensor> x_new = outputs_like(in.groups[0]);
  std::vector<Tensor> v_new = outputs_like(in.groups[2]);
  std::vector<Tensor> h_new = outputs_like(in.groups[3]);
  for (size_t t = 0; t < in.n; ++t) {
    const Tensor& x = in.groups[0][t];
    const Tensor& g = in.groups[1][t];
    const Tensor& v = in.groups[2][t];
    const Tensor& h = in.groups[3][t];
    for (int64_t i = 0; i < x.size(); ++i) {
      const double xv = load(x, i);
      const double grad = norm * xv + load(g, i);
      const double mean = alpha * load(v, i) + (1.0 - alpha) * grad;
      const double square = beta * load(h, i) + (1.0 - beta) * grad * grad;
      store(v_new[t], i, mean);
      store(h_new[t], i, square);
      const double updated = xv - r * mean / (std::sqrt(square) + epsilon);
      store(x_new[t], i, (1.0 - norm_post) * updated);  // post-update weight decay
    }
  }
  set_outputs(ctx, {x_new, v_new, h_new});
  return Status::ok();
}

}  // namespace edgerun::reference
