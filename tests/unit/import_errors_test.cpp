// A bad model never crashes: each way a model can be broken gives an error naming the problem.
#include <gtest/gtest.h>

#include "edgerun/edgerun.hpp"
#include "unit/model_builder.h"

namespace edgerun {
namespace {

using testing::ModelBuilder;

Status prepare_status(const std::string& bytes) {
  Engine engine;
  Result<PreparedModel> m = engine.prepare(ModelArtifact::from_bytes(bytes));
  return m.status();
}

std::string identity_model() {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2});
  b.node("Identity", {"x"}, {"y"});
  b.output("y");
  return b.bytes();
}

TEST(ImportErrors, TruncatedFileIsRejected) {
  const std::string good = identity_model();
  for (size_t cut : {size_t{1}, good.size() / 2, good.size() - 3}) {
    const Status s = prepare_status(good.substr(0, cut));
    ASSERT_FALSE(s.is_ok()) << "cut at " << cut;
    EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.to_string();
  }
}

TEST(ImportErrors, GarbageBytesAreRejected) {
  const Status s = prepare_status(std::string("\x08\xff\xff\xff\xff\x0f not a model at all", 26));
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("not a valid ONNX model"), std::string::npos) << s.message();
}

TEST(ImportErrors, EmptyFileIsRejected) {
  const Status s = prepare_status("");
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
}

TEST(ImportErrors, MissingFileNamesThePath) {
  Engine engine;
  Result<PreparedModel> m = engine.prepare(ModelArtifact::from_file("/nonexistent/model.onnx"));
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), StatusCode::kIoError);
  EXPECT_NE(m.status().message().find("/nonexistent/model.onnx"), std::string::npos);
}

TEST(ImportErrors, CycleNamesTheNodes) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2});
  b.node("Identity", {"b"}, {"a"}, "first");
  b.node("Identity", {"a"}, {"b"}, "second");
  b.node("Identity", {"x"}, {"y"}, "third");
  b.output("y");
  const Status s = prepare_status(b.bytes());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("cycle"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'first'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'second'"), std::string::npos) << s.message();
}

TEST(ImportErrors, UndefinedInputNamesNodeAndValue) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2});
  b.node("Identity", {"ghost"}, {"y"}, "reader");
  b.output("y");
  const Status s = prepare_status(b.bytes());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("node 'reader' (Identity) reads 'ghost'"), std::string::npos)
      << s.message();
}

TEST(ImportErrors, ValueProducedTwice) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2});
  b.node("Identity", {"x"}, {"y"}, "one");
  b.node("Identity", {"x"}, {"y"}, "two");
  b.output("y");
  const Status s = prepare_status(b.bytes());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("produced twice"), std::string::npos) << s.message();
}

TEST(ImportErrors, UnknownOpFailsPrepareWithItsName) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2});
  b.node("FrobnicateV2", {"x"}, {"y"}, "weird");
  b.output("y");
  const Status s = prepare_status(b.bytes());
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("node 'weird' (FrobnicateV2)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("not implemented"), std::string::npos) << s.message();
}

TEST(ImportErrors, UnimportedDomainIsAnInvalidModel) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2});
  b.node("Thing", {"x"}, {"y"}, "custom").set_domain("com.example");
  b.output("y");
  const Status s = prepare_status(b.bytes());
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("domain 'com.example'"), std::string::npos) << s.message();
}

TEST(ImportErrors, ImportedButUnknownDomainIsUnsupported) {
  ModelBuilder b;
  auto* op = b.proto().add_opset_import();
  op->set_domain("com.example");
  op->set_version(1);
  b.input("x", onnx::TensorProto::FLOAT, {2});
  b.node("Thing", {"x"}, {"y"}, "custom").set_domain("com.example");
  b.output("y");
  const Status s = prepare_status(b.bytes());
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("com.example"), std::string::npos) << s.message();
}

TEST(ImportErrors, AttributeOfWrongTypeNamesExpectedAndActual) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 3});
  onnx::NodeProto& n = b.node("Flatten", {"x"}, {"y"}, "flat");
  auto* a = n.add_attribute();
  a->set_name("axis");
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(1.0f);
  b.output("y");
  const Status s = prepare_status(b.bytes());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("node 'flat' (Flatten) attribute 'axis' must be INT, got FLOAT"),
            std::string::npos)
      << s.message();
}

TEST(ImportErrors, UnknownAttributeIsRejected) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2});
  testing::set_int_attr(b.node("Identity", {"x"}, {"y"}, "id"), "bogus", 3);
  b.output("y");
  const Status s = prepare_status(b.bytes());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("'bogus'"), std::string::npos) << s.message();
}

TEST(ImportErrors, WrongInputCountIsRejected) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2});
  b.node("Identity", {"x", "x"}, {"y"}, "id");
  b.output("y");
  const Status s = prepare_status(b.bytes());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("has 2 inputs, expected 1..1"), std::string::npos) << s.message();
}

TEST(ImportErrors, RawDataOfWrongSizeNamesTheTensor) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2});
  onnx::TensorProto* t = b.graph().add_initializer();
  t->set_name("w");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(4);
  t->set_raw_data(std::string(7, '\0'));
  b.node("Identity", {"x"}, {"y"});
  b.output("y");
  const Status s = prepare_status(b.bytes());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("tensor 'w' raw_data has 7 bytes"), std::string::npos) << s.message();
}

TEST(ImportErrors, MissingGraphOutputProducer) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2});
  b.node("Identity", {"x"}, {"y"});
  b.output("z");
  const Status s = prepare_status(b.bytes());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("graph output 'z'"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace edgerun
