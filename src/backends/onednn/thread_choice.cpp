#include "backends/onednn/thread_choice.h"

#include <algorithm>
#include <chrono>
#include <limits>

namespace edgerun::onednn {

double steady_now_us() {
  return std::chrono::duration<double, std::micro>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

ThreadTiming choose_threads(int threads, const std::function<void(int)>& run,
                            const std::function<double()>& now_us,
                            const ThreadTimingLimits& limits,
                            const std::function<void()>& before_many) {
  ThreadTiming timing;
  if (threads <= 1) return timing;
  const double start = now_us();
  // The first runs touch cold memory and may start the OpenMP workers: not what later runs pay.
  run(1);
  run(threads);
  double best_one = std::numeric_limits<double>::infinity();
  double best_many = best_one;
  // The best of several runs: noise from other processes only ever adds time.
  auto timed = [&](int count) {
    if (count > 1 && before_many) before_many();
    const double t0 = now_us();
    run(count);
    return now_us() - t0;
  };
  while (timing.pairs < limits.max_pairs) {
    best_one = std::min(best_one, timed(1));
    best_many = std::min(best_many, timed(threads));
    ++timing.pairs;
    if (timing.pairs >= limits.min_pairs && now_us() - start >= limits.budget_us) break;
  }
  timing.one_us = best_one;
  timing.many_us = best_many;
  timing.threads = best_many < best_one * (1.0 - limits.required_gain) ? threads : 1;
  return timing;
}

}  // namespace edgerun::onednn
