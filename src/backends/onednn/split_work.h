// How edgerun's own kernels (one_row_product.h, channel_scale.h) share a node's work: over the
// calling thread's open Team when a team runs the partition, else over the calling thread's
// OpenMP threads (as many as the executable set for the node; one inside a parallel region).
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <utility>

#include "backends/onednn/team.h"

namespace edgerun::onednn {

// How many parts split_over_threads(max_parts, ...) makes on the calling thread now: the
// threads available, at most `max_parts` (and at least 1).
inline int parts_over_threads(size_t max_parts) {
  const Team* team = Team::open_on_calling_thread();
  const int threads = team != nullptr   ? team->size()
                      : omp_in_parallel() ? 1
                                          : omp_get_max_threads();
  return static_cast<int>(
      std::max<size_t>(1, std::min(static_cast<size_t>(std::max(threads, 1)), max_parts)));
}

// Calls part(p, parts) for every p in [0, parts), parts = parts_over_threads(max_parts): side
// by side, or in order on the calling thread when there is one part.
template <typename Part>
void split_over_threads(size_t max_parts, Part&& part) {
  Team* team = Team::open_on_calling_thread();
  const int parts = parts_over_threads(max_parts);
  if (parts < 2) {
    part(0, 1);
    return;
  }
  auto task = [&](int p) { part(p, parts); };
  if (team != nullptr) {
    team->run(parts, task);
    return;
  }
#pragma omp parallel for num_threads(parts) schedule(static)
  for (int p = 0; p < parts; ++p) task(p);
}

// Calls task(k) for every k in [0, count), each once, on the threads parts_over_threads(count)
// names: whichever thread is free claims the next k (the open Team's claiming, or OpenMP's
// dynamic schedule), so a thread the scheduler puts aside for a while delays only the task it
// holds. For work in many similar tasks on a shared machine, where split_over_threads's fixed
// shares wait for the slowest thread.
template <typename Task>
void claim_over_threads(size_t count, Task&& task) {
  Team* team = Team::open_on_calling_thread();
  const int parts = parts_over_threads(count);
  const int tasks = static_cast<int>(count);
  if (parts < 2) {
    for (int k = 0; k < tasks; ++k) task(k);
    return;
  }
  if (team != nullptr) {
    team->run(tasks, task);
    return;
  }
#pragma omp parallel for num_threads(parts) schedule(dynamic, 1)
  for (int k = 0; k < tasks; ++k) task(k);
}

// Items [first, last) of `count` for part p of `parts`.
inline std::pair<size_t, size_t> part_range(size_t count, int p, int parts) {
  return {count * static_cast<size_t>(p) / static_cast<size_t>(parts),
          count * static_cast<size_t>(p + 1) / static_cast<size_t>(parts)};
}

}  // namespace edgerun::onednn
