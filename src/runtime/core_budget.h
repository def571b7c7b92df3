// The machine's cores as a budget that multi-threaded runs draw their OpenMP threads from.
//
// Each thread that runs a model gets its own OpenMP team. Without a budget, two concurrent runs
// of two threads each put four busy threads on two cores; their barriers then wait for threads
// the scheduler has put aside, and both runs slow down far more than sharing would explain. So a
// run that wants T > 1 threads holds T cores while it runs and waits while other runs hold them.
// One-thread runs start no extra threads and never wait: how many caller threads run at once is
// the caller's choice (ModelPool bounds it).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>

#include "edgerun/status.hpp"

namespace edgerun::runtime {

class CoreBudget {
 public:
  explicit CoreBudget(int cores);
  // The process's budget: one core per physical core (default_thread_count()).
  static CoreBudget& process();

  // Cores held for one run; released when destroyed.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    int cores() const { return cores_; }

   private:
    friend class CoreBudget;
    Lease(CoreBudget* budget, int cores) : budget_(budget), cores_(cores) {}
    void release();
    CoreBudget* budget_ = nullptr;
    int cores_ = 0;
  };

  // Takes min(threads, budget) cores for a run of `threads` threads (none when threads <= 1),
  // waiting while other runs hold them. While it waits it asks `stop` (may be empty) about every
  // millisecond and returns its status once that is not OK (a cancellation or deadline).
  Result<Lease> acquire(int threads, const std::function<Status()>& stop = {});

  int cores() const { return cores_; }
  int in_use() const;

 private:
  void give_back(int cores);

  const int cores_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  int in_use_ = 0;
};

}  // namespace edgerun::runtime
