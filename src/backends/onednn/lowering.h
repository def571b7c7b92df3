// Op lowering for the oneDNN backend: which nodes map onto oneDNN primitives exactly (per ONNX
// semantics), and how one node becomes primitives once its input shapes are known.
#pragma once

#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <span>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "edgerun/status.hpp"
#include "edgerun/tensor.hpp"
#include "ir/graph.h"

namespace edgerun::onednn {

// Why oneDNN cannot run `node` ("" when it can), judged from its op, opset, attributes, and the
// dtypes (and, where known, shapes) of its inputs. A claim may still meet shapes at run time
// that do not map (prepare_node then says kUnsupported and the node runs on the reference).
std::string claim_reason(const ir::Node& node, const ir::Graph& graph, const ValueTypes& types);

// Ops that do enough work to pay for a partition boundary on their own.
bool is_compute_heavy(ir::Op op);

// A node lowered for one set of input shapes: primitives created, constant weights reordered
// into the layout the primitive prefers. Immutable; execute() may run from several threads.
class PreparedNode {
 public:
  virtual ~PreparedNode() = default;
  // `inputs` are the node's inputs in order (null for omitted ones); `outputs` has one entry
  // per node output and receives the results.
  virtual Status execute(dnnl::stream& stream, std::span<const Tensor* const> inputs,
                         std::vector<Tensor>& outputs) const = 0;
};

// Lowers `node` for the shapes of `inputs`. `constant[i]` says input i is an initializer, whose
// value never changes, so it may be transformed once here. kUnsupported means these shapes do
// not map onto oneDNN; any other error is a real failure.
Result<std::shared_ptr<const PreparedNode>> prepare_node(const ir::Node& node,
                                                         const dnnl::engine& engine,
                                                         std::span<const Tensor* const> inputs,
                                                         const std::vector<bool>& constant);

}  // namespace edgerun::onednn
