// A record of where the time of one or more runs went: one event per step (a partition run by
// one backend) and per node (a fused chain of nodes counts as one event, named after all its
// nodes). Pass one through RunOptions::profile; runs without one record nothing and pay only a
// null check per step and node.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace edgerun {

struct ProfileEvent {
  enum class Kind { kRun, kStep, kNode };
  Kind kind = Kind::kNode;
  std::string name;     // node names joined with "+", or "step N (backend)", or "run"
  std::string op;       // op types joined with "+" for nodes; the backend's name for steps
  std::vector<std::string> nodes;  // the graph nodes this event ran (node events)
  double start_us = 0;  // since the Profile was created
  double duration_us = 0;
  int thread = 0;       // small index per recording thread, in order of first appearance
};

class Profile {
 public:
  Profile();

  // Microseconds since this profile was created, the time base of its events.
  double now_us() const;
  // Safe to call from several runs at once; runs sharing a profile interleave their events.
  void record(ProfileEvent event);
  // The same for an event whose name is `names` joined with "+" and whose op is `ops` joined
  // so (a node event's nodes are `names`), as the runtime records its steps and nodes. Each
  // distinct string is stored once, so recording many runs allocates nothing per event: a
  // profiled run's heap behaves as an unprofiled one's (per-event strings had left the heap
  // too fragmented for a run's large buffers, which then came from fresh pages every run).
  void record(ProfileEvent::Kind kind, std::span<const std::string_view> names,
              std::span<const std::string_view> ops, double start_us, double duration_us);
  std::vector<ProfileEvent> events() const;

  // The events in Chrome's trace event format (a JSON object with "traceEvents" of complete
  // "X" events), which Perfetto and chrome://tracing open.
  std::string chrome_trace_json() const;

 private:
  // An event in recording order: one given whole (`whole` indexes wholes_), or one of interned
  // strings (ids_[first, first + names) its names, the next `ops` its ops).
  struct Entry {
    ProfileEvent::Kind kind;
    int thread;
    double start_us, duration_us;
    int64_t whole;  // -1: interned
    uint32_t first, names, ops;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  int thread_index();  // of the calling thread; under mutex_
  uint32_t intern(std::string_view s);  // under mutex_

  std::chrono::steady_clock::time_point origin_;
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
  std::vector<ProfileEvent> wholes_;
  std::vector<uint32_t> ids_;
  std::vector<std::string> strings_;  // by id
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> string_ids_;
  std::vector<std::thread::id> threads_;  // index = ProfileEvent::thread
};

}  // namespace edgerun
