#include "openmp_policy.h"

#include <unistd.h>

#include <cstdlib>

namespace edgerun::cli {

void prefer_passive_openmp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (::setenv("OMP_WAIT_POLICY", "PASSIVE", 0) != 0) return;
  // The variable is now set, so the restarted process does not come back here.
  ::execv("/proc/self/exe", argv);
}

}  // namespace edgerun::cli
