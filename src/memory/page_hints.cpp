#include "memory/page_hints.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace edgerun::memory {

void advise_whole_pages(const void* data, size_t bytes, int advice) {
  static const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t last = (begin + bytes) / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, advice);
}

void page_out(const void* data, size_t bytes) {
#if defined(MADV_PAGEOUT)
  // Kernels before Linux 5.4 refuse MADV_PAGEOUT, and nothing changes.
  advise_whole_pages(data, bytes, MADV_PAGEOUT);
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace edgerun::memory
