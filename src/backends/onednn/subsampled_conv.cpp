#include "backends/onednn/subsampled_conv.h"

#include <array>

namespace edgerun::onednn::lower {

SubsampledConv::SubsampledConv(const dnnl::engine& engine, const memory::desc& strided,
                               const memory::desc& compact, dnnl::primitive conv,
                               memory::desc scratchpad, memory weights, bool has_bias)
    : engine_(engine),
      strided_(strided),
      compact_(compact),
      copy_(dnnl::reorder::primitive_desc(engine, strided, engine, compact)),
      conv_(std::move(conv)),
      scratchpad_(std::move(scratchpad)),
      weights_(std::move(weights)),
      has_bias_(has_bias),
      key_(new_memory_key() << 24) {}

void SubsampledConv::execute(dnnl::stream& stream, std::span<const memory> inputs,
                             std::span<const memory> outputs) const {
  // The compact pixels follow the convolution's scratchpad in the thread's scratch buffer.
  constexpr size_t kAlignment = 64;
  const size_t pad_bytes = (scratchpad_.get_size() + kAlignment - 1) / kAlignment * kAlignment;
  auto* scratch = static_cast<char*>(thread_scratch(pad_bytes + compact_.get_size()));
  const memory& strided = thread_memory(key_, strided_, engine_, inputs[0].get_data_handle());
  const memory& compact = thread_memory(key_ + 1, compact_, engine_, scratch + pad_bytes);
  const std::array<dnnl_exec_arg_t, 2> copy = {
      {{DNNL_ARG_SRC, strided.get()}, {DNNL_ARG_DST, compact.get()}}};
  execute_args(copy_, stream, copy);

  std::array<dnnl_exec_arg_t, 5> args;
  size_t n = 0;
  args[n++] = {DNNL_ARG_SRC, compact.get()};
  args[n++] = {DNNL_ARG_WEIGHTS, weights_.get()};
  if (has_bias_) args[n++] = {DNNL_ARG_BIAS, inputs[2].get()};
  args[n++] = {DNNL_ARG_DST, outputs[0].get()};
  if (scratchpad_.get_size() > 0) {
    args[n++] = {DNNL_ARG_SCRATCHPAD, thread_memory(key_ + 2, scratchpad_, engine_, scratch).get()};
  }
  execute_args(conv_, stream, std::span<const dnnl_exec_arg_t>(args.data(), n));
  stream.wait();
}

std::optional<SubsampledLayouts> subsampled_layouts(const memory::desc& full, const Dims& strides,
                                                    const Dims& out) {
  const Dims d = full.dims();
  if (d.size() != 4 || strides.size() != 2 || out.size() != 2) return std::nullopt;
  const Dims compact_dims = {d[0], d[1], out[0], out[1]};
  for (const memory::format_tag tag : {memory::format_tag::nchw, memory::format_tag::nhwc}) {
    if (full != memory::desc(d, kF32, tag)) continue;
    const Dims f = row_major_strides(tag == memory::format_tag::nchw
                                         ? d
                                         : Dims{d[0], d[2], d[3], d[1]});
    // Strides of (n, c, h, w) in the full layout, then every s-th row and column.
    Dims s = tag == memory::format_tag::nchw ? f : Dims{f[0], f[3], f[1], f[2]};
    s[2] *= strides[0];
    s[3] *= strides[1];
    try {
      return SubsampledLayouts{memory::desc(compact_dims, kF32, s),
                               memory::desc(compact_dims, kF32, tag)};
    } catch (const dnnl::error&) {
      // oneDNN refuses strides under which a dim's extent (stride * size) passes the next
      // larger stride, as every-other-column views of nchw data do.
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace edgerun::onednn::lower
