// Text family: StringNormalizer, TfIdfVectorizer, Unique.
#include <cmath>
#include <limits>
#include <string>

#include "ops/op_test.h"

// The cases brace-initialise OpCall and leave its trailing fields (outputs, domain) defaulted.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgerun::testing {
namespace {

using Strings = std::vector<std::string>;

ir::Attribute strings_attr(std::string name, Strings values) {
  ir::Attribute a;
  a.name = std::move(name);
  a.type = ir::AttrType::kStrings;
  a.strings = std::move(values);
  return a;
}

// Expects the call to fail with a message that contains `text`.
void expect_error(const OpCall& call, const std::string& text) {
  auto r = run_op(call);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find(text), std::string::npos) << r.status().message();
}

// --- StringNormalizer -------------------------------------------------------------------------

TEST(TextOps, StringNormalizerStopwordsCaseSensitiveLower) {
  OpCall c{"StringNormalizer",
           {make<std::string>({4}, {"Monday", "monday", "Tuesday", "WEDNESDAY"})},
           {attr("case_change_action", std::string("LOWER")), attr("is_case_sensitive", int64_t{1}),
            strings_attr("stopwords", {"monday"})},
           10};
  EXPECT_TRUE(tensors_close(run1(c), make<std::string>({3}, {"monday", "tuesday", "wednesday"})));
}

TEST(TextOps, StringNormalizerCaseInsensitiveUpperTwoDim) {
  OpCall c{"StringNormalizer",
           {make<std::string>({1, 3}, {"Monday", "MONDAY", "friday"})},
           {attr("case_change_action", std::string("UPPER")),
            strings_attr("stopwords", {"monDAY"})},
           10};
  EXPECT_TRUE(tensors_close(run1(c), make<std::string>({1, 1}, {"FRIDAY"})));
}

TEST(TextOps, StringNormalizerAllFilteredGivesOneEmptyString) {
  const std::vector<ir::Attribute> a{strings_attr("stopwords", {"a", "b"})};
  EXPECT_TRUE(tensors_close(run1({"StringNormalizer", {make<std::string>({2}, {"a", "B"})}, a, 10}),
                            make<std::string>({1}, {""})));
  EXPECT_TRUE(
      tensors_close(run1({"StringNormalizer", {make<std::string>({1, 1}, {"b"})}, a, 10}),
                    make<std::string>({1, 1}, {""})));
}

TEST(TextOps, StringNormalizerUnicodeWithoutLocale) {
  // Latin-1, Latin Extended-A, Greek (final sigma) and Cyrillic; CJK has no case and stays.
  OpCall upper{"StringNormalizer",
               {make<std::string>({2}, {"straße élan ŀ", "ωμέγας привет ёж 漢字"})},
               {attr("case_change_action", std::string("UPPER")),
                attr("locale", std::string("tr_TR.UTF-8"))},
               10};
  EXPECT_TRUE(tensors_close(run1(upper),
                            make<std::string>({2}, {"STRAßE ÉLAN Ŀ", "ΩΜΈΓΑΣ ПРИВЕТ ЁЖ 漢字"})));
  OpCall lower{"StringNormalizer",
               {make<std::string>({1}, {"ÀÉÎÕÜ ŸŽ ΆΣΩ ЖЇЁ İ"})},
               {attr("case_change_action", std::string("LOWER"))},
               10};
  EXPECT_TRUE(tensors_close(run1(lower), make<std::string>({1}, {"àéîõü ÿž άσω жїё i"})));
  // Case-insensitive stopwords match across scripts too.
  OpCall stop{"StringNormalizer",
              {make<std::string>({2}, {"ПРИВЕТ", "Ωmega"})},
              {strings_attr("stopwords", {"привет"})},
              10};
  EXPECT_TRUE(tensors_close(run1(stop), make<std::string>({1}, {"Ωmega"})));
}

TEST(TextOps, StringNormalizerNoneKeepsBytes) {
  OpCall c{"StringNormalizer", {make<std::string>({2}, {"MiXeD", "\xff raw"})}, {}, 10};
  EXPECT_TRUE(tensors_close(run1(c), make<std::string>({2}, {"MiXeD", "\xff raw"})));
}

TEST(TextOps, StringNormalizerErrors) {
  expect_error({"StringNormalizer", {make<float>({2}, {1, 2})}, {}, 10}, "got float");
  expect_error({"StringNormalizer", {make<std::string>({2, 1}, {"a", "b"})}, {}, 10},
               "[C] or [1, C], got [2, 1]");
  expect_error({"StringNormalizer",
                {make<std::string>({1}, {"a"})},
                {attr("case_change_action", std::string("TITLE"))},
                10},
               "got 'TITLE'");
  expect_error({"StringNormalizer",
                {make<std::string>({1}, {"ab\xc3"})},
                {attr("case_change_action", std::string("LOWER"))},
                10},
               "invalid byte sequence at offset 2");
}

// --- TfIdfVectorizer --------------------------------------------------------------------------

// Four unigrams [2, 3, 5, 4] and three bigrams [5, 6], [7, 8], [6, 7].
std::vector<ir::Attribute> tfidf_attrs(std::string mode, int64_t min_n, int64_t max_n,
                                       int64_t skip) {
  return {attr("mode", std::move(mode)),
          attr("min_gram_length", min_n),
          attr("max_gram_length", max_n),
          attr("max_skip_count", skip),
          attr("ngram_counts", std::vector<int64_t>{0, 4}),
          attr("ngram_indexes", std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}),
          attr("pool_int64s", std::vector<int64_t>{2, 3, 5, 4, 5, 6, 7, 8, 6, 7})};
}

const Tensor kTokens = make<int32_t>({12}, {1, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8});

TEST(TextOps, TfIdfBigramsWithSkips) {
  EXPECT_TRUE(tensors_close(run1({"TfIdfVectorizer", {kTokens}, tfidf_attrs("TF", 2, 2, 0), 9}),
                            make<float>({7}, {0, 0, 0, 0, 1, 1, 1})));
  EXPECT_TRUE(tensors_close(run1({"TfIdfVectorizer", {kTokens}, tfidf_attrs("TF", 2, 2, 5), 9}),
                            make<float>({7}, {0, 0, 0, 0, 1, 3, 1})));
}

TEST(TextOps, TfIdfUnigramsCountedOnceAcrossSkips) {
  EXPECT_TRUE(tensors_close(run1({"TfIdfVectorizer", {kTokens}, tfidf_attrs("TF", 1, 2, 5), 9}),
                            make<float>({7}, {0, 3, 1, 0, 1, 3, 1})));
}

TEST(TextOps, TfIdfBatchInt64) {
  const Tensor x = make<int64_t>({2, 6}, {1, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8});
  EXPECT_TRUE(tensors_close(run1({"TfIdfVectorizer", {x}, tfidf_attrs("TF", 1, 2, 5), 9}),
                            make<float>({2, 7}, {0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1})));
}

TEST(TextOps, TfIdfWeightedModesAndStrings) {
  std::vector<ir::Attribute> a{attr("min_gram_length", int64_t{1}),
                               attr("max_gram_length", int64_t{2}),
                               attr("max_skip_count", int64_t{0}),
                               attr("ngram_counts", std::vector<int64_t>{0, 2}),
                               attr("ngram_indexes", std::vector<int64_t>{2, 0, 1}),
                               attr("weights", std::vector<float>{0.5f, 2.0f, 10.0f}),
                               strings_attr("pool_strings", {"a", "b", "a", "b"})};
  const Tensor x = make<std::string>({5}, {"a", "b", "a", "a", "c"});
  // Counts: "a" 3 (output 2), "b" 1 (output 0), "a b" 1 (output 1).
  a.push_back(attr("mode", std::string("TF")));
  EXPECT_TRUE(tensors_close(run1({"TfIdfVectorizer", {x}, a, 9}), make<float>({3}, {1, 1, 3})));
  a.back() = attr("mode", std::string("IDF"));
  EXPECT_TRUE(
      tensors_close(run1({"TfIdfVectorizer", {x}, a, 9}), make<float>({3}, {2, 10, 0.5})));
  a.back() = attr("mode", std::string("TFIDF"));
  EXPECT_TRUE(
      tensors_close(run1({"TfIdfVectorizer", {x}, a, 9}), make<float>({3}, {2, 10, 1.5})));
}

TEST(TextOps, TfIdfErrors) {
  expect_error({"TfIdfVectorizer", {make<float>({2}, {1, 2})}, tfidf_attrs("TF", 1, 2, 0), 9},
               "got float");
  expect_error({"TfIdfVectorizer", {kTokens}, tfidf_attrs("BM25", 1, 2, 0), 9}, "got 'BM25'");
  expect_error({"TfIdfVectorizer", {kTokens}, tfidf_attrs("TF", 3, 2, 0), 9}, "got 3 and 2");
  expect_error({"TfIdfVectorizer", {make<std::string>({1}, {"a"})}, tfidf_attrs("TF", 1, 2, 0), 9},
               "needs pool_strings");
  auto odd_pool = tfidf_attrs("TF", 1, 2, 0);
  odd_pool.back() = attr("pool_int64s", std::vector<int64_t>{2, 3, 5, 4, 5, 6, 7});
  expect_error({"TfIdfVectorizer", {kTokens}, odd_pool, 9}, "not a multiple of 2");
  auto short_indexes = tfidf_attrs("TF", 1, 2, 0);
  short_indexes[5] = attr("ngram_indexes", std::vector<int64_t>{0, 1});
  expect_error({"TfIdfVectorizer", {kTokens}, short_indexes, 9}, "(7), got 2");
}

// --- Unique -----------------------------------------------------------------------------------

TEST(TextOps, UniqueSortedFlat) {
  auto r = run_op({"Unique", {make<float>({6}, {2, 1, 1, 3, 4, 3})}, {}, 11, 4});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_TRUE(tensors_close(r.value()[0], make<float>({4}, {1, 2, 3, 4})));
  EXPECT_TRUE(tensors_close(r.value()[1], make<int64_t>({4}, {1, 0, 3, 4})));
  EXPECT_TRUE(tensors_close(r.value()[2], make<int64_t>({6}, {1, 0, 0, 2, 3, 2})));
  EXPECT_TRUE(tensors_close(r.value()[3], make<int64_t>({4}, {2, 1, 2, 1})));
}

TEST(TextOps, UniqueUnsortedKeepsFirstOccurrenceOrder) {
  auto r = run_op({"Unique",
                   {make<std::string>({2, 3}, {"b", "a", "b", "c", "a", "d"})},
                   {attr("sorted", int64_t{0})},
                   11,
                   4});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_TRUE(tensors_close(r.value()[0], make<std::string>({4}, {"b", "a", "c", "d"})));
  EXPECT_TRUE(tensors_close(r.value()[1], make<int64_t>({4}, {0, 1, 3, 5})));
  EXPECT_TRUE(tensors_close(r.value()[2], make<int64_t>({6}, {0, 1, 0, 2, 1, 3})));
  EXPECT_TRUE(tensors_close(r.value()[3], make<int64_t>({4}, {2, 2, 1, 1})));
}

TEST(TextOps, UniqueSlicesAlongNegativeAxis) {
  // Columns of [[1, 0, 1], [2, 5, 2]]: (1,2), (0,5), (1,2).
  auto r = run_op({"Unique",
                   {make<int64_t>({2, 3}, {1, 0, 1, 2, 5, 2})},
                   {attr("axis", int64_t{-1})},
                   11,
                   4});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_TRUE(tensors_close(r.value()[0], make<int64_t>({2, 2}, {0, 1, 5, 2})));
  EXPECT_TRUE(tensors_close(r.value()[1], make<int64_t>({2}, {1, 0})));
  EXPECT_TRUE(tensors_close(r.value()[2], make<int64_t>({3}, {1, 0, 1})));
  EXPECT_TRUE(tensors_close(r.value()[3], make<int64_t>({2}, {1, 2})));
}

TEST(TextOps, UniqueNaNsCollapseAndSortLast) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto r = run_op({"Unique", {make<float>({4}, {nan, 1, nan, -1})}, {}, 11, 4});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_TRUE(tensors_close(r.value()[0], make<float>({3}, {-1, 1, nan})));
  EXPECT_TRUE(tensors_close(r.value()[3], make<int64_t>({3}, {1, 1, 2})));
}

TEST(TextOps, UniqueErrors) {
  expect_error({"Unique", {make<float>({2}, {1, 2})}, {attr("axis", int64_t{1})}, 11, 4},
               "axis");
  expect_error({"Unique", {make<float>({}, {1})}, {attr("axis", int64_t{0})}, 11, 4},
               "got a scalar");
}

}  // namespace
}  // namespace edgerun::testing
