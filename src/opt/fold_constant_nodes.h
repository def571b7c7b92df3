// Canonicalisation: Constant nodes become initializers, so every backend sees their values as
// constants (a Clip whose bounds come from Constant nodes is a Clip with constant bounds) and no
// partition is cut by a node that only materialises an attribute.
#pragma once

#include "ir/graph.h"

namespace edgerun::opt {

// Folds the Constant nodes of `graph` and of its subgraphs, in place. A Constant whose value
// cannot be materialised (sparse_value) stays a node, so its kernel reports the error at run.
void fold_constant_nodes(ir::Graph& graph);

}  // namespace edgerun::opt
