// The safety rails (docs/safety.md): fallback to the reference, the circuit breaker, deadlines,
// cancellation, the instance pool and telemetry, proven with a backend that fails on purpose.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <thread>

#include "edgerun/edgerun.hpp"
#include "ops/op_test.h"
#include "runtime/latency_histogram.h"
#include "runtime/telemetry_report.h"
#include "support/fault_backend.h"
#include "unit/model_builder.h"

namespace edgerun {
namespace {

using namespace std::chrono_literals;
using testing::Fault;
using testing::FaultPlan;

// y = relu(x + bias): Add on the reference, Relu on the fault backend.
std::string add_relu_bytes() {
  testing::ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 3});
  b.initializer("bias", {3}, {1.0f, -2.0f, 0.5f});
  b.node("Add", {"x", "bias"}, {"sum"}, "add");
  b.node("Relu", {"sum"}, {"y"}, "relu");
  b.output("y");
  return b.bytes();
}

Tensor input() { return testing::make<float>({2, 3}, {1, 1, 1, -5, 3, -1}); }
Tensor expected() { return testing::make<float>({2, 3}, {2, 0, 1.5f, 0, 1, 0}); }

struct Faulty {
  std::shared_ptr<FaultPlan> plan = std::make_shared<FaultPlan>();
  PreparedModel model;
};

Faulty prepare_faulty(SafetyOptions safety = {}) {
  Faulty f;
  Engine engine(testing::engine_with_faults(f.plan, {"Relu"}));
  PrepareOptions options;
  options.backends = {"fault", "reference"};
  options.safety = safety;
  Result<PreparedModel> m = engine.prepare(ModelArtifact::from_bytes(add_relu_bytes()), options);
  EXPECT_TRUE(m.is_ok()) << m.status().to_string();
  if (m.is_ok()) f.model = m.value();
  return f;
}

void expect_correct(const Result<TensorMap>& out) {
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_TRUE(testing::tensors_close(out->at("y"), expected()));
}

// Abandoned runs finish in the background; a test waits for them before it ends.
void wait_for_abandoned(const PreparedModel& model) {
  for (int i = 0; i < 2000 && model.abandoned_runs() > 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(model.abandoned_runs(), 0u);
}

TEST(Safety, FaultBackendRunsThePartition) {
  Faulty f = prepare_faulty();
  EXPECT_EQ(f.model.capabilities().placements[1].backend, "fault");
  expect_correct(f.model.run({{"x", input()}}));
  EXPECT_EQ(f.plan->runs(), 1u);
}

TEST(Safety, FailedStepIsRetriedOnTheReference) {
  Faulty f = prepare_faulty();
  f.plan->set_run(0, Fault::kFail);
  expect_correct(f.model.run({{"x", input()}}));
  const TelemetrySnapshot t = f.model.telemetry();
  EXPECT_EQ(t.runs_ok, 1u);
  EXPECT_EQ(t.failures.at("backend_error"), 1u);
  EXPECT_EQ(t.failures.at("fallback"), 1u);
}

TEST(Safety, NaNWhereTheReferenceIsFiniteIsANumericFault) {
  Faulty f = prepare_faulty();
  f.plan->set_run(0, Fault::kNaN);
  expect_correct(f.model.run({{"x", input()}}));
  const TelemetrySnapshot t = f.model.telemetry();
  EXPECT_EQ(t.failures.at("numeric_fault"), 1u);
  EXPECT_EQ(t.failures.at("fallback"), 1u);
}

TEST(Safety, InfTheReferenceAlsoComputesIsNoFault) {
  Faulty f = prepare_faulty();
  const float inf = std::numeric_limits<float>::infinity();
  Result<TensorMap> out = f.model.run({{"x", testing::make<float>({2, 3}, {inf, 1, 1, 1, 1, 1})}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_TRUE(std::isinf(out->at("y").data<float>()[0]));
  EXPECT_EQ(f.model.telemetry().failures.at("numeric_fault"), 0u);
}

TEST(Safety, BreakerTripsBelowTheSuccessRateAndRoutesToTheReference) {
  Faulty f = prepare_faulty();
  f.plan->set_run(3, Fault::kFail);  // 9 of 10 succeed: 90 % < 95 %
  for (int i = 0; i < 9; ++i) {
    expect_correct(f.model.run({{"x", input()}}));
    EXPECT_EQ(f.model.telemetry().breakers.at(0).state, "closed") << "run " << i;
  }
  expect_correct(f.model.run({{"x", input()}}));
  TelemetrySnapshot t = f.model.telemetry();
  ASSERT_EQ(t.breakers.size(), 1u) << telemetry_to_json(t);
  EXPECT_EQ(t.breakers[0].state, "open");
  EXPECT_EQ(t.breakers[0].backend, "fault");
  EXPECT_EQ(t.breakers[0].trips, 1u);
  EXPECT_NE(t.breakers[0].last_trip_reason.find("success rate 90 %"), std::string::npos)
      << t.breakers[0].last_trip_reason;
  // Open: the accelerator is not called, the caller still gets the right answer.
  expect_correct(f.model.run({{"x", input()}}));
  EXPECT_EQ(f.plan->runs(), 10u);
  t = f.model.telemetry();
  EXPECT_EQ(t.failures.at("fallback"), 2u);  // the retried failure and the rerouted run
  EXPECT_EQ(t.runs_ok, 11u);
}

TEST(Safety, HalfOpenProbeClosesTheBreakerWhenTheAcceleratorRecovers) {
  SafetyOptions safety;
  safety.cool_down = 20ms;
  Faulty f = prepare_faulty(safety);
  f.plan->set_default(Fault::kFail);
  for (int i = 0; i < 10; ++i) expect_correct(f.model.run({{"x", input()}}));
  ASSERT_EQ(f.model.telemetry().breakers.at(0).state, "open");

  // A failing probe opens it again.
  std::this_thread::sleep_for(40ms);
  expect_correct(f.model.run({{"x", input()}}));
  EXPECT_EQ(f.plan->runs(), 11u);
  BreakerSnapshot b = f.model.telemetry().breakers.at(0);
  EXPECT_EQ(b.state, "open");
  EXPECT_EQ(b.trips, 2u);
  EXPECT_NE(b.last_trip_reason.find("probe"), std::string::npos);

  // A healthy probe closes it, and the accelerator runs again.
  f.plan->set_default(Fault::kNone);
  std::this_thread::sleep_for(40ms);
  expect_correct(f.model.run({{"x", input()}}));
  expect_correct(f.model.run({{"x", input()}}));
  EXPECT_EQ(f.plan->runs(), 13u);
  EXPECT_EQ(f.model.telemetry().breakers.at(0).state, "closed");
}

TEST(Safety, AProbeAbandonedAtItsDeadlineLeavesTheNextRunToProbe) {
  SafetyOptions safety;
  safety.cool_down = 1ms;
  Faulty f = prepare_faulty(safety);
  f.plan->set_default(Fault::kFail);
  for (int i = 0; i < 10; ++i) expect_correct(f.model.run({{"x", input()}}));
  ASSERT_EQ(f.model.telemetry().breakers.at(0).state, "open");
  f.plan->set_default(Fault::kNone);
  f.plan->set_run(10, Fault::kHang);  // the probe hangs past its deadline
  std::this_thread::sleep_for(5ms);
  RunOptions options;
  options.timeout = 50ms;
  EXPECT_EQ(f.model.run({{"x", input()}}, options).status().code(), StatusCode::kTimeout);
  f.plan->release_hangs();
  wait_for_abandoned(f.model);
  // The abandoned probe gave no verdict; the next run probes and closes the breaker.
  expect_correct(f.model.run({{"x", input()}}));
  EXPECT_EQ(f.plan->runs(), 12u);
  EXPECT_EQ(f.model.telemetry().breakers.at(0).state, "closed");
}

TEST(Safety, BreakerTripsWhenP99PassesTheLatencyBudgetNTimes) {
  SafetyOptions safety;
  safety.latency_budget_ms = 2;
  safety.latency_budget_breaches = 3;
  Faulty f = prepare_faulty(safety);
  f.plan->set_default(Fault::kSlow);
  f.plan->set_slow_duration(20ms);
  for (int i = 0; i < 2; ++i) expect_correct(f.model.run({{"x", input()}}));
  EXPECT_EQ(f.model.telemetry().breakers.at(0).state, "closed");
  expect_correct(f.model.run({{"x", input()}}));
  const BreakerSnapshot b = f.model.telemetry().breakers.at(0);
  EXPECT_EQ(b.state, "open");
  EXPECT_NE(b.last_trip_reason.find("exceeded the budget of 2 ms on 3 runs"), std::string::npos)
      << b.last_trip_reason;
}

TEST(Safety, BreakerTripsOnTheMemoryLimit) {
  SafetyOptions safety;
  safety.memory_limit_bytes = 1;  // any process is over it
  Faulty f = prepare_faulty(safety);
  expect_correct(f.model.run({{"x", input()}}));
  const TelemetrySnapshot t = f.model.telemetry();
  EXPECT_EQ(t.breakers.at(0).state, "open");
  EXPECT_NE(t.breakers.at(0).last_trip_reason.find("memory"), std::string::npos);
  EXPECT_EQ(t.failures.at("memory_pressure"), 1u);
  EXPECT_GT(t.process_rss_bytes, 0u);
  EXPECT_GE(t.process_rss_high_water_bytes, t.process_rss_bytes);
}

TEST(Safety, ForceAcceleratedKeepsTheBreakerClosed) {
  SafetyOptions safety;
  safety.force_accelerated = true;
  Faulty f = prepare_faulty(safety);
  f.plan->set_default(Fault::kFail);
  for (int i = 0; i < 12; ++i) expect_correct(f.model.run({{"x", input()}}));
  EXPECT_EQ(f.plan->runs(), 12u);  // every run tried the accelerator
  EXPECT_EQ(f.model.telemetry().breakers.at(0).state, "forced");
  EXPECT_EQ(f.model.telemetry().breakers.at(0).trips, 0u);
}

TEST(Safety, ForceAcceleratedFromTheEnvironment) {
  ::setenv("EDGERUN_FORCE_ACCELERATED", "1", 1);
  Faulty f = prepare_faulty();
  ::unsetenv("EDGERUN_FORCE_ACCELERATED");
  f.plan->set_default(Fault::kFail);
  for (int i = 0; i < 12; ++i) expect_correct(f.model.run({{"x", input()}}));
  EXPECT_EQ(f.model.telemetry().breakers.at(0).state, "forced");
}

TEST(Safety, DeadlineHoldsWhenABackendHangs) {
  Faulty f = prepare_faulty();
  f.plan->set_run(0, Fault::kHang);
  EXPECT_EQ(f.model.specialisation_count(), 1u);
  RunOptions options;
  options.timeout = 100ms;
  const auto start = std::chrono::steady_clock::now();
  Result<TensorMap> out = f.model.run({{"x", input()}}, options);
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), StatusCode::kTimeout) << out.status().to_string();
  // The hang lasts until released (up to 30 s): the answer came from the deadline.
  EXPECT_LT(waited, 2s);
  EXPECT_EQ(f.model.abandoned_runs(), 1u);
  // The specialisation of the abandoned run is never reused: the next run rebuilds it.
  EXPECT_EQ(f.model.specialisation_count(), 0u);
  expect_correct(f.model.run({{"x", input()}}, options));
  EXPECT_EQ(f.model.specialisation_count(), 1u);

  f.plan->release_hangs();
  wait_for_abandoned(f.model);
  const TelemetrySnapshot t = f.model.telemetry();
  EXPECT_EQ(t.failures.at("timeout"), 1u);
  EXPECT_EQ(t.runs_ok, 1u);  // the abandoned run's late result is not counted again
  EXPECT_EQ(t.runs_failed, 1u);
}

TEST(Safety, CancelFromAnotherThreadStopsAHungRun) {
  Faulty f = prepare_faulty();
  f.plan->set_run(0, Fault::kHang);
  auto token = std::make_shared<CancellationToken>();
  RunOptions options;
  options.timeout = 60s;
  options.cancellation = token;
  std::thread canceller([token] {
    std::this_thread::sleep_for(20ms);
    token->cancel();
  });
  const auto start = std::chrono::steady_clock::now();
  Result<TensorMap> out = f.model.run({{"x", input()}}, options);
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), StatusCode::kCancelled);
  f.plan->release_hangs();
  wait_for_abandoned(f.model);
  EXPECT_EQ(f.model.telemetry().failures.at("cancelled"), 1u);
}

TEST(Safety, CancelledTokenStopsARunWithoutADeadline) {
  Faulty f = prepare_faulty();
  auto token = std::make_shared<CancellationToken>();
  token->cancel();
  RunOptions options;
  options.cancellation = token;
  Result<TensorMap> out = f.model.run({{"x", input()}}, options);
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(f.plan->runs(), 0u);  // stopped before the first step
}

TEST(Safety, ModelFreedWhileAnAbandonedRunFinishes) {
  Faulty f = prepare_faulty();
  f.plan->set_run(0, Fault::kHang);
  RunOptions options;
  options.timeout = 20ms;
  {
    PreparedModel copy = f.model;
    EXPECT_EQ(copy.run({{"x", input()}}, options).status().code(), StatusCode::kTimeout);
  }
  std::shared_ptr<FaultPlan> plan = f.plan;
  const PreparedModel watcher = f.model;
  f.model = PreparedModel();  // only the abandoned run and `watcher` hold the model now
  plan->release_hangs();
  wait_for_abandoned(watcher);
}

TEST(Safety, PoolRejectsWhenFullAndServesWaiters) {
  Faulty f = prepare_faulty();
  f.plan->set_run(0, Fault::kHang);
  f.plan->set_run(1, Fault::kHang);
  Result<ModelPool> pool = ModelPool::create(f.model, {2, 1});
  ASSERT_TRUE(pool.is_ok()) << pool.status().to_string();
  std::vector<std::thread> callers;
  std::atomic<int> correct{0};
  for (int i = 0; i < 3; ++i) {  // two hang in the slots, one waits in the queue
    callers.emplace_back([&] {
      Result<TensorMap> out = pool->run({{"x", input()}});
      if (out.is_ok() && testing::tensors_close(out->at("y"), expected())) ++correct;
    });
  }
  for (int i = 0; i < 5000 && (pool->running() < 2 || pool->queued() < 1); ++i) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(pool->running(), 2u);
  EXPECT_EQ(pool->queued(), 1u);
  Result<TensorMap> rejected = pool->run({{"x", input()}});
  ASSERT_FALSE(rejected.is_ok());
  EXPECT_EQ(rejected.status().code(), StatusCode::kOverloaded);
  EXPECT_NE(rejected.status().message().find("queue capacity 1"), std::string::npos);
  // A waiting caller with a deadline gives up at it.
  RunOptions wait;
  wait.when_overloaded = WhenOverloaded::kWait;
  wait.timeout = 30ms;
  EXPECT_EQ(pool->run({{"x", input()}}, wait).status().code(), StatusCode::kTimeout);

  f.plan->release_hangs();
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(correct.load(), 3);
  EXPECT_EQ(pool->running(), 0u);
}

TEST(Safety, PoolRejectsBadSizes) {
  Faulty f = prepare_faulty();
  EXPECT_EQ(ModelPool::create(f.model, {5, 1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ModelPool::create(f.model, {0, 1}).status().code(), StatusCode::kInvalidArgument);
}

TEST(Safety, ConcurrentCallersGetEveryAnswerOnceDespiteFaults) {
  SafetyOptions safety;
  safety.cool_down = 1ms;
  Faulty f = prepare_faulty(safety);
  for (uint64_t run = 0; run < 400; run += 3) f.plan->set_run(run, Fault::kFail);
  for (uint64_t run = 1; run < 400; run += 7) f.plan->set_run(run, Fault::kNaN);
  Result<ModelPool> pool = ModelPool::create(f.model, {4, 4});
  ASSERT_TRUE(pool.is_ok());
  constexpr int kThreads = 6, kRunsEach = 20;
  std::atomic<int> correct{0}, failed{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < kRunsEach; ++i) {
        // Each caller sends its own input and must get its own answer back.
        const float v = static_cast<float>(t * 100 + i);
        RunOptions options;
        options.when_overloaded = WhenOverloaded::kWait;
        Result<TensorMap> out =
            pool->run({{"x", testing::make<float>({2, 3}, {v, v, v, v, v, v})}}, options);
        const float shifted = std::max(v - 2, 0.0f);
        const Tensor want =
            testing::make<float>({2, 3}, {v + 1, shifted, v + 0.5f, v + 1, shifted, v + 0.5f});
        if (out.is_ok() && testing::tensors_close(out->at("y"), want)) {
          ++correct;
        } else {
          ++failed;
        }
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(correct.load(), kThreads * kRunsEach);
  EXPECT_EQ(failed.load(), 0);
  const TelemetrySnapshot t = f.model.telemetry();
  EXPECT_EQ(t.runs_ok, static_cast<uint64_t>(kThreads * kRunsEach));
  EXPECT_EQ(t.runs_failed, 0u);
}

TEST(Safety, TelemetryCountsLatencySharesAndCompiles) {
  Faulty f = prepare_faulty();
  for (int i = 0; i < 20; ++i) expect_correct(f.model.run({{"x", input()}}));
  EXPECT_FALSE(f.model.run({{"x", testing::make<float>({2, 2}, {1, 2, 3, 4})}}).is_ok());
  const TelemetrySnapshot t = f.model.telemetry();
  EXPECT_EQ(t.runs_ok, 20u);
  EXPECT_EQ(t.runs_failed, 1u);
  EXPECT_EQ(t.failures.at("schema_mismatch"), 1u);
  EXPECT_EQ(t.compiles_ok, 1u);
  EXPECT_EQ(t.run_latency.count, 20u);
  EXPECT_LE(t.run_latency.p50_ms, t.run_latency.p95_ms);
  EXPECT_LE(t.run_latency.p95_ms, t.run_latency.p99_ms);
  EXPECT_LE(t.run_latency.p99_ms, t.run_latency.max_ms);
  EXPECT_EQ(t.requested_compute_units, "all");
  double node_share = 0, time_share = 0;
  for (const BackendShare& b : t.backends) {
    node_share += b.node_share;
    time_share += b.time_share;
    EXPECT_EQ(b.step_runs, 20u) << b.backend;
  }
  EXPECT_NEAR(node_share, 1.0, 1e-9);
  EXPECT_NEAR(time_share, 1.0, 1e-9);
  const nlohmann::json j = nlohmann::json::parse(telemetry_to_json(t));
  EXPECT_EQ(j["runs"]["ok"], 20);
  EXPECT_EQ(j["failures"]["schema_mismatch"], 1);
  EXPECT_GT(j["memory"]["planned_arena_bytes"].get<uint64_t>(), 0u);
  EXPECT_GE(j["memory"]["arenas"].get<uint64_t>(), 1u);
  EXPECT_NE(telemetry_to_text(t).find("breaker fault (1 nodes): closed"), std::string::npos);
}

TEST(Safety, LatencyHistogramPercentilesAreWithinTheirBucket) {
  runtime::LatencyHistogram h;
  for (int ms = 1; ms <= 100; ++ms) h.record(static_cast<uint64_t>(ms) * 1'000'000);
  EXPECT_NEAR(h.percentile_ms(0.50), 50, 5.5);
  EXPECT_NEAR(h.percentile_ms(0.95), 95, 10);
  EXPECT_NEAR(h.percentile_ms(0.99), 99, 10);
  EXPECT_DOUBLE_EQ(h.summary().max_ms, 100);
  h.reset();
  EXPECT_EQ(h.percentile_ms(0.5), 0);
}

TEST(Safety, EventLogHasOneJsonObjectPerLine) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("edgerun_events_" + std::to_string(::getpid()) + ".jsonl");
  std::filesystem::remove(path);
  {
    SafetyOptions safety;
    safety.event_log_path = path.string();
    Faulty f = prepare_faulty(safety);
    f.plan->set_default(Fault::kFail);
    for (int i = 0; i < 10; ++i) expect_correct(f.model.run({{"x", input()}}));
  }
  std::ifstream in(path);
  std::map<std::string, int> events;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    ++events[j["event"].get<std::string>()];
  }
  std::filesystem::remove(path);
  EXPECT_EQ(events["prepare"], 1);
  EXPECT_EQ(events["compile"], 1);
  EXPECT_EQ(events["run"], 10);
  EXPECT_EQ(events["fallback"], 10);
  EXPECT_EQ(events["breaker_tripped"], 1);
}

}  // namespace
}  // namespace edgerun
