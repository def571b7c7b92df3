// The memory planner (src/memory/) and its use by Program: planned arenas, in-place reuse, pool
// reuse, concurrent runs and outputs that callers keep.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "backends/onednn/onednn_backend.h"
#include "backends/reference/reference_backend.h"
#include "memory/arena_pool.h"
#include "memory/planner.h"
#include "runtime/program.h"
#include "unit/pass_test_graph.h"

namespace edgerun {
namespace {

using memory::plan_memory;
using memory::UsageRecord;

bool lifetimes_overlap(const UsageRecord& a, const UsageRecord& b) {
  return a.first <= b.last && b.first <= a.last;
}

TEST(MemoryPlannerTest, OverlappingLifetimesNeverShareBytes) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::vector<UsageRecord> records;
    size_t sum = 0;
    for (int i = 0; i < 40; ++i) {
      UsageRecord r;
      r.bytes = 1 + rng() % 5000;
      r.first = rng() % 30;
      r.last = r.first + rng() % 10;
      sum += memory::align_up(r.bytes);
      records.push_back(r);
    }
    const memory::MemoryPlan plan = plan_memory(records);
    ASSERT_EQ(plan.offsets.size(), records.size());
    EXPECT_LE(plan.arena_bytes, sum);
    for (size_t i = 0; i < records.size(); ++i) {
      EXPECT_EQ(plan.offsets[i] % memory::kAlignment, 0u);
      EXPECT_LE(plan.offsets[i] + records[i].bytes, plan.arena_bytes);
      for (size_t j = i + 1; j < records.size(); ++j) {
        if (!lifetimes_overlap(records[i], records[j])) continue;
        const bool disjoint = plan.offsets[i] + records[i].bytes <= plan.offsets[j] ||
                              plan.offsets[j] + records[j].bytes <= plan.offsets[i];
        EXPECT_TRUE(disjoint) << "records " << i << " and " << j << " overlap in memory";
      }
    }
  }
}

TEST(MemoryPlannerTest, DisjointLifetimesShareBytes) {
  // A chain a -> b -> c: a and c never live at once.
  const std::vector<UsageRecord> records = {{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}};
  const memory::MemoryPlan plan = plan_memory(records);
  EXPECT_EQ(plan.offsets[0], plan.offsets[2]);
  EXPECT_NE(plan.offsets[0], plan.offsets[1]);
  EXPECT_EQ(plan.arena_bytes, 2 * memory::align_up(1000));
}

TEST(MemoryPlannerTest, InPlaceTakesTheDonorsBytes) {
  std::vector<UsageRecord> records = {{4096, 0, 2}, {64, 1, 3}, {4096, 2, 4}};
  records[2].in_place_of = 0;  // dies at 2, where record 2 is written
  const memory::MemoryPlan plan = plan_memory(records);
  EXPECT_EQ(plan.in_place, 1u);
  EXPECT_EQ(plan.offsets[2], plan.offsets[0]);
  EXPECT_EQ(plan.arena_bytes, 4096u + 64u);
}

TEST(MemoryPlannerTest, InPlaceIsRefusedWhenTheDonorLivesOn) {
  std::vector<UsageRecord> records = {{4096, 0, 3}, {4096, 2, 4}};
  records[1].in_place_of = 0;  // the donor is still read at 3
  const memory::MemoryPlan plan = plan_memory(records);
  EXPECT_EQ(plan.in_place, 0u);
  EXPECT_NE(plan.offsets[0], plan.offsets[1]);
  // A bigger taker cannot fit the donor's bytes either.
  records = {{64, 0, 2}, {4096, 2, 4}};
  records[1].in_place_of = 0;
  EXPECT_EQ(plan_memory(records).in_place, 0u);
}

TEST(ArenaPoolTest, SequentialRunsReuseOneArena) {
  memory::ArenaPool pool(1000);
  const std::byte* first = nullptr;
  for (int i = 0; i < 5; ++i) {
    memory::ArenaLease lease = pool.acquire();
    ASSERT_NE(lease.get(), nullptr);
    if (first == nullptr) first = lease.get()->data();
    EXPECT_EQ(lease.get()->data(), first);
  }
  EXPECT_EQ(pool.arenas_created(), 1u);
  {
    memory::ArenaLease a = pool.acquire();
    memory::ArenaLease b = pool.acquire();
    EXPECT_NE(a.get()->data(), b.get()->data());
  }
  EXPECT_EQ(pool.arenas_created(), 2u);
  EXPECT_EQ(memory::ArenaPool(0).acquire().get(), nullptr);
}

// x[4, 8] -> MatMul(w) -> h -> Relu -> r -> Add(bias) -> a -> Sigmoid -> s -> MatMul(w) -> m
// -> Tanh -> t -> Neg -> y. Graph outputs: y; r, which the Add also reads; and flat, a Reshape of
// `a` (a view of an intermediate's bytes).
struct MlpGraph {
  MlpGraph() {
    ir::ValueInfo x;
    x.name = "x";
    x.type.kind = ir::TypeInfo::Kind::kTensor;
    x.type.dtype = DType::kFloat32;
    x.type.shape = std::vector<ir::Dim>{{-1, "batch"}, {8, ""}};
    builder.graph.inputs.push_back(x);
    std::vector<float> w(8 * 8), b(8);
    for (size_t i = 0; i < w.size(); ++i) w[i] = 0.05f * static_cast<float>(i % 13) - 0.3f;
    for (size_t i = 0; i < b.size(); ++i) b[i] = 0.1f * static_cast<float>(i) - 0.2f;
    builder.constant("w", Tensor::from_vector<float>({8, 8}, w));
    builder.constant("bias", Tensor::from_vector<float>({8}, b));
    node("MatMul", {"x", "w"}, "h");
    node("Relu", {"h"}, "r");
    node("Add", {"r", "bias"}, "a");
    node("Sigmoid", {"a"}, "s");
    node("MatMul", {"s", "w"}, "m");
    node("Tanh", {"m"}, "t");
    node("Neg", {"t"}, "y");
    node("Reshape", {"a", "flat_shape"}, "flat");
    builder.constant("flat_shape", Tensor::from_vector<int64_t>({1}, {-1}));
    builder.output("y");
    builder.output("r");     // a graph output that Add also reads
    builder.output("flat");  // a view of an intermediate
  }
  void node(const std::string& type, std::vector<std::string> inputs, const std::string& out) {
    builder.node(type, std::move(inputs), {out}, {}, 17);
  }
  MlpGraph(const MlpGraph&) = delete;  // `graph` refers into `builder`
  MlpGraph& operator=(const MlpGraph&) = delete;

  testing::PassGraph builder;
  ir::Graph& graph = builder.graph;
};

Tensor input(float scale) {
  Tensor x(DType::kFloat32, {4, 8});
  for (int64_t i = 0; i < x.size(); ++i) {
    x.data<float>()[i] = scale * (static_cast<float>(i % 11) - 5.0f) / 5.0f;
  }
  return x;
}

std::vector<float> values(const Value& v) { return v.tensor().to_vector<float>(); }

class ProgramArenaTest : public ::testing::TestWithParam<bool> {
 protected:
  std::unique_ptr<runtime::Program> build(const std::vector<Shape>& shapes = {{4, 8}}) {
    std::vector<const Backend*> backends;
    if (GetParam()) backends.push_back(&onednn_);
    backends.push_back(&reference_);
    runtime::SafetyHooks hooks;
    hooks.reference = &reference_;
    auto program = runtime::Program::build(mlp_.graph, backends, shapes, hooks);
    EXPECT_TRUE(program.is_ok()) << program.status().to_string();
    return program.is_ok() ? std::move(program).value() : nullptr;
  }
  // The outputs with nothing planned: the reference alone, no shapes known.
  std::vector<Value> unplanned(const Tensor& x) {
    auto program = runtime::Program::build(mlp_.graph, {&reference_});
    EXPECT_EQ(program.value()->arena_plan().arena_bytes, 0u);
    return program.value()->run({Value(x)}).value();
  }

  MlpGraph mlp_;
  reference::ReferenceBackend reference_;
  onednn::OneDnnBackend onednn_{1};
};

void expect_near(const std::vector<float>& a, const std::vector<float>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5f) << "element " << i;
}

TEST_P(ProgramArenaTest, PlansBeforeTheFirstRunAndRunsWithoutMisses) {
  auto program = build();
  ASSERT_NE(program, nullptr);
  const ArenaPlan& plan = program->arena_plan();
  EXPECT_GT(plan.arena_bytes, 0u);
  EXPECT_GT(plan.planned_values, 0u);
  EXPECT_EQ(program->arenas_created(), 0u);
  const std::vector<Value> expected = unplanned(input(1));
  for (int run = 0; run < 3; ++run) {
    auto out = program->run({Value(input(1))});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    for (size_t i = 0; i < expected.size(); ++i) expect_near(values(out.value()[i]), values(expected[i]));
  }
  EXPECT_EQ(program->arenas_created(), 1u);  // sequential runs share one arena
  EXPECT_EQ(program->arena_misses(), 0u);
}

TEST_P(ProgramArenaTest, OutputsTheCallerKeepsSurviveTheNextRun) {
  auto program = build();
  ASSERT_NE(program, nullptr);
  auto first = program->run({Value(input(1))});
  ASSERT_TRUE(first.is_ok());
  const std::vector<Value> kept = first.value();
  std::vector<std::vector<float>> before;
  for (const Value& v : kept) before.push_back(values(v));
  auto second = program->run({Value(input(-2))});
  ASSERT_TRUE(second.is_ok());
  for (size_t i = 0; i < kept.size(); ++i) {
    EXPECT_EQ(values(kept[i]), before[i]) << "output " << i << " changed under the caller";
    EXPECT_NE(values(second.value()[i]), before[i]);
  }
}

TEST_P(ProgramArenaTest, ConcurrentRunsEachGetTheirOwnArena) {
  auto program = build();
  ASSERT_NE(program, nullptr);
  const std::vector<Value> expected_a = unplanned(input(1));
  const std::vector<Value> expected_b = unplanned(input(-0.5f));
  std::atomic<int> wrong{0};
  auto worker = [&](float scale, const std::vector<Value>& expected) {
    for (int i = 0; i < 200; ++i) {
      auto out = program->run({Value(input(scale))});
      if (!out.is_ok()) {
        ++wrong;
        continue;
      }
      for (size_t o = 0; o < expected.size(); ++o) {
        const std::vector<float> got = values(out.value()[o]);
        const std::vector<float> want = values(expected[o]);
        for (size_t k = 0; k < got.size(); ++k) {
          if (std::abs(got[k] - want[k]) > 1e-5f) ++wrong;
        }
      }
    }
  };
  std::thread a(worker, 1.0f, std::cref(expected_a));
  std::thread b(worker, -0.5f, std::cref(expected_b));
  a.join();
  b.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(program->arenas_created(), 2u);
}

TEST_P(ProgramArenaTest, AShapeThePlanDidNotForeseeGoesToTheHeap) {
  // Planned for a batch of 2, run with 4: tensors do not fit their regions, results stay right.
  auto program = build({{2, 8}});
  ASSERT_NE(program, nullptr);
  const std::vector<Value> expected = unplanned(input(1));
  auto out = program->run({Value(input(1))});
  if (!out.is_ok()) {
    // A backend may refuse the unforeseen shape outright; it must say so clearly.
    EXPECT_FALSE(out.status().to_string().empty());
    return;
  }
  for (size_t i = 0; i < expected.size(); ++i) expect_near(values(out.value()[i]), values(expected[i]));
  EXPECT_GT(program->arena_misses(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, ProgramArenaTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "onednn" : "reference"; });

TEST(ProgramArenaPlanTest, ElementwiseNodesWriteInPlaceOnTheReference) {
  MlpGraph mlp;
  reference::ReferenceBackend reference;
  auto program = runtime::Program::build(mlp.graph, {&reference}, {{4, 8}});
  ASSERT_TRUE(program.is_ok());
  // Sigmoid over `a` cannot (the Reshape's view of `a` lives on), Tanh over m can.
  EXPECT_GE(program.value()->arena_plan().in_place, 1u);
}

// x -> Conv+Relu -> r -> Conv+Relu -> h -> Conv -> Add(r) -> Relu -> t -> Conv -> y: a residual
// block whose Add oneDNN fuses as a sum post-op. With `direct`, the Add's convolution reads r
// itself (h is skipped).
testing::PassGraph residual_block(bool direct = false) {
  testing::PassGraph g;
  g.input("x", testing::ramp({1, 16, 8, 8}, 0.41f));
  g.constant("w1", testing::ramp({16, 16, 3, 3}, 0.013f));
  g.constant("w2", testing::ramp({16, 16, 3, 3}, 0.011f));
  g.constant("w3", testing::ramp({16, 16, 1, 1}, 0.07f));
  const ir::Attribute pads = testing::attr("pads", std::vector<int64_t>{1, 1, 1, 1});
  g.node("Conv", {"x", "w1"}, {"c1"}, {pads});
  g.node("Relu", {"c1"}, {"r"});
  if (!direct) {
    g.node("Conv", {"r", "w1"}, {"c0"}, {pads});
    g.node("Relu", {"c0"}, {"h"});
  }
  g.node("Conv", {direct ? "r" : "h", "w2"}, {"c2"}, {pads});
  g.node("Add", {"c2", "r"}, {"s"});
  g.node("Relu", {"s"}, {"t"});
  g.node("Conv", {"t", "w3"}, {"y"});
  g.output("y");
  return g;
}

void expect_outputs(const testing::PassGraph& g, const runtime::Program& program) {
  const std::vector<Value> expected = g.run(g.graph);  // the reference, nothing planned
  for (int run = 0; run < 2; ++run) {
    auto out = program.run({Value(g.feeds[0])});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    ASSERT_EQ(out.value().size(), expected.size());
    for (size_t o = 0; o < expected.size(); ++o) {
      const std::vector<float> got = values(out.value()[o]), want = values(expected[o]);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_NEAR(got[i], want[i], 1e-3f * (1 + std::abs(want[i]))) << "output " << o << " element " << i;
      }
    }
  }
}

std::unique_ptr<runtime::Program> onednn_program(const testing::PassGraph& g) {
  static reference::ReferenceBackend reference;
  static onednn::OneDnnBackend onednn{1};
  runtime::SafetyHooks hooks;
  hooks.reference = &reference;
  auto program = runtime::Program::build(g.graph, {&onednn, &reference}, {g.feeds[0].shape()}, hooks);
  EXPECT_TRUE(program.is_ok()) << program.status().to_string();
  return program.is_ok() ? std::move(program).value() : nullptr;
}

TEST(ProgramArenaPlanTest, AResidualSumPostOpAddsOntoItsAddendsBytesOnOneDnn) {
  const testing::PassGraph block = residual_block();
  auto program = onednn_program(block);
  ASSERT_NE(program, nullptr);
  // The chain Conv+Add+Relu writes t over r, its addend, which dies there; no other node of
  // this partition may write in place (the Relus are fused).
  EXPECT_EQ(program->arena_plan().in_place, 1u);
  expect_outputs(block, *program);
}

TEST(ProgramArenaPlanTest, AnAddendTheConvolutionAlsoReadsKeepsItsOwnBytes) {
  const testing::PassGraph block = residual_block(/*direct=*/true);
  auto program = onednn_program(block);
  ASSERT_NE(program, nullptr);
  EXPECT_EQ(program->arena_plan().in_place, 0u);
  expect_outputs(block, *program);
}

TEST(ProgramArenaPlanTest, AnAddendReadAfterTheSumKeepsItsOwnBytes) {
  testing::PassGraph block = residual_block();
  block.output("r");  // a graph output is the caller's: never written over
  auto program = onednn_program(block);
  ASSERT_NE(program, nullptr);
  EXPECT_EQ(program->arena_plan().in_place, 0u);
  expect_outputs(block, *program);
}

TEST(ProgramValueTableTest, ConstantsStayInPlaceAcrossRunsAndOutputsDoNot) {
  // y = x * w + w, with w also a graph output: each run reads w twice and returns it, and the
  // value tables a run leaves behind hold only the constants.
  testing::PassGraph g;
  g.input("x", testing::ramp({2, 3}, 0.5f));
  g.constant("w", testing::ramp({2, 3}, 0.3f));
  g.node("Mul", {"x", "w"}, {"m"});
  g.node("Add", {"m", "w"}, {"y"});
  g.output("y");
  g.output("w");
  reference::ReferenceBackend reference;
  auto program = runtime::Program::build(g.graph, {&reference}, {{2, 3}});
  ASSERT_TRUE(program.is_ok()) << program.status().to_string();
  const std::vector<float> w = g.graph.initializers.at("w").to_vector<float>();
  for (float scale : {1.0f, -2.0f, 0.25f}) {
    Tensor x = testing::ramp({2, 3}, 0.5f);
    for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] *= scale;
    auto out = program.value()->run({Value(x)});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    const std::vector<float> y = values(out.value()[0]);
    for (size_t i = 0; i < y.size(); ++i) {
      EXPECT_FLOAT_EQ(y[i], x.data<float>()[i] * w[i] + w[i]) << "scale " << scale;
    }
    EXPECT_EQ(values(out.value()[1]), w);
  }
  // A run whose input is wrong fails cleanly and the next one is unaffected.
  EXPECT_FALSE(program.value()->run({Value(Tensor::from_vector<int64_t>({1}, {7}))}).is_ok());
  auto again = program.value()->run({Value(testing::ramp({2, 3}, 0.5f))});
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(values(again.value()[1]), w);
}

}  // namespace
}  // namespace edgerun
