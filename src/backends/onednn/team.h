// A team of threads of our own that splits the nodes of one run between the calling thread and
// its helpers, so that small convolutions pay for no OpenMP wake-up.
//
// oneDNN (Debian's OpenMP build) opens a parallel region per primitive. With passive waiting,
// each region first wakes its sleeping workers: 25-110 us on a VM, as long as a mobile CNN's
// convolutions take on one core, so two threads ran such models no faster than one. A team
// instead wakes its helpers once, when a run opens it; while it is open they spin, waiting for
// the next node's tasks (one-thread primitives, each computing part of the node's output), and
// when the run closes it they go back to sleep. The spinning is bounded by the run: an idle
// model never takes a core from the caller.
//
// Each calling thread has its own team (as OpenMP gives each its own); runs that want several
// threads hold cores of runtime::CoreBudget while their team is open, so concurrent runs do not
// put more spinning threads on the machine than it has cores.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace edgerun::onednn {

class Team {
 public:
  // `size` threads in all: the calling thread and size - 1 helpers, started now.
  explicit Team(int size);
  ~Team();
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;

  // The calling thread's team of at least `size` threads (made, or remade larger, on demand).
  static Team& of_calling_thread(int size);
  // The team the calling thread has open (see Session), or null.
  static Team* open_on_calling_thread();

  int size() const { return static_cast<int>(helpers_.size()) + 1; }

  // Opens the team for one run: up to `threads` - 1 helpers wake and spin for tasks until the
  // session ends. Sessions do not nest.
  class Session {
   public:
    Session(Team& team, int threads);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

   private:
    Team& team_;
  };

  // Runs task(k) for every k in [0, count) on the calling thread and the open team's helpers,
  // each k once, and returns when all have finished. Whoever is free claims the next k, so a
  // helper that is late (still waking, or put aside by the scheduler) only means the caller
  // runs more of them. The first exception a task throws is rethrown here, after the others
  // have finished. Called by the thread that opened the session; without an open session the
  // tasks run on the calling thread, in order.
  template <typename Task>
  void run(int count, Task& task) {
    run_erased(count, [](void* t, int k) { (*static_cast<Task*>(t))(k); }, &task);
  }

 private:
  using TaskFn = void (*)(void*, int);
  void run_erased(int count, TaskFn fn, void* context);
  void helper_main(int index);
  // Claims and runs tasks of the current job until none is left.
  void work();

  std::vector<std::thread> helpers_;
  // The current job, packed so one compare-and-swap claims a task of that job only: the job's
  // number (bits 48-63), its task count (bits 24-47) and the next task to hand out (bits 0-23).
  std::atomic<uint64_t> job_{0};
  std::atomic<TaskFn> fn_{nullptr};
  std::atomic<void*> context_{nullptr};
  std::atomic<int> unfinished_{0};
  std::mutex error_mutex_;
  std::exception_ptr error_;

  std::atomic<int> active_{0};  // helpers taking part while open: those with index < active_
  std::atomic<bool> open_{false};
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by sleep_mutex_
};

}  // namespace edgerun::onednn
