// Whether a node runs faster on one thread or on T, decided by timing it rather than by a rule.
//
// oneDNN splits a primitive's work over the threads in force when it is created, and every
// multi-threaded primitive opens its own OpenMP region. With passive waiting (which edgerun's
// CLI asks for, so idle workers never spin on a core the caller needs) each region first wakes
// its workers: 25-150 us on a VM, more than many mid-sized convolutions of a mobile CNN take on
// one core. oneDNN's split of such small convolutions also gains little even with hot workers.
// A size rule cannot see either cost, so prepare times the mid-sized nodes both ways and keeps
// the faster: a node is then never slower on T threads than on one.
#pragma once

#include <functional>

namespace edgerun::onednn {

// How prepare decides which nodes run on the calling thread alone when more threads are asked
// for. Nodes too small to pay for waking other threads always do (a size rule).
enum class ThreadChoice {
  kBySize,    // the size rule alone: the same choice on every machine and every prepare
  kMeasured,  // also times mid-sized nodes at 1 and at T threads and keeps the faster (see
              // choose_threads); needs the shapes at compile time
  kTeam,      // kMeasured, except that a partition whose work is mostly nodes the team
              // splits (a CNN's convolutions) runs on a Team of edgerun's own threads
              // (team.h): those nodes are split over it, every other node runs on one thread
};


struct ThreadTiming {
  int threads = 1;      // the choice: 1, or the T it was asked about
  double one_us = 0;    // the best time seen on one thread
  double many_us = 0;   // the best time seen on T threads
  int pairs = 0;        // timed (one thread, T threads) pairs, after the warm-up pair
};

struct ThreadTimingLimits {
  int min_pairs = 2;
  int max_pairs = 4;
  // Timing stops after min_pairs once this much time went into it (warm-up included), so that
  // prepare stays quick for nodes near the upper size bound.
  double budget_us = 2000;
  // T threads must beat one thread by this fraction: they take a core from everything else on
  // the machine (the caller, concurrent runs), so a tie goes to one thread.
  double required_gain = 0.10;
};

// Runs `run(1)` and `run(threads)` alternately (one warm-up pair first, untimed) and returns
// which is faster by the best time of each. Alternating puts the workers to sleep for as long
// as a node of this size keeps them idle in a real run, so the T-thread times include the
// wake-up a real run pays. `now_us` is the clock (steady, microseconds); tests pass a fake one.
// `before_many`, when given, runs before each T-thread run, outside the timed window: the
// caller lets the workers fall asleep as deeply as a real run's longer gaps would.
ThreadTiming choose_threads(int threads, const std::function<void(int)>& run,
                            const std::function<double()>& now_us,
                            const ThreadTimingLimits& limits = {},
                            const std::function<void()>& before_many = {});

// The steady clock in microseconds.
double steady_now_us();

}  // namespace edgerun::onednn
