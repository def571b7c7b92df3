#include "backends/onednn/sliced_node.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

#include "backends/onednn/vector_kernels.h"
#include "backends/onednn/team.h"

namespace edgerun::onednn::lower {
namespace {

// Per slice, besides a staged part (whose memory takes the last of a slice's 16 keys) and the
// scratchpad.
constexpr size_t kMaxArgs = 15;

char* at(const memory& m, size_t offset) {
  return static_cast<char*>(m.get_data_handle()) + offset;
}

// Whether `desc` spans no bytes but its own elements (and block padding): a slice's part of the
// output that the swish kernel may run over whole without reaching into another slice's.
bool is_dense(const memory::desc& desc) {
  size_t elements = 1;
  for (int i = 0; i < desc.data.ndims; ++i) {
    elements *= static_cast<size_t>(desc.data.padded_dims[i]);
  }
  return desc.get_size() == elements * sizeof(float);
}

}  // namespace

SlicedNode::SlicedNode(const dnnl::engine& engine, std::vector<Slice> slices)
    : engine_(engine),
      slices_(std::move(slices)),
      id_(new_memory_key()) {
  shares_team = true;
  for (const Slice& slice : slices_) {
    if (slice.args.size() > kMaxArgs) throw std::length_error("a slice with too many arguments");
  }
}

void SlicedNode::execute(dnnl::stream& /*stream*/, std::span<const memory> in,
                         std::span<const memory> out) const {
  auto task = [&](int k) { run_slice(static_cast<size_t>(k), in, out); };
  if (Team* team = Team::open_on_calling_thread()) {
    team->run(static_cast<int>(slices_.size()), task);
    return;
  }
  for (size_t k = 0; k < slices_.size(); ++k) run_slice(k, in, out);
}

void SlicedNode::run_slice(size_t k, std::span<const memory> in,
                           std::span<const memory> out) const {
  const Slice& s = slices_[k];
  // A staged part lives in the thread's scratch after the primitive's scratchpad, sized once
  // here so that nothing below moves it.
  const size_t stage_at = scratch_aligned(s.scratchpad.get_size());
  float* stage = s.staged ? reinterpret_cast<float*>(static_cast<char*>(thread_scratchpad(
                                stage_at + s.staged->desc.get_size())) +
                            stage_at)
                          : nullptr;
  if (sum_input && s.staged) {
    gather(*s.staged, static_cast<const float*>(in[*sum_input].get_data_handle()), stage);
  } else if (sum_input && s.sum_bytes > 0) {
    const char* addend = at(in[*sum_input], s.sum_offset);
    char* into = at(out[0], s.sum_offset);
    // The planner may have placed the output over the addend (which dies here).
    if (addend != into) std::memcpy(into, addend, s.sum_bytes);
  }
  std::array<dnnl_exec_arg_t, kMaxArgs + 2> args;
  size_t n = 0;
  const uint64_t key = id_ << 24 | static_cast<uint64_t>(k) << 4;  // + the argument's index
  for (size_t a = 0; a < s.args.size(); ++a) {
    const SliceArg& arg = s.args[a];
    if (arg.held) {
      args[n++] = {arg.arg, arg.held.get()};
      continue;
    }
    const memory& whole = arg.input >= 0 ? in[static_cast<size_t>(arg.input)]
                                         : out[static_cast<size_t>(arg.output)];
    args[n++] = {arg.arg, thread_memory(key + a, arg.desc, engine_, at(whole, arg.offset)).get()};
  }
  if (s.staged) {
    args[n++] = {DNNL_ARG_DST, thread_memory(key + kMaxArgs, s.staged->desc, engine_, stage).get()};
  }
  if (s.scratchpad.get_size() > 0) {
    args[n++] = {DNNL_ARG_SCRATCHPAD, scratchpad_memory(s.scratchpad, engine_).get()};
  }
  dnnl::stream& stream = thread_stream(engine_);
  execute_args(s.primitive, stream, std::span<const dnnl_exec_arg_t>(args.data(), n));
  stream.wait();
  if (swish_alpha_) {
    const auto [offset, count] = swish_parts_[k];
    swish_in_place(s.staged ? stage : reinterpret_cast<float*>(at(out[0], offset)), count,
                   *swish_alpha_);
  }
  if (s.staged) scatter(*s.staged, stage, static_cast<float*>(out[0].get_data_handle()));
}

void SlicedNode::gather(const StagedChannels& part, const float* whole, float* stage) {
  for (size_t p = 0; p < part.pixels; ++p) {
    std::memcpy(stage + p * part.count, whole + p * part.channels + part.first,
                part.count * sizeof(float));
  }
}

void SlicedNode::scatter(const StagedChannels& part, const float* stage, float* whole) {
  for (size_t p = 0; p < part.pixels; ++p) {
    std::memcpy(whole + p * part.channels + part.first, stage + p * part.count,
                part.count * sizeof(float));
  }
}

bool SlicedNode::then_swish(float alpha) {
  std::vector<std::pair<size_t, size_t>> parts;
  for (const Slice& slice : slices_) {
    if (slice.staged) {
      parts.emplace_back(0, slice.staged->count * slice.staged->pixels);
      continue;
    }
    for (const SliceArg& arg : slice.args) {
      if (arg.output != 0 || arg.arg != DNNL_ARG_DST) continue;
      if (!is_dense(arg.desc)) return false;
      parts.emplace_back(arg.offset, arg.desc.get_size() / sizeof(float));
    }
  }
  if (parts.size() != slices_.size()) return false;
  swish_alpha_ = alpha;
  swish_parts_ = std::move(parts);
  return true;
}

std::vector<std::pair<int64_t, int64_t>> block_ranges(int64_t size, int64_t block, int slices) {
  const int64_t blocks = (size + block - 1) / block;
  const int64_t count = std::min<int64_t>(slices, blocks);
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t last = std::min(size, (i + 1) * blocks / count * block);
    ranges.emplace_back(i * blocks / count * block, last);
  }
  return ranges;
}

std::optional<RowRange> row_range(const memory::desc& desc, int64_t first, int64_t last) {
  const Dims d = desc.dims();
  if (d.size() != 4 || d[0] != 1 || first < 0 || last > d[2] || first >= last ||
      desc != memory::desc(d, kF32, memory::format_tag::nhwc)) {
    return std::nullopt;
  }
  return RowRange{memory::desc({1, d[1], last - first, d[3]}, kF32, memory::format_tag::nhwc),
                  static_cast<size_t>(first * d[3] * d[1]) * sizeof(float)};
}

}  // namespace edgerun::onednn::lower
