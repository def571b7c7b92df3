#include "memory/arena_pool.h"

#include <cstdlib>
#include <new>

#include "memory/page_hints.h"
#include "memory/planner.h"

namespace edgerun::memory {

Arena::Arena(size_t bytes) : size_(bytes) {
  if (bytes == 0) return;
  data_ = static_cast<std::byte*>(allocate_hinted(align_up(bytes), kAlignment));
  if (data_ == nullptr) throw std::bad_alloc();
}

Arena::~Arena() { std::free(data_); }

ArenaLease::~ArenaLease() {
  if (pool_ != nullptr && arena_) pool_->release(std::move(arena_));
}

ArenaLease ArenaPool::acquire() {
  if (arena_bytes_ == 0) return {};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<Arena> arena = std::move(idle_.back());
      idle_.pop_back();
      return ArenaLease(this, std::move(arena));
    }
    ++created_;
  }
  // Allocated outside the lock: other runs need not wait for it.
  return ArenaLease(this, std::make_unique<Arena>(arena_bytes_));
}

void ArenaPool::release(std::unique_ptr<Arena> arena) {
  std::lock_guard<std::mutex> lock(mutex_);
  idle_.push_back(std::move(arena));
}

size_t ArenaPool::arenas_created() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return created_;
}

}  // namespace edgerun::memory
