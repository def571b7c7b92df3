#include "runtime/core_budget.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "edgerun/edgerun.hpp"

namespace edgerun::runtime {

CoreBudget::CoreBudget(int cores) : cores_(std::max(1, cores)) {}

CoreBudget& CoreBudget::process() {
  static CoreBudget budget(default_thread_count());
  return budget;
}

Result<CoreBudget::Lease> CoreBudget::acquire(int threads, const std::function<Status()>& stop) {
  if (threads <= 1) return Lease();
  const int wanted = std::min(threads, cores_);
  std::unique_lock<std::mutex> lock(mutex_);
  while (in_use_ + wanted > cores_) {
    if (stop) {
      lock.unlock();
      Status s = stop();
      lock.lock();
      if (!s.is_ok()) return s;
    }
    // Timed, so that a deadline or cancellation is noticed while waiting.
    freed_.wait_for(lock, std::chrono::milliseconds(1));
  }
  in_use_ += wanted;
  return Lease(this, wanted);
}

int CoreBudget::in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_use_;
}

void CoreBudget::give_back(int cores) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    in_use_ -= cores;
  }
  freed_.notify_all();
}

CoreBudget::Lease::Lease(Lease&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)), cores_(std::exchange(other.cores_, 0)) {}

CoreBudget::Lease& CoreBudget::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    release();
    budget_ = std::exchange(other.budget_, nullptr);
    cores_ = std::exchange(other.cores_, 0);
  }
  return *this;
}

CoreBudget::Lease::~Lease() { release(); }

void CoreBudget::Lease::release() {
  if (budget_ != nullptr && cores_ > 0) budget_->give_back(cores_);
  budget_ = nullptr;
  cores_ = 0;
}

}  // namespace edgerun::runtime
