#include "runtime/program.h"

#include <set>

#include "runtime/partitioner.h"
#include "runtime/profiler.h"
#include "runtime/value_types.h"

namespace edgerun::runtime {

Result<std::unique_ptr<Program>> Program::build(const ir::Graph& graph,
                                                const std::vector<const Backend*>& backends,
                                                const std::vector<Shape>& input_shapes) {
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

  program->types_ = infer_value_types(graph, input_shapes);
  const ValueTypes& types = program->types_;
  ER_ASSIGN_OR_RETURN(PartitionPlan plan, partition_graph(graph, backends, types));
  program->reasons_ = std::move(plan.reasons);

  // Each value is dropped after its last reader in execution order, unless it is a graph output.
  std::set<int> keep(program->output_slots_.begin(), program->output_slots_.end());
  std::vector<size_t> order;
  for (const PlannedPartition& p : plan.partitions) {
    order.insert(order.end(), p.nodes.begin(), p.nodes.end());
  }
  std::vector<std::vector<int>> release(graph.nodes.size());
  {
    std::vector<int> last_reader(slots.size(), -1);  // position in `order`
    for (size_t pos = 0; pos < order.size(); ++pos) {
      const ir::Node& node = graph.nodes[order[pos]];
      for (const std::string& r : node_reads(node)) {
        const int slot = slots.find(r);
        if (slot >= 0) last_reader[slot] = static_cast<int>(pos);
      }
      for (const std::string& out : node.outputs) {
        // An output nobody reads is dropped right after its producer.
        const int slot = out.empty() ? -1 : slots.find(out);
        if (slot >= 0 && last_reader[slot] < static_cast<int>(pos)) {
          last_reader[slot] = static_cast<int>(pos);
        }
      }
    }
    for (size_t slot = 0; slot < last_reader.size(); ++slot) {
      if (last_reader[slot] >= 0 && !keep.count(static_cast<int>(slot))) {
        release[order[last_reader[slot]]].push_back(static_cast<int>(slot));
      }
    }
  }

  for (const PlannedPartition& planned : plan.partitions) {
    Partition partition;
    partition.graph = &graph;
    partition.slots = &slots;
    partition.nodes = planned.nodes;
    partition.types = &types;
    for (size_t i : planned.nodes) partition.release_after.push_back(release[i]);
    Result<std::unique_ptr<Executable>> executable = planned.backend->compile(partition);
    if (!executable.is_ok()) return executable.status();
    program->steps_.push_back(
        Step{planned.backend, partition.nodes, std::move(executable).value()});
  }
  return program;
}

Result<std::vector<Value>> Program::run(std::vector<Value> inputs, Profile* profile) const {
  const double run_start_us = profile_start(profile);
  ExecutionFrame frame;
  frame.profile = profile;
  frame.slots = &slots_;
  frame.values.resize(slots_.size());
  for (const auto& [slot, value] : constants_) frame.values[static_cast<size_t>(slot)] = value;
  for (size_t i = 0; i < inputs.size() && i < input_slots_.size(); ++i) {
    frame.values[static_cast<size_t>(input_slots_[i])] = std::move(inputs[i]);
  }
  for (size_t s = 0; s < steps_.size(); ++s) {
    const double step_start_us = profile_start(profile);
    ER_RETURN_IF_ERROR(steps_[s].executable->run(frame));
    if (profile != nullptr) record_step(*profile, step_start_us, s, steps_[s].backend->name());
  }
  std::vector<Value> outputs;
  outputs.reserve(output_slots_.size());
  for (int slot : output_slots_) {
    const Value& v = frame.values[static_cast<size_t>(slot)];
    if (v.empty()) {
      return runtime_error("graph output '" + slots_.name(slot) + "' was not produced");
    }
    outputs.push_back(v);
  }
  if (profile != nullptr) record_run(*profile, run_start_us);
  return outputs;
}

}  // namespace edgerun::runtime
