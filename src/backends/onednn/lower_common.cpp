#include <algorithm>
#include <array>
#include <atomic>
#include <cfloat>
#include <cstdlib>
#include <functional>
#include <new>
#include <numeric>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backends/onednn/lower_ops.h"
#include "backends/onednn/vector_kernels.h"
#include "memory/page_hints.h"

namespace edgerun::onednn {

bool NodeInput::operator==(const NodeInput& other) const {
  return present == other.present && dtype == other.dtype && shape == other.shape &&
         layout == other.layout;
}

namespace lower {

Dims dims_of(const Shape& shape) {
  Dims d(shape.begin(), shape.end());
  if (d.empty()) d.push_back(1);
  return d;
}

Dims row_major_strides(const Dims& dims) {
  Dims strides(dims.size());
  int64_t stride = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= std::max<int64_t>(dims[i], 1);
  }
  return strides;
}

memory::desc plain(const Dims& dims) { return memory::desc(dims, kF32, row_major_strides(dims)); }

bool is_plain(const memory::desc& md) { return md == plain(md.dims()); }

namespace {

// Whether `md` places element (i0, i1, ...) at sum(i_d * element_stride(md, d)): strided
// layouts, and blocked ones whose one inner block spans its whole dim (16 channels in blocks of
// 16 are channels-last).
bool element_strided(const dnnl_memory_desc_t& md) {
  if (md.format_kind != dnnl_blocked) return false;
  const dnnl_blocking_desc_t& blocking = md.format_desc.blocking;
  if (blocking.inner_nblks == 0) return true;
  const int d = blocking.inner_idxs[0];
  return blocking.inner_nblks == 1 && md.dims[d] == blocking.inner_blks[0] &&
         md.padded_dims[d] == md.dims[d];
}

// Dim d's stride in elements in an element_strided layout: a block's dim is innermost (its
// outer index is always 0).
int64_t element_stride(const dnnl_memory_desc_t& md, int d) {
  const dnnl_blocking_desc_t& blocking = md.format_desc.blocking;
  return blocking.inner_nblks == 1 && blocking.inner_idxs[0] == d ? 1 : blocking.strides[d];
}

}  // namespace

// Runs whenever a blocked input meets a node (executable.cpp: conform), so it allocates nothing.
bool same_bytes(const memory::desc& a, const memory::desc& b) {
  if (a == b) return true;
  const dnnl_memory_desc_t& x = a.data;
  const dnnl_memory_desc_t& y = b.data;
  if (x.ndims != y.ndims || x.data_type != y.data_type || x.offset0 != y.offset0 ||
      !element_strided(x) || !element_strided(y)) {
    return false;
  }
  for (int d = 0; d < x.ndims; ++d) {
    if (x.dims[d] != y.dims[d] || x.padded_dims[d] != y.padded_dims[d]) return false;
    if (x.dims[d] != 1 && element_stride(x, d) != element_stride(y, d)) return false;
  }
  return true;
}

std::optional<memory::desc> reshaped_layout(const memory::desc& from, const Dims& to) {
  const dnnl_memory_desc_t& d = from.data;
  if (d.format_kind != dnnl_blocked || d.format_desc.blocking.inner_nblks != 0 ||
      d.offset0 != 0) {
    return std::nullopt;
  }
  // The source's dims of extent above 1 (extent, stride), outermost first: the others address
  // no bytes of their own.
  std::vector<std::pair<int64_t, int64_t>> source;
  for (int i = 0; i < d.ndims; ++i) {
    if (d.padded_dims[i] != d.dims[i]) return std::nullopt;
    if (d.dims[i] != 1) source.emplace_back(d.dims[i], d.format_desc.blocking.strides[i]);
  }
  const size_t rank = to.size();
  Dims strides(rank, 0);
  const auto next_above_one = [&](size_t t) {
    while (t < rank && to[t] == 1) ++t;
    return t;
  };
  size_t s = 0, t = next_above_one(0);
  // Matches runs of source dims with runs of target dims of the same element count; a run of
  // source dims must be one block of memory (each dim's stride its inner neighbour's stride
  // times extent), which the target dims then split in row-major order.
  while (t < rank) {
    if (s == source.size()) return std::nullopt;
    size_t source_end = s + 1, target_end = t + 1;
    int64_t source_count = source[s].first, target_count = to[t];
    while (source_count != target_count) {
      if (source_count < target_count) {
        if (source_end == source.size()) return std::nullopt;
        source_count *= source[source_end++].first;
      } else {
        target_end = next_above_one(target_end);
        if (target_end == rank) return std::nullopt;
        target_count *= to[target_end++];
      }
    }
    for (size_t k = s; k + 1 < source_end; ++k) {
      if (source[k].second != source[k + 1].second * source[k + 1].first) return std::nullopt;
    }
    int64_t stride = source[source_end - 1].second;
    for (size_t k = target_end; k-- > t;) {
      if (to[k] == 1) continue;
      strides[k] = stride;
      stride *= to[k];
    }
    s = source_end;
    t = next_above_one(target_end);
  }
  if (s != source.size()) return std::nullopt;
  // Extent-1 dims address no bytes: they take the whole tensor's span, as the outermost dim of
  // a dense layout does, so that a permutation of such data that is plain compares plain (and
  // oneDNN picks its fast copy).
  const int64_t span = std::accumulate(to.begin(), to.end(), int64_t{1}, std::multiplies<>());
  for (size_t k = 0; k < rank; ++k) {
    if (to[k] == 1) strides[k] = span;
  }
  return memory::desc(to, kF32, strides);
}

Dims pad_left(const Shape& shape, size_t rank) {
  Dims d(rank - shape.size(), 1);
  d.insert(d.end(), shape.begin(), shape.end());
  return d;
}

Status unsupported_shapes(const std::string& why) { return unsupported("oneDNN: " + why); }

memory::desc arrival_layout(const NodeInput& input) {
  return input.layout ? *input.layout : plain(dims_of(input.shape));
}

namespace {

constexpr size_t kScratchAlignment = 64;

}  // namespace

size_t scratch_aligned(size_t bytes) {
  return (bytes + kScratchAlignment - 1) / kScratchAlignment * kScratchAlignment;
}

PrimitiveNode::PrimitiveNode(const dnnl::engine& engine, dnnl::primitive primitive,
                             memory::desc scratchpad)
    : engine_(engine),
      primitive_(std::move(primitive)),
      scratchpad_(scratchpad),
      scratch_bytes_(scratch_aligned(scratchpad_.get_size())),
      key_(new_memory_key() << 24) {}

void PrimitiveNode::reserve_inputs(size_t count) {
  if (inputs.size() < count) inputs.resize(count);
}

void PrimitiveNode::bind_input(int arg, size_t input, const memory::desc& view,
                               const memory::desc& want) {
  reserve_inputs(input + 1);
  inputs[input] = InputLayout{true, view, want};
  bindings_.push_back(
      Binding{arg, static_cast<int>(input), -1, std::nullopt, std::nullopt, std::nullopt});
}

void PrimitiveNode::bind_input_read_as(int arg, size_t input, const memory::desc& view,
                                       const memory::desc& want, const memory::desc& read_as) {
  reserve_inputs(input + 1);
  inputs[input] = InputLayout{true, view, want};
  bindings_.push_back(
      Binding{arg, static_cast<int>(input), -1, std::nullopt, std::nullopt, read_as});
}

void PrimitiveNode::bind_transformed_input(int arg, size_t input, const memory::desc& view,
                                           const memory::desc& want, dnnl::primitive transform,
                                           const memory::desc& result,
                                           std::optional<memory::desc> source) {
  reserve_inputs(input + 1);
  inputs[input] = InputLayout{true, view, want};
  bindings_.push_back(Binding{arg, static_cast<int>(input), -1, std::nullopt,
                              Transform{std::move(transform), result, std::move(source),
                                        scratch_bytes_},
                              std::nullopt});
  scratch_bytes_ += scratch_aligned(result.get_size());
}

void PrimitiveNode::bind_output(int arg, const memory::desc& desc, Shape shape) {
  bindings_.push_back(Binding{arg, -1, static_cast<int>(outputs.size()), std::nullopt,
                              std::nullopt, std::nullopt});
  outputs.push_back(OutputLayout{desc, std::move(shape)});
}

void PrimitiveNode::bind_sum_input(size_t input, const memory::desc& view,
                                   const memory::desc& want) {
  reserve_inputs(input + 1);
  inputs[input] = InputLayout{true, view, want};
  sum_input = input;
  sum_copy_ = dnnl::reorder(dnnl::reorder::primitive_desc(engine_, want, engine_, want));
}

void PrimitiveNode::bind_held(int arg, memory held) {
  bindings_.push_back(Binding{arg, -1, -1, std::move(held), std::nullopt, std::nullopt});
}

namespace {

std::atomic<uint64_t> next_memory_key{1};

}  // namespace

// Grown to the largest size asked for. A primitive uses it only inside execute(), which waits
// for the stream, so one buffer per thread serves every node and run without allocating.
void* thread_scratchpad(size_t bytes) {
  struct Buffer {
    void* data = nullptr;
    size_t size = 0;
    ~Buffer() { std::free(data); }
  };
  thread_local Buffer buffer;
  if (bytes > buffer.size) {
    const size_t size = scratch_aligned(bytes);
    void* grown = edgerun::memory::allocate_hinted(size, kScratchAlignment);
    if (grown == nullptr) throw std::bad_alloc();
    std::free(buffer.data);
    buffer.data = grown;
    buffer.size = size;
  }
  return buffer.data;
}

uint64_t new_memory_key() { return next_memory_key.fetch_add(1, std::memory_order_relaxed); }

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

dnnl::stream& thread_stream(const dnnl::engine& engine) {
  thread_local dnnl::engine owner;
  thread_local dnnl::stream stream;
  if (!owner || owner.get() != engine.get()) {
    stream = dnnl::stream(engine);
    owner = engine;
  }
  return stream;
}

// The calling thread's scratchpad as memory of layout `desc` (a primitive's scratchpad_desc, a
// plain byte buffer). Creating a dnnl::memory allocates, so each thread keeps one per size and
// engine and re-points it at its buffer; a run creates none.
const memory& scratchpad_memory(const memory::desc& desc, const dnnl::engine& engine) {
  struct Entry {
    dnnl::engine engine;  // held, so the engine it compares cannot be freed and reused
    memory scratchpad;
  };
  thread_local std::unordered_map<size_t, Entry> by_size;
  const size_t bytes = desc.get_size();
  void* data = thread_scratchpad(bytes);
  Entry& entry = by_size[bytes];
  if (!entry.scratchpad || entry.engine.get() != engine.get()) {
    entry = Entry{engine, memory(desc, engine, data)};
  } else if (entry.scratchpad.get_data_handle() != data) {
    entry.scratchpad.set_data_handle(data);  // the buffer grew since
  }
  return entry.scratchpad;
}

void execute_args(const dnnl::primitive& primitive, dnnl::stream& stream,
                  std::span<const dnnl_exec_arg_t> args) {
  dnnl::error::wrap_c_api(dnnl_primitive_execute(primitive.get(), stream.get(),
                                                 static_cast<int>(args.size()), args.data()),
                          "could not execute a primitive");
}

void run_reorder(const dnnl::reorder& reorder, dnnl::stream& stream, const memory& from,
                 const memory& to) {
  const std::array<dnnl_exec_arg_t, 2> args = {{{DNNL_ARG_FROM, from.get()},
                                                {DNNL_ARG_TO, to.get()}}};
  execute_args(reorder, stream, args);
}

void run_in_place(const dnnl::primitive& primitive, const memory::desc& scratchpad,
                  const memory& data, dnnl::stream& stream, const dnnl::engine& engine) {
  std::array<dnnl_exec_arg_t, 3> args = {{{DNNL_ARG_SRC, data.get()},
                                          {DNNL_ARG_DST, data.get()},
                                          {DNNL_ARG_SCRATCHPAD, nullptr}}};
  size_t count = 2;
  if (scratchpad.get_size() > 0) {
    args[count++] = {DNNL_ARG_SCRATCHPAD, scratchpad_memory(scratchpad, engine).get()};
  }
  execute_args(primitive, stream, std::span<const dnnl_exec_arg_t>(args.data(), count));
}

void PrimitiveNode::execute(dnnl::stream& stream, std::span<const memory> in,
                            std::span<const memory> out) const {
  constexpr size_t kFixed = 16;
  std::array<dnnl_exec_arg_t, kFixed> fixed_args;
  std::vector<dnnl_exec_arg_t> heap_args;
  const size_t count = bindings_.size() + 1;
  dnnl_exec_arg_t* args = fixed_args.data();
  if (count > kFixed) {
    heap_args.resize(count);
    args = heap_args.data();
  }
  // Sized once for the scratchpad and every transformed input, so nothing below moves it.
  char* scratch = static_cast<char*>(thread_scratchpad(scratch_bytes_));
  size_t n = 0;
  for (size_t k = 0; k < bindings_.size(); ++k) {
    const Binding& b = bindings_[k];
    dnnl_memory_t m = nullptr;
    if (b.held) {
      m = b.held->get();
    } else if (b.input >= 0 && b.transform) {
      const Transform& t = *b.transform;
      const memory& whole = in[static_cast<size_t>(b.input)];
      const memory& source =
          t.source ? thread_memory(key_ + 2 * k, *t.source, engine_, whole.get_data_handle())
                   : whole;
      const memory& result = thread_memory(key_ + 2 * k + 1, t.result, engine_, scratch + t.offset);
      const std::array<dnnl_exec_arg_t, 2> transform = {
          {{DNNL_ARG_SRC, source.get()}, {DNNL_ARG_DST, result.get()}}};
      execute_args(t.primitive, stream, transform);
      m = result.get();
    } else if (b.input >= 0 && b.read_as) {
      m = thread_memory(key_ + 2 * k, *b.read_as, engine_,
                        in[static_cast<size_t>(b.input)].get_data_handle())
              .get();
    } else if (b.input >= 0) {
      m = in[static_cast<size_t>(b.input)].get();
    } else {
      m = out[static_cast<size_t>(b.output)].get();
    }
    args[n++] = {b.arg, m};
  }
  if (scratchpad_.get_size() > 0) {
    args[n++] = {DNNL_ARG_SCRATCHPAD, scratchpad_memory(scratchpad_, engine_).get()};
  }
  if (sum_input) {
    const memory& addend = in[*sum_input];
    // The planner may have placed output 0 over the addend (which dies here): nothing to copy.
    if (addend.get_data_handle() != out[0].get_data_handle()) {
      const std::array<dnnl_exec_arg_t, 2> copy = {
          {{DNNL_ARG_SRC, addend.get()}, {DNNL_ARG_DST, out[0].get()}}};
      execute_args(sum_copy_, stream, copy);
    }
  }
  execute_args(primitive_, stream, std::span<const dnnl_exec_arg_t>(args, n));
  for (const auto& [primitive, pad] : in_place_) {
    run_in_place(primitive, pad, out[0], stream, engine_);
  }
  stream.wait();
  if (swish_alpha_) {
    swish_in_place(static_cast<float*>(out[0].get_data_handle()), swish_count_, *swish_alpha_);
  }
}

void PrimitiveNode::then_in_place(dnnl::primitive primitive, memory::desc scratchpad) {
  in_place_.emplace_back(std::move(primitive), scratchpad);
}

void PrimitiveNode::then_swish(float alpha) {
  swish_alpha_ = alpha;
  // Over the whole buffer: the zero padding of a blocked layout stays zero.
  swish_count_ = outputs.at(0).desc.get_size() / sizeof(float);
}

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

memory pack(const dnnl::engine& engine, const void* data, const memory::desc& view,
            const memory::desc& to) {
  memory source(view, engine, const_cast<void*>(data));
  memory out(to, engine);
  // Not on huge pages (unlike the arena): asking for them made ViT-B/16's compile 130-450 ms
  // slower (its 340 MB of packed weights faulted in 2 MiB at a time) for 3 % on ResNet-50.
  dnnl::stream stream(engine);
  dnnl::reorder(source, out).execute(stream, source, out);
  stream.wait();
  return out;
}

memory reorder_now(const dnnl::engine& engine, const Tensor& from, const memory::desc& view,
                   const memory::desc& to) {
  memory out = pack(engine, from.raw_data(), view, to);
  // The weight now lives in `out`; its original is read again only by a reference fallback.
  edgerun::memory::page_out(from.raw_data(), from.nbytes());
  return out;
}

// ---- elementwise activations ----------------------------------------------------------------

bool is_post_op_activation(ir::Op op) {
  switch (op) {
    case ir::Op::Relu:
    case ir::Op::LeakyRelu:
    case ir::Op::Sigmoid:
    case ir::Op::Tanh:
    case ir::Op::Elu:
    case ir::Op::HardSwish:
    case ir::Op::Swish:
    case ir::Op::HardSigmoid:
    case ir::Op::Gelu:
    case ir::Op::Softplus:
    case ir::Op::Clip: return true;
    default: return false;
  }
}

bool has_eltwise_steps(const ir::Node& node) {
  switch (*node.op) {
    // Elementwise math that is not fused as a post-op (a graph rarely puts it after a product).
    case ir::Op::Exp:
    case ir::Op::Sqrt:
    case ir::Op::Abs:
    case ir::Op::Neg:
    case ir::Op::Pow: return true;
    default: return is_post_op_activation(*node.op);
  }
}

Result<std::vector<EltwiseStep>> eltwise_steps(const ir::Node& node,
                                               std::span<const NodeInput> inputs) {
  using A = dnnl::algorithm;
  switch (*node.op) {
    case ir::Op::Relu: return std::vector<EltwiseStep>{{A::eltwise_relu, 0, 0}};
    case ir::Op::LeakyRelu:
      return std::vector<EltwiseStep>{{A::eltwise_relu, node.attr_float("alpha", 0.01f), 0}};
    case ir::Op::Sigmoid: return std::vector<EltwiseStep>{{A::eltwise_logistic, 0, 0}};
    case ir::Op::Tanh: return std::vector<EltwiseStep>{{A::eltwise_tanh, 0, 0}};
    case ir::Op::Elu:
      return std::vector<EltwiseStep>{{A::eltwise_elu, node.attr_float("alpha", 1.0f), 0}};
    case ir::Op::HardSwish: return std::vector<EltwiseStep>{{A::eltwise_hardswish, 0, 0}};
    case ir::Op::Swish:
      // oneDNN's swish is x * sigmoid(alpha * x), the internal op's definition.
      return std::vector<EltwiseStep>{{A::eltwise_swish, node.attr_float("alpha", 1.0f), 0}};
    case ir::Op::HardSigmoid:
      // oneDNN 2.6 has no hardsigmoid: max(0, min(1, alpha * x + beta)) is a linear step and a
      // clip, each rounded as the reference rounds it.
      return std::vector<EltwiseStep>{
          {A::eltwise_linear, node.attr_float("alpha", 0.2f), node.attr_float("beta", 0.5f)},
          {A::eltwise_clip, 0.0f, 1.0f}};
    case ir::Op::Gelu: {
      const std::string approximate = node.attr_string("approximate", "none");
      if (approximate != "none" && approximate != "tanh") {
        return unsupported_shapes("Gelu approximate '" + approximate + "'");
      }
      return std::vector<EltwiseStep>{
          {approximate == "tanh" ? A::eltwise_gelu_tanh : A::eltwise_gelu_erf, 0, 0}};
    }
    case ir::Op::Softplus: return std::vector<EltwiseStep>{{A::eltwise_soft_relu, 0, 0}};
    case ir::Op::Exp: return std::vector<EltwiseStep>{{A::eltwise_exp, 0, 0}};
    case ir::Op::Sqrt: return std::vector<EltwiseStep>{{A::eltwise_sqrt, 0, 0}};
    case ir::Op::Abs: return std::vector<EltwiseStep>{{A::eltwise_abs, 0, 0}};
    case ir::Op::Neg: return std::vector<EltwiseStep>{{A::eltwise_linear, -1.0f, 0}};
    case ir::Op::Clip: {
      // Opsets before 11 give the bounds as attributes; later ones as (constant) inputs.
      EltwiseStep clip{A::eltwise_clip, node.attr_float("min", -FLT_MAX),
                       node.attr_float("max", FLT_MAX)};
      if (node.opset >= 11) {
        for (size_t i : {size_t{1}, size_t{2}}) {
          if (i >= inputs.size() || !inputs[i].present) continue;
          const Tensor* bound = inputs[i].constant;
          if (bound == nullptr) return unsupported_shapes("Clip bounds must be constant");
          if (bound->size() != 1) return unsupported_shapes("Clip bounds must be scalars");
          (i == 1 ? clip.alpha : clip.beta) = bound->data<float>()[0];
        }
      }
      if (!(clip.alpha <= clip.beta)) {
        return unsupported_shapes("Clip with min > max (or NaN bounds) is left to the reference");
      }
      return std::vector<EltwiseStep>{clip};
    }
    case ir::Op::Pow: {
      // A constant scalar exponent with an exact oneDNN form: x^2 = x * x, x^1 = x. Others
      // (even 0.5: sqrt differs from pow at -0 and -inf) are left to the reference.
      const Tensor* e = inputs.size() > 1 ? inputs[1].constant : nullptr;
      if (e == nullptr || e->size() != 1 || e->dtype() != DType::kFloat32) {
        return unsupported_shapes("Pow needs a constant float32 scalar exponent");
      }
      const float y = e->data<float>()[0];
      if (y == 2.0f) return std::vector<EltwiseStep>{{A::eltwise_square, 0, 0}};
      if (y == 1.0f) return std::vector<EltwiseStep>{{A::eltwise_linear, 1.0f, 0}};
      return unsupported_shapes("Pow with an exponent other than 2 or 1");
    }
    default: return internal_error("not an elementwise activation: " + node.describe());
  }
}

// ---- fused chains -------------------------------------------------------------------------------

Status append_chain(const FusedChain* chain, const Shape& out_shape, const Dims& dst_dims,
                    const memory::desc& dst, bool use_sum, dnnl::post_ops& ops,
                    std::vector<ChainAddend>& addends, std::optional<float>& swish_after) {
  swish_after.reset();
  if (chain == nullptr) return Status::ok();
  bool depthwise = false;
  for (const PostOpNode& link : chain->links) {
    const ir::Node& n = *link.node;
    if (*n.op == ir::Op::Conv) {
      // A 3x3 depthwise convolution with pads of 1 (can_be_depthwise_post_op); the caller
      // binds its weights and bias (depthwise_link).
      const std::vector<int64_t> strides = n.attr_ints("strides", {1, 1});
      if (depthwise || link.chain_input != 0 || strides.empty()) {
        return unsupported_shapes("cannot fuse " + n.describe() + " as a depthwise post-op");
      }
      ops.append_dw(kF32, kF32, kF32, 3, strides[0], 1, 0, {1.0f});
      depthwise = true;
      continue;
    }
    if (depthwise && *n.op == ir::Op::Add) {
      return unsupported_shapes("no Add can follow a depthwise post-op");
    }
    if (*n.op == ir::Op::Swish && &link == &chain->links.back() &&
        best_vector_isa() != VectorIsa::kNone) {
      swish_after = n.attr_float("alpha", 1.0f);
      continue;
    }
    if (*n.op == ir::Op::Add) {
      const NodeInput& other = chain->inputs[link.first_input];
      if (!other.present) return unsupported_shapes("Add without a second operand");
      const Shape& s = other.shape;
      if (s.size() > out_shape.size()) {
        return unsupported_shapes("the Add operand would broadcast the result to a higher rank");
      }
      Dims d = pad_left(s, out_shape.size());
      for (size_t i = 0; i < d.size(); ++i) {
        if (d[i] != 1 && d[i] != out_shape[i]) {
          return unsupported_shapes("the Add operand does not broadcast to the fused result");
        }
      }
      if (out_shape.size() != dst_dims.size()) {
        // The result is computed as a [rows, N] matrix (leading dims collapsed): an operand of
        // the full shape is read the same way, one that varies only along N as a row.
        const bool full = Shape(d.begin(), d.end()) == out_shape;
        const bool row = std::all_of(d.begin(), d.end() - 1, [](int64_t v) { return v == 1; });
        if (dst_dims.size() != 2 || out_shape.empty() || (!full && !row)) {
          return unsupported_shapes("this Add operand cannot be fused into the product");
        }
        d = full ? dst_dims : Dims{1, d.back()};
      }
      // An operand of the result's full shape is read in the result's layout (a residual that
      // arrives blocked like the result then needs no conversion); a broadcast one stays plain.
      const memory::desc view = plain(d);
      const bool full = d == dst_dims;
      const memory::desc want = full ? dst : view;
      if (use_sum && full) {
        addends.push_back({0, link.first_input, view, want, true});
        ops.append_sum(1.0f);
        use_sum = false;  // oneDNN takes one sum
        continue;
      }
      addends.push_back({DNNL_ARG_ATTR_MULTIPLE_POST_OP(ops.len()) | DNNL_ARG_SRC_1,
                         link.first_input, view, want, false});
      ops.append_binary(dnnl::algorithm::binary_add, want);
      continue;
    }
    if (!is_post_op_activation(*n.op) || link.chain_input != 0) {
      return internal_error("cannot fuse " + n.describe());
    }
    // The link's inputs other than the chain's value start at first_input; eltwise_steps reads
    // Clip's bounds at their own input positions, so line them up.
    std::vector<NodeInput> link_inputs(n.inputs.size());
    for (size_t i = 1; i < n.inputs.size(); ++i) {
      link_inputs[i] = chain->inputs[link.first_input + i - 1];
    }
    ER_ASSIGN_OR_RETURN(std::vector<EltwiseStep> steps, eltwise_steps(n, link_inputs));
    for (const EltwiseStep& step : steps) {
      ops.append_eltwise(1.0f, step.algorithm, step.alpha, step.beta);
    }
  }
  return Status::ok();
}

void bind_addends(PrimitiveNode& node, const std::vector<ChainAddend>& addends) {
  for (const ChainAddend& a : addends) {
    if (a.sum) {
      node.bind_sum_input(a.input, a.view, a.want);
    } else {
      node.bind_input(a.arg, a.input, a.view, a.want);
    }
  }
}

bool is_reference_impl(const std::string& impl) { return impl.rfind("ref", 0) == 0; }

}  // namespace lower
}  // namespace edgerun::onednn
