// The counters of one prepared model: outcomes by failure kind, latency histograms and time per
// backend. Recording is lock-free (relaxed atomics), so it stays on for every run.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "edgerun/edgerun.hpp"
#include "runtime/latency_histogram.h"

namespace edgerun::runtime {

class Telemetry {
 public:
  static constexpr size_t kMaxBackends = 8;

  // `backends`: every backend a step may run on, the reference included.
  explicit Telemetry(std::vector<std::string> backends);

  void record_prepare(double ms) { prepare_us_.store(static_cast<uint64_t>(ms * 1000)); }
  void record_compile(bool ok, uint64_t nanoseconds);
  void record_run_ok(uint64_t nanoseconds);
  void record_run_failed(FailureKind kind);
  // A failure or a reroute inside a run that may still succeed (backend error, fallback, ...).
  void count(FailureKind kind);
  void record_step(std::string_view backend, uint64_t nanoseconds);

  // Counters and latencies; the caller adds placement, breakers and memory.
  TelemetrySnapshot snapshot() const;

 private:
  std::vector<std::string> backends_;
  std::atomic<uint64_t> prepare_us_{0};
  std::atomic<uint64_t> compiles_ok_{0}, compiles_failed_{0};
  std::atomic<uint64_t> runs_ok_{0}, runs_failed_{0};
  std::array<std::atomic<uint64_t>, kFailureKinds> failures_{};
  std::array<std::atomic<uint64_t>, kMaxBackends> step_runs_{};
  std::array<std::atomic<uint64_t>, kMaxBackends> step_ns_{};
  LatencyHistogram run_latency_;
  LatencyHistogram compile_latency_;
};

}  // namespace edgerun::runtime
