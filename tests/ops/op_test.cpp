#include "ops/op_test.h"

#include <cmath>
#include <sstream>

#include "backends/reference/kernel.h"
#include "core/dispatch.h"

namespace edgerun::testing {

ir::Node node_for(const OpCall& call) {
  ir::Node node;
  node.name = "under_test";
  node.op_type = call.op_type;
  node.domain = call.domain;
  node.opset = call.opset;
  node.attributes = call.attributes;
  node.op = ir::find_op(call.domain, call.op_type);
  for (size_t i = 0; i < call.inputs.size(); ++i) {
    node.inputs.push_back(call.inputs[i].defined() ? "in" + std::to_string(i) : "");
  }
  for (size_t i = 0; i < call.num_outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
  return node;
}

Result<std::vector<Tensor>> run_op(const OpCall& call) {
  const ir::Node node = node_for(call);
  if (!node.op) return unsupported("no op " + call.op_type + " in the registry");
  std::vector<Value> values;
  values.reserve(call.inputs.size());
  std::vector<const Value*> inputs;
  for (const Tensor& t : call.inputs) values.emplace_back(t);
  for (size_t i = 0; i < call.inputs.size(); ++i) {
    inputs.push_back(call.inputs[i].defined() ? &values[i] : nullptr);
  }
  std::vector<Value> outputs(call.num_outputs);
  reference::KernelContext ctx(node, inputs, outputs, nullptr);
  Status s = reference::kernel_for(*node.op)(ctx);
  if (!s.is_ok()) return s;
  std::vector<Tensor> result;
  for (Value& v : outputs) result.push_back(v.tensor());
  return result;
}

ir::Attribute attr(std::string name, int64_t value) {
  ir::Attribute a;
  a.name = std::move(name);
  a.type = ir::AttrType::kInt;
  a.i = value;
  return a;
}

ir::Attribute attr(std::string name, float value) {
  ir::Attribute a;
  a.name = std::move(name);
  a.type = ir::AttrType::kFloat;
  a.f = value;
  return a;
}

ir::Attribute attr(std::string name, std::string value) {
  ir::Attribute a;
  a.name = std::move(name);
  a.type = ir::AttrType::kString;
  a.s = std::move(value);
  return a;
}

ir::Attribute attr(std::string name, std::vector<int64_t> values) {
  ir::Attribute a;
  a.name = std::move(name);
  a.type = ir::AttrType::kInts;
  a.ints = std::move(values);
  return a;
}

ir::Attribute attr(std::string name, std::vector<float> values) {
  ir::Attribute a;
  a.name = std::move(name);
  a.type = ir::AttrType::kFloats;
  a.floats = std::move(values);
  return a;
}

ir::Attribute attr(std::string name, Tensor value) {
  ir::Attribute a;
  a.name = std::move(name);
  a.type = ir::AttrType::kTensor;
  a.t = std::move(value);
  return a;
}

OpCall op(std::string type, std::vector<Tensor> inputs, std::vector<ir::Attribute> attrs,
          int64_t opset, size_t num_outputs) {
  OpCall call;
  call.op_type = std::move(type);
  call.inputs = std::move(inputs);
  call.attributes = std::move(attrs);
  call.opset = opset;
  call.num_outputs = num_outputs;
  return call;
}

std::vector<Tensor> run_all(const OpCall& call) {
  Result<std::vector<Tensor>> r = run_op(call);
  EXPECT_TRUE(r.is_ok()) << call.op_type << ": " << r.status().to_string();
  if (!r.is_ok()) return std::vector<Tensor>(call.num_outputs);
  return std::move(r).value();
}

Tensor run1(const OpCall& call) {
  std::vector<Tensor> out = run_all(call);
  return out.empty() ? Tensor() : out[0];
}

Status run_status(const OpCall& call) { return run_op(call).status(); }

::testing::AssertionResult tensors_close(const Tensor& actual, const Tensor& expected, double rtol,
                                         double atol) {
  if (actual.dtype() != expected.dtype()) {
    return ::testing::AssertionFailure() << "dtype " << dtype_name(actual.dtype()) << " != expected "
                                         << dtype_name(expected.dtype());
  }
  if (actual.shape() != expected.shape()) {
    return ::testing::AssertionFailure() << "shape " << shape_to_string(actual.shape())
                                         << " != expected " << shape_to_string(expected.shape());
  }
  std::ostringstream mismatch;
  Status s = dispatch<AllTypes>(actual.dtype(), "compare", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    for (int64_t i = 0; i < actual.size(); ++i) {
      const T& a = actual.data<T>()[i];
      const T& e = expected.data<T>()[i];
      bool ok;
      if constexpr (std::is_floating_point_v<compute_t<T>>) {
        const double x = static_cast<double>(static_cast<compute_t<T>>(a));
        const double y = static_cast<double>(static_cast<compute_t<T>>(e));
        ok = (std::isnan(x) && std::isnan(y)) || x == y || std::fabs(x - y) <= atol + rtol * std::fabs(y);
        if (!ok) mismatch << "element " << i << ": " << x << " vs expected " << y;
      } else if constexpr (std::is_same_v<T, std::complex<float>> ||
                           std::is_same_v<T, std::complex<double>>) {
        ok = std::abs(a - e) <= atol + rtol * std::abs(e);
        if (!ok) mismatch << "element " << i << " differs";
      } else {
        ok = a == e;
        if constexpr (std::is_same_v<T, std::string>) {
          if (!ok) mismatch << "element " << i << ": '" << a << "' vs expected '" << e << "'";
        } else {
          if (!ok) mismatch << "element " << i << ": " << +a << " vs expected " << +e;
        }
      }
      if (!ok) return runtime_error(mismatch.str());
    }
    return Status::ok();
  });
  if (!s.is_ok()) return ::testing::AssertionFailure() << s.message();
  return ::testing::AssertionSuccess();
}

}  // namespace edgerun::testing
