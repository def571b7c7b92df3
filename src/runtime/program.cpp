#include "runtime/program.h"

#include <set>

namespace edgerun::runtime {
namespace {

// Every value a node reads, including what its subgraphs read from this scope.
std::vector<std::string> reads_of(const ir::Node& node) {
  std::vector<std::string> reads;
  for (const std::string& in : node.inputs) {
    if (!in.empty()) reads.push_back(in);
  }
  for (const ir::Attribute& a : node.attributes) {
    if (a.g) {
      for (const std::string& r : a.g->outer_references()) reads.push_back(r);
    }
    for (const auto& g : a.graphs) {
      for (const std::string& r : g->outer_references()) reads.push_back(r);
    }
  }
  return reads;
}

}  // namespace

Result<std::unique_ptr<Program>> Program::build(const ir::Graph& graph,
                                                const std::vector<const Backend*>& backends) {
  auto program = std::unique_ptr<Program>(new Program());
  program->graph_ = &graph;
  SlotTable& slots = program->slots_;
  for (const ir::ValueInfo& in : graph.inputs) program->input_slots_.push_back(slots.add(in.name));
  for (const auto& [name, tensor] : graph.initializers) {
    program->constants_.emplace_back(slots.add(name), Value(tensor));
  }
  for (const ir::Node& node : graph.nodes) {
    for (const std::string& out : node.outputs) {
      if (!out.empty()) slots.add(out);
    }
  }
  for (const ir::ValueInfo& out : graph.outputs) program->output_slots_.push_back(slots.add(out.name));

  // Placement: the first backend that takes the node.
  std::vector<const Backend*> placement(graph.nodes.size(), nullptr);
  std::string unplaced;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    std::string last_reason;
    for (const Backend* b : backends) {
      std::string why;
      if (b->supports(graph.nodes[i], graph, &why)) {
        placement[i] = b;
        break;
      }
      last_reason = why;
    }
    if (placement[i] == nullptr) {
      unplaced += "\n  " + graph.nodes[i].describe() + ": " + last_reason;
    }
  }
  if (!unplaced.empty()) return unsupported("no backend can run these nodes:" + unplaced);

  // Each value is dropped after its last reader, unless it is a graph output.
  std::set<int> keep(program->output_slots_.begin(), program->output_slots_.end());
  std::vector<std::vector<int>> release(graph.nodes.size());
  {
    std::vector<int> last_reader(slots.size(), -1);
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      for (const std::string& r : reads_of(graph.nodes[i])) {
        const int slot = slots.find(r);
        if (slot >= 0) last_reader[slot] = static_cast<int>(i);
      }
      for (const std::string& out : graph.nodes[i].outputs) {
        // An output nobody reads is dropped right after its producer.
        const int slot = out.empty() ? -1 : slots.find(out);
        if (slot >= 0 && last_reader[slot] < static_cast<int>(i)) last_reader[slot] = static_cast<int>(i);
      }
    }
    for (size_t slot = 0; slot < last_reader.size(); ++slot) {
      if (last_reader[slot] >= 0 && !keep.count(static_cast<int>(slot))) {
        release[last_reader[slot]].push_back(static_cast<int>(slot));
      }
    }
  }

  // Runs of consecutive nodes on one backend become one step.
  for (size_t i = 0; i < graph.nodes.size();) {
    Partition partition;
    partition.graph = &graph;
    partition.slots = &slots;
    const Backend* backend = placement[i];
    for (; i < graph.nodes.size() && placement[i] == backend; ++i) {
      partition.nodes.push_back(i);
      partition.release_after.push_back(release[i]);
    }
    Result<std::unique_ptr<Executable>> executable = backend->compile(partition);
    if (!executable.is_ok()) return executable.status();
    program->steps_.push_back(Step{backend, partition.nodes, std::move(executable).value()});
  }
  return program;
}

Result<std::vector<Value>> Program::run(std::vector<Value> inputs) const {
  ExecutionFrame frame;
  frame.slots = &slots_;
  frame.values.resize(slots_.size());
  for (const auto& [slot, value] : constants_) frame.values[static_cast<size_t>(slot)] = value;
  for (size_t i = 0; i < inputs.size() && i < input_slots_.size(); ++i) {
    frame.values[static_cast<size_t>(input_slots_[i])] = std::move(inputs[i]);
  }
  for (const Step& step : steps_) ER_RETURN_IF_ERROR(step.executable->run(frame));
  std::vector<Value> outputs;
  outputs.reserve(output_slots_.size());
  for (int slot : output_slots_) {
    const Value& v = frame.values[static_cast<size_t>(slot)];
    if (v.empty()) {
      return runtime_error("graph output '" + slots_.name(slot) + "' was not produced");
    }
    outputs.push_back(v);
  }
  return outputs;
}

}  // namespace edgerun::runtime
