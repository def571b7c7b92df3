#include "measurements.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>

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
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    uint64_t kib = 0;
    std::string unit;
    if (fields >> kib >> unit && unit == "kB") return kib * 1024;
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace edgerun::cli
