// A TelemetrySnapshot as JSON (the C ABI, bindings, tools) and as text (edgerun run --stats),
// formatted in one place so every front end shows the same figures.
#pragma once

#include <string>

#include "edgerun/edgerun.hpp"

namespace edgerun {

// {"prepare_ms", "compiles": {"ok", "failed"}, "runs": {"ok", "failed"}, "failures": {kind: n},
//  "run_latency_ms": {"count", "p50", "p95", "p99", "max"}, "compile_latency_ms": {...},
//  "compute_units": {"requested", "actual"}, "backends": [{"backend", "nodes", "node_share",
//  "step_runs", "run_ms", "time_share"}], "breakers": [{"backend", "nodes", "state", "runs",
//  "failures", "trips", "last_trip_reason"}], "abandoned_runs_in_flight",
//  "memory": {"process_rss_bytes", "process_rss_high_water_bytes", "planned_arena_bytes", "arenas"}}
std::string telemetry_to_json(const TelemetrySnapshot& snapshot);
// Several indented lines, each ending in '\n'.
std::string telemetry_to_text(const TelemetrySnapshot& snapshot);

}  // namespace edgerun
