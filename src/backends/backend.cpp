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

}  // namespace edgerun
