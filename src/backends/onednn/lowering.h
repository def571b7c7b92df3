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

// ---- fused post-ops ----------------------------------------------------------------------------
//
// A Conv, Gemm or MatMul whose output feeds a chain of activations and residual Adds (each
// intermediate read by the next link only) runs as one primitive with oneDNN post-ops. The
// executable finds the chains at compile time; these say what may be fused and build it.

// Whether `op` can carry post-ops (Conv, Gemm, MatMul).
bool can_take_post_ops(ir::Op op);

// Whether `node`, reading the chain's value as its input `chain_input`, can be fused as a
// post-op: an activation (Relu, LeakyRelu, Sigmoid, Tanh, Elu, HardSwish, Softplus, Clip) on
// input 0, or an Add of two inputs.
bool can_be_post_op(const ir::Node& node, size_t chain_input);

// One link of a chain: the node, which of its inputs is the chain's value, and where its other
// inputs start in the fused node's flat input list.
struct PostOpNode {
  const ir::Node* node = nullptr;
  size_t chain_input = 0;
  size_t first_input = 0;
};

// Lowers `base` with `chain` fused after it. `inputs` (and `constant`) are base's inputs, then
// for each link its inputs other than the chain's value, in order (null for omitted ones). The
// result has one output, the last link's. kUnsupported means these shapes cannot be fused (an
// Add whose other operand broadcasts the result wider, a broadcast oneDNN cannot do, ...): the
// nodes then run one by one.
Result<std::shared_ptr<const PreparedNode>> prepare_fused(const ir::Node& base,
                                                          std::span<const PostOpNode> chain,
                                                          const dnnl::engine& engine,
                                                          std::span<const Tensor* const> inputs,
                                                          const std::vector<bool>& constant);

}  // namespace edgerun::onednn
