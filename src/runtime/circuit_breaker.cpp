#include "runtime/circuit_breaker.h"

#include <cstdio>

namespace edgerun::runtime {
namespace {

// Past this many runs the counts are halved: the success rate follows recent behaviour instead
// of being diluted by a long healthy past.
constexpr uint64_t kHistoryLimit = 1000;

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3g", value);
  return text;
}

std::string nodes_text(const std::vector<size_t>& nodes) {
  std::string text;
  for (size_t n : nodes) text += (text.empty() ? "" : ",") + std::to_string(n);
  return text;
}

}  // namespace

CircuitBreaker::CircuitBreaker(std::string backend, std::vector<size_t> nodes,
                               const SafetyOptions& options, EventLog* log)
    : backend_(std::move(backend)), nodes_(std::move(nodes)), options_(options), log_(log) {}

CircuitBreaker::Route CircuitBreaker::route() {
  if (options_.force_accelerated || state() == State::kClosed) return Route::kAccelerated;
  std::lock_guard<std::mutex> lock(mutex_);
  if (state_ == State::kOpen && !probe_in_flight_ &&
      Clock::now() - opened_at_ >= options_.cool_down) {
    state_ = State::kHalfOpen;
    probe_in_flight_ = true;
    return Route::kProbe;
  }
  return Route::kReference;
}

void CircuitBreaker::record(Route route, bool ok, uint64_t nanoseconds,
                            const std::string& failure) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (route == Route::kProbe) {
    probe_in_flight_ = false;
    if (ok) {
      state_ = State::kClosed;
      runs_ = failures_ = 0;
      budget_breaches_ = 0;
      latency_.reset();
      log_->write("breaker_closed", {{"backend", backend_}, {"nodes", nodes_text(nodes_)}});
    } else {
      trip_locked("the probe run failed: " + failure);
    }
    return;
  }
  // A run routed while closed that finishes after another run tripped the breaker adds nothing.
  if (state_ != State::kClosed) return;
  ++runs_;
  if (!ok) ++failures_;
  latency_.record(nanoseconds);
  if (runs_ >= kHistoryLimit) {
    runs_ /= 2;
    failures_ /= 2;
  }
  if (options_.force_accelerated) return;
  const double success_rate = static_cast<double>(runs_ - failures_) / static_cast<double>(runs_);
  if (runs_ >= options_.min_runs && success_rate < options_.min_success_rate) {
    trip_locked("success rate " + format_number(success_rate * 100) + " % over " +
                std::to_string(runs_) + " runs is below " +
                format_number(options_.min_success_rate * 100) + " %" +
                (failure.empty() ? "" : "; last failure: " + failure));
    return;
  }
  if (options_.latency_budget_ms > 0 && ok) {
    const double p99 = latency_.percentile_ms(0.99);
    if (p99 > options_.latency_budget_ms && ++budget_breaches_ >= options_.latency_budget_breaches) {
      trip_locked("p99 latency " + format_number(p99) + " ms exceeded the budget of " +
                  format_number(options_.latency_budget_ms) + " ms on " +
                  std::to_string(budget_breaches_) + " runs");
    }
  }
}

void CircuitBreaker::release_probe() {
  std::lock_guard<std::mutex> lock(mutex_);
  probe_in_flight_ = false;
  if (state_ == State::kHalfOpen) state_ = State::kOpen;
}

void CircuitBreaker::trip(const std::string& reason) {
  if (options_.force_accelerated) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (state_ == State::kOpen) return;
  trip_locked(reason);
}

void CircuitBreaker::trip_locked(const std::string& reason) {
  state_ = State::kOpen;
  opened_at_ = Clock::now();
  ++trips_;
  last_trip_reason_ = reason;
  runs_ = failures_ = 0;
  budget_breaches_ = 0;
  latency_.reset();
  log_->write("breaker_tripped",
              {{"backend", backend_}, {"nodes", nodes_text(nodes_)}, {"reason", reason}},
              {{"trips", static_cast<double>(trips_)}});
}

BreakerSnapshot CircuitBreaker::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  BreakerSnapshot s;
  s.backend = backend_;
  s.nodes = nodes_;
  switch (state_.load()) {
    case State::kClosed: s.state = "closed"; break;
    case State::kOpen: s.state = "open"; break;
    case State::kHalfOpen: s.state = "half_open"; break;
  }
  if (options_.force_accelerated) s.state = "forced";
  s.runs = runs_;
  s.failures = failures_;
  s.trips = trips_;
  s.last_trip_reason = last_trip_reason_;
  return s;
}

}  // namespace edgerun::runtime
