// The I/O schema and the capability report as JSON, for the C ABI and the language bindings.
#pragma once

#include <string>

#include "edgerun/edgerun.hpp"

namespace edgerun {

// {"inputs": [{"name", "kind", "dtype", "shape", "dim_names", "type"}], "outputs": [...]};
// "shape" is null when undeclared, with -1 for dims not fixed.
std::string schema_to_json(const IoSchema& schema);
// {"requested", "actual", "available_backends", "notes", "node_count", "nodes_per_backend",
//  "placements": [{"node", "op", "backend", "reason"}], "partitions": [{"backend", "nodes"}]}
std::string capabilities_to_json(const CapabilityReport& report);

}  // namespace edgerun
