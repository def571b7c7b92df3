// FLOP counts behind coverage reports.
#include <gtest/gtest.h>

#include "ops/op_test.h"
#include "runtime/flops.h"

namespace edgerun {
namespace {

ir::Node node(std::string op, std::vector<std::string> inputs,
              std::vector<ir::Attribute> attributes = {}) {
  ir::Node n;
  n.op_type = std::move(op);
  n.inputs = std::move(inputs);
  n.outputs = {"y"};
  n.attributes = std::move(attributes);
  return n;
}

TEST(Flops, ConvCountsMultiplyAddsPerOutputAndBias) {
  // 16 output channels of 3x3x3 windows over a 32x32 map: 2 * 16384 * 27, plus one add per
  // output for the bias.
  const double with_bias = node_flops(node("Conv", {"x", "w", "b"}),
                                      {{1, 3, 32, 32}, {16, 3, 3, 3}, {16}}, {{1, 16, 32, 32}});
  EXPECT_DOUBLE_EQ(with_bias, 2.0 * 16384 * 27 + 16384);
  // Depthwise: the weight's second dim is 1, so each output reads one channel.
  EXPECT_DOUBLE_EQ(node_flops(node("Conv", {"x", "w"}), {{1, 16, 8, 8}, {16, 1, 3, 3}},
                              {{1, 16, 8, 8}}),
                   2.0 * 1024 * 9);
}

TEST(Flops, MatrixProducts) {
  EXPECT_DOUBLE_EQ(node_flops(node("MatMul", {"a", "b"}), {{5, 2, 3}, {3, 4}}, {{5, 2, 4}}),
                   2.0 * 40 * 3);
  EXPECT_DOUBLE_EQ(node_flops(node("Gemm", {"a", "b", "c"}, {testing::attr("transA", int64_t{1})}),
                              {{7, 2}, {7, 4}, {4}}, {{2, 4}}),
                   2.0 * 8 * 7 + 8);
}

TEST(Flops, PoolingAndElementwise) {
  EXPECT_DOUBLE_EQ(node_flops(node("MaxPool", {"x"}, {testing::attr("kernel_shape",
                                                                    std::vector<int64_t>{2, 2})}),
                              {{1, 16, 16, 16}}, {{1, 16, 8, 8}}),
                   1024.0 * 4);
  EXPECT_DOUBLE_EQ(node_flops(node("Relu", {"x"}), {{2, 50}}, {{2, 50}}), 100);
}

}  // namespace
}  // namespace edgerun
