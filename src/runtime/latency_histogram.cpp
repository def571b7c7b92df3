#include "runtime/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace edgerun::runtime {
namespace {

int bucket_of(uint64_t ns) {
  const double us = static_cast<double>(ns) / 1000.0;
  if (us <= 1.0) return 0;
  const int b = 1 + static_cast<int>(std::log2(us) * LatencyHistogram::kBucketsPerOctave);
  return std::min(b, LatencyHistogram::kBuckets - 1);
}

// The geometric middle of bucket b, in ms.
double bucket_middle_ms(int b) {
  if (b == 0) return 0.001;
  const double lower_log2_us = static_cast<double>(b - 1) / LatencyHistogram::kBucketsPerOctave;
  const double middle = lower_log2_us + 0.5 / LatencyHistogram::kBucketsPerOctave;
  return std::exp2(middle) / 1000.0;
}

}  // namespace

void LatencyHistogram::record(uint64_t nanoseconds) {
  buckets_[static_cast<size_t>(bucket_of(nanoseconds))].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  uint64_t seen = max_ns_.load(std::memory_order_relaxed);
  while (nanoseconds > seen &&
         !max_ns_.compare_exchange_weak(seen, nanoseconds, std::memory_order_relaxed)) {
  }
}

double LatencyHistogram::percentile_ms(double quantile) const {
  uint64_t total = 0;
  std::array<uint64_t, kBuckets> counts;
  for (int b = 0; b < kBuckets; ++b) {
    counts[static_cast<size_t>(b)] = buckets_[static_cast<size_t>(b)].load(std::memory_order_relaxed);
    total += counts[static_cast<size_t>(b)];
  }
  if (total == 0) return 0;
  // The rank of the value at `quantile`, 1-based: p99 of 10 values is the 10th.
  const auto rank = static_cast<uint64_t>(std::ceil(quantile * static_cast<double>(total)));
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += counts[static_cast<size_t>(b)];
    if (seen >= std::max<uint64_t>(rank, 1)) {
      // Never report more than the largest value actually seen.
      const double max_ms = static_cast<double>(max_ns_.load(std::memory_order_relaxed)) / 1e6;
      return std::min(bucket_middle_ms(b), max_ms);
    }
  }
  return static_cast<double>(max_ns_.load(std::memory_order_relaxed)) / 1e6;
}

LatencySummary LatencyHistogram::summary() const {
  LatencySummary s;
  s.count = count();
  s.p50_ms = percentile_ms(0.50);
  s.p95_ms = percentile_ms(0.95);
  s.p99_ms = percentile_ms(0.99);
  s.max_ms = static_cast<double>(max_ns_.load(std::memory_order_relaxed)) / 1e6;
  return s;
}

void LatencyHistogram::reset() {
  for (auto& b : buckets_) b.store(0, std::memory_order_relaxed);
  count_.store(0, std::memory_order_relaxed);
  max_ns_.store(0, std::memory_order_relaxed);
}

}  // namespace edgerun::runtime
