#include "memory/planner.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace edgerun::memory {
namespace {

// One block to place: an in-place chain of records (or one record) sharing bytes.
struct Block {
  size_t bytes = 0;
  int64_t first = 0;
  int64_t last = 0;
  size_t offset = 0;
  bool placed = false;
};

bool overlap(const Block& a, const Block& b) { return a.first <= b.last && b.first <= a.last; }

}  // namespace

MemoryPlan plan_memory(std::span<const UsageRecord> records) {
  const size_t n = records.size();
  MemoryPlan plan;
  plan.offsets.assign(n, 0);

  // Chains: a record joins its donor's block when the donor dies where it is written, is big
  // enough and has not given its bytes to another record already.
  std::vector<size_t> block_of(n);
  std::vector<char> donated(n, 0);
  std::vector<Block> blocks;
  for (size_t i = 0; i < n; ++i) {
    const UsageRecord& r = records[i];
    const int64_t d = r.in_place_of;
    if (d >= 0 && static_cast<size_t>(d) < i && r.bytes > 0 && !donated[static_cast<size_t>(d)]) {
      const UsageRecord& donor = records[static_cast<size_t>(d)];
      Block& b = blocks[block_of[static_cast<size_t>(d)]];
      if (donor.last == r.first && donor.bytes >= r.bytes && b.bytes >= r.bytes) {
        donated[static_cast<size_t>(d)] = 1;
        block_of[i] = block_of[static_cast<size_t>(d)];
        b.last = std::max(b.last, r.last);
        ++plan.in_place;
        continue;
      }
    }
    block_of[i] = blocks.size();
    blocks.push_back({align_up(r.bytes), r.first, std::max(r.first, r.last), 0, false});
  }

  std::vector<size_t> order(blocks.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return blocks[a].bytes > blocks[b].bytes; });
  std::vector<size_t> live;  // placed blocks overlapping the one being placed
  for (size_t index : order) {
    Block& block = blocks[index];
    if (block.bytes == 0) continue;
    live.clear();
    for (const Block& other : blocks) {
      if (other.placed && overlap(other, block)) live.push_back(&other - blocks.data());
    }
    std::sort(live.begin(), live.end(),
              [&](size_t a, size_t b) { return blocks[a].offset < blocks[b].offset; });
    size_t best = std::numeric_limits<size_t>::max();
    size_t best_gap = std::numeric_limits<size_t>::max();
    size_t cursor = 0;
    for (size_t other : live) {
      const Block& o = blocks[other];
      if (o.offset >= cursor) {
        const size_t gap = o.offset - cursor;
        if (gap >= block.bytes && gap < best_gap) {
          best = cursor;
          best_gap = gap;
        }
      }
      cursor = std::max(cursor, o.offset + o.bytes);
    }
    block.offset = best != std::numeric_limits<size_t>::max() ? best : cursor;
    block.placed = true;
    plan.arena_bytes = std::max(plan.arena_bytes, block.offset + block.bytes);
  }
  for (size_t i = 0; i < n; ++i) plan.offsets[i] = blocks[block_of[i]].offset;
  return plan;
}

}  // namespace edgerun::memory
