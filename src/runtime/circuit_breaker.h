// The circuit breaker of one accelerated partition: it watches the partition's runs and, when
// they fail too often, run too slowly or the process holds too much memory, sends its runs to
// the reference backend until a probe after a cool-down shows the accelerator healthy again.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "edgerun/edgerun.hpp"
#include "runtime/event_log.h"
#include "runtime/latency_histogram.h"

namespace edgerun::runtime {

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  // Where one run of the partition goes. kProbe: the one accelerated run of a half-open breaker.
  enum class Route { kAccelerated, kProbe, kReference };
  using Clock = std::chrono::steady_clock;

  CircuitBreaker(std::string backend, std::vector<size_t> nodes, const SafetyOptions& options,
                 EventLog* log);

  // Closed (or forced) costs one atomic load; open takes the lock to hand out the probe.
  Route route();
  // The outcome of a run that `route()` sent to the accelerator.
  void record(Route route, bool ok, uint64_t nanoseconds, const std::string& failure);
  // A probe that ended without a verdict (its run was cancelled or timed out): the breaker
  // stays open and the next run after the cool-down probes again.
  void release_probe();
  // Opens the breaker now (memory limit, or a test), unless it is forced.
  void trip(const std::string& reason);

  State state() const { return state_.load(std::memory_order_acquire); }
  BreakerSnapshot snapshot() const;

 private:
  void trip_locked(const std::string& reason);

  const std::string backend_;
  const std::vector<size_t> nodes_;
  const SafetyOptions options_;
  EventLog* log_;

  std::atomic<State> state_{State::kClosed};
  mutable std::mutex mutex_;
  // Since the breaker last closed; halved when large, so old history fades.
  uint64_t runs_ = 0;
  uint64_t failures_ = 0;
  uint32_t budget_breaches_ = 0;
  LatencyHistogram latency_;
  uint64_t trips_ = 0;
  std::string last_trip_reason_;
  Clock::time_point opened_at_{};
  bool probe_in_flight_ = false;
};

}  // namespace edgerun::runtime
