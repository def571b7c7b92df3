// Latency percentiles in fixed memory: a log-scale histogram of atomic counters, so recording
// from many threads costs a few atomic adds and no lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "edgerun/edgerun.hpp"

namespace edgerun::runtime {

class LatencyHistogram {
 public:
  // Four buckets per power of two from 1 us up to about 2^28 us (4.5 minutes); a percentile is
  // reported as its bucket's geometric middle, so it is within about 10 % of the truth.
  static constexpr int kBucketsPerOctave = 4;
  static constexpr int kBuckets = 28 * kBucketsPerOctave + 1;

  void record(uint64_t nanoseconds);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  // Latency in ms below which `quantile` (0..1) of the recorded values fall; 0 when empty.
  double percentile_ms(double quantile) const;
  LatencySummary summary() const;
  void reset();

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> max_ns_{0};
};

}  // namespace edgerun::runtime
