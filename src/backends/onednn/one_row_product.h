// A product of one row by a constant matrix, y = alpha * x B + c, run by our own kernel
// (vector_kernels.h says why) instead of oneDNN's matmul: a classifier's head, a decoder's
// projections at one token. Activations fused after it run as oneDNN eltwise primitives over
// the result in place (Swish by our kernel); residual Adds are not taken (the caller keeps
// oneDNN's matmul for those chains).
//
// The work is split by panels of B's columns over the available threads (split_work.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "backends/onednn/lower_ops.h"

namespace edgerun::onednn::lower {

class OneRowProduct final : public PreparedNode {
 public:
  // B is [k, n] at `b`: row-major, or when `trans_b` its transpose ([n, k] row-major). `c` is
  // empty or n values added to every result (already scaled as the caller wants).
  OneRowProduct(const dnnl::engine& engine, const float* b, int64_t k, int64_t n, bool trans_b,
                float alpha, std::vector<float> c);

  // Whether this CPU runs the kernel, and B of k x n is large enough that reading it decides the
  // time (smaller ones stay with oneDNN, whose call costs about what ours does).
  static bool pays(int64_t k, int64_t n);

  // `primitive` (an eltwise over the [1, n] result) runs after the product, in place, in the
  // order these are added.
  void then_in_place(dnnl::primitive primitive, memory::desc scratchpad);
  // Swish with `alpha` over the result, in place, last.
  void then_swish(float alpha);

  void execute(dnnl::stream& stream, std::span<const memory> in,
               std::span<const memory> out) const override;

 private:
  struct AlignedFree {
    void operator()(float* p) const;
  };
  void run_panels(const float* x, float* y, size_t first, size_t last) const;

  dnnl::engine engine_;
  size_t k_ = 0, n_ = 0, panels_ = 0;
  float alpha_ = 1.0f;
  std::unique_ptr<float[], AlignedFree> packed_;  // panels_ panels of k_ x kProductPanel
  std::vector<float> c_;
  std::vector<std::pair<dnnl::primitive, memory::desc>> in_place_;
  std::optional<float> swish_alpha_;
};

// What a one-row product run by our own kernel needs (OneRowProduct).
struct OneRow {
  int64_t m = 0, k = 0, n = 0;
  bool trans_b = false;
  float alpha = 1.0f;
  std::vector<float> c;  // n values added to the result, or empty
  // The chain's post-ops are ops[chain_start, ops.len()), their operands `addends`.
  const dnnl::post_ops* ops = nullptr;
  int chain_start = 0;
  const std::vector<ChainAddend>* addends = nullptr;
  std::optional<float> swish_after;
};

// The product as a OneRowProduct where A is one row and B (`b`, laid out as r.trans_b says) is
// constant and large enough, and the chain is constant rows added (a bias) and then
// activations; null otherwise (oneDNN's primitive runs it, with residual Adds and the like as
// post-ops). `flat`: the inputs the chain's addends index (FusedChain::inputs, or the node's own
// without a chain).
std::shared_ptr<OneRowProduct> own_one_row_product(const LoweringContext& cx, const Tensor* b,
                                                   std::span<const NodeInput> flat, OneRow r,
                                                   const memory::desc& dst);

}  // namespace edgerun::onednn::lower
