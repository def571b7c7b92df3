// Canonicalisation: Identity nodes, and Dropout nodes that are identities at inference (no
// training_mode, or a constant false one, and no mask read), are removed and their readers read
// the input instead. Exporters leave them behind (mobilenet_v3's Identity nodes, BERT's
// Dropouts); each costs a node, a step boundary or a copy at run time.
#pragma once

#include <cstddef>

#include "ir/graph.h"

namespace edgerun::opt {

// In place, not inside subgraphs; returns how many nodes were removed. A graph output keeps its
// name: the producer of the Identity's input is renamed to write it, or, where that cannot be
// done (the input is a graph input, an initializer, another graph output or read by a
// subgraph), the Identity stays.
size_t remove_identities(ir::Graph& graph);

}  // namespace edgerun::opt
