#include "runtime/process_memory.h"

#include <cstdio>
#include <cstring>

namespace edgerun::runtime {

ProcessMemory read_process_memory() {
  ProcessMemory memory;
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return memory;
  char line[256];
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    unsigned long long kb = 0;
    if (std::sscanf(line, "VmRSS: %llu kB", &kb) == 1) memory.rss_bytes = kb * 1024;
    if (std::sscanf(line, "VmHWM: %llu kB", &kb) == 1) memory.rss_high_water_bytes = kb * 1024;
  }
  std::fclose(f);
  return memory;
}

}  // namespace edgerun::runtime
