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

std::shared_ptr<OneRowProduct> own_one_row_product(const LoweringContext& cx, const Tensor* b,
                                                   std::span<const NodeInput> flat, OneRow r,
                                                   const memory::desc& dst) {
  if (r.m != 1 || b == nullptr || !OneRowProduct::pays(r.k, r.n)) return nullptr;
  std::vector<std::pair<dnnl::primitive, memory::desc>> activations;
  for (int i = r.chain_start; i < r.ops->len(); ++i) {
    if (r.ops->kind(i) == dnnl::primitive::kind::binary) {
      dnnl::algorithm alg;
      memory::desc operand;
      r.ops->get_params_binary(i, alg, operand);
      const int arg = DNNL_ARG_ATTR_MULTIPLE_POST_OP(i) | DNNL_ARG_SRC_1;
      const auto addend = std::find_if(r.addends->begin(), r.addends->end(),
                                       [&](const ChainAddend& a) { return a.arg == arg; });
      if (!activations.empty() || alg != dnnl::algorithm::binary_add ||
          addend == r.addends->end()) {
        return nullptr;
      }
      const Tensor* row = flat[addend->input].constant;
      if (row == nullptr || row->dtype() != DType::kFloat32 ||
          (row->size() != r.n && row->size() != 1)) {
        return nullptr;
      }
      if (r.c.empty()) r.c.assign(static_cast<size_t>(r.n), 0.0f);
      const float* values = row->data<float>();
      for (int64_t j = 0; j < r.n; ++j) {
        r.c[static_cast<size_t>(j)] += values[row->size() == 1 ? 0 : j];
      }
      continue;
    }
    float scale = 0, alpha = 0, beta = 0;
    dnnl::algorithm alg;
    r.ops->get_params_eltwise(i, scale, alg, alpha, beta);
    if (scale != 1.0f) return nullptr;
    const dnnl::eltwise_forward::primitive_desc pd(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, alg, dst, alpha, beta),
        user_scratchpad(), *cx.engine);
    activations.emplace_back(dnnl::eltwise_forward(pd), pd.scratchpad_desc());
  }
  auto node = std::make_shared<OneRowProduct>(*cx.engine, b->data<float>(), r.k, r.n, r.trans_b,
                                              r.alpha, std::move(r.c));
  for (auto& [primitive, scratchpad] : activations) node->then_in_place(primitive, scratchpad);
  if (r.swish_after) node->then_swish(*r.swish_after);
  return node;
}

}  // namespace edgerun::onednn::lower
