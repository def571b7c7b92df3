// Static shape inference, rule by rule on small graphs: exact where the inputs tell, unknown (never
// wrong, never a crash) where they do not.
#include "runtime/shape_inference.h"

#include <gtest/gtest.h>

#include "runtime/value_types.h"

namespace edgerun::runtime {
namespace {

// Builds an IR graph directly, so each test states only the nodes and attributes it is about.
class GraphBuilder {
 public:
  explicit GraphBuilder(int64_t opset = 17) : opset_(opset) {}

  GraphBuilder& input(const std::string& name, DType dtype = DType::kFloat32) {
    ir::ValueInfo v;
    v.name = name;
    v.type.kind = ir::TypeInfo::Kind::kTensor;
    v.type.dtype = dtype;
    graph_.inputs.push_back(v);
    return *this;
  }
  GraphBuilder& ints(const std::string& name, std::vector<int64_t> values) {
    graph_.initializers[name] =
        Tensor::from_vector<int64_t>({static_cast<int64_t>(values.size())}, values);
    return *this;
  }
  GraphBuilder& scalar(const std::string& name, int64_t value) {
    graph_.initializers[name] = Tensor::scalar<int64_t>(value);
    return *this;
  }
  GraphBuilder& floats(const std::string& name, Shape shape, std::vector<float> values) {
    graph_.initializers[name] = Tensor::from_vector<float>(std::move(shape), values);
    return *this;
  }
  GraphBuilder& weight(const std::string& name, Shape shape) {
    graph_.initializers[name] = Tensor(DType::kFloat32, std::move(shape));
    return *this;
  }
  GraphBuilder& node(const std::string& op, std::vector<std::string> inputs,
                     std::vector<std::string> outputs, std::vector<ir::Attribute> attrs = {}) {
    ir::Node n;
    n.name = op + std::to_string(graph_.nodes.size());
    n.op_type = op;
    n.op = ir::find_op("", op);
    n.opset = opset_;
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    n.attributes = std::move(attrs);
    graph_.nodes.push_back(std::move(n));
    return *this;
  }
  // Infers with the graph inputs bound to `shapes`, in input order.
  ValueTypes infer(const std::vector<Shape>& shapes) const {
    return infer_value_types(graph_, shapes);
  }

 private:
  int64_t opset_;
  ir::Graph graph_;
};

ir::Attribute int_attr(const std::string& name, int64_t v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::kInt;
  a.i = v;
  return a;
}
ir::Attribute ints_attr(const std::string& name, std::vector<int64_t> v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::kInts;
  a.ints = std::move(v);
  return a;
}
ir::Attribute string_attr(const std::string& name, const std::string& v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::kString;
  a.s = v;
  return a;
}

// The inferred shape of `name` as a string, "?" when unknown, for readable failures.
std::string shape_of(const ValueTypes& types, const std::string& name) {
  const Shape* s = types.shape(name);
  return s == nullptr ? "?" : shape_to_string(*s);
}

TEST(ShapeInference, BroadcastingBinaryAndUnaryOps) {
  GraphBuilder b;
  b.input("a").input("c").node("Add", {"a", "c"}, {"sum"}).node("Relu", {"sum"}, {"r"});
  b.node("Where", {"cond", "a", "c"}, {"w"}).input("cond", DType::kBool);
  const ValueTypes t = b.infer({{2, 1, 4}, {3, 1}, {1, 3, 4}});
  EXPECT_EQ(shape_of(t, "sum"), "[2, 3, 4]");
  EXPECT_EQ(shape_of(t, "r"), "[2, 3, 4]");
  EXPECT_EQ(shape_of(t, "w"), "[2, 3, 4]");
}

TEST(ShapeInference, IncompatibleBroadcastStaysUnknown) {
  GraphBuilder b;
  b.input("a").input("c").node("Mul", {"a", "c"}, {"p"}).node("Relu", {"p"}, {"r"});
  const ValueTypes t = b.infer({{2, 3}, {4}});
  EXPECT_EQ(shape_of(t, "p"), "?");
  EXPECT_EQ(shape_of(t, "r"), "?");
}

TEST(ShapeInference, UnknownInputShapesStayUnknown) {
  GraphBuilder b;
  b.input("x").node("Relu", {"x"}, {"r"}).node("Shape", {"r"}, {"s"});
  const ValueTypes t = b.infer({});
  EXPECT_EQ(shape_of(t, "r"), "?");
  EXPECT_EQ(shape_of(t, "s"), "?");
  EXPECT_EQ(t.value("s"), nullptr);
}

TEST(ShapeInference, ConvWithPadsStridesDilationsAndGroups) {
  GraphBuilder b;
  b.input("x").weight("w", {8, 2, 3, 3});
  b.node("Conv", {"x", "w"}, {"y"},
         {int_attr("group", 2), ints_attr("strides", {2, 2}), ints_attr("pads", {1, 1, 1, 1}),
          ints_attr("dilations", {1, 2})});
  b.node("Conv", {"x", "w"}, {"same"},
         {int_attr("group", 2), ints_attr("strides", {2, 2}), string_attr("auto_pad", "SAME_UPPER")});
  b.node("Conv", {"x", "w"}, {"valid"},
         {int_attr("group", 2), string_attr("auto_pad", "VALID")});
  const ValueTypes t = b.infer({{1, 4, 9, 10}});
  EXPECT_EQ(shape_of(t, "y"), "[1, 8, 5, 4]");
  EXPECT_EQ(shape_of(t, "same"), "[1, 8, 5, 5]");
  EXPECT_EQ(shape_of(t, "valid"), "[1, 8, 7, 8]");
}

TEST(ShapeInference, ConvRankMismatchDoesNotCrash) {
  GraphBuilder b;
  b.input("x").weight("w", {8, 2, 3});
  b.node("Conv", {"x", "w"}, {"y"});
  const ValueTypes t = b.infer({{1, 4, 9, 10}});
  EXPECT_EQ(shape_of(t, "y"), "?");
}

TEST(ShapeInference, ConvTransposeUsesSharedExtent) {
  GraphBuilder b;
  b.input("x").weight("w", {4, 3, 3, 3});
  b.node("ConvTranspose", {"x", "w"}, {"y"},
         {ints_attr("strides", {2, 2}), ints_attr("output_padding", {1, 1}),
          ints_attr("pads", {1, 1, 1, 1})});
  const ValueTypes t = b.infer({{1, 4, 5, 5}});
  EXPECT_EQ(shape_of(t, "y"), "[1, 3, 10, 10]");
}

TEST(ShapeInference, PoolsWithCeilModeAndGlobalPools) {
  GraphBuilder b;
  b.input("x");
  b.node("MaxPool", {"x"}, {"m", "idx"},
         {ints_attr("kernel_shape", {3, 3}), ints_attr("strides", {2, 2}), int_attr("ceil_mode", 1)});
  b.node("AveragePool", {"x"}, {"a"}, {ints_attr("kernel_shape", {2, 2})});
  b.node("GlobalAveragePool", {"x"}, {"g"});
  const ValueTypes t = b.infer({{1, 3, 8, 8}});
  EXPECT_EQ(shape_of(t, "m"), "[1, 3, 4, 4]");
  EXPECT_EQ(shape_of(t, "idx"), "[1, 3, 4, 4]");
  EXPECT_EQ(shape_of(t, "a"), "[1, 3, 7, 7]");
  EXPECT_EQ(shape_of(t, "g"), "[1, 3, 1, 1]");
}

TEST(ShapeInference, GemmAndMatMul) {
  GraphBuilder b;
  b.input("a").input("m").input("v").weight("w", {5, 4});
  b.node("Gemm", {"a", "w"}, {"gemm"}, {int_attr("transA", 1), int_attr("transB", 1)});
  b.node("MatMul", {"m", "v"}, {"mv"});
  b.node("MatMul", {"v", "m"}, {"vm"});
  const ValueTypes t = b.infer({{4, 3}, {2, 1, 6, 6}, {6}});
  EXPECT_EQ(shape_of(t, "gemm"), "[3, 5]");
  EXPECT_EQ(shape_of(t, "mv"), "[2, 1, 6]");
  EXPECT_EQ(shape_of(t, "vm"), "[2, 1, 6]");
}

TEST(ShapeInference, MatMulBatchBroadcast) {
  GraphBuilder b;
  b.input("a").input("c").node("MatMul", {"a", "c"}, {"y"});
  const ValueTypes t = b.infer({{3, 1, 2, 4}, {5, 4, 7}});
  EXPECT_EQ(shape_of(t, "y"), "[3, 5, 2, 7]");
}

TEST(ShapeInference, LayerNormalizationStatistics) {
  GraphBuilder b;
  b.input("x").weight("scale", {8});
  b.node("LayerNormalization", {"x", "scale"}, {"y", "mean", "inv"}, {int_attr("axis", -1)});
  const ValueTypes t = b.infer({{2, 5, 8}});
  EXPECT_EQ(shape_of(t, "y"), "[2, 5, 8]");
  EXPECT_EQ(shape_of(t, "mean"), "[2, 5, 1]");
  EXPECT_EQ(shape_of(t, "inv"), "[2, 5, 1]");
}

// The BERT pattern: the target shape of a Reshape computed from the input's shape.
TEST(ShapeInference, ShapeArithmeticResolvesReshape) {
  GraphBuilder b;
  b.input("x").ints("zero", {0}).ints("one", {1}).ints("heads", {4}).ints("minus", {-1});
  b.node("Shape", {"x"}, {"shape"});
  b.node("Gather", {"shape", "zero"}, {"batch"}, {int_attr("axis", 0)});
  b.node("Gather", {"shape", "one"}, {"seq"}, {int_attr("axis", 0)});
  b.node("Concat", {"batch", "seq", "heads", "minus"}, {"target"}, {int_attr("axis", 0)});
  b.node("Reshape", {"x", "target"}, {"y"});
  b.node("Transpose", {"y"}, {"yt"}, {ints_attr("perm", {0, 2, 1, 3})});
  const ValueTypes t = b.infer({{2, 7, 32}});
  EXPECT_EQ(shape_of(t, "shape"), "[3]");
  ASSERT_NE(t.value("target"), nullptr);
  EXPECT_EQ(t.value("target")->to_vector<int64_t>(), (std::vector<int64_t>{2, 7, 4, -1}));
  EXPECT_EQ(shape_of(t, "y"), "[2, 7, 4, 8]");
  EXPECT_EQ(shape_of(t, "yt"), "[2, 4, 7, 8]");
  EXPECT_EQ(t.dtype("target"), DType::kInt64);
}

TEST(ShapeInference, ReshapeZeroMinusOneAndAllowZero) {
  GraphBuilder b(14);
  b.input("x").ints("copy", {0, -1}).ints("zeros", {0, 3});
  b.node("Reshape", {"x", "copy"}, {"y"});
  b.node("Reshape", {"x", "zeros"}, {"bad"}, {int_attr("allowzero", 1)});
  const ValueTypes t = b.infer({{2, 3, 4}});
  EXPECT_EQ(shape_of(t, "y"), "[2, 12]");
  EXPECT_EQ(shape_of(t, "bad"), "?");  // 24 elements cannot become [0, 3]
}

TEST(ShapeInference, SliceWithNegativeAndClampedIndices) {
  GraphBuilder b;
  b.input("x").ints("starts", {-3, 0}).ints("ends", {INT64_MAX, 100}).ints("axes", {1, 2});
  b.ints("rstarts", {-1}).ints("rends", {INT64_MIN}).ints("ax2", {2});
  b.node("Slice", {"x", "starts", "ends", "axes"}, {"y"});
  b.ints("minus_two", {-2});
  b.node("Slice", {"x", "rstarts", "rends", "ax2", "minus_two"}, {"rev"});
  const ValueTypes t = b.infer({{2, 5, 7}});
  EXPECT_EQ(shape_of(t, "y"), "[2, 3, 7]");
  EXPECT_EQ(shape_of(t, "rev"), "[2, 5, 4]");
}

TEST(ShapeInference, ShapeStartEndAndSlice) {
  GraphBuilder b(15);
  b.input("x").ints("s", {1}).ints("e", {3});
  b.node("Shape", {"x"}, {"tail"}, {int_attr("start", -2)});
  b.node("Shape", {"x"}, {"all"});
  b.node("Slice", {"all", "s", "e"}, {"mid"});
  b.node("Size", {"x"}, {"size"});
  const ValueTypes t = b.infer({{2, 3, 4}});
  ASSERT_NE(t.value("tail"), nullptr);
  EXPECT_EQ(t.value("tail")->to_vector<int64_t>(), (std::vector<int64_t>{3, 4}));
  ASSERT_NE(t.value("mid"), nullptr);
  EXPECT_EQ(t.value("mid")->to_vector<int64_t>(), (std::vector<int64_t>{3, 4}));
  ASSERT_NE(t.value("size"), nullptr);
  EXPECT_EQ(t.value("size")->to_vector<int64_t>(), (std::vector<int64_t>{24}));
}

TEST(ShapeInference, SqueezeUnsqueezeByOpset) {
  GraphBuilder old(11);
  old.input("x").node("Unsqueeze", {"x"}, {"u"}, {ints_attr("axes", {0, -1})});
  old.node("Squeeze", {"u"}, {"s"});
  ValueTypes t = old.infer({{3, 1, 4}});
  EXPECT_EQ(shape_of(t, "u"), "[1, 3, 1, 4, 1]");
  EXPECT_EQ(shape_of(t, "s"), "[3, 4]");

  GraphBuilder now(13);
  now.input("x").ints("axes", {1}).node("Squeeze", {"x", "axes"}, {"s"});
  now.node("Unsqueeze", {"s", "axes"}, {"u"});
  t = now.infer({{3, 1, 4}});
  EXPECT_EQ(shape_of(t, "s"), "[3, 4]");
  EXPECT_EQ(shape_of(t, "u"), "[3, 1, 4]");
}

TEST(ShapeInference, SplitByAttributeInputAndNumOutputs) {
  GraphBuilder old(11);
  old.input("x").node("Split", {"x"}, {"a", "b"}, {int_attr("axis", 1), ints_attr("split", {1, 4})});
  ValueTypes t = old.infer({{2, 5}});
  EXPECT_EQ(shape_of(t, "a"), "[2, 1]");
  EXPECT_EQ(shape_of(t, "b"), "[2, 4]");

  GraphBuilder now(18);
  now.input("x").node("Split", {"x"}, {"a", "b", "c"}, {int_attr("num_outputs", 3)});
  t = now.infer({{7, 2}});
  EXPECT_EQ(shape_of(t, "a"), "[3, 2]");
  EXPECT_EQ(shape_of(t, "c"), "[1, 2]");
}

TEST(ShapeInference, ReduceKeepdimsAxesInputAndNoop) {
  GraphBuilder b(18);
  b.input("x").ints("axes", {-1});
  b.node("ReduceMean", {"x", "axes"}, {"kept"});
  b.node("ReduceMean", {"x", "axes"}, {"dropped"}, {int_attr("keepdims", 0)});
  b.node("ReduceMax", {"x"}, {"all"}, {int_attr("keepdims", 0)});
  b.node("ReduceSum", {"x"}, {"noop"}, {int_attr("noop_with_empty_axes", 1)});
  b.node("ArgMax", {"x"}, {"arg"}, {int_attr("axis", 1)});
  const ValueTypes t = b.infer({{2, 3, 4}});
  EXPECT_EQ(shape_of(t, "kept"), "[2, 3, 1]");
  EXPECT_EQ(shape_of(t, "dropped"), "[2, 3]");
  EXPECT_EQ(shape_of(t, "all"), "[]");
  EXPECT_EQ(shape_of(t, "noop"), "[2, 3, 4]");
  EXPECT_EQ(shape_of(t, "arg"), "[2, 1, 4]");
}

TEST(ShapeInference, GatherExpandTilePadConcatFlatten) {
  GraphBuilder b;
  b.input("x").input("idx", DType::kInt64).ints("shape", {3, 1, 1}).ints("reps", {1, 2});
  b.ints("pads", {0, 1, 0, 2});
  b.node("Gather", {"x", "idx"}, {"g"}, {int_attr("axis", 1)});
  b.node("Expand", {"x", "shape"}, {"e"});
  b.node("Tile", {"x", "reps"}, {"tiled"});
  b.node("Pad", {"x", "pads"}, {"padded"});
  b.node("Concat", {"x", "x"}, {"c"}, {int_attr("axis", -1)});
  b.node("Flatten", {"e"}, {"f"}, {int_attr("axis", 2)});
  const ValueTypes t = b.infer({{2, 4}, {5, 6}});
  EXPECT_EQ(shape_of(t, "g"), "[2, 5, 6]");
  EXPECT_EQ(shape_of(t, "e"), "[3, 2, 4]");
  EXPECT_EQ(shape_of(t, "tiled"), "[2, 8]");
  EXPECT_EQ(shape_of(t, "padded"), "[2, 7]");
  EXPECT_EQ(shape_of(t, "c"), "[2, 8]");
  EXPECT_EQ(shape_of(t, "f"), "[6, 4]");
}

TEST(ShapeInference, ConstantOfShapeRangeAndLargeOutputs) {
  GraphBuilder b;
  b.input("x").ints("big", {1000, 1000}).ints("first", {0}).scalar("zero", 0).scalar("one", 1);
  b.node("Shape", {"x"}, {"s"});
  b.node("ConstantOfShape", {"s"}, {"zeros"});
  b.node("ConstantOfShape", {"big"}, {"huge"});
  b.node("Gather", {"s", "first"}, {"n"}, {int_attr("axis", 0)});
  b.node("Squeeze", {"n"}, {"count"});
  b.node("Range", {"zero", "count", "one"}, {"positions"});
  const ValueTypes t = b.infer({{5, 2}});
  EXPECT_EQ(shape_of(t, "zeros"), "[5, 2]");
  ASSERT_NE(t.value("zeros"), nullptr);
  EXPECT_EQ(shape_of(t, "huge"), "[1000, 1000]");
  EXPECT_EQ(t.value("huge"), nullptr);  // a million elements are not tracked
  ASSERT_NE(t.value("positions"), nullptr);
  EXPECT_EQ(t.value("positions")->to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

TEST(ShapeInference, ResizeByScalesAndSizes) {
  GraphBuilder b(13);
  b.input("x").floats("scales", {4}, {1, 1, 2, 1.5f}).ints("sizes", {1, 3, 5, 7});
  b.node("Resize", {"x", "", "scales"}, {"by_scales"});
  b.node("Resize", {"x", "", "", "sizes"}, {"by_sizes"});
  const ValueTypes t = b.infer({{1, 3, 4, 5}});
  EXPECT_EQ(shape_of(t, "by_scales"), "[1, 3, 8, 7]");
  EXPECT_EQ(shape_of(t, "by_sizes"), "[1, 3, 5, 7]");
}

TEST(ShapeInference, TopKAndTranspose) {
  GraphBuilder b;
  b.input("x").ints("k", {2});
  b.node("TopK", {"x", "k"}, {"values", "indices"}, {int_attr("axis", 1)});
  b.node("Transpose", {"x"}, {"t"});
  const ValueTypes t = b.infer({{3, 5, 7}});
  EXPECT_EQ(shape_of(t, "values"), "[3, 2, 7]");
  EXPECT_EQ(shape_of(t, "indices"), "[3, 2, 7]");
  EXPECT_EQ(shape_of(t, "t"), "[7, 5, 3]");
}

TEST(ShapeInference, MalformedAttributesLeaveUnknown) {
  GraphBuilder b;
  b.input("x");
  b.node("Transpose", {"x"}, {"t"}, {ints_attr("perm", {0, 0})});
  b.node("Concat", {"x", "x"}, {"c"}, {int_attr("axis", 5)});
  b.node("Gather", {"x", "x"}, {"g"}, {int_attr("axis", -9)});
  b.node("MaxPool", {"x"}, {"p"}, {ints_attr("kernel_shape", {9, 9})});
  b.node("Unsqueeze", {"x"}, {"u"}, {ints_attr("axes", {7})});
  const ValueTypes t = b.infer({{1, 2, 3, 4}});
  for (const char* name : {"t", "c", "g", "p", "u"}) EXPECT_EQ(shape_of(t, name), "?") << name;
}

}  // namespace
}  // namespace edgerun::runtime
