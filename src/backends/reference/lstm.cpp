// LSTM with input (i), output (o), forget (f) and cell (c) gates, in that order in W, R and
// B; peepholes P are ordered i, o, f.
#include "backends/reference/recurrent_util.h"

namespace edgerun::reference {

Status kernel_LSTM(KernelContext& ctx) {
  using recurrent::Activation;
  ER_ASSIGN_OR_RETURN(recurrent::Common c, recurrent::read_common(ctx, "LSTM", 4));
  const std::vector<std::string> defaults = {"Sigmoid", "Tanh", "Tanh"};
  ER_ASSIGN_OR_RETURN(std::vector<Activation> acts,
                      recurrent::parse_activations(ctx, "LSTM", defaults, c.num_dir));
  const bool input_forget = ctx.attr_int("input_forget", 0) != 0;
  const int64_t hs = c.hidden;
  ER_ASSIGN_OR_RETURN(std::vector<double> cell, recurrent::read_state(ctx, c, 6, "initial_c"));
  std::vector<double> peep(static_cast<size_t>(c.num_dir * 3 * hs), 0.0);
  if (ctx.has_input(7)) {
    const Shape want = {c.num_dir, 3 * hs};
    if (ctx.input(7).shape() != want) {
      return invalid_argument("LSTM P must have shape " + shape_to_string(want) + ", got " +
                              shape_to_string(ctx.input(7).shape()));
    }
    ER_ASSIGN_OR_RETURN(peep, read_doubles(ctx.input(7), "P"));
  }
  std::vector<double> y(static_cast<size_t>(c.seq * c.num_dir * c.batch * hs), 0.0);
  std::vector<double> state = c.h0;
  std::vector<double> gate(static_cast<size_t>(4 * hs));
  for (int64_t d = 0; d < c.num_dir; ++d) {
    const double* w = &c.w[d * 4 * hs * c.input];
    const double* r = &c.r[d * 4 * hs * hs];
    const double* wb = &c.b[d * 8 * hs];
    const double* rb = wb + 4 * hs;
    const double* pi = &peep[d * 3 * hs];
    const double* po = pi + hs;
    const double* pf = pi + 2 * hs;
    const Activation& f = acts[d * 3];
    const Activation& g = acts[d * 3 + 1];
    const Activation& h_act = acts[d * 3 + 2];
    for (int64_t b = 0; b < c.batch; ++b) {
      double* h = &state[(d * c.batch + b) * hs];
      double* cs = &cell[(d * c.batch + b) * hs];
      const int64_t len = c.seq_lens[b];
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = c.reversed(d) ? len - 1 - s : s;
        for (int64_t k = 0; k < 4 * hs; ++k) gate[k] = wb[k] + rb[k];
        recurrent::matvec_add(w, 4 * hs, c.input, &c.x[(t * c.batch + b) * c.input], gate.data());
        recurrent::matvec_add(r, 4 * hs, hs, h, gate.data());
        double* out = &y[((t * c.num_dir + d) * c.batch + b) * hs];
        for (int64_t k = 0; k < hs; ++k) {
          const double it = f(c.clipped(gate[k] + pi[k] * cs[k]));
          // input_forget couples the gates so that the cell keeps exactly what it does not take.
          const double ft = input_forget ? 1.0 - it : f(c.clipped(gate[2 * hs + k] + pf[k] * cs[k]));
          const double ct = g(c.clipped(gate[3 * hs + k]));
          cs[k] = ft * cs[k] + it * ct;
          const double ot = f(c.clipped(gate[hs + k] + po[k] * cs[k]));
          out[k] = ot * h_act(cs[k]);
        }
        for (int64_t k = 0; k < hs; ++k) h[k] = out[k];
      }
    }
  }
  const DType dtype = ctx.input(0).dtype();
  ER_RETURN_IF_ERROR(recurrent::write_sequence(ctx, c, dtype, 0, y));
  ER_RETURN_IF_ERROR(recurrent::write_state(ctx, c, dtype, 1, state));
  return recurrent::write_state(ctx, c, dtype, 2, cell);
}

}  // namespace edgerun::reference
