#include "runtime/thread_count.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "edgerun/edgerun.hpp"

namespace edgerun {
namespace {

// Physical cores as Linux lists them: distinct (package, core) pairs over the online CPUs'
// topology. 0 when the topology cannot be read (not Linux, a restricted /sys).
int count_physical_cores() {
  std::set<std::pair<std::string, std::string>> cores;
  for (int cpu = 0;; ++cpu) {
    const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    std::ifstream package_file(dir + "physical_package_id");
    std::ifstream core_file(dir + "core_id");
    if (!package_file || !core_file) break;
    std::string package, core;
    package_file >> package;
    core_file >> core;
    cores.emplace(package, core);
  }
  return static_cast<int>(cores.size());
}

}  // namespace

int default_thread_count() {
  static const int count = [] {
    const int physical = count_physical_cores();
    if (physical > 0) return physical;
    // Without a topology, logical CPUs are the best guess there is (and at least one).
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }();
  return count;
}

int resolve_thread_count(int requested) {
  if (requested > 0) return requested;
  if (const char* env = std::getenv("OMP_NUM_THREADS"); env != nullptr) {
    const int from_env = std::atoi(env);  // "4,2" (nested levels) reads as its first level
    if (from_env > 0) return from_env;
  }
  return default_thread_count();
}

}  // namespace edgerun
