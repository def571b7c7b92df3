#include "runtime/event_log.h"

#include <chrono>
#include <nlohmann/json.hpp>

namespace edgerun::runtime {

EventLog::EventLog(const std::string& path) {
  if (!path.empty()) file_ = std::fopen(path.c_str(), "a");
}

EventLog::~EventLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void EventLog::write(std::string_view event, const Texts& texts, const Numbers& numbers) {
  if (file_ == nullptr) return;
  nlohmann::json j;
  j["time_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
  j["event"] = event;
  for (const auto& [key, text] : texts) j[key] = text;
  for (const auto& [key, number] : numbers) j[key] = number;
  // Invalid UTF-8 in a message must not throw out of a run.
  const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard<std::mutex> lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

}  // namespace edgerun::runtime
