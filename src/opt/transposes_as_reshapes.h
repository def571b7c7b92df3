// Canonicalisation: a Transpose that moves only dims of size 1 (the other dims keep their order)
// leaves every element where it was, so it becomes a Reshape to its output shape, which backends
// run as a view of its input instead of a copy. Exporters emit such transposes around
// sequence-first attention at batch 1 ([1, S, E] <-> [S, 1, E]): ViT-B/16 has 24, each a copy
// of 605 KB.
#pragma once

#include <cstddef>

#include "ir/graph.h"

namespace edgerun::opt {

// In place, in the main graph, where shape inference knows the input's shape from the declared
// input shapes (a symbolic dim is not known to be 1, so those transposes stay); returns how many
// became reshapes.
size_t transposes_as_reshapes(ir::Graph& graph);

}  // namespace edgerun::opt
