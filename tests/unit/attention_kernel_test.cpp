// edgerun's own attention kernel (backends/onednn/attention_kernel.h), each vector path this
// CPU runs, against the exact result in double, over head sizes and key counts that are and are
// not whole vectors and tiles, every mask broadcast, masked-out keys, all-masked rows and NaN;
// the same results whatever the task split; and the lowered Attention node on it against the
// node on oneDNN's primitives.
#include "backends/onednn/attention_kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "backends/onednn/lowering.h"
#include "support/uniform_floats.h"
#include "support/vector_isas.h"

namespace edgerun::onednn {
namespace {

struct Case {
  AttentionGeometry g;
  std::vector<float> q, k, v;
  std::vector<float> mask;  // bound to g.mask by bind_mask
  std::vector<int64_t> mask_dims;

  // Plain strides of the mask's own dims, 0 where it broadcasts over the scores.
  void bind_mask() {
    if (mask.empty()) return;
    g.mask = mask.data();
    int64_t stride = 1;
    for (size_t i = 4; i-- > 0;) {
      g.mask_strides[i] = mask_dims[i] == 1 ? 0 : stride;
      stride *= mask_dims[i];
    }
  }
};

// batch, heads, s, sk, d, dv; mask dims over [B, H, S, Sk] (empty: none).
Case make_case(int64_t b, int64_t h, int64_t s, int64_t sk, int64_t d, int64_t dv, float factor,
               std::vector<int64_t> mask_dims = {}) {
  Case c;
  c.g.batch = b;
  c.g.heads = h;
  c.g.s = s;
  c.g.sk = sk;
  c.g.d = d;
  c.g.dv = dv;
  c.g.factor = factor;
  c.q = uniform_floats(static_cast<size_t>(b * s * h * d), 1);
  c.k = uniform_floats(static_cast<size_t>(b * sk * h * d), 2);
  c.v = uniform_floats(static_cast<size_t>(b * sk * h * dv), 3);
  if (!mask_dims.empty()) {
    int64_t n = 1;
    for (int64_t m : mask_dims) n *= m;
    c.mask = uniform_floats(static_cast<size_t>(n), 4, 3.0f);
    c.mask_dims = std::move(mask_dims);
  }
  c.bind_mask();
  return c;
}

// Y in double: softmax over keys of factor * q.k + mask, times V, per batch, head and row.
std::vector<double> exact(const Case& c) {
  const AttentionGeometry& g = c.g;
  std::vector<double> y(static_cast<size_t>(g.batch * g.s * g.heads * g.dv));
  std::vector<double> scores(static_cast<size_t>(g.sk));
  for (int64_t b = 0; b < g.batch; ++b) {
    for (int64_t h = 0; h < g.heads; ++h) {
      for (int64_t i = 0; i < g.s; ++i) {
        const float* q = c.q.data() + ((b * g.s + i) * g.heads + h) * g.d;
        double max = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < g.sk; ++j) {
          const float* k = c.k.data() + ((b * g.sk + j) * g.heads + h) * g.d;
          double dot = 0;
          for (int64_t dd = 0; dd < g.d; ++dd) dot += static_cast<double>(q[dd]) * k[dd];
          double x = g.factor * dot;
          if (g.mask != nullptr) {
            x += g.mask[b * g.mask_strides[0] + h * g.mask_strides[1] + i * g.mask_strides[2] +
                        j * g.mask_strides[3]];
          }
          scores[static_cast<size_t>(j)] = x;
          if (x > max) max = x;
        }
        double sum = 0;
        for (double& x : scores) sum += (x = std::exp(x - max));
        double* out = y.data() + ((b * g.s + i) * g.heads + h) * g.dv;
        for (int64_t j = 0; j < g.sk; ++j) {
          const float* v = c.v.data() + ((b * g.sk + j) * g.heads + h) * g.dv;
          for (int64_t e = 0; e < g.dv; ++e) out[e] += scores[static_cast<size_t>(j)] / sum * v[e];
        }
      }
    }
  }
  return y;
}

// The kernel's Y with `isa`'s code and the tasks attention_tasks makes for `parts`, run last to
// first, one task per call, each call with scratch of its own filled with garbage.
std::vector<float> run(const Case& c, int parts, VectorIsa isa) {
  const AttentionTasks tasks = attention_tasks(c.g, parts);
  EXPECT_GE(tasks.count, c.g.batch * c.g.heads);
  EXPECT_EQ(tasks.rows_per_chunk % 6, 0);
  EXPECT_GE(tasks.chunks_per_head * tasks.rows_per_chunk, c.g.s);
  std::vector<float> y(static_cast<size_t>(c.g.batch * c.g.s * c.g.heads * c.g.dv),
                       std::numeric_limits<float>::quiet_NaN());
  const size_t floats = attention_scratch_bytes(c.g) / sizeof(float) + 16;
  for (int64_t t = tasks.count; t-- > 0;) {
    std::vector<float> raw(floats, 1e30f);
    float* scratch = raw.data();
    while (reinterpret_cast<uintptr_t>(scratch) % 64 != 0) ++scratch;
    attention_run(c.g, tasks, t, t + 1, c.q.data(), c.k.data(), c.v.data(), y.data(), scratch, isa);
  }
  return y;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i]) ? !std::isnan(got[i])
                            : !(std::abs(got[i] - want[i]) <= 2e-5 * (1 + std::abs(want[i])))) {
      if (++bad <= 5)
        ADD_FAILURE() << "element " << i << ": got " << got[i] << ", want " << want[i];
    }
  }
  EXPECT_EQ(bad, 0u);
}

class AttentionKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!attention_kernel_runs_here()) GTEST_SKIP() << "no AVX2 or AVX-512 here: oneDNN runs it";
  }
};

TEST_F(AttentionKernel, MatchesTheExactResultOverShapesAndMasks) {
  struct Shape6 {
    int64_t b, h, s, sk, d, dv;
  };
  const Shape6 shapes[] = {
      {1, 12, 197, 197, 64, 64},  // ViT-B/16
      {2, 3, 7, 5, 8, 6},         // fewer keys than a vector, a head size under one
      {1, 2, 13, 17, 17, 70},     // one key past a vector; D and Dv past whole vectors and tiles
      {1, 1, 1, 1, 1, 1},         // one of everything
      {3, 2, 33, 64, 16, 16},     // keys exactly one tile
      {1, 4, 6, 65, 33, 129},     // one key past a tile; Dv past two tiles
      {2, 2, 5, 0, 8, 8},         // no keys: Y is 0
  };
  for (const Shape6& x : shapes) {
    const std::vector<std::vector<int64_t>> masks = {
        {}, {x.b, 1, 1, x.sk}, {1, 1, x.s, x.sk}, {x.b, x.h, x.s, x.sk}, {x.b, x.h, x.s, 1}};
    for (const auto& mask : masks) {
      for (float factor : {0.125f, 1.7f}) {
        SCOPED_TRACE(std::to_string(x.b) + "x" + std::to_string(x.h) + " s " + std::to_string(x.s) +
                     " sk " + std::to_string(x.sk) + " d " + std::to_string(x.d) + " dv " +
                     std::to_string(x.dv) + " mask rank " + std::to_string(mask.size()) +
                     (mask.empty() ? "" : " last " + std::to_string(mask.back())) + " factor " +
                     std::to_string(factor));
        const Case c = make_case(x.b, x.h, x.s, x.sk, x.d, x.dv, factor, mask);
        const std::vector<double> want = exact(c);
        for (VectorIsa isa : isas_here()) {
          SCOPED_TRACE(name(isa));
          expect_close(run(c, 1, isa), want);
        }
      }
    }
  }
}

TEST_F(AttentionKernel, EveryTaskSplitGivesTheSameBits) {
  const Case c = make_case(2, 3, 50, 41, 24, 40, 0.2f, {2, 1, 50, 41});
  for (VectorIsa isa : isas_here()) {
    SCOPED_TRACE(name(isa));
    const std::vector<float> one = run(c, 1, isa);
    for (int parts : {2, 3, 7, 64}) {
      SCOPED_TRACE(std::to_string(parts) + " parts");
      const std::vector<float> split = run(c, parts, isa);
      ASSERT_EQ(split.size(), one.size());
      for (size_t i = 0; i < one.size(); ++i) ASSERT_EQ(split[i], one[i]) << "element " << i;
    }
  }
}

TEST_F(AttentionKernel, MaskedKeysContributeNothingAndAllMaskedRowsAreNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  Case c = make_case(1, 2, 9, 40, 16, 20, 0.25f, {1, 1, 9, 40});
  for (int64_t j = 0; j < 40; j += 3) {
    for (int64_t i = 0; i < 9; ++i) c.mask[static_cast<size_t>(i * 40 + j)] = -inf;
    // A value that would swamp the result if a masked key leaked into it.
    for (int64_t h = 0; h < 2; ++h) {
      for (int64_t e = 0; e < 20; ++e) c.v[static_cast<size_t>((j * 2 + h) * 20 + e)] = 1e38f;
    }
  }
  for (int64_t j = 0; j < 40; ++j) c.mask[static_cast<size_t>(4 * 40 + j)] = -inf;  // row 4
  c.q[static_cast<size_t>((7 * 2 + 1) * 16 + 3)] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<double> want = exact(c);
  for (VectorIsa isa : isas_here()) {
    SCOPED_TRACE(name(isa));
    const std::vector<float> got = run(c, 2, isa);
    for (int64_t i = 0; i < 9; ++i) {
      for (int64_t h = 0; h < 2; ++h) {
        const bool nan = i == 4 || (i == 7 && h == 1);  // all keys masked; NaN in the query
        for (int64_t e = 0; e < 20; ++e) {
          const size_t at = static_cast<size_t>((i * 2 + h) * 20 + e);
          EXPECT_EQ(std::isnan(got[at]), nan) << "row " << i << " head " << h;
          EXPECT_EQ(std::isnan(want[at]), nan) << "row " << i << " head " << h;
        }
      }
    }
    expect_close(got, want);
  }
}

TEST_F(AttentionKernel, AskingForCodeThisCpuLacksIsAnError) {
  const Case c = make_case(1, 1, 2, 2, 4, 4, 1.0f);
  const AttentionTasks tasks = attention_tasks(c.g, 1);
  std::vector<float> y(8), scratch(attention_scratch_bytes(c.g) / sizeof(float) + 16);
  EXPECT_THROW(attention_run(c.g, tasks, 0, tasks.count, c.q.data(), c.k.data(), c.v.data(),
                             y.data(), scratch.data(), VectorIsa::kNone),
               std::logic_error);
}

// The Attention node lowered with `on_onednn` and run on plain buffers.
std::vector<float> run_lowered(const Case& c, bool on_onednn) {
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  ir::Node node;
  node.name = "attention";
  node.domain = "ai.edgerun";
  node.op_type = "Attention";
  node.op = ir::Op::Attention;
  node.opset = 1;
  ir::Attribute scale;
  scale.name = "scale";
  scale.type = ir::AttrType::kFloat;
  scale.f = c.g.factor;
  node.attributes.push_back(scale);
  const AttentionGeometry& g = c.g;
  std::vector<NodeInput> in(c.mask.empty() ? 3 : 4);
  const std::vector<Shape> shapes = {{g.batch, g.s, g.heads, g.d},
                                     {g.batch, g.sk, g.heads, g.d},
                                     {g.batch, g.sk, g.heads, g.dv},
                                     Shape(c.mask_dims.begin(), c.mask_dims.end())};
  for (size_t i = 0; i < in.size(); ++i) {
    in[i].present = true;
    in[i].dtype = DType::kFloat32;
    in[i].shape = shapes[i];
    node.inputs.push_back("in" + std::to_string(i));
  }
  node.outputs = {"y"};
  LoweringContext cx;
  cx.engine = &engine;
  cx.attention_on_onednn = on_onednn;
  auto lowered = prepare_node(node, cx, in);
  EXPECT_TRUE(lowered.is_ok()) << lowered.status().message();
  if (!lowered.is_ok()) return {};
  const PreparedNode& n = **lowered;
  EXPECT_EQ(n.own_kernel != nullptr, !on_onednn);
  std::vector<float> y(static_cast<size_t>(g.batch * g.s * g.heads * g.dv));
  const std::vector<const std::vector<float>*> data = {&c.q, &c.k, &c.v, &c.mask};
  std::vector<dnnl::memory> ins;
  for (size_t i = 0; i < in.size(); ++i) {
    ins.emplace_back(n.inputs[i].want, engine, const_cast<float*>(data[i]->data()));
  }
  const dnnl::memory out(n.outputs[0].desc, engine, y.data());
  n.execute(stream, ins, std::span<const dnnl::memory>(&out, 1));
  return y;
}

TEST_F(AttentionKernel, LoweredNodeAgreesWithOneDnnsPrimitives) {
  for (const auto& mask : std::vector<std::vector<int64_t>>{{}, {2, 1, 1, 19}, {2, 3, 11, 19}}) {
    SCOPED_TRACE("mask rank " + std::to_string(mask.size()));
    const Case c = make_case(2, 3, 11, 19, 20, 24, 0.3f, mask);
    const std::vector<float> own = run_lowered(c, false);
    const std::vector<float> onednn = run_lowered(c, true);
    const std::vector<double> want = exact(c);
    expect_close(own, want);
    expect_close(onednn, want);
  }
}

}  // namespace
}  // namespace edgerun::onednn
