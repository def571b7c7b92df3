// How many threads a prepared model's kernels use.
#pragma once

namespace edgerun {

// `requested` when positive; otherwise OMP_NUM_THREADS (its first entry) when set to a positive
// number, else default_thread_count().
int resolve_thread_count(int requested);

}  // namespace edgerun
