#include "runtime/profiler.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace edgerun {

Profile::Profile() : origin_(std::chrono::steady_clock::now()) {}

double Profile::now_us() const {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - origin_)
      .count();
}

int Profile::thread_index() {
  const std::thread::id self = std::this_thread::get_id();
  auto it = std::find(threads_.begin(), threads_.end(), self);
  if (it == threads_.end()) it = threads_.insert(threads_.end(), self);
  return static_cast<int>(it - threads_.begin());
}

uint32_t Profile::intern(std::string_view s) {
  if (auto it = string_ids_.find(s); it != string_ids_.end()) return it->second;
  const auto id = static_cast<uint32_t>(strings_.size());
  strings_.emplace_back(s);
  string_ids_.emplace(strings_.back(), id);
  return id;
}

void Profile::record(ProfileEvent event) {
  std::lock_guard<std::mutex> lock(mutex_);
  event.thread = thread_index();
  entries_.push_back(Entry{event.kind, event.thread, event.start_us, event.duration_us,
                           static_cast<int64_t>(wholes_.size()), 0, 0, 0});
  wholes_.push_back(std::move(event));
}

void Profile::record(ProfileEvent::Kind kind, std::span<const std::string_view> names,
                     std::span<const std::string_view> ops, double start_us,
                     double duration_us) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto first = static_cast<uint32_t>(ids_.size());
  for (std::string_view name : names) ids_.push_back(intern(name));
  for (std::string_view op : ops) ids_.push_back(intern(op));
  entries_.push_back(Entry{kind, thread_index(), start_us, duration_us, -1, first,
                           static_cast<uint32_t>(names.size()), static_cast<uint32_t>(ops.size())});
}

std::vector<ProfileEvent> Profile::events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<ProfileEvent> events;
  events.reserve(entries_.size());
  for (const Entry& entry : entries_) {
    if (entry.whole >= 0) {
      events.push_back(wholes_[static_cast<size_t>(entry.whole)]);
      continue;
    }
    ProfileEvent& e = events.emplace_back();
    e.kind = entry.kind;
    e.thread = entry.thread;
    e.start_us = entry.start_us;
    e.duration_us = entry.duration_us;
    for (uint32_t i = 0; i < entry.names; ++i) {
      const std::string& name = strings_[ids_[entry.first + i]];
      e.name += (i == 0 ? "" : "+") + name;
      if (entry.kind == ProfileEvent::Kind::kNode) e.nodes.push_back(name);
    }
    for (uint32_t i = 0; i < entry.ops; ++i) {
      e.op += (i == 0 ? "" : "+") + strings_[ids_[entry.first + entry.names + i]];
    }
  }
  return events;
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
  const double duration_us = profile.now_us() - start_us;
  // A fused chain has a handful of nodes; a longer list takes the heap.
  constexpr size_t kInline = 8;
  std::array<std::string_view, kInline> fixed_names, fixed_ops;
  std::vector<std::string_view> more_names, more_ops;
  std::span<std::string_view> names(fixed_names.data(), nodes.size());
  std::span<std::string_view> ops(fixed_ops.data(), nodes.size());
  if (nodes.size() > kInline) {
    more_names.resize(nodes.size());
    more_ops.resize(nodes.size());
    names = more_names;
    ops = more_ops;
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    // Unnamed nodes (allowed by ONNX) are shown by their op.
    names[i] = nodes[i]->name.empty() ? nodes[i]->op_type : nodes[i]->name;
    ops[i] = nodes[i]->op_type;
  }
  profile.record(ProfileEvent::Kind::kNode, names, ops, start_us, duration_us);
}

void record_step(Profile& profile, double start_us, size_t index, std::string_view backend) {
  const double duration_us = profile.now_us() - start_us;
  char name[96];
  const int length = std::snprintf(name, sizeof(name), "step %zu (%.*s)", index,
                                   static_cast<int>(backend.size()), backend.data());
  const std::string_view names[] = {
      std::string_view(name, static_cast<size_t>(std::clamp(length, 0, int{sizeof(name)} - 1)))};
  const std::string_view ops[] = {backend};
  profile.record(ProfileEvent::Kind::kStep, names, ops, start_us, duration_us);
}

void record_run(Profile& profile, double start_us) {
  const double duration_us = profile.now_us() - start_us;
  const std::string_view names[] = {"run"};
  profile.record(ProfileEvent::Kind::kRun, names, {}, start_us, duration_us);
}

}  // namespace edgerun
