// A partition compiled for oneDNN. Primitives depend on shapes, which are only known when a
// node's inputs arrive, so each node builds its primitives on the first run that brings a new
// set of input shapes and keeps them (constant weights reordered once, at that point), keyed by
// those shapes. Shapes that do not map onto oneDNN run that node on the reference kernel.
//
// At compile time the partition's Conv/Gemm/MatMul nodes are followed along single-reader
// edges: activations and Adds whose input is read by nothing else (no other node, no subgraph,
// not a graph output) join the node as oneDNN post-ops and the chain runs as one unit where its
// last node was. Shapes for which the chain cannot be fused run its nodes one by one.
#pragma once

#include <memory>
#include <vector>
#include <oneapi/dnnl/dnnl.hpp>

#include "backends/backend.h"

namespace edgerun::onednn {

Result<std::unique_ptr<Executable>> compile_partition(const Partition& partition,
                                                      const dnnl::engine& engine);

// How many (node, input shapes) pairs seen so far by `executable` (one compiled by this backend)
// run on the reference kernel because oneDNN could not take those shapes; 0 for any other
// executable.
size_t reference_fallbacks(const Executable& executable);

// The chains of nodes (graph indices, base first) that `executable` (one compiled by this
// backend) runs fused as one primitive with post-ops; empty for any other executable.
std::vector<std::vector<size_t>> fused_chains(const Executable& executable);

// How many (chain, input shapes) pairs seen so far by `executable` could not be fused (the
// chain's nodes then ran one by one); 0 for any other executable.
size_t unfused_runs(const Executable& executable);

}  // namespace edgerun::onednn
