// Evaluates a node at prepare time when all its inputs are small known values, by running its
// reference kernel: the prepare-time result is then the run-time result by construction.
#pragma once

#include <optional>
#include <vector>

#include "backends/backend.h"
#include "edgerun/tensor.hpp"
#include "ir/graph.h"

namespace edgerun::runtime {

// Tensors up to this many elements have their values tracked at prepare time. Enough for shape
// vectors and scalars, small enough that evaluating them costs nothing next to a run.
inline constexpr int64_t kMaxKnownValueElements = 1024;

// The outputs of `node` (an undefined Tensor for omitted or non-tensor outputs) computed by its
// reference kernel from the known values in `types`, or nullopt when an input value is unknown,
// the node may not be evaluated ahead (reference::may_evaluate_ahead), or the kernel fails (the
// run will then report that error).
std::optional<std::vector<Tensor>> evaluate_with_reference(const ir::Node& node,
                                                           const ValueTypes& types);

}  // namespace edgerun::runtime
