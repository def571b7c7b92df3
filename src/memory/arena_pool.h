// Arenas for the planned intermediates of runs. A run leases one arena for its whole duration
// and gives it back at the end; concurrent runs of one program each lease their own. Arenas are
// kept for the next run, so the steady state allocates nothing: the pool grows only to the
// number of runs that were ever in flight at once.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace edgerun::memory {

class ArenaPool;

// One 64-byte-aligned block of `size` bytes (not zero-filled).
class Arena {
 public:
  explicit Arena(size_t bytes);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  // Whether [p, p + bytes) lies inside this arena.
  bool contains(const void* p) const {
    const auto* b = static_cast<const std::byte*>(p);
    return b >= data_ && b < data_ + size_;
  }

 private:
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

// An arena leased from a pool; returns it when destroyed. Empty when the plan needs no bytes.
class ArenaLease {
 public:
  ArenaLease() = default;
  ArenaLease(ArenaPool* pool, std::unique_ptr<Arena> arena)
      : pool_(pool), arena_(std::move(arena)) {}
  ~ArenaLease();
  ArenaLease(ArenaLease&& other) noexcept = default;
  ArenaLease& operator=(ArenaLease&&) = delete;
  ArenaLease(const ArenaLease&) = delete;
  ArenaLease& operator=(const ArenaLease&) = delete;

  Arena* get() const { return arena_.get(); }

 private:
  ArenaPool* pool_ = nullptr;
  std::unique_ptr<Arena> arena_;
};

class ArenaPool {
 public:
  explicit ArenaPool(size_t arena_bytes) : arena_bytes_(arena_bytes) {}

  size_t arena_bytes() const { return arena_bytes_; }
  // An idle arena, or a new one when every arena is leased (the only allocation).
  ArenaLease acquire();
  // Arenas allocated so far (leased or idle).
  size_t arenas_created() const;

 private:
  friend class ArenaLease;
  void release(std::unique_ptr<Arena> arena);

  size_t arena_bytes_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Arena>> idle_;
  size_t created_ = 0;
};

}  // namespace edgerun::memory
