// Builds small ONNX models in memory for tests, with the real protobuf types, so tests exercise
// the same import path as model files.
#pragma once

#include <onnx/onnx_pb.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace edgerun::testing {

class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset = 17) {
    model_.set_ir_version(8);
    model_.set_producer_name("edgerun-tests");
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    graph_ = model_.mutable_graph();
    graph_->set_name("test");
  }

  // dims: a number, or -1 with a symbol for a symbolic dim.
  ModelBuilder& input(const std::string& name, int32_t elem_type, std::vector<int64_t> dims,
                      std::vector<std::string> symbols = {}) {
    fill(graph_->add_input(), name, elem_type, dims, symbols);
    return *this;
  }
  ModelBuilder& output(const std::string& name, int32_t elem_type = onnx::TensorProto::FLOAT) {
    auto* v = graph_->add_output();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(elem_type);
    return *this;
  }
  onnx::NodeProto& node(const std::string& op_type, std::vector<std::string> inputs,
                        std::vector<std::string> outputs, const std::string& name = "") {
    onnx::NodeProto* n = graph_->add_node();
    n->set_op_type(op_type);
    n->set_name(name.empty() ? op_type + std::to_string(graph_->node_size()) : name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return *n;
  }
  ModelBuilder& initializer(const std::string& name, std::vector<int64_t> dims,
                            std::vector<float> values) {
    onnx::TensorProto* t = graph_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
    return *this;
  }
  onnx::ModelProto& proto() { return model_; }
  onnx::GraphProto& graph() { return *graph_; }
  std::string bytes() const { return model_.SerializeAsString(); }

  static void fill(onnx::ValueInfoProto* v, const std::string& name, int32_t elem_type,
                   const std::vector<int64_t>& dims, const std::vector<std::string>& symbols) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(elem_type);
    auto* shape = t->mutable_shape();
    for (size_t i = 0; i < dims.size(); ++i) {
      auto* d = shape->add_dim();
      if (dims[i] >= 0) {
        d->set_dim_value(dims[i]);
      } else if (i < symbols.size()) {
        d->set_dim_param(symbols[i]);
      }
    }
  }

 private:
  onnx::ModelProto model_;
  onnx::GraphProto* graph_;
};

inline void set_int_attr(onnx::NodeProto& n, const std::string& name, int64_t value) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

// y = gelu(x @ transpose(w)) for x of [2, 4], written as exporters write it: the weight
// transposed in the graph (a constant to fold) and the GELU as five nodes (a pattern to fuse).
inline ModelBuilder exported_gelu_model() {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 4});
  std::vector<float> w(12);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.1f * static_cast<float>(i) - 0.5f;
  b.initializer("w", {3, 4}, w);
  b.initializer("sqrt2", {}, {1.4142135f});
  b.initializer("one", {}, {1.0f});
  b.initializer("half", {}, {0.5f});
  b.node("Transpose", {"w"}, {"wt"});
  b.node("MatMul", {"x", "wt"}, {"h"});
  b.node("Div", {"h", "sqrt2"}, {"d"});
  b.node("Erf", {"d"}, {"e"});
  b.node("Add", {"e", "one"}, {"a"});
  b.node("Mul", {"h", "a"}, {"m"});
  b.node("Mul", {"m", "half"}, {"y"});
  b.output("y");
  return b;
}

}  // namespace edgerun::testing
