// The process's resident memory, for telemetry and the breaker's memory limit.
#pragma once

#include <cstdint>

namespace edgerun::runtime {

struct ProcessMemory {
  uint64_t rss_bytes = 0;             // VmRSS
  uint64_t rss_high_water_bytes = 0;  // VmHWM
};

// From /proc/self/status; zeros where it cannot be read (not Linux).
ProcessMemory read_process_memory();

}  // namespace edgerun::runtime
