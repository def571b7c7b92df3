// Timing and memory figures shared by `run` and `bench`.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace edgerun::cli {

inline double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// Latencies of repeated runs, in milliseconds. Percentiles are nearest-rank (the smallest
// sample with at least p% of the samples at or below it), as ONNX Runtime's benchmarks report
// them, so the two sides of a comparison count alike.
struct LatencySummary {
  size_t runs = 0;
  double min_ms = 0;
  double p50_ms = 0;
  double p95_ms = 0;
  double p99_ms = 0;
  double mean_ms = 0;
  double max_ms = 0;
};
// All zeros for no samples.
LatencySummary summarize_latencies(std::vector<double> samples_ms);

// The process's peak resident set (VmHWM in /proc/self/status); nullopt where it cannot be read.
std::optional<uint64_t> peak_rss_bytes();

}  // namespace edgerun::cli
