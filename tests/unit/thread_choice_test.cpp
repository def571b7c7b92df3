// Prepare's timed choice between one thread and T, on a fake clock: which way it decides, and
// how much timing it spends.
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "backends/onednn/thread_choice.h"

namespace edgerun::onednn {
namespace {

// A node whose runs take `one_us` on one thread and `many_us` on more, on a clock that only
// those runs advance; `extra` adds time to chosen runs (by index) to play noise.
struct FakeNode {
  FakeNode(double one, double many, std::vector<double> noise = {})
      : one_us(one), many_us(many), extra(std::move(noise)) {}

  double one_us = 0;
  double many_us = 0;
  std::vector<double> extra;
  double clock = 0;
  std::vector<int> runs;  // thread count of each run, in order

  ThreadTiming choose(int threads, const ThreadTimingLimits& limits = {}) {
    return choose_threads(
        threads,
        [this](int count) {
          const size_t index = runs.size();
          runs.push_back(count);
          clock += count == 1 ? one_us : many_us;
          if (index < extra.size()) clock += extra[index];
        },
        [this] { return clock; }, limits);
  }
};

TEST(ThreadChoice, KeepsTheThreadsWhenTheyAreClearlyFaster) {
  FakeNode node{100, 60};
  const ThreadTiming t = node.choose(2);
  EXPECT_EQ(t.threads, 2);
  EXPECT_DOUBLE_EQ(t.one_us, 100);
  EXPECT_DOUBLE_EQ(t.many_us, 60);
}

TEST(ThreadChoice, OneThreadWhenMoreAreSlower) {
  FakeNode node{40, 240};  // the wake-up of a passive team costs more than the work
  EXPECT_EQ(node.choose(2).threads, 1);
}

TEST(ThreadChoice, ATieOrASmallGainGoesToOneThread) {
  FakeNode tie{100, 100};
  EXPECT_EQ(tie.choose(2).threads, 1);
  FakeNode small_gain{100, 95};  // 5%: not worth taking a core from everything else
  EXPECT_EQ(small_gain.choose(2).threads, 1);
  FakeNode enough{100, 85};
  EXPECT_EQ(enough.choose(4).threads, 4);
}

TEST(ThreadChoice, AlternatesAfterAnUntimedWarmUpPair) {
  FakeNode node{10, 8};
  const ThreadTiming t = node.choose(3);
  ASSERT_GE(node.runs.size(), 6u);
  for (size_t i = 0; i < node.runs.size(); ++i) EXPECT_EQ(node.runs[i], i % 2 == 0 ? 1 : 3);
  EXPECT_EQ(static_cast<int>(node.runs.size()), 2 + 2 * t.pairs);
}

TEST(ThreadChoice, TheBestTimeOfEachWaySoNoiseCannotFlipIt) {
  // The warm-up pair is very slow and the one-thread run of the first timed pair is delayed;
  // the later pairs show that one thread is faster.
  FakeNode node{50, 80, {5000, 5000, 500}};
  const ThreadTiming t = node.choose(2);
  EXPECT_EQ(t.threads, 1);
  EXPECT_DOUBLE_EQ(t.one_us, 50);
  EXPECT_DOUBLE_EQ(t.many_us, 80);
}

TEST(ThreadChoice, TheBudgetBoundsTheTimingOfSlowNodes) {
  ThreadTimingLimits limits;
  limits.budget_us = 3000;
  FakeNode slow{2000, 1200};  // the warm-up pair alone spends the budget
  const ThreadTiming t = slow.choose(2, limits);
  EXPECT_EQ(t.pairs, limits.min_pairs);
  EXPECT_EQ(t.threads, 2);
  FakeNode quick{10, 20};
  EXPECT_EQ(quick.choose(2, limits).pairs, limits.max_pairs);
}

TEST(ThreadChoice, OneThreadAskedForIsNotTimed) {
  FakeNode node{10, 5};
  const ThreadTiming t = node.choose(1);
  EXPECT_EQ(t.threads, 1);
  EXPECT_TRUE(node.runs.empty());
}

}  // namespace
}  // namespace edgerun::onednn
