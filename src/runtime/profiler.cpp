#include "runtime/profiler.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace edgerun {

Profile::Profile() : origin_(std::chrono::steady_clock::now()) {}

double Profile::now_us() const {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - origin_)
      .count();
}

void Profile::record(ProfileEvent event) {
  const std::thread::id self = std::this_thread::get_id();
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = std::find(threads_.begin(), threads_.end(), self);
  if (it == threads_.end()) it = threads_.insert(threads_.end(), self);
  event.thread = static_cast<int>(it - threads_.begin());
  events_.push_back(std::move(event));
}

std::vector<ProfileEvent> Profile::events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_;
}

std::string Profile::chrome_trace_json() const {
  nlohmann::json trace_events = nlohmann::json::array();
  for (const ProfileEvent& e : events()) {
    nlohmann::json event = {{"name", e.name},
                            {"ph", "X"},
                            {"ts", e.start_us},
                            {"dur", e.duration_us},
                            {"pid", 1},
                            {"tid", e.thread}};
    switch (e.kind) {
      case ProfileEvent::Kind::kRun: event["cat"] = "run"; break;
      case ProfileEvent::Kind::kStep:
        event["cat"] = "step";
        event["args"] = {{"backend", e.op}};
        break;
      case ProfileEvent::Kind::kNode:
        event["cat"] = "node";
        event["args"] = {{"op", e.op}, {"nodes", e.nodes}};
        break;
    }
    trace_events.push_back(std::move(event));
  }
  return nlohmann::json{{"traceEvents", std::move(trace_events)}, {"displayTimeUnit", "ms"}}
      .dump();
}

void record_nodes(Profile& profile, double start_us, const std::vector<const ir::Node*>& nodes) {
  ProfileEvent event;
  event.kind = ProfileEvent::Kind::kNode;
  event.start_us = start_us;
  event.duration_us = profile.now_us() - start_us;
  for (const ir::Node* node : nodes) {
    const bool first = event.nodes.empty();
    // Unnamed nodes (allowed by ONNX) are shown by their op.
    event.nodes.push_back(node->name.empty() ? node->op_type : node->name);
    event.name += (first ? "" : "+") + event.nodes.back();
    event.op += (first ? "" : "+") + node->op_type;
  }
  profile.record(std::move(event));
}

void record_step(Profile& profile, double start_us, size_t index, std::string_view backend) {
  ProfileEvent event;
  event.kind = ProfileEvent::Kind::kStep;
  event.name = "step " + std::to_string(index) + " (" + std::string(backend) + ")";
  event.op = std::string(backend);
  event.start_us = start_us;
  event.duration_us = profile.now_us() - start_us;
  profile.record(std::move(event));
}

void record_run(Profile& profile, double start_us) {
  ProfileEvent event;
  event.kind = ProfileEvent::Kind::kRun;
  event.name = "run";
  event.start_us = start_us;
  event.duration_us = profile.now_us() - start_us;
  profile.record(std::move(event));
}

}  // namespace edgerun
