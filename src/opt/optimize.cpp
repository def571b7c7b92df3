#include "opt/optimize.h"

#include "opt/fold_batch_norm.h"
#include "opt/fold_constant_nodes.h"
#include "opt/fold_constants.h"
#include "opt/fold_shape_values.h"
#include "opt/fuse_attention.h"
#include "opt/fuse_gelu.h"
#include "opt/fuse_hard_swish.h"
#include "opt/fuse_layer_norm.h"
#include "opt/fuse_swish.h"
#include "opt/remove_dead_nodes.h"
#include "opt/remove_identities.h"
#include "opt/transposes_as_reshapes.h"

namespace edgerun::opt {

void prepare_graph(ir::Graph& graph, bool optimize) {
  fold_constant_nodes(graph);
  if (!optimize) return;
  // Canonicalise first, so the patterns below see producers and readers directly: no
  // identities in between, shape arithmetic and constant subgraphs already constants.
  remove_identities(graph);
  fold_shape_values(graph);
  fold_constants(graph);
  // Then fuse: BN into the convolution's weights (needs them constant), the exported patterns
  // into the ops backends run as one kernel.
  fold_batch_norm(graph);
  fuse_layer_norm(graph);
  fuse_attention(graph);
  fuse_gelu(graph);
  fuse_hard_swish(graph);
  fuse_swish(graph);
  // After the fusions, whose patterns name the transposes they take in.
  transposes_as_reshapes(graph);
  // Last, what folding and fusion left unread.
  remove_dead_nodes(graph);
}

}  // namespace edgerun::opt
