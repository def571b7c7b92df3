// What a PreparedModel holds. Immutable after prepare, except the specialisation cache, which
// is guarded by its own mutex so concurrent runs stay safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "backends/backend.h"
#include "edgerun/edgerun.hpp"
#include "ir/graph.h"
#include "runtime/circuit_breaker.h"
#include "runtime/event_log.h"
#include "runtime/program.h"
#include "runtime/telemetry.h"

namespace edgerun {

struct PreparedModel::Impl {
  std::shared_ptr<const ir::Model> model;
  PrepareOptions options;
  std::vector<std::unique_ptr<Backend>> owned_backends;
  std::vector<const Backend*> backends;  // placement priority order
  IoSchema schema;
  CapabilityReport capabilities;

  // Programs specialised to concrete input shapes, keyed by the shapes in input order. Bounded
  // so that a caller cycling through shapes cannot grow memory without limit.
  static constexpr size_t kMaxSpecialisations = 32;
  mutable std::mutex mutex;
  mutable std::map<std::vector<Shape>, std::shared_ptr<const runtime::Program>> specialisations;
  mutable std::vector<std::vector<Shape>> specialisation_order;  // oldest first
  // The program the last run used: a run with the same input shapes takes it without building a
  // key or locking the cache. Cleared when that program is discarded.
  mutable std::atomic<std::shared_ptr<const runtime::Program>> last_program;

  // `at_prepare`: the first build, inside prepare, before any run; only it lets backends give
  // back the copies of the weights they pack.
  Result<std::shared_ptr<const runtime::Program>> specialise(const std::vector<Shape>& shapes,
                                                             bool at_prepare = false) const;
  // Drops `program` from the cache (a run on it passed its deadline): the next run with its
  // shapes compiles a fresh one instead of reusing one in an unknown state.
  void discard(const runtime::Program* program) const;

  // How a run ended, for the telemetry: its failure kind when it failed, its time when not.
  struct RunOutcome {
    FailureKind kind = FailureKind::kOther;
    uint64_t nanoseconds = 0;
  };
  // Binds, specialises and runs on the calling thread. `used` (optional) receives the program
  // as soon as it is chosen, so a caller that gives up waiting can discard it. The outcome is
  // left for the caller to record: only it knows whether anyone still waits for the result.
  // With a `profile`, the run's steps and nodes are recorded there.
  Result<ValueMap> execute(const ValueMap& inputs, const RunControl& control,
                           std::function<void(std::shared_ptr<const runtime::Program>)> used,
                           RunOutcome* outcome, Profile* profile = nullptr) const;
  // The same for PreparedModel::run_into: inputs and outputs are the caller's tensors, bound
  // (not copied) into the run.
  Status execute_into(const TensorMap& inputs, TensorMap& outputs, const RunControl& control,
                      RunOutcome* outcome, Profile* profile = nullptr) const;
  // The specialisation for `inputs` (graph order; Values or tensor pointers): the last run's
  // when their shapes match, else the cached or a newly built one.
  template <class Inputs>
  Result<std::shared_ptr<const runtime::Program>> program_for(const Inputs& inputs) const;
  runtime::RunContext run_context(const RunControl& control, Profile* profile) const;
  // Trips the breakers of `program` when the process is past SafetyOptions::memory_limit_bytes.
  void check_memory_limit(const runtime::Program& program) const;
  // Counts a finished run in the telemetry and the event log.
  void record_outcome(const Status& status, const RunOutcome& outcome) const;

  // The safety rails (docs/safety.md). The fallback reference compiles every accelerated
  // partition a second time, whether or not "reference" is in the allow-list.
  SafetyOptions safety;
  std::unique_ptr<Backend> fallback_reference;
  std::unique_ptr<runtime::EventLog> log;
  std::unique_ptr<runtime::Telemetry> telemetry;
  // One breaker per accelerated partition (backend + nodes), shared by the specialisations.
  mutable std::mutex breaker_mutex;
  mutable std::map<std::pair<std::string, std::vector<size_t>>,
                   std::unique_ptr<runtime::CircuitBreaker>>
      breakers;
  runtime::CircuitBreaker* breaker_for(const Backend& backend,
                                       const std::vector<size_t>& nodes) const;

  // Runs whose caller stopped waiting (deadline, cancel) and that have not finished yet. Shared
  // with those runs, which count themselves out after they let go of this Impl.
  std::shared_ptr<std::atomic<uint64_t>> abandoned_runs =
      std::make_shared<std::atomic<uint64_t>>(0);
};

}  // namespace edgerun
