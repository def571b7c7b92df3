// Counts the heap allocations of warm runs. Its own program, because it replaces the global
// operator new: every C++ allocation in the process passes through the counter below, which
// tells edgerun's own from those made inside oneDNN's library by the call stack.
#include <dlfcn.h>
#include <execinfo.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "edgerun/edgerun.hpp"
#include "support/small_models.h"

namespace {

std::atomic<bool> g_counting{false};
std::atomic<long> g_ours{0};
std::atomic<long> g_onednn{0};
thread_local bool t_counting_now = false;  // backtrace() must not count itself

// EDGERUN_PRINT_ALLOCATIONS=1 prints the call stack of each of edgerun's allocations, to find
// the one a failure counted (addr2line turns the addresses into lines).
const bool g_print_stacks = std::getenv("EDGERUN_PRINT_ALLOCATIONS") != nullptr;

bool called_from_onednn() {
  void* frames[32];
  const int depth = backtrace(frames, 32);
  for (int i = 0; i < depth; ++i) {
    Dl_info info;
    if (dladdr(frames[i], &info) != 0 && info.dli_fname != nullptr &&
        std::strstr(info.dli_fname, "libdnnl") != nullptr) {
      return true;
    }
  }
  if (g_print_stacks) {
    static const char kRule[] = "---- edgerun allocation\n";
    write(2, kRule, sizeof kRule - 1);
    backtrace_symbols_fd(frames, depth, 2);
  }
  return false;
}

void count_allocation() {
  if (!g_counting.load(std::memory_order_relaxed) || t_counting_now) return;
  t_counting_now = true;
  (called_from_onednn() ? g_onednn : g_ours).fetch_add(1, std::memory_order_relaxed);
  t_counting_now = false;
}

void* counted_allocation(std::size_t bytes) {
  count_allocation();
  if (void* p = std::malloc(bytes == 0 ? 1 : bytes)) return p;
  throw std::bad_alloc();
}

}  // namespace

// Every unaligned form, so that no memory is allocated by one allocator and freed by another
// (a sanitizer build checks that). The aligned forms stay the library's, in pairs.
void* operator new(std::size_t bytes) { return counted_allocation(bytes); }
void* operator new[](std::size_t bytes) { return counted_allocation(bytes); }
void* operator new(std::size_t bytes, const std::nothrow_t&) noexcept {
  count_allocation();
  return std::malloc(bytes == 0 ? 1 : bytes);
}
void* operator new[](std::size_t bytes, const std::nothrow_t&) noexcept {
  count_allocation();
  return std::malloc(bytes == 0 ? 1 : bytes);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace edgerun {
namespace {

struct Counts {
  long ours = 0;
  long onednn = 0;
};

// Allocations per run over `runs` runs of `run`, after three warm-up runs.
template <class Run>
Counts count_per_run(Run run, int runs) {
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(run());
  void* frames[4];
  backtrace(frames, 4);  // loads the unwinder before counting starts
  if (g_print_stacks) std::fprintf(stderr, "==== counting\n");
  g_ours = 0;
  g_onednn = 0;
  g_counting = true;
  for (int i = 0; i < runs; ++i) EXPECT_TRUE(run());
  g_counting = false;
  return {g_ours / runs, g_onednn / runs};
}

void expect_no_allocations_of_ours(const std::string& model_bytes, const std::string& input,
                                   Shape input_shape, const std::string& output,
                                   Shape output_shape, int threads) {
  PrepareOptions options;
  options.threads = threads;
  Engine engine;
  Result<PreparedModel> m = engine.prepare(ModelArtifact::from_bytes(model_bytes), options);
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  std::vector<float> x_copy = testing::wave(shape_size(input_shape), 1.0f, 0.3f);
  std::vector<float> y_values(shape_size(output_shape));
  const TensorMap inputs{
      {input, Tensor::wrap(DType::kFloat32, input_shape, x_copy.data(), nullptr)}};
  TensorMap outputs{
      {output, Tensor::wrap(DType::kFloat32, output_shape, y_values.data(), nullptr)}};
  const Counts into = count_per_run([&] { return m->run_into(inputs, outputs).is_ok(); }, 20);
  EXPECT_EQ(into.ours, 0) << "edgerun's own allocations per run_into";
  const Counts run = count_per_run([&] { return m->run(inputs).is_ok(); }, 20);
  // What run() adds (its result map and tensors) and oneDNN's own, for the record.
  ::testing::Test::RecordProperty("run_into_onednn_allocations_per_run",
                                  std::to_string(into.onednn));
  ::testing::Test::RecordProperty("run_allocations_per_run", std::to_string(run.ours));
  EXPECT_GT(run.ours, 0) << "the counter sees nothing: the test could not fail";
}

TEST(RunAllocations, WarmRunsIntoBoundTensorsAllocateNothingInEdgerun) {
  for (int threads : {1, 2}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    expect_no_allocations_of_ours(testing::mlp_model(), "x", {2, 16}, "probs", {2, 4}, threads);
    expect_no_allocations_of_ours(testing::inverted_block_model(), "x", {1, 8, 28, 28}, "scores",
                                  {1, 5}, threads);
  }
}

}  // namespace
}  // namespace edgerun
