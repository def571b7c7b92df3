// The team of edgerun's own threads that shares a run's split convolutions (team.h).
#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "backends/onednn/split_work.h"
#include "backends/onednn/team.h"

namespace edgerun::onednn {
namespace {

// Runs `count` tasks on `team` and returns how often each index ran and on how many threads.
struct Tally {
  std::vector<std::atomic<int>> runs;
  std::mutex mutex;
  std::set<std::thread::id> threads;
  explicit Tally(int count) : runs(static_cast<size_t>(count)) {}
  void operator()(int k) {
    runs[static_cast<size_t>(k)].fetch_add(1);
    std::lock_guard<std::mutex> lock(mutex);
    threads.insert(std::this_thread::get_id());
  }
  bool each_once() const {
    for (const auto& r : runs) {
      if (r.load() != 1) return false;
    }
    return true;
  }
};

TEST(Team, RunsEveryTaskOnceWhileOpen) {
  Team team(2);
  EXPECT_EQ(team.size(), 2);
  Team::Session session(team, 2);
  EXPECT_EQ(Team::open_on_calling_thread(), &team);
  for (int job = 0; job < 200; ++job) {
    Tally tally(1 + job % 7);
    team.run(static_cast<int>(tally.runs.size()), tally);
    ASSERT_TRUE(tally.each_once()) << "job " << job;
  }
}

TEST(Team, TheHelperTakesPartWhenTheCallerIsBusy) {
  Team team(2);
  Team::Session session(team, 2);
  // Each task waits until both have started: it finishes only if the helper claimed the other.
  std::atomic<int> started{0};
  auto task = [&](int) {
    started.fetch_add(1);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (started.load() < 2 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::yield();
    }
  };
  team.run(2, task);
  EXPECT_EQ(started.load(), 2);
}

// claim_over_threads (split_work.h): every task once, over an open team, over OpenMP's threads
// (a late thread's tasks go to the other), and on the caller alone inside a parallel region.
TEST(Team, ClaimOverThreadsRunsEveryTaskOnceWhereverItRuns) {
  {
    Team team(2);
    Team::Session session(team, 2);
    Tally tally(37);
    claim_over_threads(tally.runs.size(), tally);
    EXPECT_TRUE(tally.each_once());
  }
  const int previous = omp_get_max_threads();
  omp_set_num_threads(2);
  {
    // The first task holds its thread until every other task has run: they all finish only if
    // the tasks are claimed, not dealt in fixed halves.
    Tally tally(9);
    std::atomic<int> done{0};
    auto task = [&](int k) {
      if (k == 0) {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (done.load() < 8 && std::chrono::steady_clock::now() < give_up) {
          std::this_thread::yield();
        }
        EXPECT_EQ(done.load(), 8);
      }
      tally(k);
      done.fetch_add(1);
    };
    claim_over_threads(tally.runs.size(), task);
    EXPECT_TRUE(tally.each_once());
    EXPECT_EQ(tally.threads.size(), 2u);
  }
  {
    Tally tally(5);
#pragma omp parallel num_threads(2)
    {
#pragma omp single
      claim_over_threads(tally.runs.size(), tally);
    }
    EXPECT_TRUE(tally.each_once());
    EXPECT_EQ(tally.threads.size(), 1u);
  }
  omp_set_num_threads(previous);
}

TEST(Team, WithoutASessionTasksRunOnTheCaller) {
  Team team(3);
  EXPECT_EQ(Team::open_on_calling_thread(), nullptr);
  Tally tally(5);
  team.run(5, tally);
  EXPECT_TRUE(tally.each_once());
  ASSERT_EQ(tally.threads.size(), 1u);
  EXPECT_EQ(*tally.threads.begin(), std::this_thread::get_id());
}

TEST(Team, ASessionOfOneThreadWakesNoHelper) {
  Team team(2);
  Team::Session session(team, 1);  // the run got one core of the budget
  Tally tally(6);
  team.run(6, tally);
  EXPECT_TRUE(tally.each_once());
  EXPECT_EQ(tally.threads.size(), 1u);
}

TEST(Team, ALargerTeamServesFewerThreadsWithOnlyThoseHelpers) {
  std::thread caller([] {
    Team& big = Team::of_calling_thread(3);
    EXPECT_EQ(&Team::of_calling_thread(2), &big);  // not remade for a smaller request
    EXPECT_EQ(big.size(), 3);
    {
      Team::Session all(big, 3);
      for (int job = 0; job < 50; ++job) {
        Tally tally(6);
        big.run(6, tally);
      }
    }
    // Right after a session of three threads, one of two: at most one helper takes part.
    Team::Session two(big, 2);
    std::set<std::thread::id> seen;
    for (int job = 0; job < 200; ++job) {
      Tally tally(6);
      big.run(6, tally);
      EXPECT_TRUE(tally.each_once());
      seen.insert(tally.threads.begin(), tally.threads.end());
    }
    EXPECT_LE(seen.size(), 2u);
  });
  caller.join();
}

TEST(Team, ATaskThrowingReachesTheCallerAfterTheOthersFinish) {
  Team team(2);
  Team::Session session(team, 2);
  std::atomic<int> finished{0};
  auto task = [&](int k) {
    if (k == 3) throw std::runtime_error("task 3 failed");
    finished.fetch_add(1);
  };
  try {
    team.run(8, task);
    FAIL() << "the exception was lost";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "task 3 failed");
  }
  EXPECT_EQ(finished.load(), 7);
  // The team is still usable.
  Tally tally(4);
  team.run(4, tally);
  EXPECT_TRUE(tally.each_once());
}

TEST(Team, EachCallingThreadHasItsOwnTeam) {
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c) {
    callers.emplace_back([&] {
      Team& team = Team::of_calling_thread(2);
      if (&Team::of_calling_thread(2) != &team) ++failures;
      for (int run = 0; run < 50; ++run) {
        Team::Session session(team, 2);
        Tally tally(3);
        team.run(3, tally);
        if (!tally.each_once()) ++failures;
      }
      if (Team::open_on_calling_thread() != nullptr) ++failures;  // closed with the session
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace edgerun::onednn
