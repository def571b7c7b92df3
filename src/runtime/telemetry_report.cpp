#include "runtime/telemetry_report.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace edgerun {
namespace {

nlohmann::json latency_json(const LatencySummary& s) {
  return {{"count", s.count}, {"p50", s.p50_ms}, {"p95", s.p95_ms}, {"p99", s.p99_ms},
          {"max", s.max_ms}};
}

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), pattern, value);
  return text;
}

std::string latency_text(const LatencySummary& s) {
  if (s.count == 0) return "none";
  return std::to_string(s.count) + ", p50 " + format("%.3f", s.p50_ms) + " ms, p95 " +
         format("%.3f", s.p95_ms) + " ms, p99 " + format("%.3f", s.p99_ms) + " ms, max " +
         format("%.3f", s.max_ms) + " ms";
}

std::string mib(uint64_t bytes) {
  return format("%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

}  // namespace

std::string telemetry_to_json(const TelemetrySnapshot& s) {
  nlohmann::json j;
  j["prepare_ms"] = s.prepare_ms;
  j["compiles"] = {{"ok", s.compiles_ok}, {"failed", s.compiles_failed}};
  j["runs"] = {{"ok", s.runs_ok}, {"failed", s.runs_failed}};
  j["failures"] = s.failures;
  j["run_latency_ms"] = latency_json(s.run_latency);
  j["compile_latency_ms"] = latency_json(s.compile_latency);
  j["compute_units"] = {{"requested", s.requested_compute_units},
                        {"actual", s.actual_compute_units}};
  j["backends"] = nlohmann::json::array();
  for (const BackendShare& b : s.backends) {
    j["backends"].push_back({{"backend", b.backend}, {"nodes", b.nodes},
                             {"node_share", b.node_share}, {"step_runs", b.step_runs},
                             {"run_ms", b.run_ms}, {"time_share", b.time_share}});
  }
  j["breakers"] = nlohmann::json::array();
  for (const BreakerSnapshot& b : s.breakers) {
    j["breakers"].push_back({{"backend", b.backend}, {"nodes", b.nodes}, {"state", b.state},
                             {"runs", b.runs}, {"failures", b.failures}, {"trips", b.trips},
                             {"last_trip_reason", b.last_trip_reason}});
  }
  j["abandoned_runs_in_flight"] = s.abandoned_runs_in_flight;
  j["memory"] = {{"process_rss_bytes", s.process_rss_bytes},
                 {"process_rss_high_water_bytes", s.process_rss_high_water_bytes},
                 {"planned_arena_bytes", s.planned_arena_bytes},
                 {"arenas", s.arenas}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string telemetry_to_text(const TelemetrySnapshot& s) {
  std::string out;
  out += "  runs: " + std::to_string(s.runs_ok) + " ok, " + std::to_string(s.runs_failed) +
         " failed; compiles: " + std::to_string(s.compiles_ok) + " ok, " +
         std::to_string(s.compiles_failed) + " failed; prepare " + format("%.3f", s.prepare_ms) +
         " ms\n";
  out += "  run latency: " + latency_text(s.run_latency) + "\n";
  out += "  compile latency: " + latency_text(s.compile_latency) + "\n";
  std::string failures;
  for (const auto& [kind, count] : s.failures) {
    if (count > 0) failures += (failures.empty() ? "" : ", ") + kind + " " + std::to_string(count);
  }
  out += "  failures and fallbacks: " + (failures.empty() ? std::string("none") : failures) + "\n";
  out += "  compute units: requested " + s.requested_compute_units + ", actual " +
         s.actual_compute_units + "\n";
  for (const BackendShare& b : s.backends) {
    out += "  " + b.backend + ": " + std::to_string(b.nodes) + " nodes (" +
           format("%.1f", b.node_share * 100) + " %), " + std::to_string(b.step_runs) +
           " step runs, " + format("%.3f", b.run_ms) + " ms (" +
           format("%.1f", b.time_share * 100) + " % of step time)\n";
  }
  for (const BreakerSnapshot& b : s.breakers) {
    out += "  breaker " + b.backend + " (" + std::to_string(b.nodes.size()) + " nodes): " +
           b.state + ", " + std::to_string(b.trips) + " trips" +
           (b.last_trip_reason.empty() ? "" : ", last: " + b.last_trip_reason) + "\n";
  }
  if (s.abandoned_runs_in_flight > 0) {
    out += "  abandoned runs still finishing: " + std::to_string(s.abandoned_runs_in_flight) + "\n";
  }
  out += "  memory: process RSS " + mib(s.process_rss_bytes) + ", high-water " +
         mib(s.process_rss_high_water_bytes) + ", planned arena " + mib(s.planned_arena_bytes) +
         " per run in flight (" + std::to_string(s.arenas) + " allocated)\n";
  return out;
}

}  // namespace edgerun
