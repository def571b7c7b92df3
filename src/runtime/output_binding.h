// Checks the tensors a caller gives a run for its outputs (PreparedModel::run_into) and copies
// results into them.
#pragma once

#include <span>

#include "backends/backend.h"
#include "edgerun/edgerun.hpp"
#include "ir/graph.h"

namespace edgerun::runtime {

// Points `targets` (one entry per graph output, declaration order) at the caller's tensors in
// `outputs`, null where none is given. Every name must be a graph output, every tensor must
// have storage, and none may share bytes with an input or another output (a kernel would read
// what it already overwrote). Allocates nothing unless something is wrong.
Status order_output_tensors(const ir::Graph& graph, const TensorMap& inputs, TensorMap& outputs,
                            std::span<Tensor*> targets);

// Each target against the dtype and shape prepare knows for its output (`types`); outputs whose
// shape is known only at run time are checked when they are written.
Status check_output_tensors(const ir::Graph& graph, const ValueTypes& types,
                            std::span<Tensor* const> targets);

// "output 'y' is float32[1, 4] but the tensor given for it is float32[1, 3]"
Status output_mismatch(const std::string& name, const std::string& result, const Tensor& target);

// Copies `result` into `target` (same dtype and shape), unless a kernel wrote it there already.
void copy_into(const Tensor& result, Tensor& target);

// For a run that could not write into the targets directly (one with a deadline): checks and
// copies each result into the caller's tensor of the same name.
Status copy_outputs_into(const ir::Graph& graph, const TensorMap& results, TensorMap& outputs);

}  // namespace edgerun::runtime
