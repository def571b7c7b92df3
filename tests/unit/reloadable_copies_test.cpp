// Copies of weights that leave memory once every reader packed them at prepare, and come back
// from their source whenever something reads them again (memory/reloadable_copies.h).
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "backends/onednn/onednn_backend.h"
#include "backends/reference/reference_backend.h"
#include "memory/reloadable_copies.h"
#include "runtime/circuit_breaker.h"
#include "runtime/event_log.h"
#include "runtime/program.h"
#include "unit/pass_test_graph.h"

namespace edgerun {
namespace {

using memory::ensure_resident;
using memory::is_evicted;
using memory::reader_id;

// A reloadable copy of `source` (kept alive by the copy), as a tensor of `shape`.
Tensor reloadable(const Tensor& source, const Shape& shape) {
  auto owner = std::make_shared<Tensor>(source);
  void* data = nullptr;
  std::shared_ptr<const void> copy =
      memory::make_reloadable_copy(owner->raw_data(), owner->nbytes(), owner, &data);
  EXPECT_NE(copy, nullptr);
  return Tensor::wrap(source.dtype(), shape, data, copy);
}

TEST(ReloadableCopies, LeaveOnlyWhenEveryReaderReleasedThemInsideAWindow) {
  const Tensor source = testing::ramp({64, 1024});
  Tensor copy = reloadable(source, source.shape());
  EXPECT_EQ(copy.to_vector<float>(), source.to_vector<float>());

  memory::release_reader(copy.raw_data(), reader_id(0, 1));  // no window: nothing happens
  EXPECT_FALSE(is_evicted(copy.raw_data()));
  {
    memory::EvictionWindow window;
    window.expect(copy.raw_data(), 2);
    memory::release_reader(copy.raw_data(), reader_id(0, 1));
    memory::release_reader(copy.raw_data(), reader_id(0, 1));  // the same reader twice
    EXPECT_FALSE(is_evicted(copy.raw_data()));
    memory::release_reader(copy.data<float>() + 100, reader_id(3, 0));  // inside the copy
    EXPECT_TRUE(is_evicted(copy.raw_data()));
    ensure_resident(copy.data<float>() + 5000);
    EXPECT_FALSE(is_evicted(copy.raw_data()));
    EXPECT_EQ(copy.to_vector<float>(), source.to_vector<float>());
  }
  // Closed: releases no longer evict.
  memory::release_reader(copy.raw_data(), reader_id(0, 1));
  EXPECT_FALSE(is_evicted(copy.raw_data()));
}

TEST(ReloadableCopies, ReclaimedReadersAndPinnedCopiesStay) {
  const Tensor source = testing::ramp({32, 1024});
  Tensor reclaimed = reloadable(source, source.shape());
  Tensor pinned = reloadable(source, source.shape());
  memory::EvictionWindow window;
  window.expect(reclaimed.raw_data(), 2);
  memory::release_reader(reclaimed.raw_data(), reader_id(1, 1));
  memory::reclaim_reader(reclaimed.raw_data(), reader_id(1, 1));  // lowered again, reads it
  memory::release_reader(reclaimed.raw_data(), reader_id(2, 1));
  EXPECT_FALSE(is_evicted(reclaimed.raw_data()));

  window.expect(pinned.raw_data(), 1);
  window.pin(pinned.raw_data());
  memory::release_reader(pinned.raw_data(), reader_id(1, 1));
  EXPECT_FALSE(is_evicted(pinned.raw_data()));
}

TEST(ReloadableCopies, OtherMemoryIsLeftAlone) {
  std::vector<float> plain(4096, 1.0f);
  memory::EvictionWindow window;
  window.expect(plain.data(), 1);
  memory::release_reader(plain.data(), reader_id(0, 1));
  ensure_resident(plain.data());
  EXPECT_FALSE(is_evicted(plain.data()));
  EXPECT_EQ(plain[4095], 1.0f);
}

// y = Relu(x @ w), w [256, 128] a reloadable copy: oneDNN packs it at prepare.
class PackedWeightTest : public ::testing::Test {
 protected:
  PackedWeightTest() {
    graph_.input("x", testing::ramp({4, 256}, 0.11f));
    graph_.constant("w", reloadable(testing::ramp({256, 128}, 0.013f), {256, 128}));
    graph_.node("MatMul", {"x", "w"}, {"h"});
    graph_.node("Relu", {"h"}, {"y"});
    graph_.output("y");
  }

  const void* weight() const { return graph_.graph.initializers.at("w").raw_data(); }

  std::unique_ptr<runtime::Program> build(std::vector<const Backend*> backends, Shape x_shape,
                                          bool at_prepare) {
    runtime::SafetyHooks hooks;
    hooks.reference = &reference_;
    hooks.breaker_for = [this](const Backend& backend, const std::vector<size_t>& nodes) {
      breakers_.push_back(std::make_unique<runtime::CircuitBreaker>(
          std::string(backend.name()), nodes, SafetyOptions{}, &log_));
      return breakers_.back().get();
    };
    hooks.release_packed_constants = at_prepare;
    auto program = runtime::Program::build(graph_.graph, backends, {x_shape}, hooks);
    EXPECT_TRUE(program.is_ok()) << program.status().to_string();
    return program.is_ok() ? std::move(program).value() : nullptr;
  }

  // The first `rows` rows of the input.
  Tensor rows(int64_t count) const {
    Tensor x(DType::kFloat32, {count, 256});
    const Tensor& all = graph_.feeds[0];
    std::copy(all.data<float>(), all.data<float>() + x.size(), x.data<float>());
    return x;
  }

  static Tensor run(const runtime::Program& program, const Tensor& x) {
    auto out = program.run({Value(x)});
    EXPECT_TRUE(out.is_ok()) << out.status().to_string();
    return out.is_ok() ? out.value()[0].tensor() : Tensor();
  }

  // Compares with the reference, whose build makes the weight resident.
  void expect_exact(const Tensor& got, const Tensor& x) {
    const Tensor want = run(*build({&reference_}, x.shape(), false), x);
    EXPECT_TRUE(testing::tensors_close(got, want, 1e-5, 1e-5));
  }

  testing::PassGraph graph_;
  reference::ReferenceBackend reference_;
  onednn::OneDnnBackend onednn_{1};
  runtime::EventLog log_{""};
  std::vector<std::unique_ptr<runtime::CircuitBreaker>> breakers_;
};

TEST_F(PackedWeightTest, APackedWeightLeavesMemoryAtPrepareAndRunsStayExact) {
  auto program = build({&onednn_, &reference_}, {4, 256}, true);
  ASSERT_NE(program, nullptr);
  EXPECT_TRUE(is_evicted(weight()));
  const Tensor got = run(*program, rows(4));
  EXPECT_TRUE(is_evicted(weight()));  // runs read the packed copy only
  expect_exact(got, rows(4));
}

TEST_F(PackedWeightTest, ALaterSpecialisationLowersFromTheReloadedWeight) {
  auto first = build({&onednn_, &reference_}, {4, 256}, true);
  ASSERT_TRUE(is_evicted(weight()));
  auto second = build({&onednn_, &reference_}, {2, 256}, false);
  ASSERT_NE(second, nullptr);
  EXPECT_FALSE(is_evicted(weight()));
  expect_exact(run(*second, rows(2)), rows(2));
  expect_exact(run(*first, rows(4)), rows(4));
}

TEST_F(PackedWeightTest, TheReferenceRerunOfAnOpenBreakerReloadsTheWeight) {
  auto program = build({&onednn_, &reference_}, {4, 256}, true);
  ASSERT_TRUE(is_evicted(weight()));
  program->trip_breakers("test");
  const Tensor got = run(*program, rows(4));
  EXPECT_FALSE(is_evicted(weight()));
  const Tensor want = run(*build({&reference_}, {4, 256}, false), rows(4));
  EXPECT_EQ(got.to_vector<float>(), want.to_vector<float>());
}

TEST_F(PackedWeightTest, AWeightAnotherNodeReadsDuringRunsStays) {
  graph_.node("ReduceSum", {"w"}, {"total"}, {}, 11);  // reads w itself during runs
  graph_.output("total");
  auto program = build({&onednn_, &reference_}, {4, 256}, true);
  ASSERT_NE(program, nullptr);
  EXPECT_FALSE(is_evicted(weight()));
  expect_exact(run(*program, rows(4)), rows(4));
}

TEST_F(PackedWeightTest, AWeightThatIsAGraphOutputStays) {
  graph_.output("w");
  auto program = build({&onednn_, &reference_}, {4, 256}, true);
  ASSERT_NE(program, nullptr);
  EXPECT_FALSE(is_evicted(weight()));
}

TEST_F(PackedWeightTest, OnlyTheBuildAtPrepareGivesWeightsBack) {
  auto program = build({&onednn_, &reference_}, {4, 256}, false);
  ASSERT_NE(program, nullptr);
  EXPECT_FALSE(is_evicted(weight()));
}

}  // namespace
}  // namespace edgerun
