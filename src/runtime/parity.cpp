#include "runtime/parity.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "core/dispatch.h"

namespace edgerun {

Result<Divergence> measure_divergence(const Tensor& actual, const Tensor& reference) {
  if (actual.dtype() != reference.dtype()) {
    return invalid_argument("dtype " + std::string(dtype_name(actual.dtype())) +
                            " differs from the reference's " +
                            std::string(dtype_name(reference.dtype())));
  }
  if (actual.shape() != reference.shape()) {
    return invalid_argument("shape " + shape_to_string(actual.shape()) +
                            " differs from the reference's " + shape_to_string(reference.shape()));
  }
  Divergence d;
  d.elements = actual.size();
  if (actual.dtype() == DType::kString) {
    for (int64_t i = 0; i < actual.size(); ++i) {
      if (actual.data<std::string>()[i] != reference.data<std::string>()[i]) {
        d.max_abs = std::numeric_limits<double>::infinity();
        d.cosine = 0;
      }
    }
    return d;
  }
  double sum_sq = 0, dot = 0, norm_a = 0, norm_r = 0;
  ER_RETURN_IF_ERROR(dispatch<NumericBoolTypes>(actual.dtype(), "parity", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* a = actual.data<T>();
    const T* r = reference.data<T>();
    for (int64_t i = 0; i < actual.size(); ++i) {
      const double x = static_cast<double>(static_cast<compute_t<T>>(a[i]));
      const double y = static_cast<double>(static_cast<compute_t<T>>(r[i]));
      if (!std::isfinite(x) || !std::isfinite(y)) {
        // Same non-finite value on both sides (inf == inf, NaN and NaN) is agreement.
        const bool same = (std::isnan(x) && std::isnan(y)) || x == y;
        if (!same) ++d.mismatched_nan;
        continue;
      }
      const double diff = std::fabs(x - y);
      d.max_abs = std::max(d.max_abs, diff);
      d.max_rel = std::max(d.max_rel, diff / std::max(std::fabs(y), 1e-6));
      d.ref_max_abs = std::max(d.ref_max_abs, std::fabs(y));
      sum_sq += diff * diff;
      dot += x * y;
      norm_a += x * x;
      norm_r += y * y;
    }
    return Status::ok();
  }));
  if (d.elements > 0) d.rmse = std::sqrt(sum_sq / static_cast<double>(d.elements));
  if (norm_a > 0 || norm_r > 0) {
    d.cosine = norm_a > 0 && norm_r > 0 ? dot / (std::sqrt(norm_a) * std::sqrt(norm_r)) : 0.0;
  }
  return d;
}

ParityBudget fp32_budget() { return {"fp32", 1e-3, 1e-4, 0.99999}; }
ParityBudget fp16_budget() { return {"fp16", 1e-2, 1e-3, 0.999}; }
ParityBudget int8_budget() { return {"int8", 5e-2, 5e-3, 0.99}; }

std::string budget_violation(const Divergence& d, const ParityBudget& budget) {
  const double scale = std::max(1.0, d.ref_max_abs);
  std::ostringstream why;
  if (d.mismatched_nan > 0) {
    why << d.mismatched_nan << " element(s) are NaN/Inf on one side only";
  } else if (d.max_abs > budget.max_abs * scale) {
    why << "L-inf " << d.max_abs << " exceeds the " << budget.name << " budget "
        << budget.max_abs * scale;
  } else if (d.rmse > budget.rmse * scale) {
    why << "RMSE " << d.rmse << " exceeds the " << budget.name << " budget "
        << budget.rmse * scale;
  } else if (d.cosine < budget.min_cosine) {
    why << "cosine " << d.cosine << " is below the " << budget.name << " budget "
        << budget.min_cosine;
  }
  return why.str();
}

}  // namespace edgerun
