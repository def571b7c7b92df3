#include "backends/onednn/team.h"

#include <omp.h>

#include <algorithm>
#include <system_error>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace edgerun::onednn {
namespace {

constexpr uint64_t kField = (uint64_t{1} << 24) - 1;  // task count and next task: 24 bits each

uint64_t job_number(uint64_t job) { return job >> 48; }
uint64_t task_count(uint64_t job) { return (job >> 24) & kField; }
uint64_t next_task(uint64_t job) { return job & kField; }

// Tells the core this thread is spinning (on x86, `pause` leaves the sibling hyperthread and
// the memory bus alone).
inline void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

thread_local Team* open_team = nullptr;

}  // namespace

Team::Team(int size) {
  for (int i = 0; i + 1 < size; ++i) {
    try {
      helpers_.emplace_back([this, i] { helper_main(i); });
    } catch (const std::system_error&) {
      break;  // the team works with the helpers it got: the caller runs whatever they do not
    }
  }
}

Team::~Team() {
  {
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    stopping_ = true;
    open_.store(false, std::memory_order_release);
  }
  wake_.notify_all();
  for (std::thread& helper : helpers_) helper.join();
}

Team& Team::of_calling_thread(int size) {
  thread_local std::unique_ptr<Team> team;
  // A team larger than asked serves as is (a session wakes only the helpers it needs), so a
  // thread that runs models of different thread counts does not remake its team every run.
  if (team == nullptr || team->size() < size) {
    team.reset();
    team = std::make_unique<Team>(size);
  }
  return *team;
}

Team* Team::open_on_calling_thread() { return open_team; }

Team::Session::Session(Team& team, int threads) : team_(team) {
  const int helpers = std::clamp(threads - 1, 0, static_cast<int>(team.helpers_.size()));
  team.active_.store(helpers, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(team.sleep_mutex_);
    team.open_.store(true, std::memory_order_release);
  }
  if (helpers > 0) team.wake_.notify_all();
  open_team = &team;
}

Team::Session::~Session() {
  team_.open_.store(false, std::memory_order_release);
  open_team = nullptr;
}

void Team::run_erased(int count, TaskFn fn, void* context) {
  if (count <= 0) return;
  if (open_team != this || active_.load(std::memory_order_relaxed) == 0 || count == 1 ||
      static_cast<uint64_t>(count) > kField) {
    for (int k = 0; k < count; ++k) fn(context, k);
    return;
  }
  fn_.store(fn, std::memory_order_relaxed);
  context_.store(context, std::memory_order_relaxed);
  unfinished_.store(count, std::memory_order_relaxed);
  const uint64_t number = (job_number(job_.load(std::memory_order_relaxed)) + 1) & 0xFFFF;
  // Publishes the job (and, by release, the task and counters above) to the spinning helpers.
  job_.store(number << 48 | static_cast<uint64_t>(count) << 24, std::memory_order_release);
  work();
  while (unfinished_.load(std::memory_order_acquire) != 0) spin_pause();
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(error_mutex_);
    std::swap(error, error_);
  }
  if (error) std::rethrow_exception(error);
}

void Team::work() {
  uint64_t job = job_.load(std::memory_order_acquire);
  while (next_task(job) < task_count(job)) {
    // Claiming through the packed word fails if the job changed meanwhile, so a task is only
    // ever claimed for the job it belongs to; the job's function cannot change before every
    // claimed task has finished (the caller waits for that before publishing the next job).
    if (!job_.compare_exchange_weak(job, job + 1, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      continue;
    }
    try {
      fn_.load(std::memory_order_relaxed)(context_.load(std::memory_order_relaxed),
                                          static_cast<int>(next_task(job)));
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
    }
    unfinished_.fetch_sub(1, std::memory_order_release);
    job = job_.load(std::memory_order_acquire);
  }
}

void Team::helper_main(int index) {
  // The primitives a helper runs were planned for one thread: they must not open OpenMP regions
  // of their own.
  omp_set_num_threads(1);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(sleep_mutex_);
      wake_.wait(lock, [&] {
        return stopping_ || (open_.load(std::memory_order_acquire) &&
                             index < active_.load(std::memory_order_relaxed));
      });
      if (stopping_) return;
    }
    // A later session may want fewer helpers: this one then stops taking part.
    while (open_.load(std::memory_order_acquire) &&
           index < active_.load(std::memory_order_relaxed)) {
      const uint64_t job = job_.load(std::memory_order_acquire);
      if (next_task(job) < task_count(job)) {
        work();
      } else {
        spin_pause();
      }
    }
  }
}

}  // namespace edgerun::onednn
