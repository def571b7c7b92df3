#include "backends/backend.h"

#include <algorithm>

#include "memory/planner.h"

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

void* ExecutionFrame::place_for(int slot, DType dtype, std::span<const int64_t> shape) {
  if (slot < 0 || dtype == DType::kString) return nullptr;
  const auto index = static_cast<size_t>(slot);
  if (bound_outputs != nullptr && index < bound_outputs->size()) {
    Tensor* target = (*bound_outputs)[index];
    if (target != nullptr && target->dtype() == dtype &&
        std::ranges::equal(target->shape(), shape)) {
      return target->raw_data();
    }
  }
  if (arena_plan != nullptr && index < arena_plan->regions.size()) {
    const SlotRegion& region = arena_plan->regions[index];
    if (region.plain_bytes > 0) {
      int64_t count = 1;
      for (int64_t d : shape) count *= d;
      const size_t bytes = static_cast<size_t>(count) * dtype_size(dtype);
      if (bytes <= region.plain_bytes) return arena + region.offset;
      ++arena_misses;
    }
  }
  return nullptr;
}

Tensor ExecutionFrame::allocate(int slot, DType dtype, Shape&& shape) {
  if (void* data = place_for(slot, dtype, shape)) return borrow(slot, dtype, shape, data);
  return Tensor::uninitialized(dtype, std::move(shape));
}

Tensor ExecutionFrame::allocate(int slot, DType dtype, std::span<const int64_t> dims) {
  if (void* data = place_for(slot, dtype, dims)) return borrow(slot, dtype, dims, data);
  return Tensor::uninitialized(dtype, Shape(dims.begin(), dims.end()));
}

Tensor ExecutionFrame::borrow(int slot, DType dtype, std::span<const int64_t> shape, void* data) {
  if (kept != nullptr && slot >= 0 && static_cast<size_t>(slot) < kept->size()) {
    Value& k = (*kept)[static_cast<size_t>(slot)];
    if (k.is_tensor() && k.tensor().raw_data() == data && k.tensor().dtype() == dtype &&
        std::ranges::equal(k.tensor().shape(), shape)) {
      Tensor t = std::move(k.tensor());
      k = Value();
      return t;
    }
  }
  return Tensor::wrap(dtype, Shape(shape.begin(), shape.end()), data, nullptr);
}

void ExecutionFrame::release(int slot) {
  Value& v = values[static_cast<size_t>(slot)];
  if (kept != nullptr && v.is_tensor() && v.tensor().borrowed() &&
      static_cast<size_t>(slot) < kept->size()) {
    (*kept)[static_cast<size_t>(slot)] = std::move(v);
  }
  v = Value();
}

void* ExecutionFrame::backend_region(int slot, size_t bytes) {
  if (arena_plan == nullptr || slot < 0 || static_cast<size_t>(slot) >= arena_plan->regions.size()) {
    return nullptr;
  }
  const SlotRegion& region = arena_plan->regions[static_cast<size_t>(slot)];
  if (region.backend_bytes == 0) return nullptr;
  if (bytes > region.backend_bytes) {
    ++arena_misses;
    return nullptr;
  }
  return arena + region.offset + memory::align_up(region.plain_bytes);
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
