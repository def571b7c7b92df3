// GRU with update (z), reset (r) and hidden (h) gates, in that order in W, R and B.
#include "backends/reference/recurrent_util.h"

namespace edgerun::reference {

Status kernel_GRU(KernelContext& ctx) {
  using recurrent::Activation;
  ER_ASSIGN_OR_RETURN(recurrent::Common c, recurrent::read_common(ctx, "GRU", 3));
  const std::vector<std::string> defaults = {"Sigmoid", "Tanh"};
  ER_ASSIGN_OR_RETURN(std::vector<Activation> acts,
                      recurrent::parse_activations(ctx, "GRU", defaults, c.num_dir));
  // Opset 1 has no linear_before_reset attribute, which matches the default 0.
  const bool linear_before_reset = ctx.attr_int("linear_before_reset", 0) != 0;
  const int64_t hs = c.hidden;
  std::vector<double> y(static_cast<size_t>(c.seq * c.num_dir * c.batch * hs), 0.0);
  std::vector<double> state = c.h0;
  std::vector<double> xg(static_cast<size_t>(3 * hs));  // input part incl. Wb
  std::vector<double> hg(static_cast<size_t>(3 * hs));  // recurrent part incl. Rb
  std::vector<double> rh(static_cast<size_t>(hs));
  for (int64_t d = 0; d < c.num_dir; ++d) {
    const double* w = &c.w[d * 3 * hs * c.input];
    const double* r = &c.r[d * 3 * hs * hs];
    const double* wb = &c.b[d * 6 * hs];
    const double* rb = wb + 3 * hs;
    const Activation& f = acts[d * 2];
    const Activation& g = acts[d * 2 + 1];
    for (int64_t b = 0; b < c.batch; ++b) {
      double* h = &state[(d * c.batch + b) * hs];
      const int64_t len = c.seq_lens[b];
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = c.reversed(d) ? len - 1 - s : s;
        for (int64_t k = 0; k < 3 * hs; ++k) {
          xg[k] = wb[k];
          hg[k] = rb[k];
        }
        recurrent::matvec_add(w, 3 * hs, c.input, &c.x[(t * c.batch + b) * c.input], xg.data());
        // z and r always see R h; the hidden gate's recurrent term depends on the variant.
        recurrent::matvec_add(r, 2 * hs, hs, h, hg.data());
        if (linear_before_reset) {
          recurrent::matvec_add(r + 2 * hs * hs, hs, hs, h, hg.data() + 2 * hs);
        }
        double* out = &y[((t * c.num_dir + d) * c.batch + b) * hs];
        for (int64_t k = 0; k < hs; ++k) {
          const double rt = f(c.clipped(xg[hs + k] + hg[hs + k]));
          // The reset gate scales H_{t-1} before R_h, or (R_h H_{t-1} + Rb_h) after it.
          rh[k] = linear_before_reset ? rt * hg[2 * hs + k] : rt * h[k];
        }
        if (!linear_before_reset) {
          recurrent::matvec_add(r + 2 * hs * hs, hs, hs, rh.data(), hg.data() + 2 * hs);
        }
        for (int64_t k = 0; k < hs; ++k) {
          const double zt = f(c.clipped(xg[k] + hg[k]));
          const double pre = linear_before_reset ? xg[2 * hs + k] + rh[k]
                                                 : xg[2 * hs + k] + hg[2 * hs + k];
          const double ht = g(c.clipped(pre));
          out[k] = (1.0 - zt) * ht + zt * h[k];
        }
        for (int64_t k = 0; k < hs; ++k) h[k] = out[k];
      }
    }
  }
  const DType dtype = ctx.input(0).dtype();
  ER_RETURN_IF_ERROR(recurrent::write_sequence(ctx, c, dtype, 0, y));
  return recurrent::write_state(ctx, c, dtype, 1, state);
}

}  // namespace edgerun::reference
