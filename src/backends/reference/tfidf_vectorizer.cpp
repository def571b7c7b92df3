// TfIdfVectorizer: counts the (possibly skipping) n-grams of each input row that appear in a
// pool, and writes the counts, optionally weighted, to fixed output coordinates.
//
// An n-gram with skip distance d (d = skips + 1) starting at position i is the items at
// i, i + d, ..., i + (n - 1) d. Every d from 1 to max_skip_count + 1 is scanned; unigrams do not
// depend on d, so they are counted at d = 1 only.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"

namespace edgerun::reference {
namespace {

// The pool, n-grams keyed by their items (strings, or integers for integer inputs), each mapped
// to its n-gram number in pool order.
template <class Item>
using NgramPool = std::map<std::vector<Item>, int64_t>;

// Splits the flat pool into n-grams of 1, 2, ... items as ngram_counts says.
template <class Item>
Result<NgramPool<Item>> build_pool(const std::vector<Item>& pool,
                                   const std::vector<int64_t>& ngram_counts) {
  NgramPool<Item> result;
  const auto pool_size = static_cast<int64_t>(pool.size());
  int64_t id = 0;
  for (size_t level = 0; level < ngram_counts.size(); ++level) {
    const int64_t n = static_cast<int64_t>(level) + 1;
    const int64_t begin = ngram_counts[level];
    const int64_t end = level + 1 < ngram_counts.size() ? ngram_counts[level + 1] : pool_size;
    if (begin < 0 || begin > end || end > pool_size) {
      return invalid_argument("ngram_counts must be non-decreasing starts within the pool of " +
                              std::to_string(pool_size) + " items, got " +
                              std::to_string(begin) + " for " + std::to_string(n) +
                              "-grams followed by " + std::to_string(end));
    }
    if ((end - begin) % n != 0) {
      return invalid_argument("the pool holds " + std::to_string(end - begin) + " items for " +
                              std::to_string(n) + "-grams, which is not a multiple of " +
                              std::to_string(n));
    }
    for (int64_t start = begin; start < end; start += n) {
      std::vector<Item> gram(pool.begin() + start, pool.begin() + start + n);
      if (!result.emplace(std::move(gram), id).second) {
        return invalid_argument("the pool holds the " + std::to_string(n) +
                                "-gram starting at item " + std::to_string(start) + " twice");
      }
      ++id;
    }
  }
  return result;
}

// Adds to counts[id] one for every occurrence of a pool n-gram in row[0, len).
template <class Item>
void count_ngrams(const Item* row, int64_t len, const NgramPool<Item>& pool, int64_t min_n,
                  int64_t max_n, int64_t max_skip, std::vector<int64_t>& counts) {
  std::vector<Item> gram;
  for (int64_t d = 1; d <= max_skip + 1; ++d) {
    const int64_t first_n = d > 1 ? std::max<int64_t>(min_n, 2) : min_n;
    for (int64_t i = 0; i < len; ++i) {
      for (int64_t n = first_n; n <= max_n && i + (n - 1) * d < len; ++n) {
        gram.clear();
        for (int64_t k = 0; k < n; ++k) gram.push_back(row[i + k * d]);
        auto hit = pool.find(gram);
        if (hit != pool.end()) ++counts[static_cast<size_t>(hit->second)];
      }
    }
  }
}

}  // namespace

Status kernel_TfIdfVectorizer(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const DType dt = x.dtype();
  if (dt != DType::kString && dt != DType::kInt32 && dt != DType::kInt64) {
    return invalid_argument("TfIdfVectorizer expects a string, int32 or int64 input, got " +
                            std::string(dtype_name(dt)));
  }
  if (x.rank() != 1 && x.rank() != 2) {
    return invalid_argument("TfIdfVectorizer expects an input of shape [C] or [N, C], got " +
                            shape_to_string(x.shape()));
  }
  const std::string mode = ctx.attr_string("mode", "");
  if (mode != "TF" && mode != "IDF" && mode != "TFIDF") {
    return invalid_argument("mode must be TF, IDF or TFIDF, got '" + mode + "'");
  }
  const int64_t min_n = ctx.attr_int("min_gram_length", 0);
  const int64_t max_n = ctx.attr_int("max_gram_length", 0);
  const int64_t max_skip = ctx.attr_int("max_skip_count", 0);
  if (min_n < 1 || max_n < min_n) {
    return invalid_argument("n-gram lengths must satisfy 1 <= min_gram_length <= "
                            "max_gram_length, got " + std::to_string(min_n) + " and " +
                            std::to_string(max_n));
  }
  if (max_skip < 0) {
    return invalid_argument("max_skip_count must be >= 0, got " + std::to_string(max_skip));
  }
  const std::vector<int64_t> ngram_counts = ctx.attr_ints("ngram_counts");
  const std::vector<int64_t> ngram_indexes = ctx.attr_ints("ngram_indexes");
  const std::vector<float> weights = ctx.attr_floats("weights");
  const std::vector<int64_t> pool_ints = ctx.attr_ints("pool_int64s");
  const std::vector<std::string> pool_strings = ctx.node().attr_strings("pool_strings");
  if (pool_ints.empty() == pool_strings.empty()) {
    return invalid_argument("exactly one of pool_int64s and pool_strings must be set, got " +
                            std::string(pool_ints.empty() ? "neither" : "both"));
  }
  if (pool_strings.empty() == (dt == DType::kString)) {
    return invalid_argument(std::string("a ") + (dt == DType::kString ? "string" : "integer") +
                            " input needs " +
                            (dt == DType::kString ? "pool_strings" : "pool_int64s") +
                            ", got an input of dtype " + std::string(dtype_name(dt)) + " with " +
                            (pool_strings.empty() ? "pool_int64s" : "pool_strings"));
  }

  const int64_t rows = x.rank() == 1 ? 1 : x.dim(0);
  const int64_t len = x.rank() == 1 ? x.dim(0) : x.dim(1);
  int64_t num_ngrams = 0;
  // counts[r * num_ngrams + id]: how often n-gram `id` occurs in row r.
  std::vector<int64_t> counts;
  auto count_all = [&](const auto* data, const auto& pool) -> Status {
    ER_ASSIGN_OR_RETURN(auto grams, build_pool(pool, ngram_counts));
    num_ngrams = static_cast<int64_t>(grams.size());
    counts.assign(static_cast<size_t>(rows * num_ngrams), 0);
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<int64_t> row_counts(static_cast<size_t>(num_ngrams), 0);
      count_ngrams(data + r * len, len, grams, min_n, max_n, max_skip, row_counts);
      std::copy(row_counts.begin(), row_counts.end(), counts.begin() + r * num_ngrams);
    }
    return Status::ok();
  };
  if (dt == DType::kString) {
    ER_RETURN_IF_ERROR(count_all(x.data<std::string>(), pool_strings));
  } else {
    // Integer inputs are matched as int64 against pool_int64s.
    std::vector<int64_t> items(static_cast<size_t>(x.size()));
    for (int64_t i = 0; i < x.size(); ++i) {
      items[static_cast<size_t>(i)] =
          dt == DType::kInt32 ? x.data<int32_t>()[i] : x.data<int64_t>()[i];
    }
    ER_RETURN_IF_ERROR(count_all(items.data(), pool_ints));
  }

  if (static_cast<int64_t>(ngram_indexes.size()) != num_ngrams) {
    return invalid_argument("ngram_indexes must give one output coordinate per pool n-gram (" +
                            std::to_string(num_ngrams) + "), got " +
                            std::to_string(ngram_indexes.size()));
  }
  if (!weights.empty() && static_cast<int64_t>(weights.size()) != num_ngrams) {
    return invalid_argument("weights must hold one weight per pool n-gram (" +
                            std::to_string(num_ngrams) + ") or be empty, got " +
                            std::to_string(weights.size()));
  }
  int64_t width = 0;
  for (int64_t idx : ngram_indexes) {
    if (idx < 0) {
      return invalid_argument("ngram_indexes must be >= 0, got " + std::to_string(idx));
    }
    width = std::max(width, idx + 1);
  }

  Tensor y(DType::kFloat32, x.rank() == 1 ? Shape{width} : Shape{rows, width});
  float* out = y.data<float>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t id = 0; id < num_ngrams; ++id) {
      const int64_t count = counts[static_cast<size_t>(r * num_ngrams + id)];
      if (count == 0) continue;
      const float w = weights.empty() ? 1.0f : weights[static_cast<size_t>(id)];
      // TF: the count; IDF: presence times the weight; TFIDF: the count times the weight.
      float value = static_cast<float>(count);
      if (mode == "IDF") value = w;
      if (mode == "TFIDF") value *= w;
      out[r * width + ngram_indexes[static_cast<size_t>(id)]] += value;
    }
  }
  ctx.set_output(0, y);
  return Status::ok();
}

}  // namespace edgerun::reference
