#include <chrono>

#include "runtime/input_binding.h"
#include "runtime/prepared_model_impl.h"

namespace edgerun {

Result<std::shared_ptr<const runtime::Program>> PreparedModel::Impl::specialise(
    const std::vector<Shape>& shapes) const {
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = specialisations.find(shapes);
    if (it != specialisations.end()) return it->second;
  }
  // Compile outside the lock; if two threads race, the first to insert wins.
  Result<std::unique_ptr<runtime::Program>> built =
      runtime::Program::build(model->graph, backends, shapes);
  if (!built.is_ok()) return built.status();
  std::shared_ptr<const runtime::Program> program = std::move(built).value();
  std::lock_guard<std::mutex> lock(mutex);
  auto [it, inserted] = specialisations.emplace(shapes, program);
  if (inserted) {
    specialisation_order.push_back(shapes);
    if (specialisation_order.size() > kMaxSpecialisations) {
      specialisations.erase(specialisation_order.front());
      specialisation_order.erase(specialisation_order.begin());
    }
  }
  return it->second;
}

Result<ValueMap> PreparedModel::run_values(const ValueMap& inputs, const RunOptions& options,
                                           RunStats* stats) const {
  if (!impl_) return invalid_argument("run() on an empty PreparedModel");
  const auto start = std::chrono::steady_clock::now();
  const ir::Graph& graph = impl_->model->graph;
  Result<std::vector<Value>> bound = runtime::bind_inputs(graph, inputs, impl_->options.dim_values);
  if (!bound.is_ok()) return bound.status();
  std::vector<Shape> key;
  for (const Value& v : bound.value()) key.push_back(v.is_tensor() ? v.tensor().shape() : Shape{-1});
  Result<std::shared_ptr<const runtime::Program>> program = impl_->specialise(key);
  if (!program.is_ok()) return program.status();
  Result<std::vector<Value>> outputs =
      program.value()->run(std::move(bound).value(), options.profile);
  if (!outputs.is_ok()) return outputs.status();
  ValueMap result;
  for (size_t i = 0; i < graph.outputs.size(); ++i) {
    result[graph.outputs[i].name] = std::move(outputs.value()[i]);
  }
  if (stats != nullptr) {
    stats->latency_ms = std::chrono::duration<double, std::milli>(
                            std::chrono::steady_clock::now() - start).count();
    stats->specialisations = specialisation_count();
  }
  return result;
}

Result<TensorMap> PreparedModel::run(const TensorMap& inputs, const RunOptions& options) const {
  ValueMap values;
  for (const auto& [name, tensor] : inputs) values[name] = Value(tensor);
  Result<ValueMap> outputs = run_values(values, options);
  if (!outputs.is_ok()) return outputs.status();
  TensorMap tensors;
  for (auto& [name, value] : outputs.value()) {
    if (!value.is_tensor()) {
      return unsupported("output '" + name + "' is not a tensor; use run_values()");
    }
    tensors[name] = std::move(value.tensor());
  }
  return tensors;
}

const IoSchema& PreparedModel::io_schema() const {
  static const IoSchema kEmpty;
  return impl_ ? impl_->schema : kEmpty;
}

const CapabilityReport& PreparedModel::capabilities() const {
  static const CapabilityReport kEmpty;
  return impl_ ? impl_->capabilities : kEmpty;
}

size_t PreparedModel::specialisation_count() const {
  if (!impl_) return 0;
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->specialisations.size();
}

}  // namespace edgerun
