#include "memory/reloadable_copies.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "memory/page_hints.h"

namespace edgerun::memory {
namespace {

struct Copy {
  char* data = nullptr;
  size_t bytes = 0;
  size_t mapped = 0;  // whole pages
  const void* source = nullptr;
  std::shared_ptr<const void> source_owner;
  bool resident = true;
  size_t expected = 0;          // readers to release before eviction; 0 outside a window
  bool pinned = false;          // inside a window
  std::set<uint64_t> released;  // inside a window

  ~Copy();
};

// Every live copy by start address. One lock for all: it is taken at prepare and on paths that
// lower or fall back, never per run.
struct Registry {
  std::mutex mutex;
  std::map<uintptr_t, Copy*> copies;

  // The copy whose bytes contain `data`, or null. Caller holds the lock.
  Copy* find(const void* data) {
    const auto address = reinterpret_cast<uintptr_t>(data);
    auto it = copies.upper_bound(address);
    if (it == copies.begin()) return nullptr;
    --it;
    Copy* c = it->second;
    return address < it->first + std::max<size_t>(c->bytes, 1) ? c : nullptr;
  }
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: copies may outlive static teardown
  return *r;
}

Copy::~Copy() {
  {
    std::lock_guard<std::mutex> lock(registry().mutex);
    registry().copies.erase(reinterpret_cast<uintptr_t>(data));
  }
  if (data != nullptr) ::munmap(data, mapped);
}

void evict(Copy& c) {
  // Given back first, then made inaccessible: a read we failed to route through
  // ensure_resident faults instead of silently reading zeros.
  ::madvise(c.data, c.mapped, MADV_DONTNEED);
  ::mprotect(c.data, c.mapped, PROT_NONE);
  c.resident = false;
}

void reload(Copy& c) {
  ::mprotect(c.data, c.mapped, PROT_READ | PROT_WRITE);
  std::memcpy(c.data, c.source, c.bytes);
  // The source was read only to copy it (a mapped file's pages then leave memory).
  page_out(c.source, c.bytes);
  c.resident = true;
}

}  // namespace

std::shared_ptr<const void> make_reloadable_copy(const void* source, size_t bytes,
                                                 std::shared_ptr<const void> source_owner,
                                                 void** data) {
  static const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t mapped = (std::max<size_t>(bytes, 1) + page - 1) / page * page;
  void* memory = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
  if (memory == MAP_FAILED) return nullptr;
  auto copy = std::make_shared<Copy>();
  copy->data = static_cast<char*>(memory);
  copy->bytes = bytes;
  copy->mapped = mapped;
  copy->source = source;
  copy->source_owner = std::move(source_owner);
  std::memcpy(copy->data, source, bytes);
  {
    std::lock_guard<std::mutex> lock(registry().mutex);
    registry().copies.emplace(reinterpret_cast<uintptr_t>(copy->data), copy.get());
  }
  *data = copy->data;
  return copy;
}

void ensure_resident(const void* data) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  Copy* c = registry().find(data);
  if (c != nullptr && !c->resident) reload(*c);
}

bool is_evicted(const void* data) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  const Copy* c = registry().find(data);
  return c != nullptr && !c->resident;
}

uint64_t reader_id(size_t node, size_t input) {
  return (static_cast<uint64_t>(node) << 20) | static_cast<uint64_t>(input);
}

EvictionWindow::~EvictionWindow() {
  std::lock_guard<std::mutex> lock(registry().mutex);
  for (const void* data : copies_) {
    if (Copy* c = registry().find(data)) {
      c->expected = 0;
      c->pinned = false;
      c->released.clear();
    }
  }
}

void EvictionWindow::expect(const void* data, size_t readers) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  Copy* c = registry().find(data);
  if (c == nullptr || readers == 0) return;
  c->expected += readers;
  copies_.push_back(c->data);
}

void EvictionWindow::pin(const void* data) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  Copy* c = registry().find(data);
  if (c == nullptr) return;
  c->pinned = true;
  copies_.push_back(c->data);
}

void release_reader(const void* data, uint64_t reader) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  Copy* c = registry().find(data);
  if (c == nullptr || c->expected == 0) return;
  c->released.insert(reader);
  if (c->resident && !c->pinned && c->released.size() >= c->expected) evict(*c);
}

void reclaim_reader(const void* data, uint64_t reader) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  Copy* c = registry().find(data);
  if (c != nullptr && c->expected > 0) c->released.erase(reader);
}

}  // namespace edgerun::memory
