#include "runtime/telemetry.h"

namespace edgerun {

std::string_view failure_kind_name(FailureKind kind) {
  switch (kind) {
    case FailureKind::kCompileError: return "compile_error";
    case FailureKind::kSchemaMismatch: return "schema_mismatch";
    case FailureKind::kTimeout: return "timeout";
    case FailureKind::kCancelled: return "cancelled";
    case FailureKind::kMemoryPressure: return "memory_pressure";
    case FailureKind::kBackendError: return "backend_error";
    case FailureKind::kNumericFault: return "numeric_fault";
    case FailureKind::kFallback: return "fallback";
    case FailureKind::kOther: return "run_error";
  }
  return "run_error";
}

namespace runtime {

Telemetry::Telemetry(std::vector<std::string> backends) : backends_(std::move(backends)) {
  if (backends_.size() > kMaxBackends) backends_.resize(kMaxBackends);
}

void Telemetry::record_compile(bool ok, uint64_t nanoseconds) {
  (ok ? compiles_ok_ : compiles_failed_).fetch_add(1, std::memory_order_relaxed);
  if (ok) compile_latency_.record(nanoseconds);
}

void Telemetry::record_run_ok(uint64_t nanoseconds) {
  runs_ok_.fetch_add(1, std::memory_order_relaxed);
  run_latency_.record(nanoseconds);
}

void Telemetry::record_run_failed(FailureKind kind) {
  runs_failed_.fetch_add(1, std::memory_order_relaxed);
  count(kind);
}

void Telemetry::count(FailureKind kind) {
  failures_[static_cast<size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
}

void Telemetry::record_step(std::string_view backend, uint64_t nanoseconds) {
  // A handful of names: a linear scan is cheaper than hashing.
  for (size_t i = 0; i < backends_.size(); ++i) {
    if (backends_[i] == backend) {
      step_runs_[i].fetch_add(1, std::memory_order_relaxed);
      step_ns_[i].fetch_add(nanoseconds, std::memory_order_relaxed);
      return;
    }
  }
}

TelemetrySnapshot Telemetry::snapshot() const {
  TelemetrySnapshot s;
  s.prepares = 1;
  s.prepare_ms = static_cast<double>(prepare_us_.load()) / 1000.0;
  s.compiles_ok = compiles_ok_.load(std::memory_order_relaxed);
  s.compiles_failed = compiles_failed_.load(std::memory_order_relaxed);
  s.runs_ok = runs_ok_.load(std::memory_order_relaxed);
  s.runs_failed = runs_failed_.load(std::memory_order_relaxed);
  for (size_t k = 0; k < kFailureKinds; ++k) {
    s.failures[std::string(failure_kind_name(static_cast<FailureKind>(k)))] =
        failures_[k].load(std::memory_order_relaxed);
  }
  s.run_latency = run_latency_.summary();
  s.compile_latency = compile_latency_.summary();
  uint64_t total_ns = 0;
  for (size_t i = 0; i < backends_.size(); ++i) total_ns += step_ns_[i].load();
  for (size_t i = 0; i < backends_.size(); ++i) {
    BackendShare share;
    share.backend = backends_[i];
    share.step_runs = step_runs_[i].load(std::memory_order_relaxed);
    const uint64_t ns = step_ns_[i].load(std::memory_order_relaxed);
    share.run_ms = static_cast<double>(ns) / 1e6;
    share.time_share = total_ns == 0 ? 0 : static_cast<double>(ns) / static_cast<double>(total_ns);
    s.backends.push_back(std::move(share));
  }
  return s;
}

}  // namespace runtime
}  // namespace edgerun
