#include "backends/backend.h"

namespace edgerun {

int SlotTable::add(const std::string& name) {
  auto [it, inserted] = index_.emplace(name, static_cast<int>(names_.size()));
  if (inserted) names_.push_back(name);
  return it->second;
}

int SlotTable::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

const Value* ExecutionFrame::lookup(const std::string& name) const {
  for (const ExecutionFrame* f = this; f != nullptr; f = f->parent) {
    const int slot = f->slots->find(name);
    if (slot >= 0 && !f->values[static_cast<size_t>(slot)].empty()) {
      return &f->values[static_cast<size_t>(slot)];
    }
  }
  return nullptr;
}

Status RunControl::stop_status() const {
  if (cancellation != nullptr && cancellation->cancelled()) {
    return cancelled_error("the run was cancelled");
  }
  if (abandoned.load(std::memory_order_relaxed)) {
    return timeout_error("the caller stopped waiting for this run");
  }
  if (deadline != std::chrono::steady_clock::time_point::max() &&
      std::chrono::steady_clock::now() >= deadline) {
    return timeout_error("the run passed its deadline");
  }
  return Status::ok();
}

Status ExecutionFrame::stop_status() const {
  for (const ExecutionFrame* f = this; f != nullptr; f = f->parent) {
    if (f->control != nullptr) return f->control->stop_status();
  }
  return Status::ok();
}

}  // namespace edgerun
