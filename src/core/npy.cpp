#include "core/npy.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <utility>
#include <vector>

namespace edgerun {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr bool kHostBigEndian = std::endian::native == std::endian::big;
// The longest preamble (version 2.0/3.0): magic, two version bytes, a uint32 header length.
constexpr size_t kMaxPreamble = 12;
// np.save pads the header so the data starts 64-byte aligned, which lets readers mmap it.
constexpr size_t kDataAlignment = 64;

std::string npy_prefix(std::string_view what) { return "npy '" + std::string(what) + "': "; }

Status malformed(std::string_view what, std::string_view problem) {
  return invalid_argument(npy_prefix(what) + std::string(problem));
}

// How array elements are laid out in the file, and what they become in memory.
enum class ElementKind { kNumeric, kUnicode, kBytes };

struct ElementFormat {
  DType dtype = DType::kUndefined;
  ElementKind kind = ElementKind::kNumeric;
  size_t file_itemsize = 0;
  // Width of the units to byte-swap (a complex number swaps each half separately); 0 = none.
  size_t swap_width = 0;
};

struct Header {
  std::string descr;
  ElementFormat format;
  Shape shape;
  bool fortran_order = false;
  size_t data_offset = 0;
  size_t data_bytes = 0;
};

void swap_bytes(char* data, size_t width, size_t count) {
  for (size_t i = 0; i < count; ++i, data += width) std::reverse(data, data + width);
}

// --- The header: a Python dict literal written by repr(), e.g.
//     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// Only the subset numpy emits is accepted; anything else is reported, never guessed at.

struct HeaderValue {
  enum class Type { kString, kBool, kTuple, kOther };
  Type type = Type::kOther;
  std::string text;  // the string, or the raw token for kOther
  bool flag = false;
  std::vector<int64_t> ints;
};

class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  // Returns an empty string on success, otherwise what is wrong with the header.
  std::string parse(std::map<std::string, HeaderValue>* entries) {
    skip_space();
    if (!consume('{')) return "header is not a Python dictionary literal";
    skip_space();
    if (!consume('}')) {
      while (true) {
        skip_space();
        std::string key;
        if (!parse_string(&key)) return error_.empty() ? "dictionary key is not a string" : error_;
        skip_space();
        if (!consume(':')) return "expected ':' after key '" + key + "'";
        skip_space();
        HeaderValue value;
        if (!parse_value(&value)) return error_;
        if (!entries->emplace(key, std::move(value)).second) return "duplicate key '" + key + "'";
        skip_space();
        if (consume('}')) break;
        if (!consume(',')) return "expected ',' or '}' after the value of '" + key + "'";
        skip_space();
        if (consume('}')) break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) return "unexpected text after the header dictionary";
    return {};
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  bool consume(char c) {
    if (peek() != c || at_end()) return false;
    ++pos_;
    return true;
  }
  void skip_space() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
      ++pos_;
    }
  }

  bool parse_string(std::string* out) {
    const char quote = peek();
    if (quote != '\'' && quote != '"') return false;
    ++pos_;
    while (!at_end() && peek() != quote) {
      // The dtype strings numpy writes never need escapes; keep the escaped character as is.
      if (peek() == '\\') ++pos_;
      if (at_end()) break;
      out->push_back(text_[pos_++]);
    }
    if (!consume(quote)) {
      error_ = "unterminated string in header";
      return false;
    }
    return true;
  }

  bool parse_int(int64_t* out) {
    const bool negative = consume('-');
    if (!std::isdigit(static_cast<unsigned char>(peek()))) {
      error_ = "expected an integer in the shape tuple";
      return false;
    }
    uint64_t value = 0;
    while (std::isdigit(static_cast<unsigned char>(peek()))) {
      const uint64_t digit = static_cast<uint64_t>(text_[pos_++] - '0');
      if (value > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - digit) / 10) {
        error_ = "shape dimension does not fit in 64 bits";
        return false;
      }
      value = value * 10 + digit;
    }
    // Python 2 era numpy wrote longs as "3L".
    if (peek() == 'L' || peek() == 'l') ++pos_;
    *out = negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
    return true;
  }

  bool parse_tuple(std::vector<int64_t>* out) {
    ++pos_;  // '('
    skip_space();
    if (consume(')')) return true;
    while (true) {
      skip_space();
      int64_t value = 0;
      if (!parse_int(&value)) return false;
      out->push_back(value);
      skip_space();
      if (consume(')')) return true;
      if (!consume(',')) {
        error_ = "expected ',' or ')' in the shape tuple";
        return false;
      }
      skip_space();
      if (consume(')')) return true;
    }
  }

  // Lists and nested dicts only occur in structured dtypes, which are rejected later with a
  // clearer message than a parse error, so they are skipped here as one opaque token.
  bool skip_nested(HeaderValue* value) {
    const size_t start = pos_;
    int depth = 0;
    while (!at_end()) {
      const char c = peek();
      if (c == '\'' || c == '"') {
        std::string ignored;
        if (!parse_string(&ignored)) return false;
        continue;
      }
      ++pos_;
      if (c == '[' || c == '(' || c == '{') ++depth;
      if (c == ']' || c == ')' || c == '}') --depth;
      if (depth == 0) {
        value->text = std::string(text_.substr(start, pos_ - start));
        return true;
      }
    }
    error_ = "unbalanced brackets in header";
    return false;
  }

  bool parse_value(HeaderValue* value) {
    const char c = peek();
    if (c == '\'' || c == '"') {
      value->type = HeaderValue::Type::kString;
      return parse_string(&value->text);
    }
    if (c == '(') {
      value->type = HeaderValue::Type::kTuple;
      return parse_tuple(&value->ints);
    }
    if (c == '[' || c == '{') return skip_nested(value);
    const size_t start = pos_;
    while (!at_end() && (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_' ||
                         peek() == '-' || peek() == '.')) {
      ++pos_;
    }
    value->text = std::string(text_.substr(start, pos_ - start));
    if (value->text.empty()) {
      error_ = "unexpected character '" + std::string(1, c) + "' in header";
      return false;
    }
    if (value->text == "True" || value->text == "False") {
      value->type = HeaderValue::Type::kBool;
      value->flag = value->text == "True";
    }
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

// Parses a numpy dtype string such as "<f4", ">i8", "|b1" or "<U12".
Result<ElementFormat> parse_descr(std::string_view descr, std::string_view what) {
  const std::string context = "dtype '" + std::string(descr) + "'";
  std::string_view rest = descr;
  char order = '=';
  if (!rest.empty() && (rest[0] == '<' || rest[0] == '>' || rest[0] == '|' || rest[0] == '=')) {
    order = rest[0];
    rest.remove_prefix(1);
  }
  if (rest.empty()) return malformed(what, "empty " + context);
  const char kind = rest[0];
  rest.remove_prefix(1);
  // numpy kinds edgerun has no dtype for; their item sizes carry units ("M8[ns]"), so they are
  // recognised before the size is parsed.
  if (kind == 'm' || kind == 'M' || kind == 'O' || kind == 'V') {
    return unsupported(npy_prefix(what) + context +
                       " (datetime, timedelta, object or void) is not supported");
  }
  uint64_t size = 0;
  if (kind == '?' && rest.empty()) {
    size = 1;  // the one-character code for bool
  } else {
    if (rest.empty()) return malformed(what, context + " has no item size");
    for (char c : rest) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || size > (1u << 30)) {
        return malformed(what, "unknown " + context);
      }
      size = size * 10 + static_cast<uint64_t>(c - '0');
    }
  }
  const bool file_big_endian = order == '>' || (order != '<' && kHostBigEndian);
  const bool swap = file_big_endian != kHostBigEndian;

  ElementFormat f;
  f.file_itemsize = static_cast<size_t>(size);
  auto numeric = [&](DType dtype, size_t unit) -> Result<ElementFormat> {
    f.dtype = dtype;
    f.kind = ElementKind::kNumeric;
    f.swap_width = swap && unit > 1 ? unit : 0;
    return f;
  };
  auto unsupported_size = [&]() -> Status {
    return unsupported(npy_prefix(what) + context + " (" + std::to_string(size * 8) +
                       "-bit) has no edgerun dtype");
  };
  switch (kind) {
    case 'f':
      if (size == 2) return numeric(DType::kFloat16, 2);
      if (size == 4) return numeric(DType::kFloat32, 4);
      if (size == 8) return numeric(DType::kFloat64, 8);
      return unsupported_size();
    case 'i':
      if (size == 1) return numeric(DType::kInt8, 1);
      if (size == 2) return numeric(DType::kInt16, 2);
      if (size == 4) return numeric(DType::kInt32, 4);
      if (size == 8) return numeric(DType::kInt64, 8);
      return unsupported_size();
    case 'u':
      if (size == 1) return numeric(DType::kUInt8, 1);
      if (size == 2) return numeric(DType::kUInt16, 2);
      if (size == 4) return numeric(DType::kUInt32, 4);
      if (size == 8) return numeric(DType::kUInt64, 8);
      return unsupported_size();
    case 'b':
    case '?':
      if (size == 1) return numeric(DType::kBool, 1);
      return malformed(what, "unknown " + context);
    case 'c':
      if (size == 8) return numeric(DType::kComplex64, 4);
      if (size == 16) return numeric(DType::kComplex128, 8);
      return unsupported_size();
    case 'U':
    case 'S':
    case 'a':
      // numpy never creates zero-width strings, and allowing them would let a tiny file
      // declare billions of elements that occupy no bytes.
      if (size == 0) return malformed(what, "zero-width string " + context);
      f.dtype = DType::kString;
      f.kind = kind == 'U' ? ElementKind::kUnicode : ElementKind::kBytes;
      f.file_itemsize = static_cast<size_t>(kind == 'U' ? size * 4 : size);
      f.swap_width = kind == 'U' && swap ? 4 : 0;
      return f;
    default:
      return malformed(what, "unknown " + context);
  }
}

// Validates the preamble and returns where the header text lies: [offset, offset + length).
Result<std::pair<size_t, size_t>> parse_preamble(std::string_view head, uint64_t total_size,
                                                 std::string_view what) {
  if (head.size() < kMagic.size() || head.substr(0, kMagic.size()) != kMagic) {
    return malformed(what, "not a .npy file (bad magic string)");
  }
  if (head.size() < kMagic.size() + 2) return malformed(what, "truncated header (no version)");
  const auto major = static_cast<uint8_t>(head[6]);
  const auto minor = static_cast<uint8_t>(head[7]);
  if (major < 1 || major > 3 || minor != 0) {
    return unsupported(npy_prefix(what) + "format version " + std::to_string(major) + "." +
                       std::to_string(minor) + " is not supported (1.0, 2.0 and 3.0 are)");
  }
  const size_t length_bytes = major == 1 ? 2 : 4;
  const size_t offset = kMagic.size() + 2 + length_bytes;
  if (head.size() < offset) return malformed(what, "truncated header (no header length)");
  uint64_t length = 0;
  for (size_t i = 0; i < length_bytes; ++i) {
    length |= static_cast<uint64_t>(static_cast<uint8_t>(head[8 + i])) << (8 * i);
  }
  if (length > total_size - offset) {
    return malformed(what, "truncated header: it declares " + std::to_string(length) +
                               " bytes but only " + std::to_string(total_size - offset) +
                               " follow the preamble");
  }
  return std::make_pair(offset, static_cast<size_t>(length));
}

// Parses the header text and checks the declared data against the bytes available, so that
// nothing is allocated for a size the file cannot back.
Result<Header> parse_header(std::string_view text, size_t data_offset, uint64_t total_size,
                            std::string_view what) {
  std::map<std::string, HeaderValue> entries;
  if (std::string problem = HeaderParser(text).parse(&entries); !problem.empty()) {
    return malformed(what, problem);
  }
  for (const auto& [key, value] : entries) {
    if (key != "descr" && key != "fortran_order" && key != "shape") {
      return malformed(what, "unexpected header key '" + key + "'");
    }
  }
  for (const char* key : {"descr", "fortran_order", "shape"}) {
    if (!entries.count(key)) return malformed(what, std::string("header has no '") + key + "'");
  }
  Header h;
  const HeaderValue& descr = entries["descr"];
  if (descr.type != HeaderValue::Type::kString) {
    if (!descr.text.empty() && descr.text[0] == '[') {
      return unsupported(npy_prefix(what) + "structured dtypes are not supported (descr " +
                         descr.text + ")");
    }
    return malformed(what, "'descr' is not a string");
  }
  h.descr = descr.text;
  ER_ASSIGN_OR_RETURN(h.format, parse_descr(descr.text, what));
  if (entries["fortran_order"].type != HeaderValue::Type::kBool) {
    return malformed(what, "'fortran_order' is not True or False");
  }
  h.fortran_order = entries["fortran_order"].flag;
  if (entries["shape"].type != HeaderValue::Type::kTuple) {
    return malformed(what, "'shape' is not a tuple");
  }
  h.shape = entries["shape"].ints;

  // Overflow-checked element count. Zero dims are skipped so that the product of the rest
  // bounds every partial product shape_size() will form, in whatever order.
  uint64_t nonzero_product = 1;
  bool has_zero = false;
  for (int64_t d : h.shape) {
    if (d < 0) {
      return malformed(what, "negative dimension " + std::to_string(d) + " in shape " +
                                 shape_to_string(h.shape));
    }
    if (d == 0) {
      has_zero = true;
      continue;
    }
    if (nonzero_product > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) /
                              static_cast<uint64_t>(d)) {
      return malformed(what, "shape " + shape_to_string(h.shape) + " has too many elements");
    }
    nonzero_product *= static_cast<uint64_t>(d);
  }
  const uint64_t count = has_zero ? 0 : nonzero_product;
  const uint64_t available = total_size - data_offset;
  if (count > 0 && count > available / h.format.file_itemsize) {
    return malformed(what, "data truncated: shape " + shape_to_string(h.shape) + " of " +
                               h.descr + " needs more than the " + std::to_string(available) +
                               " bytes that follow the header");
  }
  h.data_offset = data_offset;
  h.data_bytes = static_cast<size_t>(count * h.format.file_itemsize);
  return h;
}

bool append_utf8(uint32_t cp, std::string* out) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return true;
}

// Strict UTF-8 decoding (no overlong forms, no surrogates); calls emit(code_point) per
// character and returns false at the first invalid sequence.
template <class Emit>
bool decode_utf8(std::string_view s, Emit&& emit) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<uint8_t>(s[i]);
    size_t extra = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if (b0 < 0x80) {
      cp = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      extra = 1, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      extra = 2, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      extra = 3, cp = b0 & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (extra > 0 && i + extra >= s.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const auto b = static_cast<uint8_t>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    emit(cp);
    i += extra + 1;
  }
  return true;
}

// numpy pads strings shorter than the dtype width with NULs and strips trailing NULs on
// access, so the same is done here (a string's own trailing NULs cannot survive the format).
Status decode_strings(const Header& h, const char* src, Tensor* t, std::string_view what) {
  auto* out = t->data<std::string>();
  const size_t width = h.format.file_itemsize;
  for (int64_t i = 0; i < t->size(); ++i, src += width) {
    std::string& s = out[i];
    if (h.format.kind == ElementKind::kBytes) {
      size_t n = width;
      while (n > 0 && src[n - 1] == '\0') --n;
      s.assign(src, n);
      continue;
    }
    const size_t chars = width / 4;
    std::vector<uint32_t> cps(chars);
    for (size_t k = 0; k < chars; ++k) {
      uint8_t b[4];
      std::memcpy(b, src + 4 * k, 4);
      if (h.format.swap_width != 0) std::reverse(b, b + 4);
      uint32_t cp = 0;
      std::memcpy(&cp, b, 4);
      cps[k] = cp;
    }
    size_t n = chars;
    while (n > 0 && cps[n - 1] == 0) --n;
    for (size_t k = 0; k < n; ++k) {
      if (!append_utf8(cps[k], &s)) {
        return malformed(what, "string element " + std::to_string(i) +
                                   " holds an invalid code point " + std::to_string(cps[k]));
      }
    }
  }
  return Status::ok();
}

// Data in Fortran order is the C-order data of the reversed shape; reversing the axes again
// gives edgerun's row-major layout. `copy(dst_index, src_index)` moves one element.
template <class Copy>
void reverse_axes(const Shape& shape, int64_t count, Copy&& copy) {
  struct Axis {
    int64_t extent = 0;
    int64_t fortran_stride = 1;
    int64_t index = 0;
  };
  std::vector<Axis> axes(shape.size());
  int64_t stride = 1;
  for (size_t j = 0; j < axes.size(); ++j) {
    axes[j].extent = shape[j];
    axes[j].fortran_stride = stride;
    stride *= shape[j];
  }
  int64_t src = 0;
  for (int64_t dst = 0; dst < count; ++dst) {
    copy(dst, src);
    // Odometer over the row-major destination index, last axis fastest.
    for (auto axis = axes.rbegin(); axis != axes.rend(); ++axis) {
      src += axis->fortran_stride;
      if (++axis->index < axis->extent) break;
      src -= axis->fortran_stride * axis->extent;
      axis->index = 0;
    }
  }
}

Tensor to_row_major(const Tensor& fortran_data, const Shape& shape) {
  Tensor out(fortran_data.dtype(), shape);
  if (out.dtype() == DType::kString) {
    const auto* src = fortran_data.data<std::string>();
    auto* dst = out.data<std::string>();
    reverse_axes(shape, out.size(), [&](int64_t d, int64_t s) { dst[d] = src[s]; });
  } else {
    const size_t width = dtype_size(out.dtype());
    const auto* src = static_cast<const char*>(fortran_data.raw_data());
    auto* dst = static_cast<char*>(out.raw_data());
    reverse_axes(shape, out.size(), [&](int64_t d, int64_t s) {
      std::memcpy(dst + static_cast<size_t>(d) * width, src + static_cast<size_t>(s) * width,
                  width);
    });
  }
  return out;
}

// Builds the tensor from the data section; `read(dst, n)` supplies the next n data bytes.
// Numeric data is read straight into the tensor's storage and fixed up in place, so a file is
// never held twice in memory.
template <class Read>
Result<Tensor> decode_data(const Header& h, Read&& read, std::string_view what) {
  Shape storage_shape = h.shape;
  if (h.fortran_order) std::reverse(storage_shape.begin(), storage_shape.end());
  Tensor t(h.format.dtype, storage_shape);
  if (h.format.kind == ElementKind::kNumeric) {
    auto* bytes = static_cast<char*>(t.raw_data());
    if (h.data_bytes > 0) ER_RETURN_IF_ERROR(read(bytes, h.data_bytes));
    if (h.format.swap_width != 0) {
      swap_bytes(bytes, h.format.swap_width, h.data_bytes / h.format.swap_width);
    }
    // A bool byte other than 0 or 1 is undefined behaviour once read as bool.
    if (h.format.dtype == DType::kBool) {
      for (size_t i = 0; i < h.data_bytes; ++i) bytes[i] = bytes[i] != 0 ? 1 : 0;
    }
  } else {
    std::string raw(h.data_bytes, '\0');
    if (h.data_bytes > 0) ER_RETURN_IF_ERROR(read(raw.data(), h.data_bytes));
    ER_RETURN_IF_ERROR(decode_strings(h, raw.data(), &t, what));
  }
  if (h.fortran_order && h.shape.size() > 1) return to_row_major(t, h.shape);
  return t;
}

std::string errno_text() { return errno != 0 ? std::strerror(errno) : "unknown error"; }

}  // namespace

Result<Tensor> parse_npy(std::string_view bytes, std::string_view what) {
  ER_ASSIGN_OR_RETURN(auto header_span, parse_preamble(bytes, bytes.size(), what));
  const auto [offset, length] = header_span;
  ER_ASSIGN_OR_RETURN(Header h, parse_header(bytes.substr(offset, length), offset + length,
                                             bytes.size(), what));
  size_t pos = h.data_offset;
  return decode_data(
      h,
      [&](char* dst, size_t n) {
        std::memcpy(dst, bytes.data() + pos, n);
        pos += n;
        return Status::ok();
      },
      what);
}

Result<Tensor> read_npy(const std::string& path) {
  std::error_code ec;
  const auto file_status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(file_status)) {
    return io_error(npy_prefix(path) + "cannot open: " + (ec ? ec.message() : "no such file"));
  }
  if (!std::filesystem::is_regular_file(file_status)) {
    return io_error(npy_prefix(path) + "cannot open: not a regular file");
  }
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return io_error(npy_prefix(path) + "cannot read its size: " + ec.message());

  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error(npy_prefix(path) + "cannot open: " + errno_text());
  auto read = [&](char* dst, size_t n) -> Status {
    in.read(dst, static_cast<std::streamsize>(n));
    if (static_cast<size_t>(in.gcount()) != n) {
      return io_error(npy_prefix(path) + "read failed (file changed or unreadable): " +
                      errno_text());
    }
    return Status::ok();
  };

  std::string head(static_cast<size_t>(std::min<uint64_t>(size, kMaxPreamble)), '\0');
  ER_RETURN_IF_ERROR(read(head.data(), head.size()));
  ER_ASSIGN_OR_RETURN(auto header_span, parse_preamble(head, size, path));
  const auto [offset, length] = header_span;
  // The preamble read may have run into the header text; keep those bytes and read the rest.
  std::string text = head.substr(offset);
  if (text.size() > length) {
    text.resize(length);
    in.seekg(static_cast<std::streamoff>(offset + length));
  } else {
    const size_t have = text.size();
    text.resize(length);
    ER_RETURN_IF_ERROR(read(text.data() + have, length - have));
  }
  ER_ASSIGN_OR_RETURN(Header h, parse_header(text, offset + length, size, path));
  return decode_data(h, read, path);
}

namespace {

// `prefix` starts every error message: "npy: " or "npy '<path>': ".
Result<std::string> encode(const Tensor& t, const std::string& prefix) {
  const DType dtype = t.dtype();
  std::string descr;
  size_t swap_width = 0;
  size_t max_chars = 0;
  switch (dtype) {
    case DType::kUndefined:
      return invalid_argument(prefix + "cannot write an undefined tensor");
    case DType::kBFloat16:
      return unsupported(prefix +
                         "numpy has no bfloat16 dtype; convert the tensor (e.g. to float32) "
                         "before writing it");
    case DType::kFloat16: descr = "<f2", swap_width = 2; break;
    case DType::kFloat32: descr = "<f4", swap_width = 4; break;
    case DType::kFloat64: descr = "<f8", swap_width = 8; break;
    case DType::kInt8: descr = "|i1"; break;
    case DType::kInt16: descr = "<i2", swap_width = 2; break;
    case DType::kInt32: descr = "<i4", swap_width = 4; break;
    case DType::kInt64: descr = "<i8", swap_width = 8; break;
    case DType::kUInt8: descr = "|u1"; break;
    case DType::kUInt16: descr = "<u2", swap_width = 2; break;
    case DType::kUInt32: descr = "<u4", swap_width = 4; break;
    case DType::kUInt64: descr = "<u8", swap_width = 8; break;
    case DType::kBool: descr = "|b1"; break;
    case DType::kComplex64: descr = "<c8", swap_width = 4; break;
    case DType::kComplex128: descr = "<c16", swap_width = 8; break;
    case DType::kString: {
      const auto* strings = t.data<std::string>();
      for (int64_t i = 0; i < t.size(); ++i) {
        size_t chars = 0;
        if (!decode_utf8(strings[i], [&](uint32_t) { ++chars; })) {
          return invalid_argument(prefix + "string element " + std::to_string(i) +
                                  " is not valid UTF-8");
        }
        max_chars = std::max(max_chars, chars);
      }
      // numpy itself never makes a zero-width string dtype (np.array(['']) is '<U1').
      max_chars = std::max<size_t>(max_chars, 1);
      descr = "<U" + std::to_string(max_chars);
      break;
    }
  }

  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.shape().size(); ++i) {
    dict += (i ? ", " : "") + std::to_string(t.shape()[i]);
  }
  dict += t.shape().size() == 1 ? ",), }" : "), }";
  // Version 1.0 when the header length fits its uint16 field, as np.save does.
  const bool v1 = dict.size() + 1 + 10 + kDataAlignment <= 0xFFFF;
  const size_t preamble = v1 ? 10 : 12;
  const size_t unpadded = preamble + dict.size() + 1;  // + the closing '\n'
  dict.append((kDataAlignment - unpadded % kDataAlignment) % kDataAlignment, ' ');
  dict.push_back('\n');

  std::string out(kMagic);
  out.push_back(static_cast<char>(v1 ? 1 : 2));
  out.push_back('\0');
  const size_t length_bytes = v1 ? 2 : 4;
  for (size_t i = 0; i < length_bytes; ++i) {
    out.push_back(static_cast<char>((dict.size() >> (8 * i)) & 0xFF));
  }
  out += dict;

  const size_t data_start = out.size();
  if (dtype == DType::kString) {
    out.resize(data_start + static_cast<size_t>(t.size()) * max_chars * 4, '\0');
    char* dst = out.data() + data_start;
    const auto* strings = t.data<std::string>();
    for (int64_t i = 0; i < t.size(); ++i) {
      char* cell = dst + static_cast<size_t>(i) * max_chars * 4;
      // Already validated above, so decoding cannot fail here.
      (void)decode_utf8(strings[i], [&](uint32_t cp) {
        for (size_t k = 0; k < 4; ++k) *cell++ = static_cast<char>((cp >> (8 * k)) & 0xFF);
      });
    }
  } else {
    out.append(static_cast<const char*>(t.raw_data()), t.nbytes());
    if (kHostBigEndian && swap_width != 0) {
      swap_bytes(out.data() + data_start, swap_width, t.nbytes() / swap_width);
    }
  }
  return out;
}

}  // namespace

Result<std::string> to_npy_bytes(const Tensor& t) { return encode(t, "npy: "); }

Status write_npy(const std::string& path, const Tensor& t) {
  ER_ASSIGN_OR_RETURN(const std::string bytes, encode(t, npy_prefix(path)));
  errno = 0;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return io_error(npy_prefix(path) + "cannot open for writing: " + errno_text());
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return io_error(npy_prefix(path) + "write failed: " + errno_text());
  return Status::ok();
}

}  // namespace edgerun
