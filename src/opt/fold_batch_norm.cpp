#include "opt/fold_batch_norm.h"

#include <cmath>

#include "opt/graph_uses.h"

namespace edgerun::opt {
namespace {

const Tensor* float_vector(const Uses& uses, const std::string& name, int64_t size) {
  const Tensor* t = uses.constant(name);
  if (t == nullptr || t->dtype() != DType::kFloat32 || t->rank() != 1 || t->dim(0) != size) {
    return nullptr;
  }
  return t;
}

bool is_inference_batch_norm(const ir::Node& bn) {
  if (!bn.op || *bn.op != ir::Op::BatchNormalization || !bn.domain.empty() ||
      bn.inputs.size() != 5 || bn.outputs.empty() || bn.outputs[0].empty()) {
    return false;
  }
  if (bn.opset < 7 || (bn.opset < 9 && bn.attr_int("spatial", 1) != 1)) return false;
  if (bn.attr_int("training_mode", 0) != 0) return false;
  for (size_t i = 1; i < bn.outputs.size(); ++i) {
    if (!bn.outputs[i].empty()) return false;
  }
  return true;
}

}  // namespace

size_t fold_batch_norm(ir::Graph& graph) {
  const Uses uses(graph);
  std::vector<char> removed(graph.nodes.size(), 0);
  size_t folded = 0;
  for (size_t c = 0; c < graph.nodes.size(); ++c) {
    ir::Node& conv = graph.nodes[c];
    if (!conv.op || *conv.op != ir::Op::Conv || !conv.domain.empty() || conv.inputs.size() < 2 ||
        conv.inputs.size() > 3 || conv.outputs.size() != 1 || conv.outputs[0].empty()) {
      continue;
    }
    const Tensor* w = uses.constant(conv.inputs[1]);
    if (w == nullptr || w->dtype() != DType::kFloat32 || w->rank() < 3) continue;
    const int64_t m = w->dim(0);
    const Tensor* b = nullptr;
    if (conv.has_input(2) && (b = float_vector(uses, conv.inputs[2], m)) == nullptr) continue;
    const std::optional<size_t> r = uses.only_reader(conv.outputs[0]);
    if (!r || removed[*r] != 0 || !is_inference_batch_norm(graph.nodes[*r]) ||
        graph.nodes[*r].inputs[0] != conv.outputs[0]) {
      continue;
    }
    const ir::Node& bn = graph.nodes[*r];
    const Tensor* params[4];
    bool ok = true;
    for (size_t i = 0; i < 4; ++i) ok = ok && (params[i] = float_vector(uses, bn.inputs[i + 1], m));
    if (!ok) continue;
    const double epsilon = bn.attr_float("epsilon", 1e-5f);
    Tensor weights = w->clone();
    Tensor bias(DType::kFloat32, {m});
    const int64_t per_channel = m == 0 ? 0 : w->size() / m;
    for (int64_t o = 0; o < m; ++o) {
      const double s = static_cast<double>(params[0]->data<float>()[o]) /
                       std::sqrt(static_cast<double>(params[3]->data<float>()[o]) + epsilon);
      float* row = weights.data<float>() + o * per_channel;
      for (int64_t k = 0; k < per_channel; ++k) row[k] = static_cast<float>(row[k] * s);
      const double b0 = b != nullptr ? b->data<float>()[o] : 0.0;
      bias.data<float>()[o] = static_cast<float>(
          (b0 - params[2]->data<float>()[o]) * s + params[1]->data<float>()[o]);
    }
    const std::string w_name = unused_name(graph, conv.inputs[1] + "/bn_folded");
    const std::string b_name = unused_name(graph, bn.outputs[0] + "/bn_folded_bias");
    graph.initializers[w_name] = std::move(weights);
    graph.initializers[b_name] = std::move(bias);
    // The convolution writes the BN's output; its position is still after everything it reads.
    conv.inputs = {conv.inputs[0], w_name, b_name};
    conv.outputs = {bn.outputs[0]};
    removed[*r] = 1;
    ++folded;
  }
  if (folded > 0) {
    std::vector<std::optional<ir::Node>> none(graph.nodes.size());
    splice_nodes(graph, removed, none);
  }
  return folded;
}

}  // namespace edgerun::opt
