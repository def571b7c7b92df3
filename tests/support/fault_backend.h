// A backend that misbehaves on purpose, for the safety-rail tests: it claims chosen ops, runs
// them with the reference kernels, and on chosen runs fails, writes NaN, hangs until released
// or sleeps first. It exists only in the test binary and reaches a model only through
// EngineOptions::extra_backends.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "backends/backend.h"

namespace edgerun::testing {

enum class Fault { kNone, kFail, kNaN, kHang, kSlow };

// Which runs misbehave and how; shared by the test and every executable the backend compiles.
// Runs are counted across them from 0.
class FaultPlan {
 public:
  // Every run from now on, unless a run has its own entry.
  void set_default(Fault fault);
  void set_run(uint64_t run, Fault fault);
  void set_slow_duration(std::chrono::milliseconds duration);
  // Wakes every hung run, now and later (a hang after this does not wait).
  void release_hangs();
  uint64_t runs() const;

  // For FaultExecutable.
  uint64_t next_run();
  Fault fault_for(uint64_t run) const;
  std::chrono::milliseconds slow_duration() const;
  void wait_until_released();

 private:
  mutable std::mutex mutex_;
  std::condition_variable released_cv_;
  bool released_ = false;
  uint64_t runs_ = 0;
  Fault default_ = Fault::kNone;
  std::map<uint64_t, Fault> per_run_;
  std::chrono::milliseconds slow_{30};
};

class FaultBackend final : public Backend {
 public:
  FaultBackend(std::shared_ptr<FaultPlan> plan, std::set<std::string> ops)
      : plan_(std::move(plan)), ops_(std::move(ops)) {}

  std::string_view name() const override { return "fault"; }
  bool supports(const ir::Node& node, const ir::Graph& graph, const ValueTypes& types,
                std::string* why_not) const override;
  bool is_compute_heavy(const ir::Node&) const override { return true; }
  Result<std::unique_ptr<Executable>> compile(const Partition& partition) const override;

 private:
  std::shared_ptr<FaultPlan> plan_;
  std::set<std::string> ops_;
};

// An EngineOptions with a FaultBackend claiming `ops` and following `plan`.
EngineOptions engine_with_faults(std::shared_ptr<FaultPlan> plan, std::set<std::string> ops);

}  // namespace edgerun::testing
