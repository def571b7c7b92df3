// Hints to the kernel about which pages a prepared model no longer needs resident.
#pragma once

#include <cstddef>

namespace edgerun::memory {

// Tells the kernel the whole pages inside [data, data + bytes) will not be read again soon, so it
// may reclaim them: pages of a mapped model file leave the process's resident set at once (and
// come back from the file if read), anonymous pages only when there is swap. Contents are never
// lost, so this is safe on any buffer. Used once a weight has been copied into the layout a
// backend keeps (the original stays reachable for the reference fallback).
void page_out(const void* data, size_t bytes);

// madvise(`advice`) on the whole pages inside [data, data + bytes), the part of a buffer that is
// its own; advice only, so a refusal is ignored.
void advise_whole_pages(const void* data, size_t bytes, int advice);

// Huge pages are 2 MiB here (x86-64, and what the kernels ask for where this matters).
inline constexpr size_t kHugePage = size_t{2} << 20;

// A buffer of `bytes` aligned to `alignment` (a power of two, at most kHugePage), released with
// std::free; null when out of memory. One of kHugePage bytes or more starts on a huge-page
// boundary and asks for huge pages before anything touches it: filling it then takes one page
// fault per 2 MiB instead of 512 (on a virtual machine most of the cost of loading weights),
// and reading it takes fewer TLB misses (on a VM a miss walks two page tables: MobileNet-V2 at
// one thread ran 3.5 % faster with its run's arena so).
// Only the huge pages wholly inside the buffer are asked for, so it costs no memory.
void* allocate_hinted(size_t bytes, size_t alignment);

}  // namespace edgerun::memory
