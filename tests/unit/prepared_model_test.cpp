// The PreparedModel contract: schema, input checking, shape specialisation, concurrent runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "edgerun/edgerun.hpp"
#include "ops/op_test.h"
#include "unit/model_builder.h"

namespace edgerun {
namespace {

using testing::ModelBuilder;

// y = relu(x + bias), x: float32[batch, 3]
PreparedModel add_relu_model(const PrepareOptions& options = {}) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, 3}, {"batch"});
  b.initializer("bias", {3}, {1.0f, -2.0f, 0.5f});
  b.node("Add", {"x", "bias"}, {"sum"}, "add");
  b.node("Relu", {"sum"}, {"y"}, "relu");
  b.output("y");
  Engine engine;
  Result<PreparedModel> m = engine.prepare(ModelArtifact::from_bytes(b.bytes()), options);
  EXPECT_TRUE(m.is_ok()) << m.status().to_string();
  return m.is_ok() ? m.value() : PreparedModel();
}

TEST(PreparedModel, SchemaShowsSymbolicDims) {
  PreparedModel m = add_relu_model();
  const IoSchema& s = m.io_schema();
  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_EQ(s.inputs[0].name, "x");
  EXPECT_EQ(s.inputs[0].dtype, DType::kFloat32);
  EXPECT_EQ(s.inputs[0].type, "float32[batch, 3]");
  ASSERT_TRUE(s.inputs[0].shape.has_value());
  EXPECT_EQ((*s.inputs[0].shape)[0], -1);
  EXPECT_EQ(s.inputs[0].dim_names[0], "batch");
  ASSERT_EQ(s.outputs.size(), 1u);
  EXPECT_EQ(s.outputs[0].name, "y");
}

TEST(PreparedModel, RunsAndComputes) {
  PreparedModel m = add_relu_model();
  Result<TensorMap> out = m.run({{"x", testing::make<float>({2, 3}, {1, 1, 1, -5, 3, -1})}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_TRUE(testing::tensors_close(out->at("y"), testing::make<float>({2, 3}, {2, 0, 1.5f, 0, 1, 0})));
}

TEST(PreparedModel, CapabilitiesSayHowMoreThreadsAreUsed) {
  // A small convolution at two threads is split over edgerun's own team, and the report says so.
  auto prepare = [](int threads) {
    ModelBuilder b;
    b.input("x", onnx::TensorProto::FLOAT, {1, 16, 48, 48});
    std::vector<float> w(16 * 16 * 3 * 3);
    for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 7) * 0.05f - 0.15f;
    b.initializer("w", {16, 16, 3, 3}, w);  // 9.7 MFLOP
    b.node("Conv", {"x", "w"}, {"c"}, "conv");
    b.node("Relu", {"c"}, {"y"}, "relu");
    b.output("y");
    PrepareOptions options;
    options.threads = threads;
    Engine engine;
    Result<PreparedModel> m = engine.prepare(ModelArtifact::from_bytes(b.bytes()), options);
    EXPECT_TRUE(m.is_ok()) << m.status().to_string();
    return m.is_ok() ? m.value() : PreparedModel();
  };
  auto team_note = [](const PreparedModel& m) {
    for (const std::string& note : m.capabilities().notes) {
      if (note.find("units split over a team of 2 threads") != std::string::npos) return true;
    }
    return false;
  };
  PreparedModel two = prepare(2), one = prepare(1);
  EXPECT_TRUE(team_note(two));
  EXPECT_FALSE(team_note(one));
  std::vector<float> pixels(16 * 48 * 48);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<float>(i % 13) * 0.1f - 0.6f;
  const Tensor x = testing::make<float>({1, 16, 48, 48}, pixels);
  Result<TensorMap> a = two.run({{"x", x}}), b = one.run({{"x", x}});
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_TRUE(testing::tensors_close(a->at("y"), b->at("y"), 1e-5, 1e-5));
}

TEST(PreparedModel, CapabilitiesRecordRequestAndPlacement) {
  PrepareOptions options;
  options.compute_units = ComputeUnits::kCpuAndGpu;
  PreparedModel m = add_relu_model(options);
  const CapabilityReport& c = m.capabilities();
  EXPECT_EQ(c.requested, ComputeUnits::kCpuAndGpu);
  // No GPU backend here: the CPU backends run it. Add + Relu is a partition oneDNN takes.
  EXPECT_EQ(c.actual, "cpu (onednn)");
  ASSERT_FALSE(c.notes.empty());  // the GPU request could not be honoured, and it says so
  EXPECT_NE(c.notes[0].find("cpu_and_gpu"), std::string::npos);
  ASSERT_EQ(c.placements.size(), 2u);
  EXPECT_EQ(c.placements[0].node, "add");
  EXPECT_EQ(c.placements[0].backend, "onednn");
  EXPECT_EQ(c.nodes_per_backend.at("onednn"), 2u);
}

TEST(PreparedModel, BackendAllowListPinsTheReference) {
  PrepareOptions options;
  options.backends = {"reference"};
  PreparedModel m = add_relu_model(options);
  const CapabilityReport& c = m.capabilities();
  EXPECT_EQ(c.actual, "cpu (reference)");
  ASSERT_EQ(c.available_backends, std::vector<std::string>{"reference"});
  EXPECT_EQ(c.nodes_per_backend.at("reference"), 2u);
  Result<TensorMap> out = m.run({{"x", testing::make<float>({1, 3}, {1, 1, 1})}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_TRUE(testing::tensors_close(out->at("y"), testing::make<float>({1, 3}, {2, 0, 1.5f})));
}

TEST(PreparedModel, UnknownBackendInAllowListIsAnError) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {1, 3});
  b.node("Relu", {"x"}, {"y"});
  b.output("y");
  PrepareOptions options;
  options.backends = {"cuda"};
  Result<PreparedModel> m = Engine().prepare(ModelArtifact::from_bytes(b.bytes()), options);
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("cuda"), std::string::npos);
}

TEST(PreparedModel, LoneElementwiseNodeStaysOnReferenceWithReason) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 3});
  b.node("Relu", {"x"}, {"y"}, "relu");
  b.output("y");
  Result<PreparedModel> m = Engine().prepare(ModelArtifact::from_bytes(b.bytes()));
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  const CapabilityReport& c = m->capabilities();
  EXPECT_EQ(c.requested, ComputeUnits::kAll);
  EXPECT_TRUE(c.notes.empty());
  ASSERT_EQ(c.placements.size(), 1u);
  EXPECT_EQ(c.placements[0].backend, "reference");
  EXPECT_NE(c.placements[0].reason.find("onednn: "), std::string::npos);
  EXPECT_NE(c.placements[0].reason.find("too small"), std::string::npos);
}

TEST(PreparedModel, PartitionsRunOutOfGraphOrderWithTheReferenceResults) {
  // c1 feeds a side branch (Sin, reference only) and a Conv chain. The chain is one oneDNN
  // partition that runs before Sin; Add cannot join it (c1 -> sin -> add would be a cycle)
  // and alone is too small, so it runs on the reference. c1 must outlive the chain for Sin.
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {1, 2, 6, 6});
  std::vector<float> w1(4 * 2 * 3 * 3), w2(4 * 4 * 3 * 3);
  for (size_t i = 0; i < w1.size(); ++i) w1[i] = static_cast<float>(i % 7) * 0.25f - 0.7f;
  for (size_t i = 0; i < w2.size(); ++i) w2[i] = static_cast<float>(i % 5) * 0.2f - 0.4f;
  b.initializer("w1", {4, 2, 3, 3}, w1);
  b.initializer("w2", {4, 4, 3, 3}, w2);
  b.node("Conv", {"x", "w1"}, {"c1"}, "c1");
  b.node("Sin", {"c1"}, {"sin"}, "sin");
  b.node("Relu", {"c1"}, {"r1"}, "r1");
  onnx::NodeProto& c2 = b.node("Conv", {"r1", "w2"}, {"c2"}, "c2");
  auto* pads = c2.add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) pads->add_ints(1);
  b.node("Add", {"sin", "c2"}, {"y"}, "add");
  b.output("y");
  Engine engine;
  Result<PreparedModel> fast = engine.prepare(ModelArtifact::from_bytes(b.bytes()));
  PrepareOptions exact_options;
  exact_options.backends = {"reference"};
  Result<PreparedModel> exact = engine.prepare(ModelArtifact::from_bytes(b.bytes()), exact_options);
  ASSERT_TRUE(fast.is_ok()) << fast.status().to_string();
  ASSERT_TRUE(exact.is_ok()) << exact.status().to_string();
  const CapabilityReport& c = fast->capabilities();
  EXPECT_EQ(c.actual, "cpu (onednn + reference)");
  ASSERT_EQ(c.placements.size(), 5u);
  EXPECT_EQ(c.placements[0].backend, "onednn");
  EXPECT_EQ(c.placements[1].backend, "reference");
  EXPECT_NE(c.placements[1].reason.find("no oneDNN lowering for Sin"), std::string::npos);
  EXPECT_EQ(c.placements[2].backend, "onednn");
  EXPECT_EQ(c.placements[3].backend, "onednn");
  EXPECT_EQ(c.placements[4].backend, "reference");
  EXPECT_NE(c.placements[4].reason.find("too small"), std::string::npos);
  std::vector<float> xs(72);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>(i % 11) * 0.3f - 1.5f;
  const Tensor x = testing::make<float>({1, 2, 6, 6}, xs);
  Result<TensorMap> got = fast->run({{"x", x}});
  Result<TensorMap> want = exact->run({{"x", x}});
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  ASSERT_TRUE(want.is_ok()) << want.status().to_string();
  EXPECT_TRUE(testing::tensors_close(got->at("y"), want->at("y"), 1e-4, 1e-5));
}

TEST(PreparedModel, NewShapesBuildAndKeepSpecialisations) {
  PreparedModel m = add_relu_model();
  EXPECT_EQ(m.specialisation_count(), 0u);
  ASSERT_TRUE(m.run({{"x", Tensor(DType::kFloat32, {1, 3})}}).is_ok());
  ASSERT_TRUE(m.run({{"x", Tensor(DType::kFloat32, {4, 3})}}).is_ok());
  ASSERT_TRUE(m.run({{"x", Tensor(DType::kFloat32, {1, 3})}}).is_ok());
  EXPECT_EQ(m.specialisation_count(), 2u);
}

TEST(PreparedModel, PrepareOptionsBindSymbolicDims) {
  PrepareOptions options;
  options.input_shapes["x"] = {5, 3};
  PreparedModel m = add_relu_model(options);
  EXPECT_EQ(m.io_schema().inputs[0].type, "float32[5, 3]");
  EXPECT_EQ(m.specialisation_count(), 1u);  // built at prepare
  Result<TensorMap> wrong = m.run({{"x", Tensor(DType::kFloat32, {2, 3})}});
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_NE(wrong.status().message().find("dim 0 is 2, expected 5"), std::string::npos)
      << wrong.status().message();
}

// dim_values that make every input static give the first specialisation at prepare, so its
// shapes (and oneDNN's primitives) are known before the first run; that run reuses it.
TEST(PreparedModel, DimValuesBuildTheFirstSpecialisationAtPrepare) {
  PrepareOptions options;
  options.dim_values["batch"] = 4;
  PreparedModel m = add_relu_model(options);
  EXPECT_EQ(m.io_schema().inputs[0].type, "float32[4, 3]");
  EXPECT_EQ(m.specialisation_count(), 1u);
  ASSERT_TRUE(m.run({{"x", Tensor(DType::kFloat32, {4, 3})}}).is_ok());
  EXPECT_EQ(m.specialisation_count(), 1u);
}

TEST(PreparedModel, PrepareRejectsShapeForUnknownInput) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2});
  b.node("Identity", {"x"}, {"y"});
  b.output("y");
  PrepareOptions options;
  options.input_shapes["nope"] = {2};
  Result<PreparedModel> m = Engine().prepare(ModelArtifact::from_bytes(b.bytes()), options);
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("'nope'"), std::string::npos);
}

struct BadRun {
  const char* what;
  TensorMap inputs;
  const char* message;
};

TEST(PreparedModel, BadInputsNameTheTensorAndTheExpectation) {
  PreparedModel m = add_relu_model();
  const std::vector<BadRun> cases = {
      {"missing", {}, "missing input 'x' (float32[batch, 3])"},
      {"unknown name",
       {{"x", Tensor(DType::kFloat32, {1, 3})}, {"extra", Tensor(DType::kFloat32, {1})}},
       "unknown input 'extra'; the model's inputs are: x"},
      {"dtype", {{"x", Tensor(DType::kInt64, {1, 3})}},
       "input 'x' has dtype int64, expected float32"},
      {"rank", {{"x", Tensor(DType::kFloat32, {3})}}, "input 'x' has rank 1 (shape [3]), expected rank 2"},
      {"dim", {{"x", Tensor(DType::kFloat32, {1, 4})}}, "input 'x' dim 1 is 4, expected 3"},
  };
  for (const BadRun& c : cases) {
    Result<TensorMap> out = m.run(c.inputs);
    ASSERT_FALSE(out.is_ok()) << c.what;
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_NE(out.status().message().find(c.message), std::string::npos)
        << c.what << ": " << out.status().message();
  }
}

TEST(PreparedModel, SymbolicDimMustAgreeAcrossInputs) {
  ModelBuilder b;
  b.input("a", onnx::TensorProto::FLOAT, {-1}, {"n"});
  b.input("b", onnx::TensorProto::FLOAT, {-1}, {"n"});
  b.node("Add", {"a", "b"}, {"y"});
  b.output("y");
  Result<PreparedModel> m = Engine().prepare(ModelArtifact::from_bytes(b.bytes()));
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  Result<TensorMap> out = m->run({{"a", Tensor(DType::kFloat32, {2})}, {"b", Tensor(DType::kFloat32, {3})}});
  ASSERT_FALSE(out.is_ok());
  EXPECT_NE(out.status().message().find("input 'b' dim 0 ('n') is 3, but input 'a' bound 'n' to 2"),
            std::string::npos)
      << out.status().message();
}

TEST(PreparedModel, KernelErrorsNameTheNode) {
  // Declared shapes are unknown, so the broadcast failure surfaces in the kernel.
  ModelBuilder b;
  b.input("a", onnx::TensorProto::FLOAT, {-1}, {"n"});
  b.input("b", onnx::TensorProto::FLOAT, {-1}, {"m"});
  b.node("Add", {"a", "b"}, {"y"}, "adder");
  b.output("y");
  Result<PreparedModel> m = Engine().prepare(ModelArtifact::from_bytes(b.bytes()));
  ASSERT_TRUE(m.is_ok());
  Result<TensorMap> out = m->run({{"a", Tensor(DType::kFloat32, {2})}, {"b", Tensor(DType::kFloat32, {3})}});
  ASSERT_FALSE(out.is_ok());
  EXPECT_NE(out.status().message().find("node 'adder' (Add)"), std::string::npos)
      << out.status().message();
}

TEST(PreparedModel, ConcurrentRunsGiveTheSequentialResults) {
  PreparedModel m = add_relu_model();
  constexpr int kThreads = 4;
  constexpr int kRunsEach = 50;
  std::vector<Tensor> inputs;
  std::vector<Tensor> expected;
  for (int t = 0; t < kThreads; ++t) {
    std::vector<float> v;
    for (int i = 0; i < 3 * (t + 1); ++i) v.push_back(static_cast<float>(i * (t % 2 ? -1 : 1)));
    inputs.push_back(testing::make<float>({t + 1, 3}, v));
    expected.push_back(m.run({{"x", inputs.back()}}).value().at("y"));
  }
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRunsEach; ++r) {
        Result<TensorMap> out = m.run({{"x", inputs[t]}});
        if (!out.is_ok() || !testing::tensors_close(out->at("y"), expected[t])) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST(PreparedModel, ExternalDataIsLoaded) {
  const auto dir = std::filesystem::temp_directory_path() / ("edgerun_ext_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const float weights[3] = {10.0f, 20.0f, 30.0f};
  {
    std::ofstream f(dir / "weights.bin", std::ios::binary);
    f.write("pad!", 4);  // a non-zero offset
    f.write(reinterpret_cast<const char*>(weights), sizeof(weights));
  }
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {3});
  onnx::TensorProto* t = b.graph().add_initializer();
  t->set_name("w");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(3);
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  auto add_kv = [&](const char* k, const std::string& v) {
    auto* e = t->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add_kv("location", "weights.bin");
  add_kv("offset", "4");
  add_kv("length", "12");
  b.node("Add", {"x", "w"}, {"y"});
  b.output("y");
  {
    std::ofstream f(dir / "model.onnx", std::ios::binary);
    f << b.bytes();
  }
  Result<PreparedModel> m = Engine().prepare(ModelArtifact::from_file((dir / "model.onnx").string()));
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  Result<TensorMap> out = m->run({{"x", testing::make<float>({3}, {1, 2, 3})}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_TRUE(testing::tensors_close(out->at("y"), testing::make<float>({3}, {11, 22, 33})));

  // An offset past the end of the file is an error that names the tensor.
  t->mutable_external_data(1)->set_value("8");
  {
    std::ofstream f(dir / "model.onnx", std::ios::binary | std::ios::trunc);
    f << b.bytes();
  }
  Result<PreparedModel> bad = Engine().prepare(ModelArtifact::from_file((dir / "model.onnx").string()));
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("tensor 'w'"), std::string::npos) << bad.status().message();
  // A missing file too.
  std::filesystem::remove(dir / "weights.bin");
  bad = Engine().prepare(ModelArtifact::from_file((dir / "model.onnx").string()));
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("weights.bin"), std::string::npos) << bad.status().message();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace edgerun
