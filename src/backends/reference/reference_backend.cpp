#include "backends/reference/reference_backend.h"

#include <map>
#include <span>
#include <new>
#include <set>

#include "backends/reference/kernel.h"
#include "core/small_array.h"
#include "runtime/profiler.h"

namespace edgerun::reference {
namespace {

struct CompiledNode {
  const ir::Node* node = nullptr;
  KernelFn kernel = nullptr;
  std::vector<int> inputs;  // -1 for omitted optional inputs
  std::vector<int> outputs;
  std::vector<int> release;
};

class ReferenceExecutable;

// A subgraph attribute (If/Loop/Scan body) compiled to run in a child frame.
struct SubgraphProgram {
  SlotTable slots;
  std::vector<int> input_slots;
  std::vector<int> output_slots;
  std::vector<std::pair<int, Value>> constants;
  std::vector<int> captures;  // slots filled from enclosing frames before the body runs
  std::unique_ptr<ReferenceExecutable> executable;
};

class ReferenceExecutable final : public Executable {
 public:
  Status add_node(const ir::Node& node, const SlotTable& slots, std::vector<int> release);
  Status run(ExecutionFrame& frame) const override;
  const SubgraphProgram* body(const ir::Graph* graph) const {
    auto it = bodies_.find(graph);
    return it == bodies_.end() ? nullptr : it->second.get();
  }

 private:
  Status run_node(const CompiledNode& n, ExecutionFrame& frame) const;

  std::vector<CompiledNode> nodes_;
  std::map<const ir::Graph*, std::unique_ptr<SubgraphProgram>> bodies_;
};

Result<std::unique_ptr<SubgraphProgram>> compile_subgraph(const ir::Graph& graph);

// Gives kernels access to the bodies compiled for their node, run in a child frame.
class FrameSubgraphRunner final : public SubgraphRunner {
 public:
  FrameSubgraphRunner(const ReferenceExecutable& owner, const ExecutionFrame& frame)
      : owner_(owner), frame_(frame) {}

  Result<std::vector<Value>> run(const ir::Graph& body, std::vector<Value> inputs) override {
    const SubgraphProgram* program = owner_.body(&body);
    if (program == nullptr) return internal_error("subgraph '" + body.name + "' was not compiled");
    if (inputs.size() != program->input_slots.size()) {
      return invalid_argument("subgraph '" + body.name + "' takes " +
                              std::to_string(program->input_slots.size()) + " inputs, got " +
                              std::to_string(inputs.size()));
    }
    ExecutionFrame child;
    child.slots = &program->slots;
    child.parent = &frame_;
    child.values.resize(program->slots.size());
    for (const auto& [slot, value] : program->constants) child.values[slot] = value;
    for (int slot : program->captures) {
      const Value* outer = frame_.lookup(program->slots.name(slot));
      if (outer != nullptr) child.values[slot] = *outer;
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      child.values[program->input_slots[i]] = std::move(inputs[i]);
    }
    ER_RETURN_IF_ERROR(program->executable->run(child));
    std::vector<Value> outputs;
    outputs.reserve(program->output_slots.size());
    for (int slot : program->output_slots) {
      Value& v = child.values[slot];
      if (v.empty()) {
        return runtime_error("subgraph '" + body.name + "' did not produce its output '" +
                             program->slots.name(slot) + "'");
      }
      outputs.push_back(std::move(v));
    }
    return outputs;
  }

 private:
  const ReferenceExecutable& owner_;
  const ExecutionFrame& frame_;
};

Status ReferenceExecutable::add_node(const ir::Node& node, const SlotTable& slots,
                                     std::vector<int> release) {
  const std::string why = unsupported_reason(node);
  if (!why.empty()) return unsupported(node.describe() + ": " + why);
  CompiledNode n;
  n.node = &node;
  n.kernel = kernel_for(*node.op);
  for (const std::string& in : node.inputs) n.inputs.push_back(in.empty() ? -1 : slots.find(in));
  for (const std::string& out : node.outputs) {
    n.outputs.push_back(out.empty() ? -1 : slots.find(out));
  }
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (!node.inputs[i].empty() && n.inputs[i] < 0) {
      return internal_error(node.describe() + " input '" + node.inputs[i] + "' has no slot");
    }
  }
  n.release = std::move(release);
  for (const ir::Attribute& a : node.attributes) {
    std::vector<const ir::Graph*> graphs;
    if (a.g) graphs.push_back(a.g.get());
    for (const auto& g : a.graphs) graphs.push_back(g.get());
    for (const ir::Graph* g : graphs) {
      Result<std::unique_ptr<SubgraphProgram>> body = compile_subgraph(*g);
      if (!body.is_ok()) {
        return body.status().with_context(node.describe() + " subgraph '" + a.name + "'");
      }
      bodies_[g] = std::move(body).value();
    }
  }
  nodes_.push_back(std::move(n));
  return Status::ok();
}

// Ops whose inputs may be sequences or optionals; every other kernel reads tensors only, and
// the executor checks that before calling it.
bool takes_sequences_or_optionals(ir::Op op) {
  switch (op) {
    case ir::Op::Identity:
    case ir::Op::If:
    case ir::Op::Loop:
    case ir::Op::SequenceAt:
    case ir::Op::SequenceInsert:
    case ir::Op::SequenceErase:
    case ir::Op::SequenceLength:
    case ir::Op::ConcatFromSequence:
    case ir::Op::SequenceMap:
    case ir::Op::Optional:
    case ir::Op::OptionalHasElement:
    case ir::Op::OptionalGetElement: return true;
    default: return false;
  }
}

Status ReferenceExecutable::run_node(const CompiledNode& n, ExecutionFrame& frame) const {
  const ir::Node& node = *n.node;
  // Most nodes have few inputs and outputs, and a run should not allocate for them.
  SmallArray<const Value*, 8> input_values(n.inputs.size());
  SmallArray<Value, 8> output_values(n.outputs.size());
  const std::span<const Value*> inputs = input_values.span();
  const std::span<Value> outputs = output_values.span();
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i] < 0) continue;
    const Value& v = frame.values[static_cast<size_t>(n.inputs[i])];
    if (v.empty()) {
      return runtime_error(node.describe() + ": input '" + node.inputs[i] + "' has no value");
    }
    if (!v.is_tensor() && !takes_sequences_or_optionals(*node.op)) {
      return invalid_argument(node.describe() + ": input '" + node.inputs[i] +
                              "' must be a tensor, got " + describe_value(v));
    }
    inputs[i] = &v;
  }
  FrameSubgraphRunner subgraphs(*this, frame);
  KernelContext ctx(node, inputs, outputs, &subgraphs);
  ctx.set_arena(&frame, n.outputs);
  Status status;
  try {
    status = n.kernel(ctx);
  } catch (const std::bad_alloc&) {
    status = Status(StatusCode::kOutOfMemory, "out of memory");
  } catch (const std::exception& e) {
    status = internal_error(std::string("kernel threw: ") + e.what());
  }
  if (!status.is_ok()) return status.with_context(node.describe());
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    if (n.outputs[i] < 0) continue;
    if (outputs[i].empty()) {
      return internal_error(node.describe() + ": kernel did not produce output '" +
                            node.outputs[i] + "'");
    }
    frame.values[static_cast<size_t>(n.outputs[i])] = std::move(outputs[i]);
  }
  for (int slot : n.release) frame.release(slot);
  return Status::ok();
}

Status ReferenceExecutable::run(ExecutionFrame& frame) const {
  for (const CompiledNode& n : nodes_) {
    // Cooperative cancellation: a deadline or a cancel stops the run between nodes.
    ER_RETURN_IF_ERROR(frame.stop_status());
    const double start_us = profile_start(frame.profile);
    ER_RETURN_IF_ERROR(run_node(n, frame));
    if (frame.profile != nullptr) record_nodes(*frame.profile, start_us, {n.node});
  }
  return Status::ok();
}

Result<std::unique_ptr<SubgraphProgram>> compile_subgraph(const ir::Graph& graph) {
  auto program = std::make_unique<SubgraphProgram>();
  for (const ir::ValueInfo& in : graph.inputs) program->input_slots.push_back(program->slots.add(in.name));
  for (const auto& [name, tensor] : graph.initializers) {
    program->constants.emplace_back(program->slots.add(name), Value(tensor));
  }
  for (const std::string& name : graph.outer_references()) {
    program->captures.push_back(program->slots.add(name));
  }
  for (const ir::Node& node : graph.nodes) {
    for (const std::string& in : node.inputs) {
      if (!in.empty()) program->slots.add(in);
    }
    for (const std::string& out : node.outputs) {
      if (!out.empty()) program->slots.add(out);
    }
  }
  for (const ir::ValueInfo& out : graph.outputs) {
    program->output_slots.push_back(program->slots.add(out.name));
  }
  program->executable = std::make_unique<ReferenceExecutable>();
  for (const ir::Node& node : graph.nodes) {
    ER_RETURN_IF_ERROR(program->executable->add_node(node, program->slots, {}));
  }
  return program;
}

}  // namespace

std::string unsupported_reason(const ir::Node& node) {
  if (!node.op) {
    return "op " + node.op_type + " (domain '" + (node.domain.empty() ? "ai.onnx" : node.domain) +
           "', opset " + std::to_string(node.opset) + ") is not implemented";
  }
  const ir::OpInfo& info = ir::op_info(*node.op);
  if (node.opset < info.min_opset || node.opset > info.max_opset) {
    return "opset " + std::to_string(node.opset) + " of " + node.op_type +
           " is outside the implemented range " + std::to_string(info.min_opset) + ".." +
           std::to_string(info.max_opset);
  }
  return {};
}

bool ReferenceBackend::supports(const ir::Node& node, const ir::Graph&, const ValueTypes&,
                                std::string* why_not) const {
  std::string why = unsupported_reason(node);
  if (why_not != nullptr) *why_not = why;
  return why.empty();
}

Result<std::unique_ptr<Executable>> ReferenceBackend::compile(const Partition& partition) const {
  auto executable = std::make_unique<ReferenceExecutable>();
  for (size_t i = 0; i < partition.nodes.size(); ++i) {
    const ir::Node& node = partition.graph->nodes[partition.nodes[i]];
    std::vector<int> release;
    if (i < partition.release_after.size()) release = partition.release_after[i];
    ER_RETURN_IF_ERROR(executable->add_node(node, *partition.slots, std::move(release)));
  }
  return std::unique_ptr<Executable>(std::move(executable));
}

}  // namespace edgerun::reference
