// The optional JSON-lines event log (SafetyOptions::event_log_path): one object per line, so
// a tail -f or a log shipper can follow it. Writes take a lock; it is off unless asked for.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edgerun::runtime {

class EventLog {
 public:
  using Texts = std::vector<std::pair<std::string, std::string>>;
  using Numbers = std::vector<std::pair<std::string, double>>;

  // An empty path gives a log that writes nothing. A file that cannot be opened is reported by
  // ok() and otherwise ignored: telemetry must never fail a run.
  explicit EventLog(const std::string& path);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  bool enabled() const { return file_ != nullptr; }
  // {"time_ms": <since the epoch>, "event": event, texts..., numbers...}
  void write(std::string_view event, const Texts& texts, const Numbers& numbers = {});

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
};

}  // namespace edgerun::runtime
