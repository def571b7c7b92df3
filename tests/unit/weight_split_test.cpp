// Large weights are lifted out of the model bytes before protobuf parses them, then viewed or
// copied from where they lie: the model must import exactly as if protobuf had read them.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "edgerun/edgerun.hpp"
#include "onnx/weight_split.h"
#include "unit/model_builder.h"

namespace edgerun {
namespace {

using onnx_import::split_weights;
using testing::ModelBuilder;

constexpr size_t kLift = 4096;

void raw_initializer(ModelBuilder& b, const std::string& name, const std::vector<float>& values) {
  onnx::TensorProto* t = b.graph().add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(static_cast<int64_t>(values.size()));
  t->set_raw_data(values.data(), values.size() * sizeof(float));
}

void int64_initializer(ModelBuilder& b, const std::string& name, int64_t value) {
  onnx::TensorProto* t = b.graph().add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(1);
  t->add_int64_data(value);
}

std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>(i);
  return v;
}

// y = x + big + small, with `big` (2048 floats) lifted and `small` (4 floats) not. `pad` lengthens
// the first node's name, which (nodes are serialised before initializers) moves the weight's
// payload within the file.
std::string add_model(size_t pad, size_t n = 2048) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {static_cast<int64_t>(n)});
  raw_initializer(b, "big", ramp(n, 0.5f));
  raw_initializer(b, "small", {1, 2, 3, 4});
  b.node("Add", {"x", "big"}, {"t"}, "add" + std::string(pad, '_'));
  b.node("Slice", {"t", "starts", "ends"}, {"head"});
  int64_initializer(b, "starts", 0);
  int64_initializer(b, "ends", 4);
  b.node("Add", {"head", "small"}, {"y"});
  b.output("y");
  return b.bytes();
}

TEST(WeightSplit, LiftsLargeRawDataAndKeepsTheRest) {
  const std::string bytes = add_model(0);
  const auto split = split_weights(bytes, kLift);
  ASSERT_TRUE(split.has_value());
  ASSERT_EQ(split->raw_data.size(), 4u);  // big, small, starts, ends
  ASSERT_TRUE(split->raw_data[0].has_value());
  EXPECT_FALSE(split->raw_data[1].has_value());
  const std::vector<float> big = ramp(2048, 0.5f);
  EXPECT_EQ(*split->raw_data[0],
            std::string_view(reinterpret_cast<const char*>(big.data()), big.size() * 4));
  onnx::ModelProto skeleton;
  ASSERT_TRUE(skeleton.ParseFromString(split->skeleton));
  EXPECT_FALSE(skeleton.graph().initializer(0).has_raw_data());
  EXPECT_EQ(skeleton.graph().initializer(0).name(), "big");
  EXPECT_EQ(skeleton.graph().initializer(1).raw_data().size(), 16u);
  EXPECT_EQ(skeleton.graph().node_size(), 3);
  EXPECT_LT(split->skeleton.size(), 1024u);
}

TEST(WeightSplit, NothingToLiftOrMalformedBytesAreLeftToProtobuf) {
  EXPECT_FALSE(split_weights(add_model(0, 8), kLift).has_value());
  const std::string bytes = add_model(0);
  EXPECT_FALSE(split_weights(bytes.substr(0, bytes.size() / 2), kLift).has_value());
  EXPECT_FALSE(split_weights(std::string("\x0b\x0c", 2), kLift).has_value());  // a group
}

std::string length_delimited(int field, const std::string& payload) {
  std::string out(1, static_cast<char>((field << 3) | 2));
  for (size_t n = payload.size(); ; n >>= 7) {
    out.push_back(static_cast<char>((n & 0x7f) | (n >= 0x80 ? 0x80 : 0)));
    if (n < 0x80) break;
  }
  return out + payload;
}

TEST(WeightSplit, RepeatedRawDataStaysWhole) {
  // A tensor with two raw_data fields (protobuf keeps the last one) must not be split: lifting
  // one of them would change which one wins. Built by hand, since protobuf serialises only one.
  onnx::TensorProto first;
  first.set_name("w");
  first.set_raw_data(std::string(8192, '\1'));
  onnx::TensorProto second;
  second.set_raw_data(std::string(8192, '\0'));
  const std::string tensor = first.SerializeAsString() + second.SerializeAsString();
  const std::string model = length_delimited(7, length_delimited(5, tensor));
  EXPECT_FALSE(split_weights(model, kLift).has_value());
}

Result<std::vector<float>> run_file(const std::string& bytes, bool from_file) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("edgerun_weight_split_" + std::to_string(::getpid()) + ".onnx");
  std::ofstream(path, std::ios::binary) << bytes;
  Engine engine;
  Result<PreparedModel> model =
      engine.prepare(from_file ? ModelArtifact::from_file(path.string())
                               : ModelArtifact::from_bytes(bytes));
  std::filesystem::remove(path);
  if (!model.is_ok()) return model.status();
  const std::vector<float> x(2048, 1.0f);
  Result<TensorMap> out = model.value().run({{"x", Tensor::from_vector<float>({2048}, x)}});
  if (!out.is_ok()) return out.status();
  return out.value().at("y").to_vector<float>();
}

TEST(WeightSplit, ImportsAlignedAndMisalignedWeightsExactly) {
  // Find one name length where the weight's payload is aligned for floats in the file and one
  // where it is not, so both the in-place view and the copy are exercised.
  std::optional<size_t> aligned, misaligned;
  for (size_t pad = 0; pad < 8 && !(aligned && misaligned); ++pad) {
    const std::string bytes = add_model(pad);
    const auto split = split_weights(bytes, kLift);
    ASSERT_TRUE(split.has_value());
    const size_t offset = static_cast<size_t>(split->raw_data[0]->data() - bytes.data());
    (offset % 4 == 0 ? aligned : misaligned) = pad;
  }
  ASSERT_TRUE(aligned.has_value() && misaligned.has_value());
  for (size_t pad : {*aligned, *misaligned}) {
    for (bool from_file : {true, false}) {
      Result<std::vector<float>> y = run_file(add_model(pad), from_file);
      ASSERT_TRUE(y.is_ok()) << y.status().to_string();
      EXPECT_EQ(y.value(), (std::vector<float>{2.0f, 3.5f, 5.0f, 6.5f}))
          << "pad " << pad << (from_file ? " (file)" : " (bytes)");
    }
  }
}

// y = x @ w, w [256, 128] (128 KiB, large enough for a reloadable copy), x [4, 256] of ones.
std::string matmul_model(size_t pad) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {4, 256});
  b.node("MatMul", {"x", "w"}, {"y"}, "matmul" + std::string(pad, '_'));
  raw_initializer(b, "w", ramp(256 * 128, 1e-4f));
  b.graph().mutable_initializer(0)->clear_dims();
  b.graph().mutable_initializer(0)->add_dims(256);
  b.graph().mutable_initializer(0)->add_dims(128);
  b.output("y");
  return b.bytes();
}

TEST(WeightSplit, AMisalignedWeightGivenBackAfterPackingStillGivesExactRuns) {
  // The copy oneDNN packs at prepare leaves memory (memory/reloadable_copies.h); the runs, and
  // a second prepare of the same bytes, must not notice.
  for (size_t pad = 0; pad < 4; ++pad) {
    const std::string bytes = matmul_model(pad);
    const auto path = std::filesystem::temp_directory_path() /
                      ("edgerun_reloadable_" + std::to_string(::getpid()) + ".onnx");
    std::ofstream(path, std::ios::binary) << bytes;
    Engine engine;
    Result<PreparedModel> from_file = engine.prepare(ModelArtifact::from_file(path.string()));
    Result<PreparedModel> from_bytes = engine.prepare(ModelArtifact::from_bytes(bytes));
    std::filesystem::remove(path);
    ASSERT_TRUE(from_file.is_ok()) << from_file.status().to_string();
    ASSERT_TRUE(from_bytes.is_ok()) << from_bytes.status().to_string();
    const TensorMap x = {{"x", Tensor::from_vector<float>({4, 256}, std::vector<float>(1024, 1))}};
    const Result<TensorMap> want = from_bytes.value().run(x);
    ASSERT_TRUE(want.is_ok()) << want.status().to_string();
    for (int run = 0; run < 2; ++run) {
      const Result<TensorMap> got = from_file.value().run(x);
      ASSERT_TRUE(got.is_ok()) << got.status().to_string();
      EXPECT_EQ(got.value().at("y").to_vector<float>(), want.value().at("y").to_vector<float>())
          << "pad " << pad << ", run " << run;
    }
  }
}

TEST(WeightSplit, LiftedWeightOfTheWrongSizeNamesTheTensor) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2048});
  raw_initializer(b, "w", ramp(2048, 1.0f));
  b.graph().mutable_initializer(0)->set_dims(0, 2047);
  b.node("Add", {"x", "w"}, {"y"});
  b.output("y");
  Engine engine;
  Result<PreparedModel> model = engine.prepare(ModelArtifact::from_bytes(b.bytes()));
  ASSERT_FALSE(model.is_ok());
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(model.status().message().find("tensor 'w' raw_data has 8192 bytes"), std::string::npos)
      << model.status().message();
}

}  // namespace
}  // namespace edgerun
