#include "backends/onednn/one_row_product.h"

#include <algorithm>
#include <cstdlib>
#include <new>

#include "backends/onednn/split_work.h"
#include "backends/onednn/vector_kernels.h"
#include "memory/page_hints.h"

namespace edgerun::onednn::lower {

void OneRowProduct::AlignedFree::operator()(float* p) const { std::free(p); }

OneRowProduct::OneRowProduct(const dnnl::engine& engine, const float* b, int64_t k, int64_t n,
                             bool trans_b, float alpha, std::vector<float> c)
    : engine_(engine),
      k_(static_cast<size_t>(k)),
      n_(static_cast<size_t>(n)),
      panels_((n_ + kProductPanel - 1) / kProductPanel),
      alpha_(alpha),
      c_(std::move(c)) {
  shares_team = true;
  own_kernel = "one-row products";
  const size_t floats = panels_ * k_ * kProductPanel;
  void* memory = edgerun::memory::allocate_hinted(floats * sizeof(float), 64);
  if (memory == nullptr) throw std::bad_alloc();
  packed_.reset(static_cast<float*>(memory));
  float* to = packed_.get();
  for (size_t p = 0; p < panels_; ++p) {
    for (size_t r = 0; r < k_; ++r) {
      for (size_t j = 0; j < kProductPanel; ++j, ++to) {
        const size_t column = p * kProductPanel + j;
        *to = column >= n_ ? 0.0f : trans_b ? b[column * k_ + r] : b[r * n_ + column];
      }
    }
  }
}

bool OneRowProduct::pays(int64_t k, int64_t n) {
  // 256 KiB of B: from here on a probe found ours no slower with B in the cache and faster
  // without (768 x 768: 25 us against oneDNN's 28 warm, 52 against 74 cold).
  constexpr int64_t kMinElements = int64_t{1} << 16;
  // Narrower B would be mostly the zeros that pad its one panel.
  return best_vector_isa() != VectorIsa::kNone && n >= static_cast<int64_t>(kProductPanel) &&
         k * n >= kMinElements;
}

void OneRowProduct::then_in_place(dnnl::primitive primitive, memory::desc scratchpad) {
  in_place_.emplace_back(std::move(primitive), scratchpad);
}

void OneRowProduct::then_swish(float alpha) { swish_alpha_ = alpha; }

void OneRowProduct::run_panels(const float* x, float* y, size_t first, size_t last) const {
  one_row_product(x, k_, packed_.get(), first, last, n_, alpha_,
                  c_.empty() ? nullptr : c_.data(), y, best_vector_isa());
}

void OneRowProduct::execute(dnnl::stream& stream, std::span<const memory> in,
                            std::span<const memory> out) const {
  const float* x = static_cast<const float*>(in[0].get_data_handle());
  float* y = static_cast<float*>(out[0].get_data_handle());
  split_over_threads(panels_, [&](int p, int parts) {
    const auto [first, last] = part_range(panels_, p, parts);
    run_panels(x, y, first, last);
  });
  for (const auto& [primitive, pad] : in_place_) {
    run_in_place(primitive, pad, out[0], stream, engine_);
  }
  if (!in_place_.empty()) stream.wait();
  if (swish_alpha_) swish_in_place(y, n_, *swish_alpha_);
}

}  // namespace edgerun::onednn::lower
