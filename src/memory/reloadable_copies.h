// Aligned copies of model bytes that can leave memory once a backend has packed them, and come
// back from the model file when something reads them again.
//
// A weight whose bytes lie in a mapped model file at an offset misaligned for its dtype (most of
// them: protobuf does not align raw_data) is copied at import into memory of its own. Once every
// node that reads the weight has packed it into the layout its backend keeps, runs no longer
// read the copy, and keeping it would hold a model's weights twice. The copy's pages are then
// given back to the system and made inaccessible (a reader that forgot to ask faults at once
// instead of reading zeros); ensure_resident() copies the bytes back from the file into the same
// address, so tensors over the copy stay valid and never change.
//
// Who calls what:
// - the importer makes copies (make_reloadable_copy);
// - Program::build opens an eviction window for the specialisation built at prepare, before any
//   run can read anything (EvictionWindow), and a backend that packs a weight releases its
//   reader (release_reader) once the packed node no longer reads the original;
// - every code path that reads a constant's bytes outside the runs of that first
//   specialisation (lowering, a reference fallback, a later specialisation's reference steps)
//   calls ensure_resident first. Nothing is evicted once the window closes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace edgerun::memory {

// Copies `bytes` bytes from `source` into fresh page-aligned memory of its own, registered for
// eviction and reload. `source_owner` keeps `source` valid as long as the copy lives. Returns
// the copy's owner (the keep-alive a Tensor over it holds) and its address in `*data`. Returns
// null (and leaves `*data` alone) when the memory cannot be mapped.
std::shared_ptr<const void> make_reloadable_copy(const void* source, size_t bytes,
                                                 std::shared_ptr<const void> source_owner,
                                                 void** data);

// Makes sure the bytes at `data` are in memory, copying them back from their source if they
// were evicted. A no-op for any address that is not inside a reloadable copy. Thread-safe.
void ensure_resident(const void* data);

// Whether `data` lies inside a reloadable copy whose pages are currently given back.
bool is_evicted(const void* data);

// A reader: one input of one node, (graph node index << 20) | input index.
uint64_t reader_id(size_t node, size_t input);

// While open, the copies it was given are evicted as soon as all their readers released them.
// Opened by the only build that runs before the model can be run; closing it (destruction) ends
// eviction for good (what is resident stays resident).
class EvictionWindow {
 public:
  EvictionWindow() = default;
  EvictionWindow(const EvictionWindow&) = delete;
  EvictionWindow& operator=(const EvictionWindow&) = delete;
  ~EvictionWindow();

  // The copy holding `data` may be evicted once `readers` distinct readers released it. A copy
  // given twice (two names over the same bytes) adds up its readers.
  void expect(const void* data, size_t readers);
  // The copy holding `data` stays resident: something reads it that no backend can release (a
  // graph output, a subgraph's outer reference).
  void pin(const void* data);

 private:
  std::vector<const void*> copies_;
};

// `reader` no longer reads the bytes at `data` during runs (its backend packed them). Evicts the
// copy when it was the last reader of an open window; otherwise does nothing.
void release_reader(const void* data, uint64_t reader);
// `reader` is being lowered again and may read the bytes during runs after all: its release is
// taken back.
void reclaim_reader(const void* data, uint64_t reader);

}  // namespace edgerun::memory
