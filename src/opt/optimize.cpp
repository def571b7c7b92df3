#include "opt/optimize.h"

#include "opt/fold_constant_nodes.h"
#include "opt/fold_constants.h"
#include "opt/fuse_gelu.h"

namespace edgerun::opt {

void prepare_graph(ir::Graph& graph, bool optimize) {
  fold_constant_nodes(graph);
  if (!optimize) return;
  fold_constants(graph);
  fuse_gelu(graph);
}

}  // namespace edgerun::opt
