// Small models whose nodes oneDNN runs, shared by the run_into tests and the allocation count.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "unit/model_builder.h"

namespace edgerun::testing {

// Deterministic values in [-scale, scale).
inline std::vector<float> wave(size_t count, float scale, float phase) {
  std::vector<float> v(count);
  for (size_t i = 0; i < count; ++i) v[i] = scale * std::sin(0.7f * static_cast<float>(i) + phase);
  return v;
}

inline void set_int(onnx::NodeProto& node, const std::string& name, int64_t value) {
  onnx::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

inline void set_ints(onnx::NodeProto& node, const std::string& name, std::vector<int64_t> values) {
  onnx::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

inline void add_int64_initializer(ModelBuilder& b, const std::string& name,
                                  std::vector<int64_t> values) {
  onnx::TensorProto* t = b.graph().add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t->add_int64_data(v);
}

// An intent classifier's shape: x float32[2, 16] -> Gemm 16x32 + Relu -> Gemm 32x4 -> Softmax
// = "probs" [2, 4]; "flat" = the probabilities reshaped to [8] (a view of an intermediate).
inline std::string mlp_model() {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 16});
  b.initializer("w1", {16, 32}, wave(16 * 32, 0.3f, 0.1f));
  b.initializer("b1", {32}, wave(32, 0.1f, 0.2f));
  b.initializer("w2", {32, 4}, wave(32 * 4, 0.3f, 0.3f));
  b.initializer("b2", {4}, wave(4, 0.1f, 0.4f));
  add_int64_initializer(b, "flat_shape", {8});
  b.node("Gemm", {"x", "w1", "b1"}, {"h"});
  b.node("Relu", {"h"}, {"a"});
  b.node("Gemm", {"a", "w2", "b2"}, {"logits"});
  set_int(b.node("Softmax", {"logits"}, {"probs"}), "axis", 1);
  b.node("Reshape", {"probs", "flat_shape"}, {"flat"});
  b.output("probs");
  b.output("flat");
  return b.bytes();
}

// A mobile CNN's inverted residual block and head: x float32[1, 8, 28, 28] -> 1x1 Conv to 32 +
// Relu -> 3x3 depthwise Conv + Relu -> 1x1 Conv to 8 -> + x -> GlobalAveragePool -> Flatten ->
// Gemm 8x5 = "scores" [1, 5].
inline std::string inverted_block_model() {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {1, 8, 28, 28});
  b.initializer("we", {32, 8, 1, 1}, wave(32 * 8, 0.4f, 0.5f));
  b.initializer("be", {32}, wave(32, 0.1f, 0.6f));
  b.initializer("wd", {32, 1, 3, 3}, wave(32 * 9, 0.4f, 0.7f));
  b.initializer("bd", {32}, wave(32, 0.1f, 0.8f));
  b.initializer("wp", {8, 32, 1, 1}, wave(8 * 32, 0.3f, 0.9f));
  b.initializer("bp", {8}, wave(8, 0.1f, 1.0f));
  b.initializer("wh", {5, 8}, wave(5 * 8, 0.5f, 1.1f));
  b.initializer("bh", {5}, wave(5, 0.1f, 1.2f));
  b.node("Conv", {"x", "we", "be"}, {"e"});
  b.node("Relu", {"e"}, {"er"});
  onnx::NodeProto& dw = b.node("Conv", {"er", "wd", "bd"}, {"d"});
  set_int(dw, "group", 32);
  set_ints(dw, "pads", {1, 1, 1, 1});
  b.node("Relu", {"d"}, {"dr"});
  b.node("Conv", {"dr", "wp", "bp"}, {"p"});
  b.node("Add", {"p", "x"}, {"r"});
  b.node("GlobalAveragePool", {"r"}, {"g"});
  b.node("Flatten", {"g"}, {"f"});
  set_int(b.node("Gemm", {"f", "wh", "bh"}, {"scores"}), "transB", 1);
  b.output("scores");
  return b.bytes();
}

}  // namespace edgerun::testing
