#include "measurements.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "runtime/process_memory.h"

namespace edgerun::cli {
namespace {

double nearest_rank(const std::vector<double>& sorted, double percent) {
  const auto rank =
      static_cast<size_t>(std::ceil(percent / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

LatencySummary summarize_latencies(std::vector<double> samples_ms) {
  LatencySummary summary;
  if (samples_ms.empty()) return summary;
  std::sort(samples_ms.begin(), samples_ms.end());
  summary.runs = samples_ms.size();
  summary.min_ms = samples_ms.front();
  summary.max_ms = samples_ms.back();
  summary.p50_ms = nearest_rank(samples_ms, 50);
  summary.p95_ms = nearest_rank(samples_ms, 95);
  summary.p99_ms = nearest_rank(samples_ms, 99);
  summary.mean_ms = std::accumulate(samples_ms.begin(), samples_ms.end(), 0.0) /
                    static_cast<double>(samples_ms.size());
  return summary;
}

std::optional<uint64_t> peak_rss_bytes() {
  const uint64_t high_water = runtime::read_process_memory().rss_high_water_bytes;
  return high_water > 0 ? std::optional<uint64_t>(high_water) : std::nullopt;
}

}  // namespace edgerun::cli
