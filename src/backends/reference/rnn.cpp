// RNN: the simple recurrence H_t = f(X_t W^T + H_{t-1} R^T + Wb + Rb).
#include "backends/reference/recurrent_util.h"

namespace edgerun::reference {

Status kernel_RNN(KernelContext& ctx) {
  using recurrent::Activation;
  ER_ASSIGN_OR_RETURN(recurrent::Common c, recurrent::read_common(ctx, "RNN", 1));
  const std::vector<std::string> defaults = {"Tanh"};
  ER_ASSIGN_OR_RETURN(std::vector<Activation> acts,
                      recurrent::parse_activations(ctx, "RNN", defaults, c.num_dir));
  const int64_t hs = c.hidden;
  std::vector<double> y(static_cast<size_t>(c.seq * c.num_dir * c.batch * hs), 0.0);
  std::vector<double> state = c.h0;
  std::vector<double> gate(static_cast<size_t>(hs));
  for (int64_t d = 0; d < c.num_dir; ++d) {
    const double* w = &c.w[d * hs * c.input];
    const double* r = &c.r[d * hs * hs];
    const double* wb = &c.b[d * 2 * hs];
    const double* rb = wb + hs;
    const Activation& f = acts[d];
    for (int64_t b = 0; b < c.batch; ++b) {
      double* h = &state[(d * c.batch + b) * hs];
      const int64_t len = c.seq_lens[b];
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = c.reversed(d) ? len - 1 - s : s;
        for (int64_t k = 0; k < hs; ++k) gate[k] = wb[k] + rb[k];
        recurrent::matvec_add(w, hs, c.input, &c.x[(t * c.batch + b) * c.input], gate.data());
        recurrent::matvec_add(r, hs, hs, h, gate.data());
        double* out = &y[((t * c.num_dir + d) * c.batch + b) * hs];
        for (int64_t k = 0; k < hs; ++k) out[k] = h[k] = f(c.clipped(gate[k]));
      }
    }
  }
  const DType dtype = ctx.input(0).dtype();
  ER_RETURN_IF_ERROR(recurrent::write_sequence(ctx, c, dtype, 0, y));
  return recurrent::write_state(ctx, c, dtype, 1, state);
}

}  // namespace edgerun::reference
