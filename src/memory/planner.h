// The memory planner: which bytes of one arena each intermediate value of a run occupies.
//
// Pure: usage records in (how many bytes a value needs, the first and last step at which it is
// alive), offsets and the arena's size out. Two values whose lifetimes overlap never overlap in
// memory; values whose lifetimes are disjoint may share bytes. A record may name a donor whose
// bytes it takes over in place (an elementwise op writing over an input that dies at that op):
// donor and taker then get the same offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace edgerun::memory {

// Every offset and the arena itself are multiples of this (vector loads stay aligned for every
// dtype and backend).
inline constexpr size_t kAlignment = 64;

struct UsageRecord {
  size_t bytes = 0;
  // Inclusive step interval: written at step `first`, last read at step `last` (>= first).
  int64_t first = 0;
  int64_t last = 0;
  // Index of the record whose bytes this one writes over in place, or -1. The donor's `last`
  // must equal this record's `first` (it dies where the taker is written) and its bytes must be
  // at least this record's; otherwise the request is ignored and the record planned on its own.
  int64_t in_place_of = -1;
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // per record
  size_t arena_bytes = 0;       // the peak: the highest end offset over all records
  size_t in_place = 0;          // records that took over their donor's bytes
};

// Greedy by size: records (in-place chains merged into one) are placed largest first, each at
// the lowest offset of the best-fitting gap between records already placed whose lifetimes
// overlap its own. Records of 0 bytes get offset 0 and take no room.
MemoryPlan plan_memory(std::span<const UsageRecord> records);

inline size_t align_up(size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace edgerun::memory
