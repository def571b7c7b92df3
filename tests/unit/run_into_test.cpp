// PreparedModel::run_into: results written into the caller's tensors, inputs read in place.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "edgerun/edgerun.hpp"
#include "ops/op_test.h"
#include "support/small_models.h"

namespace edgerun {
namespace {

using testing::ModelBuilder;

PreparedModel prepare(const std::string& bytes, ComputeUnits units = ComputeUnits::kAll) {
  PrepareOptions options;
  options.compute_units = units;
  options.threads = 1;
  Engine engine;
  Result<PreparedModel> m = engine.prepare(ModelArtifact::from_bytes(bytes), options);
  EXPECT_TRUE(m.is_ok()) << m.status().to_string();
  return m.is_ok() ? m.value() : PreparedModel();
}

// A caller's buffer, filled with a value no result has.
struct Buffer {
  explicit Buffer(Shape shape, float fill = -999.0f) : values(shape_size(shape), fill) {
    tensor = Tensor::wrap(DType::kFloat32, std::move(shape), values.data(), nullptr);
  }
  std::vector<float> values;
  Tensor tensor;
  bool untouched() const {
    for (float v : values) {
      if (v != -999.0f) return false;
    }
    return true;
  }
};

void refill(Buffer& input, float phase) {
  const std::vector<float> v = testing::wave(input.values.size(), 1.0f, phase);
  std::memcpy(input.values.data(), v.data(), v.size() * sizeof(float));
}

TEST(RunInto, WritesTheResultsIntoTheCallersTensorsRunAfterRun) {
  for (const ComputeUnits units : {ComputeUnits::kAll, ComputeUnits::kCpuOnly}) {
    SCOPED_TRACE(std::string(compute_units_name(units)));
    PreparedModel m = prepare(testing::mlp_model(), units);
    Buffer x({2, 16}), probs({2, 4}), flat({8});
    TensorMap outputs{{"probs", probs.tensor}, {"flat", flat.tensor}};
    // The same buffers over several runs with new input values: every run's results are the
    // ones run() gives for those values (tensors kept from one run must not go stale).
    for (int r = 0; r < 4; ++r) {
      refill(x, static_cast<float>(r));
      ASSERT_TRUE(m.run_into({{"x", x.tensor}}, outputs).is_ok());
      Result<TensorMap> expected = m.run({{"x", x.tensor.clone()}});
      ASSERT_TRUE(expected.is_ok()) << expected.status().to_string();
      EXPECT_TRUE(testing::tensors_close(probs.tensor, expected->at("probs"), 0, 0)) << r;
      EXPECT_TRUE(testing::tensors_close(flat.tensor, expected->at("flat"), 0, 0)) << r;
      EXPECT_EQ(outputs.at("probs").raw_data(), probs.values.data());
    }
    // Another input buffer, then the first again.
    Buffer other({2, 16});
    refill(other, 7.0f);
    ASSERT_TRUE(m.run_into({{"x", other.tensor}}, outputs).is_ok());
    const Tensor other_probs = m.run({{"x", other.tensor}})->at("probs");
    EXPECT_TRUE(testing::tensors_close(probs.tensor, other_probs, 0, 0));
    ASSERT_TRUE(m.run_into({{"x", x.tensor}}, outputs).is_ok());
    EXPECT_TRUE(testing::tensors_close(probs.tensor, m.run({{"x", x.tensor}})->at("probs"), 0, 0));
  }
}

TEST(RunInto, WritesOnlyTheOutputsAskedFor) {
  PreparedModel m = prepare(testing::mlp_model());
  Buffer x({2, 16}), flat({8});
  refill(x, 0.5f);
  TensorMap outputs{{"flat", flat.tensor}};
  ASSERT_TRUE(m.run_into({{"x", x.tensor}}, outputs).is_ok());
  EXPECT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(testing::tensors_close(flat.tensor, m.run({{"x", x.tensor}})->at("flat"), 0, 0));
}

TEST(RunInto, CnnBlockMatchesRun) {
  PreparedModel m = prepare(testing::inverted_block_model());
  Buffer x({1, 8, 28, 28}), scores({1, 5});
  TensorMap outputs{{"scores", scores.tensor}};
  for (int r = 0; r < 3; ++r) {
    refill(x, static_cast<float>(r));
    const std::vector<float> fed = x.values;
    ASSERT_TRUE(m.run_into({{"x", x.tensor}}, outputs).is_ok());
    EXPECT_EQ(x.values, fed) << "the input buffer was written";
    const Tensor expected = m.run({{"x", x.tensor}})->at("scores");
    EXPECT_TRUE(testing::tensors_close(scores.tensor, expected, 0, 0));
  }
}

TEST(RunInto, WrongTensorsFailBeforeAnythingRunsNamingThem) {
  PreparedModel m = prepare(testing::mlp_model());
  Buffer x({2, 16});
  refill(x, 1.0f);
  auto fails = [&](TensorMap outputs, const std::string& expected) {
    Status s = m.run_into({{"x", x.tensor}}, outputs);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << expected;
    EXPECT_NE(s.message().find(expected), std::string::npos) << s.message();
  };
  Buffer wrong_shape({4, 2});
  fails({{"probs", wrong_shape.tensor}},
        "output 'probs' is float32[2, 4] but the tensor given for it is float32[4, 2]");
  EXPECT_TRUE(wrong_shape.untouched());
  std::vector<double> doubles(8, -999.0);
  fails({{"probs", Tensor::wrap(DType::kFloat64, {2, 4}, doubles.data(), nullptr)}},
        "the tensor given for it is float64[2, 4]");
  Buffer probs({2, 4});
  fails({{"logits", probs.tensor}},
        "unknown output 'logits'; the model's outputs are: probs, flat");
  fails({{"probs", Tensor()}}, "the tensor given for output 'probs' has no storage");
  // One buffer for two outputs, and an output over the input: a kernel would read what it
  // already overwrote.
  fails({{"probs", probs.tensor}, {"flat", probs.tensor.reshaped({8})}},
        "the tensors given for outputs 'flat' and 'probs' share memory");
  fails({{"probs", Tensor::wrap(DType::kFloat32, {2, 4}, x.values.data() + 4, nullptr)}},
        "the tensor given for output 'probs' shares memory with input 'x'");
  EXPECT_TRUE(probs.untouched());
  // Inputs are checked as run() checks them.
  TensorMap outputs{{"probs", probs.tensor}};
  Status s = m.run_into({{"x", testing::make<float>({2, 15}, std::vector<float>(30))}}, outputs);
  EXPECT_NE(s.message().find("input 'x' dim 1 is 15, expected 16"), std::string::npos)
      << s.message();
  s = m.run_into({}, outputs);
  EXPECT_NE(s.message().find("missing input 'x'"), std::string::npos) << s.message();
  s = m.run_into({{"x", x.tensor}, {"y", x.tensor}}, outputs);
  EXPECT_NE(s.message().find("unknown input 'y'"), std::string::npos) << s.message();
  EXPECT_TRUE(probs.untouched());
  EXPECT_FALSE(PreparedModel().run_into({}, outputs).is_ok());
}

// y = relu(x + bias) with x: float32[batch, 3]: the output's shape is known only once the run
// has the input, so a wrong tensor is found after the run, still without being written.
TEST(RunInto, OutputsOfShapesKnownOnlyAtRunTimeAreCheckedWhenWritten) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, 3}, {"batch"});
  b.initializer("bias", {3}, {1.0f, -2.0f, 0.5f});
  b.node("Add", {"x", "bias"}, {"sum"});
  b.node("Relu", {"sum"}, {"y"});
  b.output("y");
  PreparedModel m = prepare(b.bytes());
  Tensor x = testing::make<float>({2, 3}, {1, 1, 1, -5, 3, -1});
  Buffer wrong({3, 3});
  TensorMap outputs{{"y", wrong.tensor}};
  Status s = m.run_into({{"x", x}}, outputs);
  EXPECT_NE(s.message().find("output 'y' is float32[2, 3] but the tensor given for it is "
                             "float32[3, 3]"),
            std::string::npos)
      << s.message();
  EXPECT_TRUE(wrong.untouched());
  Buffer y({2, 3});
  outputs = {{"y", y.tensor}};
  ASSERT_TRUE(m.run_into({{"x", x}}, outputs).is_ok());
  EXPECT_TRUE(
      testing::tensors_close(y.tensor, testing::make<float>({2, 3}, {2, 0, 1.5f, 0, 1, 0})));
}

TEST(RunInto, SymbolicDimsMustAgreeAcrossInputs) {
  ModelBuilder b;
  b.input("a", onnx::TensorProto::FLOAT, {-1}, {"n"});
  b.input("b", onnx::TensorProto::FLOAT, {-1}, {"n"});
  b.node("Add", {"a", "b"}, {"y"});
  b.output("y");
  PreparedModel m = prepare(b.bytes());
  Buffer y({2});
  TensorMap outputs{{"y", y.tensor}};
  const Tensor two = testing::make<float>({2}, {1, 2});
  Status s = m.run_into({{"a", two}, {"b", testing::make<float>({3}, {1, 2, 3})}}, outputs);
  EXPECT_NE(s.message().find("input 'b' dim 0 ('n') is 3, but input 'a' bound 'n' to 2"),
            std::string::npos)
      << s.message();
  EXPECT_TRUE(y.untouched());
  ASSERT_TRUE(m.run_into({{"a", two}, {"b", two}}, outputs).is_ok());
  EXPECT_TRUE(testing::tensors_close(y.tensor, testing::make<float>({2}, {2, 4})));
}

TEST(RunInto, WithATimeoutTheResultsAreCopiedInWhenTheRunFinishes) {
  PreparedModel m = prepare(testing::mlp_model());
  Buffer x({2, 16}), probs({2, 4});
  refill(x, 2.0f);
  TensorMap outputs{{"probs", probs.tensor}};
  RunOptions options;
  options.timeout = std::chrono::milliseconds(60000);
  ASSERT_TRUE(m.run_into({{"x", x.tensor}}, outputs, options).is_ok());
  EXPECT_TRUE(testing::tensors_close(probs.tensor, m.run({{"x", x.tensor}})->at("probs"), 0, 0));
  Buffer wrong({8});
  outputs = {{"probs", wrong.tensor}};
  EXPECT_NE(m.run_into({{"x", x.tensor}}, outputs, options).message().find("float32[8]"),
            std::string::npos);
  EXPECT_TRUE(wrong.untouched());
}

TEST(RunInto, ConcurrentRunsIntoTheirOwnBuffersGiveTheSequentialResults) {
  PreparedModel m = prepare(testing::mlp_model());
  constexpr int kThreads = 4;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Buffer x({2, 16}), probs({2, 4});
      refill(x, static_cast<float>(t));
      const Tensor expected = m.run({{"x", x.tensor}}).value().at("probs");
      TensorMap outputs{{"probs", probs.tensor}};
      for (int r = 0; r < 50; ++r) {
        if (!m.run_into({{"x", x.tensor}}, outputs).is_ok() ||
            !testing::tensors_close(probs.tensor, expected, 0, 0)) {
          ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace edgerun
