// Running one node's reference kernel outside any run, on values known before it: what constant
// folding and prepare-time value inference use, so a value computed ahead is by construction the
// value the run would compute.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "edgerun/tensor.hpp"
#include "ir/graph.h"

namespace edgerun::reference {

// Whether `node` gives the same outputs every time it runs on the same inputs and has no
// subgraph: training-mode-capable Dropout and control flow are never evaluated ahead.
bool may_evaluate_ahead(const ir::Node& node);

// The outputs of `node` (an undefined Tensor for omitted or non-tensor outputs), computed by its
// reference kernel from `value_of(input name)`; nullopt when an input is unknown (null), the
// node may not be evaluated ahead, or the kernel fails (the run then reports that error).
std::optional<std::vector<Tensor>> evaluate_node(
    const ir::Node& node, const std::function<const Tensor*(const std::string&)>& value_of);

}  // namespace edgerun::reference
