// Runs one op in isolation on the reference kernels and compares results. The op cases in
// tests/ops/ build on this; backends other than the reference plug in here later.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "edgerun/tensor.hpp"
#include "ir/graph.h"

namespace edgerun::testing {

struct OpCall {
  std::string op_type;
  std::vector<Tensor> inputs;  // an undefined Tensor() marks an omitted optional input
  std::vector<ir::Attribute> attributes;
  int64_t opset = 18;
  size_t num_outputs = 1;
  std::string domain;
};

// The call as a node named "under_test": inputs "in<i>" ("" where omitted), outputs "out<i>".
ir::Node node_for(const OpCall& call);

// Runs the op's reference kernel; the error carries the kernel's message.
Result<std::vector<Tensor>> run_op(const OpCall& call);

// Shorthands for op cases.
OpCall op(std::string type, std::vector<Tensor> inputs, std::vector<ir::Attribute> attrs = {},
          int64_t opset = 18, size_t num_outputs = 1);
// Runs a call that must succeed (a failure is a test failure); on failure the outputs are
// undefined tensors, so indexing them stays safe.
std::vector<Tensor> run_all(const OpCall& call);
Tensor run1(const OpCall& call);
// The status of a call, for error cases.
Status run_status(const OpCall& call);

ir::Attribute attr(std::string name, int64_t value);
ir::Attribute attr(std::string name, float value);
ir::Attribute attr(std::string name, std::string value);
ir::Attribute attr(std::string name, std::vector<int64_t> values);
ir::Attribute attr(std::string name, std::vector<float> values);
ir::Attribute attr(std::string name, Tensor value);

template <class T>
Tensor make(Shape shape, std::vector<T> values) {
  return Tensor::from_vector<T>(std::move(shape), values);
}

// Same dtype and shape, and every element within atol + rtol * |expected| (exact for
// integers, bool and strings; NaN equals NaN).
::testing::AssertionResult tensors_close(const Tensor& actual, const Tensor& expected,
                                         double rtol = 1e-5, double atol = 1e-6);

}  // namespace edgerun::testing
