// How far a result is from the reference's: the metrics and budgets behind `edgerun parity`
// (and, later, the compression lab's accuracy deltas).
#pragma once

#include <cstdint>
#include <string>

#include "edgerun/status.hpp"
#include "edgerun/tensor.hpp"

namespace edgerun {

struct Divergence {
  int64_t elements = 0;
  double max_abs = 0;      // L-inf of (actual - reference)
  double rmse = 0;         // root mean square of (actual - reference)
  double max_rel = 0;      // max |actual - reference| / max(|reference|, 1e-6)
  double cosine = 1;       // cosine similarity of the two, 1 for identical (or both zero)
  double ref_max_abs = 0;  // L-inf of the reference, the scale the budgets are relative to
  int64_t mismatched_nan = 0;  // elements NaN/Inf in one result and not in the other
};

// Both tensors must have the same dtype and shape (an error names the difference). Floats are
// compared in double; integers and bool as numbers; strings must be equal (any difference is
// reported as max_abs = inf).
Result<Divergence> measure_divergence(const Tensor& actual, const Tensor& reference);

// An accuracy budget: absolute limits scale with the reference's magnitude,
// max(1, ref_max_abs), so one budget serves logits of 0.01 and of 100.
struct ParityBudget {
  std::string name;          // "fp32", "fp16", "int8"
  double max_abs = 0;        // L-inf limit, times max(1, ref_max_abs)
  double rmse = 0;           // RMSE limit, times max(1, ref_max_abs)
  double min_cosine = 0;
};

// fp32: accelerated kernels reorder sums (blocking, vectorised reductions) and fuse ops, so
// each reduction of K terms drifts by about sqrt(K) * 6e-8 relative to its terms; through ~50
// layers of a deep net that stays below 1e-4 of the output scale. The budget allows 10x that for
// L-inf (1e-3) and keeps RMSE at 1e-4 with cosine >= 0.99999: far below what changes an argmax
// or a detection, far above what exact-but-reordered fp32 arithmetic produces. fp16 and int8 are
// the seeds' budgets (L-inf 1e-2 / RMSE 1e-3, and 5e-2 / 5e-3).
ParityBudget fp32_budget();
ParityBudget fp16_budget();
ParityBudget int8_budget();

// "" when `d` is within `budget`, otherwise which limit it exceeds and by how much.
std::string budget_violation(const Divergence& d, const ParityBudget& budget);

}  // namespace edgerun
