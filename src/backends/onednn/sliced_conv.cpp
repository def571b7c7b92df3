#include "backends/onednn/sliced_conv.h"

#include <array>
#include <atomic>
#include <cstring>
#include <unordered_map>

#include "backends/onednn/team.h"

namespace edgerun::onednn::lower {
namespace {

std::atomic<uint64_t> next_id{1};

// The calling thread's memory object for `key`, pointed at `data`. Making a dnnl::memory
// allocates, and slices run on whichever thread claims them, so each thread keeps one per
// (node, slice, argument) and re-points it; a run makes none once every thread has its own.
// Keys are never reused, and a thread keeps at most a few per sliced node it ever ran.
const memory& thread_memory(uint64_t key, const memory::desc& desc, const dnnl::engine& engine,
                            void* data) {
  thread_local std::unordered_map<uint64_t, memory> by_key;
  memory& m = by_key[key];
  if (!m) {
    m = memory(desc, engine, data);
  } else if (m.get_data_handle() != data) {
    m.set_data_handle(data);
  }
  return m;
}

char* at(const memory& m, size_t offset) {
  return static_cast<char*>(m.get_data_handle()) + offset;
}

}  // namespace

SlicedConv::SlicedConv(const dnnl::engine& engine, std::vector<ConvSlice> slices,
                       std::optional<size_t> bias_input)
    : engine_(engine),
      slices_(std::move(slices)),
      bias_input_(bias_input),
      id_(next_id.fetch_add(1, std::memory_order_relaxed)) {}

void SlicedConv::execute(dnnl::stream& /*stream*/, std::span<const memory> in,
                         std::span<const memory> out) const {
  auto task = [&](int k) { run_slice(static_cast<size_t>(k), in, out); };
  if (Team* team = Team::open_on_calling_thread()) {
    team->run(static_cast<int>(slices_.size()), task);
    return;
  }
  for (size_t k = 0; k < slices_.size(); ++k) run_slice(k, in, out);
}

void SlicedConv::run_slice(size_t k, std::span<const memory> in,
                           std::span<const memory> out) const {
  const ConvSlice& s = slices_[k];
  const uint64_t key = id_ << 24 | static_cast<uint64_t>(k) << 2;  // + the argument
  dnnl::stream& stream = thread_stream(engine_);
  const memory& src = thread_memory(key, s.src, engine_, at(in[0], s.src_offset));
  const memory& dst = thread_memory(key + 1, s.dst, engine_, at(out[0], s.dst_offset));
  if (sum_input) {
    // The residual this slice adds onto: its part of the addend, unless the planner placed the
    // output over the addend already.
    const char* addend = at(in[*sum_input], s.dst_offset);
    if (addend != dst.get_data_handle()) {
      std::memcpy(dst.get_data_handle(), addend, s.dst.get_size());
    }
  }
  std::array<dnnl_exec_arg_t, 5> args;
  size_t n = 0;
  args[n++] = {DNNL_ARG_SRC, src.get()};
  args[n++] = {DNNL_ARG_WEIGHTS, s.weights.get()};
  if (bias_input_) {
    args[n++] = {DNNL_ARG_BIAS,
                 thread_memory(key + 2, s.bias, engine_, at(in[*bias_input_], s.bias_offset)).get()};
  }
  args[n++] = {DNNL_ARG_DST, dst.get()};
  if (s.scratchpad.get_size() > 0) {
    args[n++] = {DNNL_ARG_SCRATCHPAD, scratchpad_memory(s.scratchpad, engine_).get()};
  }
  execute_args(s.primitive, stream, std::span<const dnnl_exec_arg_t>(args.data(), n));
  stream.wait();
}

}  // namespace edgerun::onednn::lower
