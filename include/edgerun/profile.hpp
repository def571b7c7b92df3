// A record of where the time of one or more runs went: one event per step (a partition run by
// one backend) and per node (a fused chain of nodes counts as one event, named after all its
// nodes). Pass one through RunOptions::profile; runs without one record nothing and pay only a
// null check per step and node.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
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
  std::vector<ProfileEvent> events() const;

  // The events in Chrome's trace event format (a JSON object with "traceEvents" of complete
  // "X" events), which Perfetto and chrome://tracing open.
  std::string chrome_trace_json() const;

 private:
  std::chrono::steady_clock::time_point origin_;
  mutable std::mutex mutex_;
  std::vector<ProfileEvent> events_;
  std::vector<std::thread::id> threads_;  // index = ProfileEvent::thread
};

}  // namespace edgerun
