// The contract between the reference executor and one op's kernel.
//
// A kernel reads its inputs and attributes through KernelContext, computes its outputs
// (including their shapes) and stores them with set_output(). It never writes into an input:
// inputs may be initializers shared by every thread. Errors are returned as Status and should
// say what was expected and what was found; the executor adds the node and op to the message.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "core/dispatch.h"
#include "edgerun/status.hpp"
#include "edgerun/tensor.hpp"
#include "edgerun/value.hpp"
#include "ir/graph.h"

namespace edgerun::reference {

// Runs a subgraph attribute (If/Loop/Scan bodies) with the given inputs; values the body reads
// from enclosing scopes are resolved by the executor.
class SubgraphRunner {
 public:
  virtual ~SubgraphRunner() = default;
  virtual Result<std::vector<Value>> run(const ir::Graph& body, std::vector<Value> inputs) = 0;
};

class KernelContext {
 public:
  KernelContext(const ir::Node& node, std::span<const Value* const> inputs,
                std::span<Value> outputs, SubgraphRunner* subgraphs)
      : node_(node), inputs_(inputs), outputs_(outputs), subgraphs_(subgraphs) {}

  const ir::Node& node() const { return node_; }
  int64_t opset() const { return node_.opset; }

  size_t num_inputs() const { return inputs_.size(); }
  // False for omitted optional inputs ("" in the model) and for indices past the end.
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  const Value& input_value(size_t i) const { return *inputs_[i]; }
  // The input as a tensor; callers check has_input() first for optional inputs.
  const Tensor& input(size_t i) const { return inputs_[i]->tensor(); }

  size_t num_outputs() const { return outputs_.size(); }
  // False for omitted optional outputs: a kernel may skip computing them.
  bool wants_output(size_t i) const { return i < outputs_.size() && !node_.outputs[i].empty(); }
  void set_output(size_t i, Tensor t) {
    if (i < outputs_.size()) outputs_[i] = Value(std::move(t));
  }
  // Storage for output i that the kernel then fills entirely: the slot's planned bytes in the
  // run's arena when there are any and the tensor fits, else a fresh uninitialised tensor.
  Tensor allocate_output(size_t i, DType dtype, Shape shape) {
    if (frame_ != nullptr && i < output_slots_.size()) {
      return frame_->allocate(output_slots_[i], dtype, std::move(shape));
    }
    return Tensor::uninitialized(dtype, std::move(shape));
  }
  // The same for dims the kernel worked out on the stack (ExecutionFrame::allocate).
  Tensor allocate_output(size_t i, DType dtype, std::span<const int64_t> dims) {
    if (frame_ != nullptr && i < output_slots_.size()) {
      return frame_->allocate(output_slots_[i], dtype, dims);
    }
    return Tensor::uninitialized(dtype, Shape(dims.begin(), dims.end()));
  }
  // Where allocate_output() takes planned storage from (the executor's frame and the slot of each
  // output); without it, outputs are plain heap tensors.
  void set_arena(ExecutionFrame* frame, std::span<const int> output_slots) {
    frame_ = frame;
    output_slots_ = output_slots;
  }
  void set_output_value(size_t i, Value v) {
    if (i < outputs_.size()) outputs_[i] = std::move(v);
  }

  SubgraphRunner* subgraphs() const { return subgraphs_; }

  // Attribute shorthands.
  int64_t attr_int(std::string_view name, int64_t fallback) const {
    return node_.attr_int(name, fallback);
  }
  float attr_float(std::string_view name, float fallback) const {
    return node_.attr_float(name, fallback);
  }
  std::string attr_string(std::string_view name, const std::string& fallback = "") const {
    return node_.attr_string(name, fallback);
  }
  std::vector<int64_t> attr_ints(std::string_view name,
                                 const std::vector<int64_t>& fallback = {}) const {
    return node_.attr_ints(name, fallback);
  }
  std::vector<float> attr_floats(std::string_view name,
                                 const std::vector<float>& fallback = {}) const {
    return node_.attr_floats(name, fallback);
  }
  bool has_attr(std::string_view name) const { return node_.has_attr(name); }

 private:
  const ir::Node& node_;
  std::span<const Value* const> inputs_;
  std::span<Value> outputs_;
  SubgraphRunner* subgraphs_;
  ExecutionFrame* frame_ = nullptr;
  std::span<const int> output_slots_;
};

using KernelFn = Status (*)(KernelContext&);

// One declaration per registered op: Status kernel_Relu(KernelContext&), ...
#define OP(id, domain, onnx_name, min_opset, max_opset) Status kernel_##id(KernelContext& ctx);
#include "ir/ops.def"
#undef OP

// The kernel of an op. Generated from ops.def, so it covers every op.
KernelFn kernel_for(ir::Op op);

// For the memory planner. Whether every output of `op` is always fresh storage (never an input's
// bytes or a view of them); the outputs of other ops may alias their inputs (Reshape, Identity,
// control flow, sequences), so their inputs live as long as those outputs. A list of kernels
// read one by one: an op missing here only costs memory, never correctness.
bool writes_fresh_outputs(ir::Op op);
// Whether `op`'s output may be written over its input 0 when the two have the same shape and
// dtype: kernels that read element i of every input before writing element i of the output
// (and oneDNN's eltwise and binary primitives, which take dst == src0).
bool writes_in_place_safely(ir::Op op);

}  // namespace edgerun::reference
