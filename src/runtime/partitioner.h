// Placement: which backend runs each node, grouped into partitions, in an order that runs.
//
// Backends are taken in priority order. Every backend but the last groups the nodes it claims
// (and no earlier backend took) into connected, cycle-free partitions, and refuses a partition
// that is too small to pay for its boundary; the last backend (the reference, which runs
// everything) takes what is left. Every node not on the first backend carries the reasons the
// backends before it gave.
#pragma once

#include <string>
#include <vector>

#include "backends/backend.h"
#include "edgerun/status.hpp"
#include "ir/graph.h"

namespace edgerun::runtime {

struct PartitionOptions {
  // A partition with fewer nodes than this and no compute-heavy node stays on later backends.
  size_t min_partition_nodes = 2;
};

struct PlannedPartition {
  const Backend* backend = nullptr;
  std::vector<size_t> nodes;  // indices into graph.nodes, in a valid execution order
};

struct PartitionPlan {
  std::vector<PlannedPartition> partitions;  // in execution order
  std::vector<const Backend*> placement;     // per node
  std::vector<std::string> reasons;          // per node: why not on an earlier backend
};

// Every value a node reads, including what its subgraphs read from the enclosing scope.
std::vector<std::string> node_reads(const ir::Node& node);

// Errors name every node that no backend can run, with each backend's reason.
Result<PartitionPlan> partition_graph(const ir::Graph& graph,
                                      const std::vector<const Backend*>& backends,
                                      const ValueTypes& types,
                                      const PartitionOptions& options = {});

}  // namespace edgerun::runtime
