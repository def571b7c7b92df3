// Resize in nearest mode on oneDNN's resampling primitive, only where it is exact.
//
// ONNX spells nearest-neighbour sampling many ways (coordinate transformation modes, rounding
// modes, scales or sizes), oneDNN has one. Rather than reason about which combinations agree,
// the lowering proves it for the shapes at hand: it resizes a probe whose every element holds
// its own index with the reference kernel and with oneDNN, and claims the node only when both
// pick the same source element everywhere. Nearest sampling copies values, so agreeing on the
// probe means agreeing on every input of that shape.
#include <unordered_map>

#include "backends/onednn/lower_ops.h"
#include "backends/reference/kernel.h"

namespace edgerun::onednn::lower {
namespace {

// Probes above this many elements are not built (the indices must also stay exact in float32).
constexpr int64_t kMaxProbeElements = int64_t{1} << 22;

Result<Tensor> reference_resize(const ir::Node& node, const Tensor& probe,
                                std::span<const NodeInput> in) {
  std::vector<Value> values(in.size());
  std::vector<const Value*> inputs(in.size(), nullptr);
  values[0] = Value(probe);
  inputs[0] = &values[0];
  for (size_t i = 1; i < in.size(); ++i) {
    if (!in[i].present) continue;
    if (in[i].constant == nullptr) {
      return unsupported_shapes("Resize's roi, scales and sizes must be constant");
    }
    values[i] = Value(*in[i].constant);
    inputs[i] = &values[i];
  }
  std::vector<Value> outputs(node.outputs.size());
  reference::KernelContext ctx(node, inputs, outputs, nullptr);
  const Status status = reference::kernel_for(ir::Op::Resize)(ctx);
  if (!status.is_ok()) return unsupported_shapes("the reference rejects it: " + status.message());
  if (outputs.empty() || !outputs[0].is_tensor()) return internal_error("Resize gave no tensor");
  return outputs[0].tensor();
}

}  // namespace

Lowered lower_resize(const ir::Node& node, const LoweringContext& cx,
                     std::span<const NodeInput> in) {
  const Shape& xs = in[0].shape;
  if (xs.size() < 3 || xs.size() > 5) return unsupported_shapes("Resize needs 1 to 3 spatial dims");
  if (shape_size(xs) > kMaxProbeElements) return unsupported_shapes("input too large to probe");
  Tensor probe(DType::kFloat32, xs);
  for (int64_t i = 0; i < probe.size(); ++i) probe.data<float>()[i] = static_cast<float>(i);
  ER_ASSIGN_OR_RETURN(Tensor expected, reference_resize(node, probe, in));
  const Shape& ys = expected.shape();
  if (ys.size() != xs.size() || ys[0] != xs[0] || ys[1] != xs[1]) {
    return unsupported_shapes("Resize of the batch or channel dims");
  }
  if (shape_size(ys) == 0) return unsupported_shapes("empty result");

  const memory::desc view = plain(dims_of(xs)), y_plain = plain(dims_of(ys));
  auto build = [&](const memory::desc& src, const memory::desc& dst) {
    dnnl::resampling_forward::desc d(dnnl::prop_kind::forward_inference,
                                     dnnl::algorithm::resampling_nearest, src, dst);
    return dnnl::resampling_forward::primitive_desc(d, user_scratchpad(), *cx.engine);
  };
  // The proof, on plain layouts: layouts change where elements live, not which one is picked.
  const auto check = build(view, y_plain);
  Tensor got(DType::kFloat32, ys);
  {
    memory src(view, *cx.engine, probe.raw_data()), dst(y_plain, *cx.engine, got.raw_data());
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
    if (check.scratchpad_desc().get_size() > 0) {
      args.emplace(DNNL_ARG_SCRATCHPAD, memory(check.scratchpad_desc(), *cx.engine));
    }
    dnnl::stream stream(*cx.engine);
    dnnl::resampling_forward(check).execute(stream, args);
    stream.wait();
  }
  for (int64_t i = 0; i < got.size(); ++i) {
    if (got.data<float>()[i] != expected.data<float>()[i]) {
      return unsupported_shapes(
          "oneDNN's nearest sampling picks other elements than this Resize's coordinate and "
          "rounding modes");
    }
  }
  const memory::desc src = cx.plain_only ? view : arrival_layout(in[0]);
  const auto pd =
      build(src, src == view ? y_plain : memory::desc(dims_of(ys), kF32, memory::format_tag::any));
  auto result = std::make_shared<PrimitiveNode>(*cx.engine, dnnl::resampling_forward(pd),
                                                pd.scratchpad_desc());
  result->reserve_inputs(in.size());
  result->bind_input(DNNL_ARG_SRC, 0, view, src);
  result->bind_output(DNNL_ARG_DST, pd.dst_desc(), ys);
  return std::shared_ptr<const PreparedNode>(std::move(result));
}

}  // namespace edgerun::onednn::lower
