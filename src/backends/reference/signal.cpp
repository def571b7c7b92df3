// Signal ops (opset 17): DFT, STFT, the Hann/Hamming/Blackman windows and MelWeightMatrix.
//
// Complex tensors use the ONNX layout: a trailing dim of 2 holds (real, imaginary), a trailing
// dim of 1 marks a real signal. Everything is computed in double with a plain O(n^2) DFT (exact
// and easy to check, not fast) and cast to the output dtype at the end.
#include <cmath>
#include <complex>
#include <numbers>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"

namespace edgerun::reference {
namespace {

using Complex = std::complex<double>;

std::string dims(const Tensor& t) { return shape_to_string(t.shape()); }

// A scalar (or one-element) int32/int64 input.
Result<int64_t> read_scalar_int(const Tensor& t, const std::string& what) {
  std::vector<int64_t> v;
  ER_ASSIGN_OR_RETURN(v, read_ints(t, what));
  if (v.size() != 1 || t.rank() > 1) {
    return invalid_argument(what + " must be a scalar, got shape " + dims(t));
  }
  return v[0];
}

// A scalar (or one-element) float input.
Result<double> read_scalar_float(const Tensor& t, const std::string& what) {
  if (!is_floating(t.dtype())) {
    return invalid_argument(what + " must be a float tensor, got " +
                            std::string(dtype_name(t.dtype())));
  }
  std::vector<double> v;
  ER_ASSIGN_OR_RETURN(v, read_doubles(t, what));
  if (v.size() != 1 || t.rank() > 1) {
    return invalid_argument(what + " must be a scalar, got shape " + dims(t));
  }
  return v[0];
}

Status require_float(const Tensor& t, const std::string& what) {
  if (is_floating(t.dtype())) return Status::ok();
  return invalid_argument(what + " must be float16, bfloat16, float or double, got " +
                          std::string(dtype_name(t.dtype())));
}

// A new tensor of `dtype` and `shape` holding `values` (row-major), rounded to the dtype.
template <class TypeList>
Result<Tensor> tensor_from_doubles(DType dtype, Shape shape, const std::vector<double>& values,
                                   std::string_view op) {
  Tensor out(dtype, std::move(shape));
  ER_RETURN_IF_ERROR(dispatch<TypeList>(dtype, op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    T* dst = out.data<T>();
    for (size_t i = 0; i < values.size(); ++i) {
      dst[i] = static_cast<T>(static_cast<compute_t<T>>(values[i]));
    }
    return Status::ok();
  }));
  return out;
}

// The DFT of length n: out[k] = sum_j in[j] * exp(-+2*pi*i*j*k/n), divided by n when inverse.
// The twiddle factors are tabulated once per length, indexed by (j*k) mod n so that every angle
// is computed from a small argument.
class Dft {
 public:
  Dft(int64_t n, bool inverse) : n_(n), inverse_(inverse), twiddles_(static_cast<size_t>(n)) {
    const double sign = inverse ? 1.0 : -1.0;
    for (int64_t m = 0; m < n; ++m) {
      const double angle = sign * 2.0 * std::numbers::pi * static_cast<double>(m) /
                           static_cast<double>(n);
      twiddles_[static_cast<size_t>(m)] = Complex(std::cos(angle), std::sin(angle));
    }
  }

  // `in` holds n samples; fills out[0..bins).
  void run(const std::vector<Complex>& in, int64_t bins, std::vector<Complex>& out) const {
    out.assign(static_cast<size_t>(bins), Complex(0.0, 0.0));
    for (int64_t k = 0; k < bins; ++k) {
      Complex sum(0.0, 0.0);
      for (int64_t j = 0; j < n_; ++j) {
        sum += in[static_cast<size_t>(j)] * twiddles_[static_cast<size_t>((j * k) % n_)];
      }
      out[static_cast<size_t>(k)] = inverse_ ? sum / static_cast<double>(n_) : sum;
    }
  }

 private:
  int64_t n_;
  bool inverse_;
  std::vector<Complex> twiddles_;
};

// The cosine-sum window w[n] = a0 - a1*cos(2*pi*n/N) + a2*cos(4*pi*n/N), with N = size for a
// periodic window and size - 1 for a symmetric one.
Status cosine_window(KernelContext& ctx, const std::string& op, double a0, double a1, double a2) {
  int64_t size = 0;
  ER_ASSIGN_OR_RETURN(size, read_scalar_int(ctx.input(0), op + " size"));
  if (size < 1) return invalid_argument(op + " size must be >= 1, got " + std::to_string(size));
  const bool periodic = ctx.attr_int("periodic", 1) != 0;
  const int64_t period = periodic ? size : size - 1;
  std::vector<double> values(static_cast<size_t>(size));
  for (int64_t n = 0; n < size; ++n) {
    // A symmetric window of one sample is its own centre, where every window peaks at
    // a0 + a1 + a2 = 1 (the formula would divide by N = 0).
    const double phase = period == 0 ? std::numbers::pi
                                     : 2.0 * std::numbers::pi * static_cast<double>(n) /
                                           static_cast<double>(period);
    values[static_cast<size_t>(n)] = a0 - a1 * std::cos(phase) + a2 * std::cos(2.0 * phase);
  }
  const auto dtype = static_cast<DType>(ctx.attr_int("output_datatype", 1));
  Tensor out;
  ER_ASSIGN_OR_RETURN(out, tensor_from_doubles<NumericTypes>(dtype, {size}, values, op));
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

}  // namespace

Status kernel_DFT(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  ER_RETURN_IF_ERROR(require_float(x, "DFT input"));
  const int64_t rank = x.rank();
  if (rank < 2) {
    return invalid_argument("DFT expects an input of rank >= 2 ([batch, ..., 1 or 2]), got shape " +
                            dims(x));
  }
  const int64_t parts = x.dim(rank - 1);
  if (parts != 1 && parts != 2) {
    return invalid_argument(
        "DFT expects the last dim to be 1 (real) or 2 (complex), got shape " + dims(x));
  }
  int64_t axis = ctx.attr_int("axis", 1);
  // The last dim holds the real/imaginary parts and cannot be transformed.
  if (axis < -rank || axis == -1 || axis > rank - 2) {
    return invalid_argument("DFT axis must be in [" + std::to_string(-rank) + ", -2] or [0, " +
                            std::to_string(rank - 2) + "] for input shape " + dims(x) + ", got " +
                            std::to_string(axis));
  }
  if (axis < 0) axis += rank;
  const int64_t length = x.dim(axis);
  int64_t n = length;
  if (ctx.has_input(1)) {
    ER_ASSIGN_OR_RETURN(n, read_scalar_int(ctx.input(1), "DFT dft_length"));
    if (n < 1) return invalid_argument("DFT dft_length must be >= 1, got " + std::to_string(n));
  } else if (n < 1) {
    return invalid_argument("DFT needs a non-empty signal along axis " + std::to_string(axis) +
                            ", got shape " + dims(x));
  }
  const bool inverse = ctx.attr_int("inverse", 0) != 0;
  const bool onesided = ctx.attr_int("onesided", 0) != 0;
  if (onesided && parts == 2) {
    return invalid_argument("DFT onesided=1 needs a real input (last dim 1), got shape " +
                            dims(x));
  }
  const int64_t bins = onesided ? n / 2 + 1 : n;

  // View the input as [outer, length, inner, parts] and the output as [outer, bins, inner, 2].
  int64_t outer = 1;
  int64_t inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  for (int64_t d = axis + 1; d < rank - 1; ++d) inner *= x.dim(d);
  Shape out_shape = x.shape();
  out_shape[static_cast<size_t>(axis)] = bins;
  out_shape.back() = 2;

  std::vector<double> in;
  ER_ASSIGN_OR_RETURN(in, read_doubles(x, "DFT input"));
  std::vector<double> result(static_cast<size_t>(outer * bins * inner * 2));
  const Dft dft(n, inverse);
  std::vector<Complex> signal(static_cast<size_t>(n));
  std::vector<Complex> spectrum;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      // Truncate to n samples or zero-pad up to n.
      for (int64_t j = 0; j < n; ++j) {
        Complex v(0.0, 0.0);
        if (j < length) {
          const size_t at = static_cast<size_t>(((o * length + j) * inner + i) * parts);
          v = Complex(in[at], parts == 2 ? in[at + 1] : 0.0);
        }
        signal[static_cast<size_t>(j)] = v;
      }
      dft.run(signal, bins, spectrum);
      for (int64_t k = 0; k < bins; ++k) {
        const size_t at = static_cast<size_t>(((o * bins + k) * inner + i) * 2);
        result[at] = spectrum[static_cast<size_t>(k)].real();
        result[at + 1] = spectrum[static_cast<size_t>(k)].imag();
      }
    }
  }
  Tensor out;
  ER_ASSIGN_OR_RETURN(out, tensor_from_doubles<FloatTypes>(x.dtype(), out_shape, result, "DFT"));
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

Status kernel_STFT(KernelContext& ctx) {
  const Tensor& signal_t = ctx.input(0);
  ER_RETURN_IF_ERROR(require_float(signal_t, "STFT signal"));
  if (signal_t.rank() != 3 || (signal_t.dim(2) != 1 && signal_t.dim(2) != 2)) {
    return invalid_argument(
        "STFT expects a signal of shape [batch, signal_length, 1 or 2], got shape " +
        dims(signal_t));
  }
  const int64_t batch = signal_t.dim(0);
  const int64_t length = signal_t.dim(1);
  const int64_t parts = signal_t.dim(2);

  int64_t step = 0;
  ER_ASSIGN_OR_RETURN(step, read_scalar_int(ctx.input(1), "STFT frame_step"));
  if (step < 1) return invalid_argument("STFT frame_step must be >= 1, got " + std::to_string(step));

  const bool has_window = ctx.has_input(2);
  const bool has_frame_length = ctx.has_input(3);
  if (!has_window && !has_frame_length) {
    return invalid_argument("STFT needs a window or a frame_length input, got neither");
  }
  std::vector<double> window;
  if (has_window) {
    const Tensor& w = ctx.input(2);
    if (w.dtype() != signal_t.dtype()) {
      return invalid_argument("STFT window must have the signal's dtype " +
                              std::string(dtype_name(signal_t.dtype())) + ", got " +
                              std::string(dtype_name(w.dtype())));
    }
    if (w.rank() != 1) {
      return invalid_argument("STFT window must be 1-D [window_length], got shape " + dims(w));
    }
    ER_ASSIGN_OR_RETURN(window, read_doubles(w, "STFT window"));
  }
  int64_t frame_length = has_window ? static_cast<int64_t>(window.size()) : 0;
  if (has_frame_length) {
    ER_ASSIGN_OR_RETURN(frame_length, read_scalar_int(ctx.input(3), "STFT frame_length"));
    if (has_window && frame_length != static_cast<int64_t>(window.size())) {
      return invalid_argument("STFT window length must equal frame_length " +
                              std::to_string(frame_length) + ", got a window of shape " +
                              dims(ctx.input(2)));
    }
  }
  if (frame_length < 1) {
    return invalid_argument("STFT frame_length must be >= 1, got " + std::to_string(frame_length));
  }
  if (frame_length > length) {
    return invalid_argument("STFT frame_length " + std::to_string(frame_length) +
                            " must not exceed the signal length, got signal shape " +
                            dims(signal_t));
  }
  const bool onesided = ctx.attr_int("onesided", 1) != 0;
  if (onesided && parts == 2) {
    return invalid_argument("STFT onesided=1 needs a real signal (last dim 1), got shape " +
                            dims(signal_t));
  }
  if (!has_window) window.assign(static_cast<size_t>(frame_length), 1.0);

  const int64_t frames = (length - frame_length) / step + 1;
  const int64_t bins = onesided ? frame_length / 2 + 1 : frame_length;
  std::vector<double> in;
  ER_ASSIGN_OR_RETURN(in, read_doubles(signal_t, "STFT signal"));
  std::vector<double> result(static_cast<size_t>(batch * frames * bins * 2));
  const Dft dft(frame_length, /*inverse=*/false);
  std::vector<Complex> frame(static_cast<size_t>(frame_length));
  std::vector<Complex> spectrum;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t f = 0; f < frames; ++f) {
      for (int64_t j = 0; j < frame_length; ++j) {
        const size_t at = static_cast<size_t>((b * length + f * step + j) * parts);
        const Complex v(in[at], parts == 2 ? in[at + 1] : 0.0);
        frame[static_cast<size_t>(j)] = v * window[static_cast<size_t>(j)];
      }
      dft.run(frame, bins, spectrum);
      for (int64_t k = 0; k < bins; ++k) {
        const size_t at = static_cast<size_t>(((b * frames + f) * bins + k) * 2);
        result[at] = spectrum[static_cast<size_t>(k)].real();
        result[at + 1] = spectrum[static_cast<size_t>(k)].imag();
      }
    }
  }
  Tensor out;
  ER_ASSIGN_OR_RETURN(out, tensor_from_doubles<FloatTypes>(
                               signal_t.dtype(), {batch, frames, bins, 2}, result, "STFT"));
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

Status kernel_HannWindow(KernelContext& ctx) {
  return cosine_window(ctx, "HannWindow", 0.5, 0.5, 0.0);
}

Status kernel_HammingWindow(KernelContext& ctx) {
  return cosine_window(ctx, "HammingWindow", 25.0 / 46.0, 21.0 / 46.0, 0.0);
}

Status kernel_BlackmanWindow(KernelContext& ctx) {
  return cosine_window(ctx, "BlackmanWindow", 0.42, 0.5, 0.08);
}

// Triangular filters spaced evenly on the mel scale mel(f) = 2595 * log10(1 + f / 700). The
// num_mel_bins + 2 edges are mapped to DFT bins floor((dft_length + 1) * f / sample_rate); filter
// m rises linearly from edge m to a peak of 1 at edge m + 1 and falls back to 0 at edge m + 2.
Status kernel_MelWeightMatrix(KernelContext& ctx) {
  int64_t mel_bins = 0, dft_length = 0, sample_rate = 0;
  double lower = 0.0, upper = 0.0;
  ER_ASSIGN_OR_RETURN(mel_bins, read_scalar_int(ctx.input(0), "MelWeightMatrix num_mel_bins"));
  ER_ASSIGN_OR_RETURN(dft_length, read_scalar_int(ctx.input(1), "MelWeightMatrix dft_length"));
  ER_ASSIGN_OR_RETURN(sample_rate, read_scalar_int(ctx.input(2), "MelWeightMatrix sample_rate"));
  ER_ASSIGN_OR_RETURN(lower, read_scalar_float(ctx.input(3), "MelWeightMatrix lower_edge_hertz"));
  ER_ASSIGN_OR_RETURN(upper, read_scalar_float(ctx.input(4), "MelWeightMatrix upper_edge_hertz"));
  if (mel_bins < 1 || dft_length < 1 || sample_rate < 1) {
    return invalid_argument(
        "MelWeightMatrix num_mel_bins, dft_length and sample_rate must be >= 1, got " +
        std::to_string(mel_bins) + ", " + std::to_string(dft_length) + ", " +
        std::to_string(sample_rate));
  }
  const double nyquist = static_cast<double>(sample_rate) / 2.0;
  if (!(lower >= 0.0 && lower < upper && upper <= nyquist)) {
    return invalid_argument(
        "MelWeightMatrix expects 0 <= lower_edge_hertz < upper_edge_hertz <= sample_rate / 2 = " +
        std::to_string(nyquist) + ", got " + std::to_string(lower) + " and " +
        std::to_string(upper));
  }
  const int64_t spectrogram_bins = dft_length / 2 + 1;
  auto hz_to_mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
  auto mel_to_hz = [](double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); };
  const double low_mel = hz_to_mel(lower);
  const double mel_step = (hz_to_mel(upper) - low_mel) / static_cast<double>(mel_bins + 2);
  std::vector<int64_t> edges(static_cast<size_t>(mel_bins + 2));
  for (int64_t e = 0; e < mel_bins + 2; ++e) {
    const double hz = mel_to_hz(low_mel + mel_step * static_cast<double>(e));
    edges[static_cast<size_t>(e)] = static_cast<int64_t>(
        std::floor(static_cast<double>(dft_length + 1) * hz / static_cast<double>(sample_rate)));
  }
  std::vector<double> weights(static_cast<size_t>(spectrogram_bins * mel_bins), 0.0);
  auto set = [&](int64_t bin, int64_t m, double w) {
    // An edge at the Nyquist frequency of an odd dft_length lands one past the last bin.
    if (bin >= 0 && bin < spectrogram_bins) weights[static_cast<size_t>(bin * mel_bins + m)] = w;
  };
  for (int64_t m = 0; m < mel_bins; ++m) {
    const int64_t left = edges[static_cast<size_t>(m)];
    const int64_t centre = edges[static_cast<size_t>(m + 1)];
    const int64_t right = edges[static_cast<size_t>(m + 2)];
    if (centre == left) {
      set(centre, m, 1.0);
    } else {
      for (int64_t bin = left; bin <= centre; ++bin) {
        set(bin, m, static_cast<double>(bin - left) / static_cast<double>(centre - left));
      }
    }
    for (int64_t bin = centre; bin < right; ++bin) {
      set(bin, m, static_cast<double>(right - bin) / static_cast<double>(right - centre));
    }
  }
  const auto dtype = static_cast<DType>(ctx.attr_int("output_datatype", 1));
  Tensor out;
  ER_ASSIGN_OR_RETURN(out, tensor_from_doubles<NumericTypes>(dtype, {spectrogram_bins, mel_bins},
                                                             weights, "MelWeightMatrix"));
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

}  // namespace edgerun::reference
