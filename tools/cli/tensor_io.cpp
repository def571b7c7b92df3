#include "tensor_io.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <cctype>
#include <sstream>

#include "core/dispatch.h"
#include "core/npy.h"
#include "onnx/tensor_proto.h"

namespace edgerun::cli {

Result<Tensor> read_tensor_file(const std::string& path) {
  auto ends_with = [&](const std::string& suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".npy")) return read_npy(path);
  if (ends_with(".pb")) return onnx_import::read_tensor_pb(path);
  return invalid_argument("input file '" + path + "' must end in .npy or .pb");
}

Tensor random_tensor(DType dtype, const Shape& shape, std::mt19937_64& rng) {
  Tensor t(dtype, shape);
  std::uniform_real_distribution<double> real(-1.0, 1.0);
  std::uniform_int_distribution<int> small(0, 9);
  Status s = dispatch<AllTypes>(dtype, "random input", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.size(); ++i) {
      if constexpr (std::is_same_v<T, bool>) {
        p[i] = small(rng) % 2 == 0;
      } else if constexpr (std::is_same_v<T, std::string>) {
        p[i] = "edgerun";
      } else if constexpr (std::is_same_v<T, std::complex<float>> ||
                           std::is_same_v<T, std::complex<double>>) {
        p[i] = T(real(rng), real(rng));
      } else if constexpr (std::is_floating_point_v<compute_t<T>>) {
        p[i] = T(static_cast<compute_t<T>>(real(rng)));
      } else {
        p[i] = static_cast<T>(small(rng));
      }
    }
    return Status::ok();
  });
  (void)s;  // AllTypes covers every dtype a tensor can have
  return t;
}

std::string summarize(const Tensor& t) {
  std::ostringstream os;
  os << dtype_name(t.dtype()) << " " << shape_to_string(t.shape());
  constexpr int64_t kShown = 6;
  Status s = dispatch<AllTypes>(t.dtype(), "summary", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* p = t.data<T>();
    if constexpr (std::is_same_v<T, std::string>) {
      os << "  first:";
      for (int64_t i = 0; i < std::min(t.size(), kShown); ++i) os << " \"" << p[i] << "\"";
    } else if constexpr (std::is_same_v<T, std::complex<float>> ||
                         std::is_same_v<T, std::complex<double>>) {
      os << "  first:";
      for (int64_t i = 0; i < std::min(t.size(), kShown); ++i) os << " " << p[i];
    } else {
      if (t.size() > 0) {
        double lo = std::numeric_limits<double>::infinity();
        double hi = -lo;
        double sum = 0;
        for (int64_t i = 0; i < t.size(); ++i) {
          const double v = static_cast<double>(static_cast<compute_t<T>>(p[i]));
          lo = std::min(lo, v);
          hi = std::max(hi, v);
          sum += v;
        }
        os << "  min " << lo << " max " << hi << " mean " << sum / static_cast<double>(t.size());
      }
      os << "  first:";
      for (int64_t i = 0; i < std::min(t.size(), kShown); ++i) {
        os << " " << static_cast<double>(static_cast<compute_t<T>>(p[i]));
      }
    }
    if (t.size() > kShown) os << " ...";
    return Status::ok();
  });
  (void)s;
  return os.str();
}

std::string sanitize_file_name(const std::string& name) {
  std::string out = name.empty() ? "output" : name;
  for (char& c : out) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  }
  if (out[0] == '.') out[0] = '_';  // no hidden files, no ".."
  return out;
}

}  // namespace edgerun::cli
