#include "core/npy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <complex>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace edgerun {
namespace {

const std::string kFixtures = std::string(EDGERUN_SOURCE_DIR) + "/tests/data/npy/";

// A path no other test (or concurrently running test binary) uses.
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("edgerun_npy_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

// Hand-made .npy bytes: magic, version, little-endian header length, header text, data.
std::string npy_bytes(std::string_view header, std::string_view data, int major = 1,
                      int minor = 0) {
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back(static_cast<char>(minor));
  const size_t length_bytes = major == 1 ? 2 : 4;
  for (size_t i = 0; i < length_bytes; ++i) {
    out.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xFF));
  }
  out += header;
  out += data;
  return out;
}

std::string header_for(std::string_view descr, std::string_view shape,
                       std::string_view fortran = "False") {
  return "{'descr': '" + std::string(descr) + "', 'fortran_order': " + std::string(fortran) +
         ", 'shape': " + std::string(shape) + ", }\n";
}

template <class T>
std::string raw_bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Round trips through bytes and through a file; compares storage bytewise so that NaNs and
// float16 bit patterns count as equal exactly when they are identical.
template <class T>
void expect_round_trip(const std::vector<T>& values, const Shape& shape, std::string_view descr) {
  SCOPED_TRACE(std::string(descr));
  const Tensor t = Tensor::from_vector<T>(shape, values);
  Result<std::string> bytes = to_npy_bytes(t);
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  EXPECT_NE(bytes->find("'descr': '" + std::string(descr) + "'"), std::string::npos) << *bytes;

  const std::string path = temp_path(std::string(dtype_name(t.dtype())) + ".npy");
  ASSERT_TRUE(write_npy(path, t).is_ok());
  for (const Result<Tensor>& back : {parse_npy(*bytes, "memory"), read_npy(path)}) {
    ASSERT_TRUE(back.is_ok()) << back.status().to_string();
    EXPECT_EQ(back->dtype(), t.dtype());
    EXPECT_EQ(back->shape(), t.shape());
    ASSERT_EQ(back->nbytes(), t.nbytes());
    EXPECT_EQ(std::memcmp(back->raw_data(), t.raw_data(), t.nbytes()), 0);
  }
  std::filesystem::remove(path);
}

TEST(NpyRoundTrip, EveryNumericDType) {
  expect_round_trip<float>({1.5f, -0.0f, std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(), 1e-40f, 3.0f},
                           {2, 3}, "<f4");
  expect_round_trip<double>({1e300, -2.25, 0.0}, {3}, "<f8");
  expect_round_trip<float16_t>(
      {float16_t(0.5f), float16_t(-65504.0f), float16_t::from_bits(0x7e01)}, {3, 1}, "<f2");
  expect_round_trip<int8_t>({-128, 0, 127}, {3}, "|i1");
  expect_round_trip<int16_t>({-32768, 1, 32767}, {3}, "<i2");
  expect_round_trip<int32_t>({std::numeric_limits<int32_t>::min(), 5}, {2}, "<i4");
  expect_round_trip<int64_t>({std::numeric_limits<int64_t>::min(), -1, 1LL << 40}, {3}, "<i8");
  expect_round_trip<uint8_t>({0, 255}, {2}, "|u1");
  expect_round_trip<uint16_t>({0, 65535}, {1, 2}, "<u2");
  expect_round_trip<uint32_t>({0xDEADBEEFu}, {1}, "<u4");
  expect_round_trip<uint64_t>({std::numeric_limits<uint64_t>::max()}, {1, 1, 1}, "<u8");
  expect_round_trip<bool>({true, false, true, true}, {2, 2}, "|b1");
  expect_round_trip<std::complex<float>>({{1.0f, -2.0f}, {0.5f, 3.0f}}, {2}, "<c8");
  expect_round_trip<std::complex<double>>({{1e-300, 7.0}}, {1}, "<c16");
}

TEST(NpyRoundTrip, ScalarAndZeroSize) {
  expect_round_trip<float>({42.0f}, {}, "<f4");
  expect_round_trip<int64_t>({}, {0}, "<i8");
  expect_round_trip<float>({}, {3, 0, 2}, "<f4");

  const std::string scalar = *to_npy_bytes(Tensor::scalar<float>(1.0f));
  EXPECT_NE(scalar.find("'shape': ()"), std::string::npos);
  const std::string vector = *to_npy_bytes(Tensor(DType::kInt32, {4}));
  EXPECT_NE(vector.find("'shape': (4,)"), std::string::npos);
}

TEST(NpyRoundTrip, StringsAsUtf32) {
  const std::vector<std::string> values = {"a", "", "héllo", "日本語🙂"};
  const Tensor t = Tensor::from_vector<std::string>({2, 2}, values);
  Result<std::string> bytes = to_npy_bytes(t);
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  // The longest element has 5 code points (not 10 UTF-8 bytes).
  EXPECT_NE(bytes->find("'descr': '<U5'"), std::string::npos);
  Result<Tensor> back = parse_npy(*bytes, "memory");
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->dtype(), DType::kString);
  EXPECT_EQ(back->shape(), (Shape{2, 2}));
  EXPECT_EQ(back->to_vector<std::string>(), values);

  // All-empty strings still get a one-character dtype, like numpy's own np.array(['']).
  const std::string empty = *to_npy_bytes(Tensor::from_vector<std::string>({2}, {"", ""}));
  EXPECT_NE(empty.find("'descr': '<U1'"), std::string::npos);
  EXPECT_EQ(parse_npy(empty, "memory")->to_vector<std::string>(),
            (std::vector<std::string>{"", ""}));
}

TEST(NpyWrite, HeaderIsAlignedAndVersion1) {
  const std::string bytes = *to_npy_bytes(Tensor(DType::kFloat32, {2, 3}));
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t header_len =
      static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u);
  EXPECT_EQ(bytes[10 + header_len - 1], '\n');
  EXPECT_EQ(bytes.size(), 10 + header_len + 6 * sizeof(float));
}

TEST(NpyWrite, HugeHeaderUsesVersion2) {
  // 30000 axes of extent 1 make a header longer than version 1.0's uint16 length field.
  const Tensor t(DType::kUInt8, Shape(30000, 1));
  Result<std::string> bytes = to_npy_bytes(t);
  ASSERT_TRUE(bytes.is_ok());
  EXPECT_EQ((*bytes)[6], 2);
  Result<Tensor> back = parse_npy(*bytes, "memory");
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->shape(), t.shape());
}

TEST(NpyWrite, RefusesBFloat16) {
  const Tensor t = Tensor::from_vector<bfloat16_t>({2}, {bfloat16_t(1.0f), bfloat16_t(2.0f)});
  Result<std::string> bytes = to_npy_bytes(t);
  ASSERT_FALSE(bytes.is_ok());
  EXPECT_EQ(bytes.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(bytes.status().message().find("bfloat16"), std::string::npos);

  const std::string path = temp_path("bf16.npy");
  const Status status = write_npy(path, t);
  EXPECT_EQ(status.code(), StatusCode::kUnsupported);
  EXPECT_NE(status.message().find(path), std::string::npos) << status.message();
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(NpyWrite, RefusesUndefinedAndInvalidUtf8) {
  EXPECT_EQ(to_npy_bytes(Tensor()).status().code(), StatusCode::kInvalidArgument);
  for (const std::string bad : {"\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80"}) {
    Result<std::string> bytes = to_npy_bytes(Tensor::from_vector<std::string>({2}, {"ok", bad}));
    ASSERT_FALSE(bytes.is_ok());
    EXPECT_EQ(bytes.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(bytes.status().message().find("element 1"), std::string::npos);
  }
}

TEST(NpyWrite, UnwritablePathIsIoError) {
  const Status status = write_npy("/nonexistent-dir/x.npy", Tensor(DType::kFloat32, {1}));
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_NE(status.message().find("/nonexistent-dir/x.npy"), std::string::npos);
}

// --- Files written by numpy itself (tests/data/npy/make_fixtures.py).

Result<Tensor> fixture(const std::string& name) { return read_npy(kFixtures + name); }

TEST(NpyNumpyFixture, Float32) {
  Result<Tensor> t = fixture("f4_2x3.npy");
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_EQ(t->dtype(), DType::kFloat32);
  EXPECT_EQ(t->shape(), (Shape{2, 3}));
  EXPECT_EQ(t->to_vector<float>(), (std::vector<float>{0, 0.25f, 0.5f, 0.75f, 1.0f, 1.25f}));
}

TEST(NpyNumpyFixture, BigEndianFortranInt32) {
  Result<Tensor> t = fixture("i4_be_fortran_2x3.npy");
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_EQ(t->dtype(), DType::kInt32);
  EXPECT_EQ(t->shape(), (Shape{2, 3}));
  EXPECT_EQ(t->to_vector<int32_t>(), (std::vector<int32_t>{-2, -1, 0, 1, 2, 3}));
}

TEST(NpyNumpyFixture, FortranRank3) {
  Result<Tensor> t = fixture("f8_fortran_2x3x4.npy");
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_EQ(t->shape(), (Shape{2, 3, 4}));
  std::vector<double> expected(24);
  for (int i = 0; i < 24; ++i) expected[static_cast<size_t>(i)] = i;
  EXPECT_EQ(t->to_vector<double>(), expected);
}

TEST(NpyNumpyFixture, FormatVersions2And3) {
  Result<Tensor> u16 = fixture("u2_be_v2.npy");
  ASSERT_TRUE(u16.is_ok()) << u16.status().to_string();
  EXPECT_EQ(u16->dtype(), DType::kUInt16);
  EXPECT_EQ(u16->to_vector<uint16_t>(), (std::vector<uint16_t>{1, 256, 65535}));

  Result<Tensor> i64 = fixture("i8_v3.npy");
  ASSERT_TRUE(i64.is_ok()) << i64.status().to_string();
  EXPECT_EQ(i64->to_vector<int64_t>(), (std::vector<int64_t>{-(1LL << 40), 7}));
}

TEST(NpyNumpyFixture, HalfBoolComplex) {
  Result<Tensor> f16 = fixture("f2_4.npy");
  ASSERT_TRUE(f16.is_ok()) << f16.status().to_string();
  EXPECT_EQ(f16->dtype(), DType::kFloat16);
  std::vector<float> halves;
  for (float16_t h : f16->to_vector<float16_t>()) halves.push_back(h);
  EXPECT_EQ(halves, (std::vector<float>{0.5f, -2.0f, 65504.0f, 0.0f}));

  Result<Tensor> b = fixture("b1_5.npy");
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_EQ(b->dtype(), DType::kBool);
  EXPECT_EQ(b->to_vector<bool>(), (std::vector<bool>{true, false, true, true, false}));

  const std::vector<std::complex<double>> expected = {{1, 2}, {-3.5, -0.25}};
  Result<Tensor> c16 = fixture("c16_be_2.npy");
  ASSERT_TRUE(c16.is_ok()) << c16.status().to_string();
  EXPECT_EQ(c16->dtype(), DType::kComplex128);
  EXPECT_EQ(c16->to_vector<std::complex<double>>(), expected);
  Result<Tensor> c8 = fixture("c8_2.npy");
  ASSERT_TRUE(c8.is_ok()) << c8.status().to_string();
  EXPECT_EQ(c8->dtype(), DType::kComplex64);
  EXPECT_EQ(c8->to_vector<std::complex<float>>(),
            (std::vector<std::complex<float>>{{1, 2}, {-3.5f, -0.25f}}));
}

TEST(NpyNumpyFixture, Strings) {
  Result<Tensor> u = fixture("str_u_2x2.npy");
  ASSERT_TRUE(u.is_ok()) << u.status().to_string();
  EXPECT_EQ(u->dtype(), DType::kString);
  EXPECT_EQ(u->to_vector<std::string>(),
            (std::vector<std::string>{"a", "héllo", "", "日本語🙂"}));

  Result<Tensor> be = fixture("str_u_be_fortran_2x2.npy");
  ASSERT_TRUE(be.is_ok()) << be.status().to_string();
  EXPECT_EQ(be->to_vector<std::string>(), (std::vector<std::string>{"ab", "c", "d", "éf"}));

  Result<Tensor> s = fixture("bytes_s_3.npy");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->to_vector<std::string>(), (std::vector<std::string>{"ab", "", "xyz"}));
}

TEST(NpyNumpyFixture, ScalarAndZeroSize) {
  Result<Tensor> scalar = fixture("f4_scalar.npy");
  ASSERT_TRUE(scalar.is_ok()) << scalar.status().to_string();
  EXPECT_EQ(scalar->rank(), 0);
  EXPECT_EQ(scalar->to_vector<float>(), (std::vector<float>{3.25f}));

  Result<Tensor> empty = fixture("f4_0x3.npy");
  ASSERT_TRUE(empty.is_ok()) << empty.status().to_string();
  EXPECT_EQ(empty->shape(), (Shape{0, 3}));
  EXPECT_EQ(empty->size(), 0);
}

TEST(NpyNumpyFixture, OurBytesMatchNumpysForTheSameArray) {
  // np.save of arange(6, dtype='<f4').reshape(2, 3) / 4, byte for byte.
  std::ifstream in(kFixtures + "f4_2x3.npy", std::ios::binary);
  const std::string numpy_bytes((std::istreambuf_iterator<char>(in)), {});
  Result<Tensor> t = parse_npy(numpy_bytes, "fixture");
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(*to_npy_bytes(*t), numpy_bytes);
}

// --- Hand-made content: odd but valid headers.

TEST(NpyParse, AcceptsHeaderVariants) {
  const std::string data = raw_bytes<int16_t>({1, 2});
  // Double quotes, no trailing comma, reordered keys, Python 2 long, extra whitespace.
  for (const std::string& header :
       {std::string("{\"shape\": (2L,), \"fortran_order\": False, \"descr\": \"<i2\"}"),
        std::string("  {'descr':'<i2','fortran_order':False,'shape':( 2 , )}   \n"),
        header_for("i2", "(2,)")}) {
    Result<Tensor> t = parse_npy(npy_bytes(header, data), "variant");
    ASSERT_TRUE(t.is_ok()) << header << ": " << t.status().to_string();
    EXPECT_EQ(t->to_vector<int16_t>(), (std::vector<int16_t>{1, 2}));
  }
}

TEST(NpyParse, NormalisesBoolBytesAndIgnoresTrailingData) {
  const std::string data("\x00\x01\x07" "extra", 8);
  Result<Tensor> t = parse_npy(npy_bytes(header_for("|b1", "(3,)"), data), "bools");
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  const auto* bytes = static_cast<const uint8_t*>(t->raw_data());
  EXPECT_EQ(bytes[0], 0);
  EXPECT_EQ(bytes[1], 1);
  EXPECT_EQ(bytes[2], 1);
}

// --- Malformed content: each case must fail with the right code and name the source.

struct MalformedCase {
  const char* name;
  std::string bytes;
  StatusCode code;
  const char* message_part;
};

std::vector<MalformedCase> malformed_cases() {
  const std::string f4x2 = raw_bytes<float>({1.0f, 2.0f});
  std::string huge_header = npy_bytes(header_for("<f4", "(2,)"), f4x2, 2);
  // A version 2.0 header length of 2 GiB in a file of a few dozen bytes.
  for (size_t i = 8; i < 11; ++i) huge_header[i] = '\xff';
  huge_header[11] = '\x7f';
  return {
      {"empty", "", StatusCode::kInvalidArgument, "bad magic"},
      {"bad_magic", "\x93NUMPX\x01\x00\x00\x00", StatusCode::kInvalidArgument, "bad magic"},
      {"text_file", "hello world, not numpy", StatusCode::kInvalidArgument, "bad magic"},
      {"no_version", std::string("\x93NUMPY", 6), StatusCode::kInvalidArgument, "no version"},
      {"no_length", std::string("\x93NUMPY\x01\x00\x10", 9), StatusCode::kInvalidArgument,
       "no header length"},
      {"version_4", npy_bytes(header_for("<f4", "(2,)"), f4x2, 4), StatusCode::kUnsupported,
       "version 4.0"},
      {"version_1_1", npy_bytes(header_for("<f4", "(2,)"), f4x2, 1, 1), StatusCode::kUnsupported,
       "version 1.1"},
      {"truncated_header", npy_bytes(header_for("<f4", "(2,)"), "").substr(0, 30),
       StatusCode::kInvalidArgument, "truncated header"},
      {"header_length_4gib", huge_header, StatusCode::kInvalidArgument, "truncated header"},
      {"header_not_dict", npy_bytes("[1, 2, 3]\n", f4x2), StatusCode::kInvalidArgument,
       "not a Python dictionary"},
      {"header_unterminated", npy_bytes("{'descr': '<f4", f4x2), StatusCode::kInvalidArgument,
       "unterminated string"},
      {"header_garbage_after", npy_bytes(header_for("<f4", "(2,)") + "x", f4x2),
       StatusCode::kInvalidArgument, "unexpected text"},
      {"header_key_not_string", npy_bytes("{descr: '<f4'}", f4x2), StatusCode::kInvalidArgument,
       "key is not a string"},
      {"missing_shape", npy_bytes("{'descr': '<f4', 'fortran_order': False}", f4x2),
       StatusCode::kInvalidArgument, "no 'shape'"},
      {"extra_key",
       npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", f4x2),
       StatusCode::kInvalidArgument, "unexpected header key 'x'"},
      {"duplicate_key",
       npy_bytes("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", f4x2),
       StatusCode::kInvalidArgument, "duplicate key"},
      {"unknown_dtype", npy_bytes(header_for("<q4", "(2,)"), f4x2), StatusCode::kInvalidArgument,
       "unknown dtype '<q4'"},
      {"dtype_no_size", npy_bytes(header_for("<f", "(2,)"), f4x2), StatusCode::kInvalidArgument,
       "no item size"},
      {"long_double", npy_bytes(header_for("<f16", "(1,)"), std::string(16, '\0')),
       StatusCode::kUnsupported, "<f16"},
      {"object_dtype", npy_bytes(header_for("|O", "(2,)"), f4x2), StatusCode::kUnsupported,
       "object"},
      {"datetime_dtype", npy_bytes(header_for("<M8[ns]", "(1,)"), f4x2), StatusCode::kUnsupported,
       "datetime"},
      {"structured_dtype",
       npy_bytes("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,)}",
                 f4x2),
       StatusCode::kUnsupported, "structured"},
      {"descr_not_string",
       npy_bytes("{'descr': 4, 'fortran_order': False, 'shape': (2,)}", f4x2),
       StatusCode::kInvalidArgument, "'descr' is not a string"},
      {"fortran_not_bool", npy_bytes(header_for("<f4", "(2,)", "0"), f4x2),
       StatusCode::kInvalidArgument, "'fortran_order'"},
      {"shape_not_tuple", npy_bytes(header_for("<f4", "[2]"), f4x2), StatusCode::kInvalidArgument,
       "'shape' is not a tuple"},
      {"shape_not_int", npy_bytes(header_for("<f4", "(2.5,)"), f4x2),
       StatusCode::kInvalidArgument, "expected ',' or ')'"},
      {"negative_dim", npy_bytes(header_for("<f4", "(2, -3)"), f4x2),
       StatusCode::kInvalidArgument, "negative dimension -3"},
      {"dim_overflows_int64", npy_bytes(header_for("<f4", "(99999999999999999999,)"), f4x2),
       StatusCode::kInvalidArgument, "does not fit"},
      {"count_overflows_int64",
       npy_bytes(header_for("<f4", "(0, 4294967296, 4294967296)"), f4x2),
       StatusCode::kInvalidArgument, "too many elements"},
      {"data_truncated", npy_bytes(header_for("<f4", "(3,)"), f4x2), StatusCode::kInvalidArgument,
       "data truncated"},
      {"data_huge_shape", npy_bytes(header_for("<f8", "(1000000000, 1000000)"), f4x2),
       StatusCode::kInvalidArgument, "data truncated"},
      {"strings_huge_shape", npy_bytes(header_for("<U100", "(100000000,)"), f4x2),
       StatusCode::kInvalidArgument, "data truncated"},
      {"zero_width_string", npy_bytes(header_for("<U0", "(1000000000000,)"), ""),
       StatusCode::kInvalidArgument, "zero-width"},
      {"invalid_code_point",
       npy_bytes(header_for("<U1", "(2,)"), raw_bytes<uint32_t>({0x41, 0x110000})),
       StatusCode::kInvalidArgument, "string element 1"},
      {"surrogate_code_point", npy_bytes(header_for("<U1", "(1,)"), raw_bytes<uint32_t>({0xD800})),
       StatusCode::kInvalidArgument, "invalid code point"},
  };
}

TEST(NpyMalformed, EveryCaseFailsCleanlyFromBytes) {
  for (const MalformedCase& c : malformed_cases()) {
    SCOPED_TRACE(c.name);
    Result<Tensor> t = parse_npy(c.bytes, std::string("case-") + c.name);
    ASSERT_FALSE(t.is_ok());
    EXPECT_EQ(t.status().code(), c.code) << t.status().to_string();
    EXPECT_NE(t.status().message().find(std::string("case-") + c.name), std::string::npos)
        << t.status().message();
    EXPECT_NE(t.status().message().find(c.message_part), std::string::npos)
        << t.status().message();
  }
}

TEST(NpyMalformed, EveryCaseFailsCleanlyFromFile) {
  for (const MalformedCase& c : malformed_cases()) {
    SCOPED_TRACE(c.name);
    const std::string path = temp_path(std::string(c.name) + ".npy");
    write_file(path, c.bytes);
    Result<Tensor> t = read_npy(path);
    std::filesystem::remove(path);
    ASSERT_FALSE(t.is_ok());
    EXPECT_EQ(t.status().code(), c.code) << t.status().to_string();
    EXPECT_NE(t.status().message().find(path), std::string::npos) << t.status().message();
    EXPECT_NE(t.status().message().find(c.message_part), std::string::npos)
        << t.status().message();
  }
}

TEST(NpyMalformed, EveryTruncationOfAValidFileFails) {
  const std::string good = *to_npy_bytes(Tensor::from_vector<double>({3}, {1, 2, 3}));
  for (size_t n = 0; n < good.size(); ++n) {
    Result<Tensor> t = parse_npy(std::string_view(good).substr(0, n), "prefix");
    EXPECT_FALSE(t.is_ok()) << "prefix of " << n << " bytes parsed";
    if (!t.is_ok()) {
      EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << n;
    }
  }
}

TEST(NpyMalformed, MissingFileAndDirectoryAreIoErrors) {
  const std::string missing = temp_path("does-not-exist.npy");
  Result<Tensor> t = read_npy(missing);
  ASSERT_FALSE(t.is_ok());
  EXPECT_EQ(t.status().code(), StatusCode::kIoError);
  EXPECT_NE(t.status().message().find(missing), std::string::npos);

  Result<Tensor> dir = read_npy(std::filesystem::temp_directory_path().string());
  ASSERT_FALSE(dir.is_ok());
  EXPECT_EQ(dir.status().code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace edgerun
