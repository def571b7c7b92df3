#include "runtime/shape_inference.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/nn_util.h"
#include "backends/reference/shape_util.h"
#include "ir/conv_transpose_shape.h"
#include "runtime/known_values.h"

namespace edgerun::runtime {
namespace {

using OutputShapes = std::vector<std::optional<Shape>>;

// What one node's rule may read: its inputs' known shapes and values, and its attributes through
// the same KernelContext the reference kernels read them with (no inputs bound), so attribute
// parsing helpers such as nn::forward_window are shared with the kernels.
class NodeView {
 public:
  NodeView(const ir::Node& node, const ValueTypes& types)
      : node_(node), types_(types), attrs_(node, {}, {}, nullptr) {}

  const ir::Node& node() const { return node_; }
  int64_t opset() const { return node_.opset; }
  const reference::KernelContext& attrs() const { return attrs_; }
  bool has_input(size_t i) const { return node_.has_input(i); }
  // Null when the input is omitted or its shape unknown.
  const Shape* shape(size_t i) const {
    return has_input(i) ? types_.shape(node_.inputs[i]) : nullptr;
  }
  const Tensor* value(size_t i) const {
    return has_input(i) ? types_.value(node_.inputs[i]) : nullptr;
  }
  // A known integer input (int32/int64) as int64 values.
  std::optional<std::vector<int64_t>> ints(size_t i) const {
    const Tensor* v = value(i);
    if (v == nullptr) return std::nullopt;
    Result<std::vector<int64_t>> read = reference::read_ints(*v, "input");
    if (!read.is_ok()) return std::nullopt;
    return std::move(read).value();
  }
  std::optional<std::vector<double>> doubles(size_t i) const {
    const Tensor* v = value(i);
    if (v == nullptr) return std::nullopt;
    Result<std::vector<double>> read = reference::read_doubles(*v, "input");
    if (!read.is_ok()) return std::nullopt;
    return std::move(read).value();
  }
  // Every given input's shape, or nullopt when one is unknown.
  std::optional<std::vector<Shape>> all_shapes() const {
    std::vector<Shape> shapes;
    for (size_t i = 0; i < node_.inputs.size(); ++i) {
      if (!has_input(i)) continue;
      const Shape* s = shape(i);
      if (s == nullptr) return std::nullopt;
      shapes.push_back(*s);
    }
    return shapes;
  }

 private:
  const ir::Node& node_;
  const ValueTypes& types_;
  reference::KernelContext attrs_;
};

// Normalises an axis against `rank`; nullopt when out of range (a malformed model).
std::optional<size_t> axis_in(int64_t axis, int64_t rank) {
  Result<int64_t> a = reference::normalize_axis(axis, rank);
  if (!a.is_ok()) return std::nullopt;
  return static_cast<size_t>(a.value());
}

std::optional<std::vector<int64_t>> axes_in(const std::vector<int64_t>& axes, int64_t rank) {
  Result<std::vector<int64_t>> a = reference::normalize_axes(axes, rank, "");
  if (!a.is_ok()) return std::nullopt;
  return std::move(a).value();
}

int64_t rank_of(const Shape& s) { return static_cast<int64_t>(s.size()); }

std::optional<Shape> broadcast(const std::vector<Shape>& shapes) {
  Result<Shape> out = reference::broadcast_shapes(shapes);
  if (!out.is_ok()) return std::nullopt;
  return std::move(out).value();
}

// Axes given as an attribute before `input_since` and as input `input_index` from it on.
// `given` reports whether any were given at all; nullopt when the input's value is unknown.
std::optional<std::vector<int64_t>> axes_attr_or_input(const NodeView& n, size_t input_index,
                                                       int64_t input_since, bool* given) {
  if (n.opset() < input_since) {
    *given = n.node().has_attr("axes");
    return n.node().attr_ints("axes");
  }
  *given = n.has_input(input_index);
  if (!*given) return std::vector<int64_t>{};
  return n.ints(input_index);
}

// ---- per-op rules: each returns the output shapes it can tell (nullopt: unknown) ----

std::optional<Shape> same_as_input(const NodeView& n, size_t i = 0) {
  if (const Shape* s = n.shape(i)) return *s;
  return std::nullopt;
}

std::optional<Shape> broadcast_inputs(const NodeView& n) {
  std::optional<std::vector<Shape>> shapes = n.all_shapes();
  if (!shapes || shapes->empty()) return std::nullopt;
  return broadcast(*shapes);
}

// Conv, ConvInteger and QLinearConv: X (N, C, D...) and W (M, C/group, k...).
std::optional<Shape> conv(const NodeView& n, size_t x_index, size_t w_index) {
  const Shape* x = n.shape(x_index);
  const Shape* w = n.shape(w_index);
  if (x == nullptr || w == nullptr || x->size() < 3 || w->size() != x->size()) return std::nullopt;
  std::vector<int64_t> kernel = n.node().attr_ints("kernel_shape");
  if (kernel.empty()) kernel.assign(w->begin() + 2, w->end());
  Result<reference::nn::Window> window = reference::nn::forward_window(
      n.attrs(), std::vector<int64_t>(x->begin() + 2, x->end()), kernel, false, true);
  if (!window.is_ok()) return std::nullopt;
  Shape out{(*x)[0], (*w)[0]};
  out.insert(out.end(), window.value().out.begin(), window.value().out.end());
  return out;
}

std::optional<Shape> conv_transpose(const NodeView& n) {
  const Shape* x = n.shape(0);
  const Shape* w = n.shape(1);
  if (x == nullptr || w == nullptr || x->size() < 3 || w->size() != x->size()) return std::nullopt;
  const size_t nd = x->size() - 2;
  const int64_t group = n.node().attr_int("group", 1);
  if (group < 1) return std::nullopt;
  std::vector<int64_t> kernel = n.node().attr_ints("kernel_shape");
  if (kernel.empty()) kernel.assign(w->begin() + 2, w->end());
  const auto strides = reference::nn::spatial_attr(n.attrs(), "strides", nd, 1, 1);
  const auto dilations = reference::nn::spatial_attr(n.attrs(), "dilations", nd, 1, 1);
  const auto output_padding = reference::nn::spatial_attr(n.attrs(), "output_padding", nd, 0, 0);
  if (!strides.is_ok() || !dilations.is_ok() || !output_padding.is_ok() || kernel.size() != nd) {
    return std::nullopt;
  }
  std::vector<int64_t> pads = n.node().attr_ints("pads");
  if (pads.empty()) pads.assign(2 * nd, 0);
  std::vector<int64_t> output_shape = n.node().attr_ints("output_shape");
  if (output_shape.size() == nd + 2) output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
  if (pads.size() != 2 * nd || (!output_shape.empty() && output_shape.size() != nd)) {
    return std::nullopt;
  }
  const std::string auto_pad = n.node().attr_string("auto_pad", "NOTSET");
  Shape out{(*x)[0], (*w)[1] * group};
  for (size_t d = 0; d < nd; ++d) {
    const std::optional<int64_t> size =
        output_shape.empty() ? std::nullopt : std::optional<int64_t>(output_shape[d]);
    const ir::TransposedExtent e = ir::conv_transpose_extent(
        (*x)[d + 2], kernel[d], strides.value()[d], dilations.value()[d],
        output_padding.value()[d], pads[d], pads[d + nd], size, auto_pad);
    if (e.out < 0) return std::nullopt;
    out.push_back(e.out);
  }
  return out;
}

std::optional<Shape> pool(const NodeView& n) {
  const Shape* x = n.shape(0);
  if (x == nullptr || x->size() < 3 || !n.node().has_attr("kernel_shape")) return std::nullopt;
  // The opsets that brought ceil_mode and dilations, as the reference's pool kernels read them.
  const ir::Op op = *n.node().op;
  const bool lp = op == ir::Op::LpPool;
  const bool ceil_ok = lp ? n.opset() >= 18 : n.opset() >= 10;
  const bool dilations_ok =
      op == ir::Op::MaxPool ? n.opset() >= 10 : (lp ? n.opset() >= 18 : n.opset() >= 19);
  const bool ceil_mode = ceil_ok && n.node().attr_int("ceil_mode", 0) != 0;
  Result<reference::nn::Window> window = reference::nn::forward_window(
      n.attrs(), std::vector<int64_t>(x->begin() + 2, x->end()),
      n.node().attr_ints("kernel_shape"), ceil_mode, dilations_ok);
  if (!window.is_ok()) return std::nullopt;
  Shape out{(*x)[0], (*x)[1]};
  out.insert(out.end(), window.value().out.begin(), window.value().out.end());
  return out;
}

std::optional<Shape> global_pool(const NodeView& n) {
  const Shape* x = n.shape(0);
  if (x == nullptr || x->size() < 2) return std::nullopt;
  Shape out(x->size(), 1);
  out[0] = (*x)[0];
  out[1] = (*x)[1];
  return out;
}

std::optional<Shape> gemm(const NodeView& n) {
  const Shape* a = n.shape(0);
  const Shape* b = n.shape(1);
  if (a == nullptr || b == nullptr || a->size() != 2 || b->size() != 2) return std::nullopt;
  const bool trans_a = n.node().attr_int("transA", 0) != 0;
  const bool trans_b = n.node().attr_int("transB", 0) != 0;
  const int64_t m = trans_a ? (*a)[1] : (*a)[0];
  const int64_t k_a = trans_a ? (*a)[0] : (*a)[1];
  const int64_t k_b = trans_b ? (*b)[1] : (*b)[0];
  const int64_t cols = trans_b ? (*b)[0] : (*b)[1];
  if (k_a != k_b) return std::nullopt;
  return Shape{m, cols};
}

// numpy matmul: 1-D operands gain (and then lose) a dim, batch dims broadcast.
std::optional<Shape> matmul(const NodeView& n, size_t a_index, size_t b_index) {
  const Shape* a = n.shape(a_index);
  const Shape* b = n.shape(b_index);
  if (a == nullptr || b == nullptr || a->empty() || b->empty()) return std::nullopt;
  const bool a_vec = a->size() == 1;
  const bool b_vec = b->size() == 1;
  const Shape a2 = a_vec ? Shape{1, (*a)[0]} : *a;
  const Shape b2 = b_vec ? Shape{(*b)[0], 1} : *b;
  if (a2[a2.size() - 1] != b2[b2.size() - 2]) return std::nullopt;
  std::optional<Shape> batch = broadcast({Shape(a2.begin(), a2.end() - 2),
                                          Shape(b2.begin(), b2.end() - 2)});
  if (!batch) return std::nullopt;
  Shape out = *batch;
  if (!a_vec) out.push_back(a2[a2.size() - 2]);
  if (!b_vec) out.push_back(b2[b2.size() - 1]);
  return out;
}

OutputShapes batch_norm(const NodeView& n) {
  OutputShapes out(n.node().outputs.size());
  const Shape* x = n.shape(0);
  if (x == nullptr) return out;
  out[0] = *x;
  // Training mode's statistics (running and, before opset 14, saved) have the mean's shape.
  for (size_t o = 1; o < out.size(); ++o) out[o] = same_as_input(n, 3);
  return out;
}

OutputShapes layer_norm(const NodeView& n) {
  OutputShapes out(n.node().outputs.size());
  const Shape* x = n.shape(0);
  if (x == nullptr) return out;
  out[0] = *x;
  std::optional<size_t> axis = axis_in(n.node().attr_int("axis", -1), rank_of(*x));
  if (!axis) return out;
  // Mean and InvStdDev keep the leading dims and reduce the normalised ones to 1.
  Shape stats(x->begin(), x->begin() + static_cast<std::ptrdiff_t>(*axis));
  stats.resize(x->size(), 1);
  for (size_t o = 1; o < out.size(); ++o) out[o] = stats;
  return out;
}

// Attention (ai.edgerun): Q's [.., S, H, D] with V's last dim.
std::optional<Shape> attention(const NodeView& n) {
  const Shape* q = n.shape(0);
  const Shape* v = n.shape(2);
  if (q == nullptr || v == nullptr || q->empty() || v->size() != q->size()) return std::nullopt;
  Shape out = *q;
  out.back() = v->back();
  return out;
}

std::optional<Shape> flatten(const NodeView& n) {
  const Shape* x = n.shape(0);
  if (x == nullptr) return std::nullopt;
  int64_t axis = n.node().attr_int("axis", 1);
  if (axis < 0) axis += rank_of(*x);
  if (axis < 0 || axis > rank_of(*x)) return std::nullopt;
  const size_t split = static_cast<size_t>(axis);
  return Shape{reference::dims_product(*x, 0, split),
               reference::dims_product(*x, split, x->size())};
}

std::optional<Shape> reshape(const NodeView& n) {
  const Shape* x = n.shape(0);
  if (x == nullptr) return std::nullopt;
  std::optional<std::vector<int64_t>> requested =
      n.opset() < 5 ? std::optional(n.node().attr_ints("shape")) : n.ints(1);
  if (!requested) return std::nullopt;
  const bool allow_zero = n.opset() >= 14 && n.node().attr_int("allowzero", 0) != 0;
  Result<Shape> out = reference::reshape_output_shape(*x, *requested, allow_zero);
  if (!out.is_ok()) return std::nullopt;
  return std::move(out).value();
}

std::optional<Shape> transpose(const NodeView& n) {
  const Shape* x = n.shape(0);
  if (x == nullptr) return std::nullopt;
  std::vector<int64_t> perm = n.node().attr_ints("perm");
  if (perm.empty()) {
    for (int64_t i = rank_of(*x) - 1; i >= 0; --i) perm.push_back(i);
  }
  if (perm.size() != x->size() || !axes_in(perm, rank_of(*x))) return std::nullopt;
  Shape out;
  for (int64_t p : perm) out.push_back((*x)[static_cast<size_t>(p < 0 ? p + rank_of(*x) : p)]);
  return out;
}

std::optional<Shape> squeeze(const NodeView& n) {
  const Shape* x = n.shape(0);
  if (x == nullptr) return std::nullopt;
  bool given = false;
  std::optional<std::vector<int64_t>> axes = axes_attr_or_input(n, 1, 13, &given);
  if (!axes) return std::nullopt;
  std::vector<bool> drop(x->size(), false);
  if (!given || axes->empty()) {
    for (size_t i = 0; i < x->size(); ++i) drop[i] = (*x)[i] == 1;
  } else {
    std::optional<std::vector<int64_t>> normal = axes_in(*axes, rank_of(*x));
    if (!normal) return std::nullopt;
    for (int64_t a : *normal) {
      if ((*x)[static_cast<size_t>(a)] != 1) return std::nullopt;
      drop[static_cast<size_t>(a)] = true;
    }
  }
  Shape out;
  for (size_t i = 0; i < x->size(); ++i) {
    if (!drop[i]) out.push_back((*x)[i]);
  }
  return out;
}

std::optional<Shape> unsqueeze(const NodeView& n) {
  const Shape* x = n.shape(0);
  if (x == nullptr) return std::nullopt;
  bool given = false;
  std::optional<std::vector<int64_t>> axes = axes_attr_or_input(n, 1, 13, &given);
  if (!axes || !given) return std::nullopt;
  const int64_t out_rank = rank_of(*x) + static_cast<int64_t>(axes->size());
  std::optional<std::vector<int64_t>> normal = axes_in(*axes, out_rank);
  if (!normal) return std::nullopt;
  std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
  for (int64_t a : *normal) inserted[static_cast<size_t>(a)] = true;
  Shape out;
  size_t next = 0;
  for (size_t i = 0; i < inserted.size(); ++i) out.push_back(inserted[i] ? 1 : (*x)[next++]);
  return out;
}

std::optional<Shape> concat(const NodeView& n) {
  std::optional<std::vector<Shape>> shapes = n.all_shapes();
  if (!shapes || shapes->empty()) return std::nullopt;
  const Shape& first = shapes->front();
  std::optional<size_t> axis = axis_in(n.node().attr_int("axis", 0), rank_of(first));
  if (!axis) return std::nullopt;
  Shape out = first;
  out[*axis] = 0;
  for (const Shape& s : *shapes) {
    if (s.size() != first.size()) return std::nullopt;
    for (size_t d = 0; d < s.size(); ++d) {
      if (d != *axis && s[d] != first[d]) return std::nullopt;
    }
    out[*axis] += s[*axis];
  }
  return out;
}

OutputShapes split(const NodeView& n) {
  const size_t outputs = n.node().outputs.size();
  OutputShapes out(outputs);
  const Shape* x = n.shape(0);
  if (x == nullptr || outputs == 0) return out;
  std::optional<size_t> axis = axis_in(n.node().attr_int("axis", 0), rank_of(*x));
  if (!axis) return out;
  const int64_t dim = (*x)[*axis];
  std::vector<int64_t> lengths;
  if (n.opset() < 13 && n.node().has_attr("split")) {
    lengths = n.node().attr_ints("split");
  } else if (n.opset() >= 13 && n.has_input(1)) {
    std::optional<std::vector<int64_t>> given = n.ints(1);
    if (!given) return out;
    lengths = *given;
  } else if (n.opset() < 13 && n.has_input(1)) {  // Split-2..11 also took `split` as an input
    std::optional<std::vector<int64_t>> given = n.ints(1);
    if (!given) return out;
    lengths = *given;
  } else {
    // Equal parts; from opset 18 num_outputs may leave a smaller last part.
    const int64_t parts = static_cast<int64_t>(outputs);
    const int64_t chunk = n.opset() >= 18 ? (dim + parts - 1) / parts : dim / parts;
    if (n.opset() < 18 && dim % parts != 0) return out;
    for (int64_t p = 0; p < parts; ++p) {
      lengths.push_back(std::max<int64_t>(0, std::min(chunk, dim - p * chunk)));
    }
  }
  int64_t total = 0;
  for (int64_t l : lengths) total += l;
  if (lengths.size() != outputs || total != dim) return out;
  for (size_t o = 0; o < outputs; ++o) {
    Shape s = *x;
    s[*axis] = lengths[o];
    out[o] = s;
  }
  return out;
}

std::optional<Shape> slice(const NodeView& n) {
  const Shape* x = n.shape(0);
  if (x == nullptr) return std::nullopt;
  std::vector<int64_t> starts, ends, axes, steps;
  bool have_axes = false;
  if (n.opset() < 10) {
    starts = n.node().attr_ints("starts");
    ends = n.node().attr_ints("ends");
    have_axes = n.node().has_attr("axes");
    axes = n.node().attr_ints("axes");
  } else {
    std::optional<std::vector<int64_t>> s = n.ints(1), e = n.ints(2);
    if (!s || !e) return std::nullopt;
    starts = *s;
    ends = *e;
    if (n.has_input(3)) {
      std::optional<std::vector<int64_t>> a = n.ints(3);
      if (!a) return std::nullopt;
      have_axes = true;
      axes = *a;
    }
    if (n.has_input(4)) {
      std::optional<std::vector<int64_t>> st = n.ints(4);
      if (!st) return std::nullopt;
      steps = *st;
    }
  }
  const size_t count = starts.size();
  if (!have_axes) {
    axes.clear();
    for (size_t i = 0; i < count; ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(count, 1);
  if (ends.size() != count || axes.size() != count || steps.size() != count) return std::nullopt;
  std::optional<std::vector<int64_t>> normal = axes_in(axes, rank_of(*x));
  if (!normal) return std::nullopt;
  Shape out = *x;
  for (size_t i = 0; i < count; ++i) {
    const size_t a = static_cast<size_t>((*normal)[i]);
    if (steps[i] == 0) return std::nullopt;
    out[a] = reference::slice_axis(starts[i], ends[i], steps[i], (*x)[a]).count;
  }
  return out;
}

std::optional<Shape> gather(const NodeView& n) {
  const Shape* data = n.shape(0);
  const Shape* indices = n.shape(1);
  if (data == nullptr || indices == nullptr || data->empty()) return std::nullopt;
  std::optional<size_t> axis = axis_in(n.node().attr_int("axis", 0), rank_of(*data));
  if (!axis) return std::nullopt;
  Shape out(data->begin(), data->begin() + static_cast<std::ptrdiff_t>(*axis));
  out.insert(out.end(), indices->begin(), indices->end());
  out.insert(out.end(), data->begin() + static_cast<std::ptrdiff_t>(*axis) + 1, data->end());
  return out;
}

std::optional<Shape> gather_nd(const NodeView& n) {
  const Shape* data = n.shape(0);
  const Shape* indices = n.shape(1);
  if (data == nullptr || indices == nullptr || indices->empty()) return std::nullopt;
  const int64_t batch_dims = n.node().attr_int("batch_dims", 0);
  const int64_t tuple = indices->back();
  if (batch_dims < 0 || batch_dims + tuple > rank_of(*data)) return std::nullopt;
  Shape out(indices->begin(), indices->end() - 1);
  out.insert(out.end(), data->begin() + batch_dims + tuple, data->end());
  return out;
}

std::optional<Shape> expand(const NodeView& n) {
  const Shape* x = n.shape(0);
  std::optional<std::vector<int64_t>> shape = n.ints(1);
  if (x == nullptr || !shape) return std::nullopt;
  return broadcast({*x, *shape});
}

std::optional<Shape> tile(const NodeView& n) {
  const Shape* x = n.shape(0);
  std::optional<std::vector<int64_t>> repeats = n.ints(1);
  if (x == nullptr || !repeats || repeats->size() != x->size()) return std::nullopt;
  Shape out = *x;
  for (size_t d = 0; d < out.size(); ++d) {
    if ((*repeats)[d] < 0) return std::nullopt;
    out[d] *= (*repeats)[d];
  }
  return out;
}

std::optional<Shape> pad(const NodeView& n) {
  const Shape* x = n.shape(0);
  if (x == nullptr) return std::nullopt;
  std::optional<std::vector<int64_t>> pads =
      n.opset() < 11 ? std::optional(n.node().attr_ints("pads")) : n.ints(1);
  if (!pads) return std::nullopt;
  std::vector<int64_t> axes;
  if (n.opset() >= 18 && n.has_input(3)) {
    std::optional<std::vector<int64_t>> given = n.ints(3);
    if (!given) return std::nullopt;
    std::optional<std::vector<int64_t>> normal = axes_in(*given, rank_of(*x));
    if (!normal) return std::nullopt;
    axes = *normal;
  } else {
    for (int64_t i = 0; i < rank_of(*x); ++i) axes.push_back(i);
  }
  const size_t count = axes.size();
  if (pads->size() != 2 * count) return std::nullopt;
  Shape out = *x;
  for (size_t i = 0; i < count; ++i) {
    const size_t a = static_cast<size_t>(axes[i]);
    out[a] += (*pads)[i] + (*pads)[i + count];
    if (out[a] < 0) return std::nullopt;
  }
  return out;
}

std::optional<Shape> reduce(const NodeView& n) {
  const Shape* x = n.shape(0);
  if (x == nullptr) return std::nullopt;
  // ReduceSum took its axes as an input from opset 13, the others from 18.
  const int64_t input_since = *n.node().op == ir::Op::ReduceSum ? 13 : 18;
  bool given = false;
  std::optional<std::vector<int64_t>> axes = axes_attr_or_input(n, 1, input_since, &given);
  if (!axes) return std::nullopt;
  const bool keepdims = n.node().attr_int("keepdims", 1) != 0;
  const bool noop = axes->empty() && n.node().attr_int("noop_with_empty_axes", 0) != 0;
  std::vector<bool> reduced(x->size(), axes->empty() && !noop);
  std::optional<std::vector<int64_t>> normal = axes_in(*axes, rank_of(*x));
  if (!normal) return std::nullopt;
  for (int64_t a : *normal) reduced[static_cast<size_t>(a)] = true;
  Shape out;
  for (size_t d = 0; d < x->size(); ++d) {
    if (!reduced[d]) {
      out.push_back((*x)[d]);
    } else if (keepdims) {
      out.push_back(1);
    }
  }
  return out;
}

std::optional<Shape> arg_extreme(const NodeView& n) {
  const Shape* x = n.shape(0);
  if (x == nullptr) return std::nullopt;
  std::optional<size_t> axis = axis_in(n.node().attr_int("axis", 0), rank_of(*x));
  if (!axis) return std::nullopt;
  Shape out = *x;
  if (n.node().attr_int("keepdims", 1) != 0) {
    out[*axis] = 1;
  } else {
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(*axis));
  }
  return out;
}

OutputShapes topk(const NodeView& n) {
  OutputShapes out(n.node().outputs.size());
  const Shape* x = n.shape(0);
  if (x == nullptr) return out;
  std::optional<int64_t> k;
  if (n.opset() < 10) {
    k = n.node().attr_int("k", -1);
  } else if (std::optional<std::vector<int64_t>> given = n.ints(1); given && given->size() == 1) {
    k = given->front();
  }
  std::optional<size_t> axis = axis_in(n.node().attr_int("axis", -1), rank_of(*x));
  if (!k || !axis || *k < 0 || *k > (*x)[*axis]) return out;
  Shape s = *x;
  s[*axis] = *k;
  for (auto& o : out) o = s;
  return out;
}

// Shape's start/end (opset 15) select a clamped range of dims.
std::optional<Shape> shape_value_dims(const NodeView& n) {
  const Shape* x = n.shape(0);
  if (x == nullptr) return std::nullopt;
  const int64_t rank = rank_of(*x);
  int64_t start = n.opset() >= 15 ? n.node().attr_int("start", 0) : 0;
  int64_t end = n.opset() >= 15 ? n.node().attr_int("end", rank) : rank;
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  return Shape(x->begin() + start, x->begin() + std::max(start, end));
}

std::optional<Shape> range(const NodeView& n) {
  std::optional<std::vector<double>> start = n.doubles(0), limit = n.doubles(1),
                                     delta = n.doubles(2);
  if (!start || !limit || !delta || start->size() != 1 || limit->size() != 1 ||
      delta->size() != 1 || delta->front() == 0.0) {
    return std::nullopt;
  }
  const double count = std::ceil((limit->front() - start->front()) / delta->front());
  if (!std::isfinite(count)) return std::nullopt;
  return Shape{std::max<int64_t>(0, static_cast<int64_t>(count))};
}

std::optional<Shape> constant_of_shape(const NodeView& n) {
  std::optional<std::vector<int64_t>> shape = n.ints(0);
  if (!shape) return std::nullopt;
  for (int64_t d : *shape) {
    if (d < 0) return std::nullopt;
  }
  return *shape;
}

// Resize (opset 10: X, scales; 11+: X, roi, scales, sizes) and Upsample (scales attribute
// before opset 9, input after). The output is floor(dim * scale) or the given sizes.
std::optional<Shape> resize(const NodeView& n) {
  const Shape* x = n.shape(0);
  if (x == nullptr) return std::nullopt;
  const bool upsample = *n.node().op == ir::Op::Upsample;
  const size_t scales_index = upsample || n.opset() < 11 ? 1 : 2;
  const size_t sizes_index = 3;
  const Tensor* sizes_value = n.value(sizes_index);
  const bool sizes_given = !upsample && n.opset() >= 11 && n.has_input(sizes_index) &&
                           (sizes_value == nullptr || sizes_value->size() > 0);
  // Axes (opset 18) and aspect-ratio policies change the mapping; leave those to run time.
  if (n.node().has_attr("axes") ||
      n.node().attr_string("keep_aspect_ratio_policy", "stretch") != "stretch") {
    return std::nullopt;
  }
  if (sizes_given) {
    std::optional<std::vector<int64_t>> sizes = n.ints(sizes_index);
    if (!sizes || sizes->size() != x->size()) return std::nullopt;
    return *sizes;
  }
  std::optional<std::vector<double>> scales;
  if (upsample && n.opset() < 9) {
    std::vector<float> attr = n.node().attr_floats("scales");
    scales = std::vector<double>(attr.begin(), attr.end());
  } else {
    scales = n.doubles(scales_index);
  }
  if (!scales || scales->size() != x->size()) return std::nullopt;
  Shape out;
  for (size_t d = 0; d < x->size(); ++d) {
    const double scale = (*scales)[d];
    if (!(scale > 0.0) || !std::isfinite(scale)) return std::nullopt;
    out.push_back(static_cast<int64_t>(std::floor(static_cast<double>((*x)[d]) * scale)));
  }
  return out;
}

std::optional<Shape> depth_space(const NodeView& n, bool to_space) {
  const Shape* x = n.shape(0);
  const int64_t b = n.node().attr_int("blocksize", 0);
  if (x == nullptr || x->size() != 4 || b < 1) return std::nullopt;
  const Shape& s = *x;
  if (to_space) {
    if (s[1] % (b * b) != 0) return std::nullopt;
    return Shape{s[0], s[1] / (b * b), s[2] * b, s[3] * b};
  }
  if (s[2] % b != 0 || s[3] % b != 0) return std::nullopt;
  return Shape{s[0], s[1] * b * b, s[2] / b, s[3] / b};
}

// The output shapes of `node` that its rule can tell from what `types` knows.
OutputShapes rule_shapes(const ir::Node& node, const ValueTypes& types) {
  OutputShapes out(node.outputs.size());
  if (!node.op || out.empty()) return out;
  const NodeView n(node, types);
  auto all = [&](std::optional<Shape> s) {
    for (auto& o : out) o = s;
    return out;
  };
  auto first = [&](std::optional<Shape> s) {
    out[0] = std::move(s);
    return out;
  };
  switch (*node.op) {
    // Elementwise on one input (and ops that keep their data input's shape).
    case ir::Op::Abs: case ir::Op::Neg: case ir::Op::Reciprocal: case ir::Op::Sqrt:
    case ir::Op::Exp: case ir::Op::Log: case ir::Op::Ceil: case ir::Op::Floor:
    case ir::Op::Round: case ir::Op::Sign: case ir::Op::Erf: case ir::Op::Sin: case ir::Op::Cos:
    case ir::Op::Tan: case ir::Op::Asin: case ir::Op::Acos: case ir::Op::Atan:
    case ir::Op::Sinh: case ir::Op::Cosh: case ir::Op::Asinh: case ir::Op::Acosh:
    case ir::Op::Atanh: case ir::Op::Tanh: case ir::Op::Not: case ir::Op::IsNaN:
    case ir::Op::IsInf: case ir::Op::Relu: case ir::Op::LeakyRelu: case ir::Op::Elu:
    case ir::Op::Selu: case ir::Op::Celu: case ir::Op::Sigmoid: case ir::Op::HardSigmoid:
    case ir::Op::HardSwish: case ir::Op::Swish: case ir::Op::Gelu: case ir::Op::Softplus:
    case ir::Op::Softsign: case ir::Op::ThresholdedRelu: case ir::Op::Shrink: case ir::Op::Mish:
    case ir::Op::Clip:
    case ir::Op::BitwiseNot: case ir::Op::Cast: case ir::Op::CastLike: case ir::Op::Identity:
    case ir::Op::Softmax: case ir::Op::LogSoftmax: case ir::Op::Hardmax: case ir::Op::LRN:
    case ir::Op::MeanVarianceNormalization: case ir::Op::InstanceNormalization:
    case ir::Op::GroupNormalization: case ir::Op::CumSum: case ir::Op::EyeLike:
    case ir::Op::Trilu: case ir::Op::ReverseSequence: case ir::Op::QuantizeLinear:
    case ir::Op::DequantizeLinear: case ir::Op::Scatter: case ir::Op::ScatterElements:
    case ir::Op::ScatterND:
      return first(same_as_input(n));
    // Dropout's mask has the data's shape.
    case ir::Op::Dropout: return all(same_as_input(n));
    case ir::Op::DynamicQuantizeLinear:
      out[0] = same_as_input(n);
      for (size_t o = 1; o < out.size(); ++o) out[o] = Shape{};
      return out;
    // Multidirectional broadcasting.
    case ir::Op::Add: case ir::Op::Sub: case ir::Op::Mul: case ir::Op::Div: case ir::Op::Pow:
    case ir::Op::Mod: case ir::Op::BitShift: case ir::Op::BitwiseAnd: case ir::Op::BitwiseOr:
    case ir::Op::BitwiseXor: case ir::Op::And: case ir::Op::Or: case ir::Op::Xor:
    case ir::Op::Equal: case ir::Op::Greater: case ir::Op::Less: case ir::Op::GreaterOrEqual:
    case ir::Op::LessOrEqual: case ir::Op::Sum: case ir::Op::Mean: case ir::Op::Max:
    case ir::Op::Min: case ir::Op::Where: case ir::Op::PRelu:
      return first(broadcast_inputs(n));
    case ir::Op::Conv: return first(conv(n, 0, 1));
    case ir::Op::ConvInteger: return first(conv(n, 0, 1));
    case ir::Op::QLinearConv: return first(conv(n, 0, 3));
    case ir::Op::ConvTranspose: return first(conv_transpose(n));
    case ir::Op::MaxPool:
    case ir::Op::AveragePool:
    case ir::Op::LpPool: return all(pool(n));  // MaxPool's indices match its output
    case ir::Op::GlobalAveragePool:
    case ir::Op::GlobalMaxPool:
    case ir::Op::GlobalLpPool: return first(global_pool(n));
    case ir::Op::BatchNormalization: return batch_norm(n);
    case ir::Op::LayerNormalization: return layer_norm(n);
    case ir::Op::Attention: return first(attention(n));
    case ir::Op::Gemm: return first(gemm(n));
    case ir::Op::MatMul:
    case ir::Op::MatMulInteger: return first(matmul(n, 0, 1));
    case ir::Op::QLinearMatMul: return first(matmul(n, 0, 3));
    case ir::Op::Flatten: return first(flatten(n));
    case ir::Op::Reshape: return first(reshape(n));
    case ir::Op::Transpose: return first(transpose(n));
    case ir::Op::Squeeze: return first(squeeze(n));
    case ir::Op::Unsqueeze: return first(unsqueeze(n));
    case ir::Op::Concat: return first(concat(n));
    case ir::Op::Split: return split(n);
    case ir::Op::Slice: return first(slice(n));
    case ir::Op::Gather: return first(gather(n));
    case ir::Op::GatherElements: return first(same_as_input(n, 1));
    case ir::Op::GatherND: return first(gather_nd(n));
    case ir::Op::Expand: return first(expand(n));
    case ir::Op::Tile: return first(tile(n));
    case ir::Op::Pad: return first(pad(n));
    case ir::Op::ReduceSum: case ir::Op::ReduceMean: case ir::Op::ReduceMax:
    case ir::Op::ReduceMin: case ir::Op::ReduceProd: case ir::Op::ReduceL1:
    case ir::Op::ReduceL2: case ir::Op::ReduceLogSum: case ir::Op::ReduceLogSumExp:
    case ir::Op::ReduceSumSquare:
      return first(reduce(n));
    case ir::Op::ArgMax:
    case ir::Op::ArgMin: return first(arg_extreme(n));
    case ir::Op::TopK: return topk(n);
    case ir::Op::Shape: {
      std::optional<Shape> dims = shape_value_dims(n);
      return first(dims ? std::optional(Shape{rank_of(*dims)}) : std::nullopt);
    }
    case ir::Op::Size: return first(Shape{});
    case ir::Op::ConstantOfShape: return first(constant_of_shape(n));
    case ir::Op::Range: return first(range(n));
    case ir::Op::Resize:
    case ir::Op::Upsample: return first(resize(n));
    case ir::Op::DepthToSpace: return first(depth_space(n, true));
    case ir::Op::SpaceToDepth: return first(depth_space(n, false));
    default: return out;
  }
}

// Ops whose output may be far larger than their inputs: evaluated only once the rule has shown
// the output is small.
bool may_grow(ir::Op op) {
  switch (op) {
    case ir::Op::ConstantOfShape: case ir::Op::Expand: case ir::Op::Tile: case ir::Op::Range:
    case ir::Op::Resize: case ir::Op::Upsample: case ir::Op::Pad: case ir::Op::OneHot:
    case ir::Op::EyeLike: case ir::Op::HannWindow: case ir::Op::HammingWindow:
    case ir::Op::BlackmanWindow: case ir::Op::MelWeightMatrix: case ir::Op::DFT:
    case ir::Op::STFT:
      return true;
    default: return false;
  }
}

bool is_small(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) return false;
    n *= d;
    if (n > kMaxKnownValueElements) return false;
  }
  return true;
}

void record(ValueTypes& types, const std::string& name, const Tensor& value) {
  types.shapes.insert_or_assign(name, value.shape());
  types.dtypes.emplace(name, value.dtype());
  if (value.size() <= kMaxKnownValueElements) types.values.insert_or_assign(name, value);
}

}  // namespace

void infer_shapes(const ir::Graph& graph, ValueTypes& types) {
  for (const auto& [name, tensor] : graph.initializers) {
    if (tensor.size() <= kMaxKnownValueElements) types.values.emplace(name, tensor);
  }
  for (const ir::Node& node : graph.nodes) {
    if (!node.op) continue;
    OutputShapes shapes = rule_shapes(node, types);
    bool outputs_small = true;
    bool outputs_known = true;
    for (size_t o = 0; o < shapes.size(); ++o) {
      if (node.outputs[o].empty()) continue;
      outputs_known = outputs_known && shapes[o].has_value();
      outputs_small = outputs_small && (!shapes[o] || is_small(*shapes[o]));
    }
    const bool worth_evaluating =
        outputs_small && (outputs_known || !may_grow(*node.op));
    std::optional<std::vector<Tensor>> values =
        worth_evaluating ? evaluate_with_reference(node, types) : std::nullopt;
    if (values) {
      // The kernel is the truth: its results replace what the rule said.
      for (size_t o = 0; o < values->size(); ++o) {
        if ((*values)[o].defined()) record(types, node.outputs[o], (*values)[o]);
      }
      continue;
    }
    if (*node.op == ir::Op::Shape || *node.op == ir::Op::Size) {
      // Known shapes make these known values even when the data is not.
      const Shape* x = types.shape(node.inputs.empty() ? std::string() : node.inputs[0]);
      if (x != nullptr && !node.outputs[0].empty()) {
        if (*node.op == ir::Op::Size) {
          record(types, node.outputs[0], Tensor::scalar<int64_t>(shape_size(*x)));
        } else if (std::optional<Shape> dims = shape_value_dims(NodeView(node, types))) {
          record(types, node.outputs[0],
                 Tensor::from_vector<int64_t>({rank_of(*dims)}, *dims));
        }
        continue;
      }
    }
    for (size_t o = 0; o < shapes.size(); ++o) {
      if (shapes[o] && !node.outputs[o].empty()) {
        types.shapes.insert_or_assign(node.outputs[o], std::move(*shapes[o]));
      }
    }
  }
}

}  // namespace edgerun::runtime
