// Sequence and optional values end to end: the sequence and optional ops, sequence inputs and
// outputs through PreparedModel::run_values, and the errors for values of the wrong kind.
#include <gtest/gtest.h>

#include "edgerun/edgerun.hpp"
#include "ops/op_test.h"
#include "unit/model_builder.h"

namespace edgerun {
namespace {

using testing::make;
using testing::ModelBuilder;
using testing::set_int_attr;

void sequence_io(onnx::ValueInfoProto* v, const std::string& name) {
  v->set_name(name);
  v->mutable_type()->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()
      ->set_elem_type(onnx::TensorProto::FLOAT);
}

void optional_io(onnx::ValueInfoProto* v, const std::string& name) {
  v->set_name(name);
  v->mutable_type()->mutable_optional_type()->mutable_elem_type()->mutable_tensor_type()
      ->set_elem_type(onnx::TensorProto::FLOAT);
}

PreparedModel prepare(const ModelBuilder& b) {
  Engine engine;
  Result<PreparedModel> m = engine.prepare(ModelArtifact::from_bytes(b.bytes()));
  EXPECT_TRUE(m.is_ok()) << m.status().to_string();
  return m.is_ok() ? m.value() : PreparedModel();
}

Tensor int64_scalar(int64_t v) { return Tensor::scalar<int64_t>(v); }

TEST(SequenceOps, ConstructInsertEraseAtLength) {
  ModelBuilder b;
  b.input("a", onnx::TensorProto::FLOAT, {2});
  b.input("b", onnx::TensorProto::FLOAT, {3});
  b.input("c", onnx::TensorProto::FLOAT, {1});
  b.node("SequenceConstruct", {"a", "b"}, {"s1"});
  b.node("Constant", {}, {"zero"}).add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("value_int");
    a.set_type(onnx::AttributeProto::INT);
    a.set_i(0);
    return a;
  }());
  b.node("SequenceInsert", {"s1", "c", "zero"}, {"s2"});   // [c, a, b]
  b.node("SequenceErase", {"s2"}, {"s3"});                 // [c, a]
  b.node("SequenceLength", {"s3"}, {"len"});
  b.node("Constant", {}, {"minus_one"}).add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("value_int");
    a.set_type(onnx::AttributeProto::INT);
    a.set_i(-1);
    return a;
  }());
  b.node("SequenceAt", {"s3", "minus_one"}, {"last"});
  b.output("len", onnx::TensorProto::INT64);
  b.output("last");
  sequence_io(b.graph().add_output(), "s3");
  PreparedModel m = prepare(b);
  Result<ValueMap> out = m.run_values({{"a", make<float>({2}, {1, 2})},
                                       {"b", make<float>({3}, {3, 4, 5})},
                                       {"c", make<float>({1}, {9})}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_TRUE(testing::tensors_close(out->at("len").tensor(), int64_scalar(2)));
  EXPECT_TRUE(testing::tensors_close(out->at("last").tensor(), make<float>({2}, {1, 2})));
  const Value& s3 = out->at("s3");
  ASSERT_TRUE(s3.is_sequence());
  ASSERT_EQ(s3.items().size(), 2u);
  EXPECT_TRUE(testing::tensors_close(s3.items()[0], make<float>({1}, {9})));
  EXPECT_EQ(s3.element_dtype(), DType::kFloat32);

  // run() returns tensors only and says why it cannot return the sequence.
  Result<TensorMap> tensors = m.run({{"a", make<float>({2}, {1, 2})},
                                     {"b", make<float>({3}, {3, 4, 5})},
                                     {"c", make<float>({1}, {9})}});
  ASSERT_FALSE(tensors.is_ok());
  EXPECT_NE(tensors.status().message().find("'s3' is not a tensor"), std::string::npos);
}

TEST(SequenceOps, SplitToSequenceAndStackBack) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {3, 2});
  onnx::NodeProto& split = b.node("SplitToSequence", {"x"}, {"rows"});
  set_int_attr(split, "keepdims", 0);
  onnx::NodeProto& stack = b.node("ConcatFromSequence", {"rows"}, {"y"});
  set_int_attr(stack, "axis", 1);
  set_int_attr(stack, "new_axis", 1);
  b.output("y");
  PreparedModel m = prepare(b);
  Result<TensorMap> out = m.run({{"x", make<float>({3, 2}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  // Rows [1 2], [3 4], [5 6] stacked along a new axis 1: the transpose of x.
  EXPECT_TRUE(testing::tensors_close(out->at("y"), make<float>({2, 3}, {1, 3, 5, 2, 4, 6})));
}

TEST(SequenceOps, SplitToSequenceWithScalarSizeKeepsTheRemainder) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {5});
  onnx::TensorProto* size = b.graph().add_initializer();
  size->set_name("size");
  size->set_data_type(onnx::TensorProto::INT64);
  size->add_int64_data(2);
  b.node("SplitToSequence", {"x", "size"}, {"parts"});
  sequence_io(b.graph().add_output(), "parts");
  PreparedModel m = prepare(b);
  Result<ValueMap> out = m.run_values({{"x", make<float>({5}, {1, 2, 3, 4, 5})}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  const std::vector<Tensor>& parts = out->at("parts").items();
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_TRUE(testing::tensors_close(parts[2], make<float>({1}, {5})));
}

TEST(SequenceOps, SequenceInputsAreCheckedByKindAndDtype) {
  ModelBuilder b;
  sequence_io(b.graph().add_input(), "s");
  b.node("SequenceLength", {"s"}, {"n"});
  b.output("n", onnx::TensorProto::INT64);
  PreparedModel m = prepare(b);

  Result<ValueMap> ok = m.run_values(
      {{"s", Value::sequence(DType::kFloat32, {make<float>({1}, {1}), make<float>({2}, {1, 2})})}});
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_TRUE(testing::tensors_close(ok->at("n").tensor(), int64_scalar(2)));

  Result<ValueMap> tensor_fed = m.run_values({{"s", make<float>({1}, {1})}});
  ASSERT_FALSE(tensor_fed.is_ok());
  EXPECT_NE(tensor_fed.status().message().find("input 's' is float32[1], expected sequence"),
            std::string::npos)
      << tensor_fed.status().message();

  Result<ValueMap> wrong_dtype =
      m.run_values({{"s", Value::sequence(DType::kInt64, {make<int64_t>({1}, {1})})}});
  ASSERT_FALSE(wrong_dtype.is_ok());
  EXPECT_NE(wrong_dtype.status().message().find("holds int64 elements"), std::string::npos)
      << wrong_dtype.status().message();
}

TEST(SequenceOps, BadPositionsAndKindsNameWhatWasExpected) {
  ModelBuilder b;
  sequence_io(b.graph().add_input(), "s");
  b.input("pos", onnx::TensorProto::INT64, {});
  b.node("SequenceAt", {"s", "pos"}, {"item"});
  b.node("Relu", {"s"}, {"bad"});
  b.output("item");
  b.output("bad");
  PreparedModel m = prepare(b);
  const Value s = Value::sequence(DType::kFloat32, {make<float>({1}, {1}), make<float>({1}, {2})});

  Result<ValueMap> out_of_range = m.run_values({{"s", s}, {"pos", int64_scalar(2)}});
  ASSERT_FALSE(out_of_range.is_ok());
  EXPECT_NE(out_of_range.status().message().find("position 2 is out of range for a sequence of "
                                                 "length 2 (expected -2..1)"),
            std::string::npos)
      << out_of_range.status().message();

  // A tensor op handed a sequence is refused by the executor before its kernel runs.
  Result<ValueMap> relu_of_sequence = m.run_values({{"s", s}, {"pos", int64_scalar(-2)}});
  ASSERT_FALSE(relu_of_sequence.is_ok());
  EXPECT_NE(relu_of_sequence.status().message().find("input 's' must be a tensor, got "
                                                     "sequence<float32>[2]"),
            std::string::npos)
      << relu_of_sequence.status().message();
}

TEST(SequenceOps, SequenceMapRunsTheBodyPerElement) {
  ModelBuilder b;
  sequence_io(b.graph().add_input(), "s");
  b.input("k", onnx::TensorProto::FLOAT, {1});
  onnx::NodeProto& map = b.node("SequenceMap", {"s", "k"}, {"t"});
  onnx::AttributeProto* body_attr = map.add_attribute();
  body_attr->set_name("body");
  body_attr->set_type(onnx::AttributeProto::GRAPH);
  onnx::GraphProto* body = body_attr->mutable_g();
  body->set_name("add_k");
  ModelBuilder::fill(body->add_input(), "item", onnx::TensorProto::FLOAT, {-1}, {"n"});
  ModelBuilder::fill(body->add_input(), "kk", onnx::TensorProto::FLOAT, {1}, {});
  onnx::NodeProto* add = body->add_node();
  add->set_op_type("Add");
  add->add_input("item");
  add->add_input("kk");
  add->add_output("sum");
  ModelBuilder::fill(body->add_output(), "sum", onnx::TensorProto::FLOAT, {-1}, {"n"});
  sequence_io(b.graph().add_output(), "t");
  PreparedModel m = prepare(b);
  Result<ValueMap> out = m.run_values(
      {{"s", Value::sequence(DType::kFloat32, {make<float>({1}, {1}), make<float>({2}, {2, 3})})},
       {"k", make<float>({1}, {10})}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  const std::vector<Tensor>& t = out->at("t").items();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_TRUE(testing::tensors_close(t[0], make<float>({1}, {11})));
  EXPECT_TRUE(testing::tensors_close(t[1], make<float>({2}, {12, 13})));
}

TEST(OptionalOps, HasElementAndGetElement) {
  ModelBuilder b(18);
  optional_io(b.graph().add_input(), "o");
  b.node("OptionalHasElement", {"o"}, {"has"});
  b.node("OptionalGetElement", {"o"}, {"value"});
  b.output("has", onnx::TensorProto::BOOL);
  b.output("value");
  PreparedModel m = prepare(b);

  Result<ValueMap> full = m.run_values({{"o", make<float>({2}, {1, 2})}});
  ASSERT_TRUE(full.is_ok()) << full.status().to_string();
  EXPECT_TRUE(testing::tensors_close(full->at("has").tensor(), Tensor::scalar<bool>(true)));
  EXPECT_TRUE(testing::tensors_close(full->at("value").tensor(), make<float>({2}, {1, 2})));

  Result<ValueMap> empty = m.run_values({{"o", Value::none()}});
  ASSERT_FALSE(empty.is_ok());
  EXPECT_NE(empty.status().message().find("OptionalGetElement on an empty optional"),
            std::string::npos)
      << empty.status().message();
}

TEST(OptionalOps, EmptyOptionalFlowsThroughToAnOutput) {
  ModelBuilder b(18);
  optional_io(b.graph().add_input(), "o");
  b.node("Identity", {"o"}, {"same"});
  b.node("OptionalHasElement", {"same"}, {"has"});
  b.output("has", onnx::TensorProto::BOOL);
  optional_io(b.graph().add_output(), "same");
  PreparedModel m = prepare(b);
  Result<ValueMap> out = m.run_values({{"o", Value::none()}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_TRUE(out->at("same").is_none());
  EXPECT_TRUE(testing::tensors_close(out->at("has").tensor(), Tensor::scalar<bool>(false)));
}

}  // namespace
}  // namespace edgerun
