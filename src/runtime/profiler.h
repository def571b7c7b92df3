// How the runtime and the backends' executables fill a Profile (edgerun/profile.hpp). Every
// helper is called only when a profile is attached, so an unprofiled run pays one null check
// per step and node and never reads the clock for it.
#pragma once

#include <string_view>
#include <vector>

#include "edgerun/profile.hpp"
#include "ir/graph.h"

namespace edgerun {

// The start time of an event, or 0 without a profile.
inline double profile_start(const Profile* profile) {
  return profile == nullptr ? 0 : profile->now_us();
}

// One event for `nodes` run as a unit (a fused chain, or one node), named after all of them.
void record_nodes(Profile& profile, double start_us, const std::vector<const ir::Node*>& nodes);
// Step `index` of a plan, run by `backend`.
void record_step(Profile& profile, double start_us, size_t index, std::string_view backend);
// A whole run of a program.
void record_run(Profile& profile, double start_us);

}  // namespace edgerun
