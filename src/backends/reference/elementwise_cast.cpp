// Cast and CastLike: numeric <-> numeric (incl. bool, float16, bfloat16) and numeric <-> string
// with numpy's formatting and parsing rules.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "backends/reference/elementwise_util.h"

namespace edgerun::reference {

using elementwise::kIsFloat;
using elementwise::kIsHalf;
using elementwise::kIsInt;
using elementwise::to_storage;

namespace {

template <class To, class From>
To convert(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, bool>) {
    // NaN is truthy, as in numpy.
    return static_cast<compute_t<From>>(v) != compute_t<From>{0};
  } else if constexpr (std::is_same_v<From, bool>) {
    return to_storage<To>(v ? 1 : 0);
  } else if constexpr (kIsInt<To> && kIsFloat<From>) {
    return elementwise::float_to_int<To>(static_cast<double>(static_cast<compute_t<From>>(v)));
  } else if constexpr (kIsHalf<To> && kIsInt<From>) {
    // Through double so that int64 values keep all their bits until the final rounding.
    return To(static_cast<double>(v));
  } else {
    // Integer <-> integer wraps (well defined since C++20); anything -> float rounds.
    return to_storage<To>(static_cast<compute_t<From>>(v));
  }
}

// numpy's str() of a float: the shortest digits that round-trip in the value's own type,
// positional for 1e-4 <= |x| < 1e16 (with a trailing ".0" for whole numbers), scientific
// ("1.5e-05") otherwise.
template <class T>
std::string format_float(T value) {
  const double v = static_cast<double>(static_cast<compute_t<T>>(value));
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  char buf[64];
  std::string digits;
  int exponent = 0;
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*e", precision - 1, std::fabs(v));
    double parsed = std::strtod(buf, nullptr);
    if (v < 0) parsed = -parsed;
    if (precision == 17 || static_cast<compute_t<T>>(to_storage<T>(parsed)) ==
                               static_cast<compute_t<T>>(value)) {
      const std::string s(buf);
      const size_t e = s.find('e');
      for (size_t i = 0; i < e; ++i) {
        if (s[i] != '.') digits += s[i];
      }
      exponent = std::atoi(s.c_str() + e + 1);
      break;
    }
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out = v < 0 ? "-" : "";
  const double mag = std::fabs(v);
  if (mag >= 1e-4 && mag < 1e16) {
    if (exponent >= 0) {
      const size_t int_len = static_cast<size_t>(exponent) + 1;
      if (digits.size() <= int_len) {
        out += digits + std::string(int_len - digits.size(), '0') + ".0";
      } else {
        out += digits.substr(0, int_len) + "." + digits.substr(int_len);
      }
    } else {
      out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    }
  } else {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    std::snprintf(buf, sizeof(buf), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += buf;
  }
  return out;
}

template <class T>
std::string to_string_value(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    return v;
  } else if constexpr (std::is_same_v<T, bool>) {
    return v ? "True" : "False";
  } else if constexpr (kIsFloat<T>) {
    return format_float(v);
  } else {
    return std::to_string(v);
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Parses a whole string as F (a float type or an integer type); false if anything is left.
template <class F>
bool parse_number(std::string_view s, F& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);  // from_chars rejects a leading '+'
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

template <class T>
Status from_string(const std::string& text, T& out) {
  const std::string_view s = trim(text);
  if constexpr (std::is_same_v<T, bool>) {
    if (equals_ignore_case(s, "true")) {
      out = true;
      return Status::ok();
    }
    if (equals_ignore_case(s, "false") || s.empty()) {
      out = false;
      return Status::ok();
    }
    double d = 0;
    if (parse_number(s, d)) {
      out = d != 0;
      return Status::ok();
    }
  } else if constexpr (kIsInt<T>) {
    using Wide = std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>;
    Wide w = 0;
    if (parse_number(s, w)) {
      out = static_cast<T>(w);
      return Status::ok();
    }
    double d = 0;
    if (parse_number(s, d)) {
      out = elementwise::float_to_int<T>(d);
      return Status::ok();
    }
  } else {
    // float32 parses as float so that the shortest digits map back to the same float.
    using P = std::conditional_t<std::is_same_v<T, double>, double, float>;
    P p = 0;
    if (parse_number(s, p)) {
      out = to_storage<T>(p);
      return Status::ok();
    }
  }
  return invalid_argument("Cast cannot parse \"" + text + "\" as " +
                          std::string(dtype_name(dtype_of<T>)));
}

using CastTypes = NumericBoolTypes;

Result<Tensor> cast_tensor(const Tensor& x, DType to) {
  Tensor out(to, x.shape());
  const int64_t n = x.size();
  Status s;
  if (x.dtype() == DType::kString) {
    const std::string* in = x.data<std::string>();
    s = dispatch<AllTypes>(to, "Cast", [&](auto tag) -> Status {
      using To = typename decltype(tag)::type;
      if constexpr (std::is_same_v<To, std::string>) {
        for (int64_t i = 0; i < n; ++i) out.data<std::string>()[i] = in[i];
        return Status::ok();
      } else if constexpr (std::is_same_v<To, std::complex<float>> ||
                           std::is_same_v<To, std::complex<double>>) {
        return unsupported("Cast from string to complex is not supported");
      } else {
        To* po = out.data<To>();
        for (int64_t i = 0; i < n; ++i) ER_RETURN_IF_ERROR(from_string(in[i], po[i]));
        return Status::ok();
      }
    });
  } else if (to == DType::kString) {
    std::string* po = out.data<std::string>();
    s = dispatch<CastTypes>(x.dtype(), "Cast", [&](auto tag) -> Status {
      using From = typename decltype(tag)::type;
      const From* in = x.data<From>();
      for (int64_t i = 0; i < n; ++i) po[i] = to_string_value(in[i]);
      return Status::ok();
    });
  } else {
    s = dispatch<CastTypes>(x.dtype(), "Cast input", [&](auto from_tag) -> Status {
      using From = typename decltype(from_tag)::type;
      return dispatch<CastTypes>(to, "Cast output", [&](auto to_tag) -> Status {
        using To = typename decltype(to_tag)::type;
        const From* in = x.data<From>();
        To* po = out.data<To>();
        for (int64_t i = 0; i < n; ++i) po[i] = convert<To, From>(in[i]);
        return Status::ok();
      });
    });
  }
  if (!s.is_ok()) return s;
  return out;
}

// Opset 1 named the target type with a string ("FLOAT", "INT64", ...).
std::optional<DType> dtype_from_legacy_name(std::string_view name) {
  static constexpr std::pair<std::string_view, DType> kNames[] = {
      {"FLOAT", DType::kFloat32},   {"UINT8", DType::kUInt8},     {"INT8", DType::kInt8},
      {"UINT16", DType::kUInt16},   {"INT16", DType::kInt16},     {"INT32", DType::kInt32},
      {"INT64", DType::kInt64},     {"STRING", DType::kString},   {"BOOL", DType::kBool},
      {"FLOAT16", DType::kFloat16}, {"DOUBLE", DType::kFloat64},  {"UINT32", DType::kUInt32},
      {"UINT64", DType::kUInt64},   {"BFLOAT16", DType::kBFloat16},
  };
  for (const auto& [n, d] : kNames) {
    if (equals_ignore_case(n, name)) return d;
  }
  return std::nullopt;
}

}  // namespace

Status kernel_Cast(KernelContext& ctx) {
  const ir::Attribute* to_attr = ctx.node().find_attr("to");
  if (to_attr == nullptr) return invalid_model("Cast needs the 'to' attribute");
  DType to = DType::kUndefined;
  if (to_attr->type == ir::AttrType::kString) {
    const std::optional<DType> d = dtype_from_legacy_name(to_attr->s);
    if (!d) return invalid_argument("Cast 'to' names an unknown type \"" + to_attr->s + "\"");
    to = *d;
  } else {
    const int64_t v = to_attr->i;
    const DType d = static_cast<DType>(v);
    if (v <= 0 || v > 16 || d == DType::kComplex64 || d == DType::kComplex128) {
      return unsupported("Cast to type " + std::to_string(v) + " is not supported");
    }
    to = d;
  }
  ER_ASSIGN_OR_RETURN(Tensor out, cast_tensor(ctx.input(0), to));
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

Status kernel_CastLike(KernelContext& ctx) {
  ER_ASSIGN_OR_RETURN(Tensor out, cast_tensor(ctx.input(0), ctx.input(1).dtype()));
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

}  // namespace edgerun::reference
