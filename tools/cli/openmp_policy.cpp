#include "openmp_policy.h"

#include <limits.h>
#include <unistd.h>

#include <cstdlib>

namespace edgerun::cli {

void prefer_passive_openmp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (::setenv("OMP_WAIT_POLICY", "PASSIVE", 0) != 0) return;
  // The real path rather than /proc/self/exe, so that the process keeps its name in ps and perf.
  // The variable is now set, so the restarted process does not come back here.
  char self[PATH_MAX];
  const ssize_t length = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (length <= 0) return;
  self[length] = '\0';
  ::execv(self, argv);
}

}  // namespace edgerun::cli
