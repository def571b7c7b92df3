// The graph passes prepare runs before placement, in order, in one place: the engine runs them,
// and tools that need the graph as placed (`edgerun inspect --plan`) run the same ones.
#pragma once

#include "ir/graph.h"

namespace edgerun::opt {

// Canonicalisation (Constant nodes -> initializers) always; with `optimize`
// (PrepareOptions::optimize) also identity removal, folding (constants, shape arithmetic for
// the input shapes known at prepare, BatchNormalization into convolutions), pattern fusion
// (LayerNorm, GELU, HardSwish) and dead-node removal.
void prepare_graph(ir::Graph& graph, bool optimize);

}  // namespace edgerun::opt
