// A partition compiled for oneDNN. Primitives depend on shapes and on the layouts their inputs
// arrive in. When the partition's types know the shapes (a specialisation with concrete input
// shapes), every node is lowered at compile time and constant weights are reordered then, once;
// otherwise a node is lowered on the first run that brings it new shapes. Lowered forms are kept
// per input description. Shapes that do not map onto oneDNN run that node on the reference
// kernel.
//
// Layouts: a value produced here and read only by this partition's nodes may stay in the
// blocked layout its producer chose (see lowering.h); it is converted to a plain tensor where a
// node needs one (a shape-only op, a reference fallback, a primitive that reads plain data), and
// always when it leaves the partition.
//
// At compile time the partition's Conv/Gemm/MatMul nodes are followed along single-reader
// edges: activations and Adds whose input is read by nothing else (no other node, no subgraph,
// not a graph output) join the node as oneDNN post-ops and the chain runs as one unit where its
// last node was. Shapes for which the chain cannot be fused run its nodes one by one.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>
#include <oneapi/dnnl/dnnl.hpp>

#include "backends/backend.h"
#include "backends/onednn/thread_choice.h"

namespace edgerun::onednn {

// `threads` > 0: the OpenMP thread count the executable's runs use (see OneDnnBackend).
Result<std::unique_ptr<Executable>> compile_partition(const Partition& partition,
                                                      const dnnl::engine& engine, int threads = 0,
                                                      ThreadChoice choice = ThreadChoice::kBySize);

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

// How many lowered forms (node or chain, input description) `executable` holds, fallbacks to
// the reference included; 0 for any other executable. Non-zero before the first run when the
// partition was compiled with known shapes.
size_t lowered_count(const Executable& executable);

// How many of `executable`'s nodes (fused chains count once) prepare judged too small to split
// over threads, so they run on the calling thread alone; 0 for any other executable.
size_t single_thread_nodes(const Executable& executable);

// How many of `executable`'s convolutions (fused chains count once) prepare lowered to oneDNN's
// Winograd kernels; 0 for any other executable.
size_t winograd_nodes(const Executable& executable);

// How many of `executable`'s 1x1 convolutions prepare lowered with the depthwise convolution
// after them as a post-op (can_be_depthwise_post_op); 0 for any other executable.
size_t depthwise_post_op_nodes(const Executable& executable);

// How many of `executable`'s nodes (fused chains count once) prepare gave to each of edgerun's
// own kernels, by what they compute (PreparedNode::own_kernel); empty for any other executable.
std::map<std::string, size_t> own_kernel_nodes(const Executable& executable);

// How many of `executable`'s convolutions (fused chains count once) are split into slices that
// a Team of edgerun's own threads shares (ThreadChoice::kTeam); 0 for any other executable.
size_t team_split_nodes(const Executable& executable);

// How many of `executable`'s nodes (fused chains count once) prepare timed at one and at T
// threads (ThreadChoice::kMeasured), and how many of those were no faster on T threads and so
// run on the calling thread alone (they are counted in single_thread_nodes too).
struct ThreadChoiceStats {
  size_t timed = 0;
  size_t timed_one_thread = 0;
};
ThreadChoiceStats thread_choice_stats(const Executable& executable);

// How values moved between `executable`'s nodes so far (all runs together): reads of a value in
// the blocked layout its producer wrote, with no conversion, and conversions of activations
// (into a primitive's layout, or back to a plain tensor). Zeros for any other executable.
struct LayoutStats {
  uint64_t blocked_reads = 0;
  uint64_t conversions = 0;
};
LayoutStats layout_stats(const Executable& executable);

}  // namespace edgerun::onednn
