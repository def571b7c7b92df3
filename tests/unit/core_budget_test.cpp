// Multi-threaded runs share the cores through one budget instead of oversubscribing them.
#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>

#include "edgerun/edgerun.hpp"
#include "runtime/core_budget.h"

namespace edgerun::runtime {
namespace {

TEST(CoreBudget, OneThreadRunsHoldNothingAndNeverWait) {
  CoreBudget budget(2);
  Result<CoreBudget::Lease> all = budget.acquire(2);
  ASSERT_TRUE(all.is_ok());
  Result<CoreBudget::Lease> single = budget.acquire(1);  // would deadlock if it waited
  ASSERT_TRUE(single.is_ok());
  EXPECT_EQ(single.value().cores(), 0);
  EXPECT_EQ(budget.in_use(), 2);
}

TEST(CoreBudget, MoreThreadsThanCoresTakeTheWholeBudget) {
  CoreBudget budget(2);
  Result<CoreBudget::Lease> lease = budget.acquire(8);
  ASSERT_TRUE(lease.is_ok());
  EXPECT_EQ(lease.value().cores(), 2);
  EXPECT_EQ(budget.in_use(), 2);
}

TEST(CoreBudget, ASecondRunWaitsUntilTheCoresAreFree) {
  CoreBudget budget(2);
  std::optional<CoreBudget::Lease> first(budget.acquire(2).value());
  std::atomic<bool> second_started{false}, second_holds{false};
  std::thread second([&] {
    second_started = true;
    Result<CoreBudget::Lease> lease = budget.acquire(2);
    ASSERT_TRUE(lease.is_ok());
    second_holds = true;
  });
  while (!second_started) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(second_holds) << "two 2-thread runs held a 2-core budget at once";
  EXPECT_EQ(budget.in_use(), 2);
  first.reset();
  second.join();
  EXPECT_TRUE(second_holds);
  EXPECT_EQ(budget.in_use(), 0);  // the second lease ended with its thread
}

TEST(CoreBudget, AWaitingRunStopsWhenCancelled) {
  CoreBudget budget(2);
  Result<CoreBudget::Lease> held = budget.acquire(2);
  ASSERT_TRUE(held.is_ok());
  int asked = 0;
  Result<CoreBudget::Lease> waiting = budget.acquire(2, [&]() -> Status {
    return ++asked < 3 ? Status::ok() : Status(StatusCode::kCancelled, "run cancelled");
  });
  ASSERT_FALSE(waiting.is_ok());
  EXPECT_EQ(waiting.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(asked, 3);
  EXPECT_EQ(budget.in_use(), 2);
}

TEST(CoreBudget, MovedLeasesReleaseOnce) {
  CoreBudget budget(4);
  CoreBudget::Lease a = budget.acquire(2).value();
  CoreBudget::Lease b = std::move(a);
  EXPECT_EQ(a.cores(), 0);
  EXPECT_EQ(budget.in_use(), 2);
  CoreBudget::Lease c = budget.acquire(2).value();
  c = std::move(b);  // c's own two cores go back
  EXPECT_EQ(budget.in_use(), 2);
}

TEST(CoreBudget, ConcurrentRunsOfAModelStayWithinTheProcessBudget) {
  Engine engine;
  PrepareOptions options;
  options.threads = 2;
  Result<PreparedModel> model = engine.prepare(
      ModelArtifact::from_file(std::string(EDGERUN_SOURCE_DIR) + "/models/demo_cnn.onnx"),
      options);
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  const Tensor image = Tensor::from_vector<float>({1, 3, 32, 32}, std::vector<float>(3072, 0.25f));
  const std::vector<float> expected = model.value().run({{"image", image}}).value().begin()
                                          ->second.to_vector<float>();
  std::atomic<int> running{3};
  std::atomic<int> most{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        Result<TensorMap> out = model.value().run({{"image", image}});
        ASSERT_TRUE(out.is_ok()) << out.status().to_string();
        EXPECT_EQ(out.value().begin()->second.to_vector<float>(), expected);
      }
      --running;
    });
  }
  while (running > 0) {
    most = std::max(most.load(), CoreBudget::process().in_use());
    std::this_thread::yield();
  }
  for (std::thread& t : callers) t.join();
  EXPECT_LE(most, CoreBudget::process().cores());
  EXPECT_EQ(CoreBudget::process().in_use(), 0);
}

}  // namespace
}  // namespace edgerun::runtime
