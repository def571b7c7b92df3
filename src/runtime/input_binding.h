// Checks a run's inputs against the model's declared inputs and binds symbolic dims.
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include "edgerun/edgerun.hpp"
#include "ir/graph.h"

namespace edgerun::runtime {

// Returns the inputs in the graph's declaration order. Errors name the input and say what was
// expected: unknown names (listing the valid ones), missing inputs, wrong dtype, rank or dim,
// and symbolic dims bound to two different values.
Result<std::vector<Value>> bind_inputs(const ir::Graph& graph, const ValueMap& feeds,
                                       const std::map<std::string, int64_t>& fixed_dims);

// The same checks for a run whose inputs are tensors the caller keeps (PreparedModel::run_into):
// points `ordered` (one entry per graph input) at them in declaration order. Allocates nothing
// unless an input is wrong. Sequence and optional inputs are refused.
Status order_input_tensors(const ir::Graph& graph, const TensorMap& feeds,
                           const std::map<std::string, int64_t>& fixed_dims,
                           std::span<const Tensor*> ordered);

// Binds PrepareOptions' input shapes and dim values into the declared input types (recording the
// dims an input shape fixes in `options.dim_values`), so the schema a caller reads, and the graph
// passes, see the specialised shapes. Prepare and `edgerun inspect --plan` both run it before
// opt::prepare_graph, so their graphs stay node for node the same.
Status apply_shape_options(ir::Graph& graph, PrepareOptions& options);

}  // namespace edgerun::runtime
