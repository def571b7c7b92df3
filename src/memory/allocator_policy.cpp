#include "memory/allocator_policy.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace edgerun::memory {

void retain_freed_buffers() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* setting = std::getenv("EDGERUN_MALLOC_TUNING");
    if (setting != nullptr && std::strcmp(setting, "0") == 0) return;
#if defined(__GLIBC__)
    // 32 MiB is the largest mmap threshold glibc accepts on 64-bit; buffers above it are rare
    // enough (and big enough) that a fresh mapping costs little next to using them. Trimming
    // waits until 128 MiB are free at the top of the heap.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
#endif
  });
}

}  // namespace edgerun::memory
