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

}  // namespace edgerun::memory
