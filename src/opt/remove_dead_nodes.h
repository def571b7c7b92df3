// Dead-code elimination: nodes none of whose outputs is read (by a node, a subgraph or as a
// graph output) are removed, then initializers nothing reads. Folding leaves both behind: the
// producer whose only reader was a folded Shape, the original of a folded transposed weight.
#pragma once

#include <cstddef>

#include "ir/graph.h"

namespace edgerun::opt {

// In place; returns how many nodes were removed. Initializers that are also graph inputs stay
// (a caller may feed them).
size_t remove_dead_nodes(ir::Graph& graph);

}  // namespace edgerun::opt
