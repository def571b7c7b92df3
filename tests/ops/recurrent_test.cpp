// Recurrent op cases (RNN, GRU, LSTM): one-unit networks whose expected values follow the
// ONNX equations written out by hand, plus layout, direction and error paths.
#include <cmath>
#include <string>
#include <vector>

#include "ops/op_test.h"

namespace edgerun::testing {
namespace {

OpCall rnn_op(std::string type, std::vector<Tensor> inputs, std::vector<ir::Attribute> attrs,
              size_t outputs, int64_t opset = 14) {
  OpCall call;
  call.op_type = std::move(type);
  call.inputs = std::move(inputs);
  call.attributes = std::move(attrs);
  call.opset = opset;
  call.num_outputs = outputs;
  return call;
}

// op_test.h has no string-list attr(); the activations attribute needs one.
ir::Attribute strings_attr(std::string name, std::vector<std::string> values) {
  ir::Attribute a;
  a.name = std::move(name);
  a.type = ir::AttrType::kStrings;
  a.strings = std::move(values);
  return a;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// X is a two-step sequence of one scalar input for one batch entry: [seq=2, batch=1, input=1].
const Tensor kX = make<float>({2, 1, 1}, {1.0f, -1.0f});

TEST(RecurrentRnn, ForwardAndReverse) {
  const Tensor w = make<float>({1, 1, 1}, {2.0f});
  const Tensor r = make<float>({1, 1, 1}, {0.5f});
  const double h1 = std::tanh(2.0);
  const double h2 = std::tanh(-2.0 + 0.5 * h1);
  auto fwd = run_all(rnn_op("RNN", {kX, w, r}, {attr("hidden_size", int64_t{1})}, 2));
  ASSERT_EQ(fwd.size(), 2u);
  EXPECT_TRUE(tensors_close(fwd[0], make<float>({2, 1, 1, 1}, {float(h1), float(h2)})));
  EXPECT_TRUE(tensors_close(fwd[1], make<float>({1, 1, 1}, {float(h2)})));

  const double r1 = std::tanh(-2.0);
  const double r2 = std::tanh(2.0 + 0.5 * r1);
  auto rev = run_all(rnn_op("RNN", {kX, w, r},
                    {attr("hidden_size", int64_t{1}), attr("direction", std::string("reverse"))},
                    2));
  ASSERT_EQ(rev.size(), 2u);
  EXPECT_TRUE(tensors_close(rev[0], make<float>({2, 1, 1, 1}, {float(r2), float(r1)})));
  EXPECT_TRUE(tensors_close(rev[1], make<float>({1, 1, 1}, {float(r2)})));
}

TEST(RecurrentRnn, ActivationAlphaAndSequenceLens) {
  // Two batch entries; the second stops after one step, so its Y is zero at step 2.
  const Tensor x = make<float>({2, 2, 1}, {1.0f, 3.0f, -1.0f, 5.0f});
  const Tensor w = make<float>({1, 1, 1}, {1.0f});
  const Tensor r = make<float>({1, 1, 1}, {1.0f});
  const Tensor b = make<float>({1, 2}, {0.5f, 0.0f});
  const Tensor lens = make<int32_t>({2}, {2, 1});
  const std::vector<ir::Attribute> attrs = {
      attr("hidden_size", int64_t{1}), strings_attr("activations", std::vector<std::string>{"LeakyRelu"}),
      attr("activation_alpha", std::vector<float>{0.1f})};
  // Batch 0: h1 = 1.5, h2 = leaky(-1 + 1.5 + 0.5) = 1.0. Batch 1: h1 = 3.5.
  auto out = run_all(rnn_op("RNN", {x, w, r, b, lens}, attrs, 2));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(tensors_close(out[0], make<float>({2, 1, 2, 1}, {1.5f, 3.5f, 1.0f, 0.0f})));
  EXPECT_TRUE(tensors_close(out[1], make<float>({1, 2, 1}, {1.0f, 3.5f})));
}

TEST(RecurrentRnn, RejectsBadWeights) {
  auto r = run_op(rnn_op("RNN", {kX, make<float>({1, 1, 2}, {1, 1}), make<float>({1, 1, 1}, {1})},
                     {attr("hidden_size", int64_t{1})}, 2));
  EXPECT_FALSE(r.is_ok());
}

TEST(RecurrentGru, BothResetVariants) {
  // W and R rows are z, r, h.
  const Tensor w = make<float>({1, 3, 1}, {0.5f, -0.5f, 1.0f});
  const Tensor r = make<float>({1, 3, 1}, {0.25f, 0.75f, -1.0f});
  const Tensor b = make<float>({1, 6}, {0.1f, 0.2f, 0.3f, 0.0f, 0.0f, 0.4f});
  const Tensor h0 = make<float>({1, 1, 1}, {0.6f});
  const Tensor x = make<float>({1, 1, 1}, {2.0f});
  const double hp = 0.6;
  const double z = sigmoid(0.5 * 2 + 0.25 * hp + 0.1);
  const double rt = sigmoid(-0.5 * 2 + 0.75 * hp + 0.2);
  const double h_std = std::tanh(1.0 * 2 + (-1.0) * (rt * hp) + 0.4 + 0.3);
  const double h_lbr = std::tanh(1.0 * 2 + 0.3 + rt * ((-1.0) * hp + 0.4));
  for (int lbr = 0; lbr < 2; ++lbr) {
    const double ht = lbr ? h_lbr : h_std;
    const double want = (1 - z) * ht + z * hp;
    auto out = run_all(rnn_op("GRU", {x, w, r, b, Tensor(), h0},
                      {attr("hidden_size", int64_t{1}), attr("linear_before_reset", int64_t{lbr})},
                      2));
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(tensors_close(out[1], make<float>({1, 1, 1}, {float(want)})));
  }
}

TEST(RecurrentLstm, PeepholesAndCellOutput) {
  // W and R rows are i, o, f, c; P is i, o, f.
  const Tensor w = make<float>({1, 4, 1}, {0.5f, 1.0f, -0.5f, 2.0f});
  const Tensor r = make<float>({1, 4, 1}, {0.1f, 0.2f, 0.3f, 0.4f});
  const Tensor p = make<float>({1, 3}, {0.5f, -0.5f, 0.25f});
  const Tensor h0 = make<float>({1, 1, 1}, {0.2f});
  const Tensor c0 = make<float>({1, 1, 1}, {-0.3f});
  const Tensor x = make<float>({1, 1, 1}, {1.0f});
  const double i = sigmoid(0.5 + 0.1 * 0.2 + 0.5 * -0.3);
  const double f = sigmoid(-0.5 + 0.3 * 0.2 + 0.25 * -0.3);
  const double g = std::tanh(2.0 + 0.4 * 0.2);
  const double c = f * -0.3 + i * g;
  const double o = sigmoid(1.0 + 0.2 * 0.2 + -0.5 * c);
  const double h = o * std::tanh(c);
  auto out = run_all(rnn_op("LSTM", {x, w, r, Tensor(), Tensor(), h0, c0, p},
                    {attr("hidden_size", int64_t{1})}, 3));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(tensors_close(out[0], make<float>({1, 1, 1, 1}, {float(h)})));
  EXPECT_TRUE(tensors_close(out[1], make<float>({1, 1, 1}, {float(h)})));
  EXPECT_TRUE(tensors_close(out[2], make<float>({1, 1, 1}, {float(c)})));
}

TEST(RecurrentLstm, BidirectionalBatchMajorLayout) {
  // Same weights both ways; with layout 1, X is [batch, seq, input] and Y [batch, seq, dir, h].
  const Tensor x = make<float>({1, 2, 1}, {1.0f, -1.0f});
  const Tensor w = make<float>({2, 4, 1}, {1, 1, 1, 1, 1, 1, 1, 1});
  const Tensor r = make<float>({2, 4, 1}, std::vector<float>(8, 0.0f));
  auto step = [](double xv, double c_prev, double* c_out) {
    const double gate = sigmoid(xv);
    *c_out = gate * c_prev + gate * std::tanh(xv);
    return gate * std::tanh(*c_out);
  };
  double c1 = 0, c2 = 0, rc1 = 0, rc2 = 0;
  const double f1 = step(1.0, 0.0, &c1);
  const double f2 = step(-1.0, c1, &c2);
  const double b1 = step(-1.0, 0.0, &rc1);  // reverse pass starts at the last step
  const double b2 = step(1.0, rc1, &rc2);
  auto out = run_all(rnn_op("LSTM", {x, w, r},
                    {attr("hidden_size", int64_t{1}), attr("layout", int64_t{1}),
                     attr("direction", std::string("bidirectional"))},
                    3));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(tensors_close(out[0], make<float>({1, 2, 2, 1},
                                                {float(f1), float(b2), float(f2), float(b1)})));
  EXPECT_TRUE(tensors_close(out[1], make<float>({1, 2, 1}, {float(f2), float(b2)})));
  EXPECT_TRUE(tensors_close(out[2], make<float>({1, 2, 1}, {float(c2), float(rc2)})));
}

TEST(RecurrentLstm, RejectsUnknownActivationAndBadPeepholes) {
  const Tensor w = make<float>({1, 4, 1}, {1, 1, 1, 1});
  const Tensor r = make<float>({1, 4, 1}, {1, 1, 1, 1});
  auto act = run_op(rnn_op("LSTM", {kX, w, r},
                       {attr("hidden_size", int64_t{1}),
                        strings_attr("activations", std::vector<std::string>{"Sigmoid", "Tanh", "Gelu"})},
                       1));
  EXPECT_FALSE(act.is_ok());
  auto peep = run_op(rnn_op("LSTM", {kX, w, r, Tensor(), Tensor(), Tensor(), Tensor(),
                                 make<float>({1, 2}, {0, 0})},
                        {attr("hidden_size", int64_t{1})}, 1));
  EXPECT_FALSE(peep.is_ok());
}

}  // namespace
}  // namespace edgerun::testing
