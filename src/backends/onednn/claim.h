// Which nodes the oneDNN backend claims: one table of the ops it lowers, each with its claim rule
// (op, opset, attributes, dtypes and, where known, shapes), a one-line summary for the operator
// docs, and whether it does enough work to pay for a partition boundary on its own.
#pragma once

#include <string>
#include <string_view>

#include "backends/backend.h"
#include "ir/graph.h"

namespace edgerun::onednn {

// Why oneDNN cannot run `node` ("" when it can). A claim may still meet shapes at run time that
// do not map (the node then runs on the reference kernel).
std::string claim_reason(const ir::Node& node, const ir::Graph& graph, const ValueTypes& types);

// What `op` needs to be claimed, for docs/operators.md; "" when oneDNN never claims it.
std::string_view claim_summary(ir::Op op);

// Ops that do enough work to pay for a partition boundary on their own.
bool is_compute_heavy(ir::Op op);

// Ops that only relabel their input's shape (Reshape, Flatten, Squeeze, Unsqueeze, Identity,
// inference Dropout). Claimed so that they do not split a partition; they run as views of
// their plain input, without a copy.
bool is_view_op(ir::Op op);

}  // namespace edgerun::onednn
