// Slice: numpy-style strided slicing along any subset of axes.
#include <algorithm>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/shape_util.h"

namespace edgerun::reference {

Status kernel_Slice(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const int64_t rank = data.rank();
  std::vector<int64_t> starts, ends, axes, steps;
  bool have_axes = false;
  bool have_steps = false;
  if (ctx.opset() < 10) {
    starts = ctx.attr_ints("starts");
    ends = ctx.attr_ints("ends");
    have_axes = ctx.has_attr("axes");
    axes = ctx.attr_ints("axes");
  } else {
    if (!ctx.has_input(1) || !ctx.has_input(2)) {
      return invalid_model("Slice needs starts and ends inputs");
    }
    ER_ASSIGN_OR_RETURN(starts, read_ints(ctx.input(1), "Slice starts"));
    ER_ASSIGN_OR_RETURN(ends, read_ints(ctx.input(2), "Slice ends"));
    if (ctx.has_input(3)) {
      have_axes = true;
      ER_ASSIGN_OR_RETURN(axes, read_ints(ctx.input(3), "Slice axes"));
    }
    if (ctx.has_input(4)) {
      have_steps = true;
      ER_ASSIGN_OR_RETURN(steps, read_ints(ctx.input(4), "Slice steps"));
    }
  }
  const size_t n = starts.size();
  if (ends.size() != n) {
    return invalid_argument("Slice starts " + ints_to_string(starts) + " and ends " +
                            ints_to_string(ends) + " differ in length");
  }
  if (!have_axes) {
    axes.clear();
    for (size_t i = 0; i < n; ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (!have_steps) steps.assign(n, 1);
  if (axes.size() != n || steps.size() != n) {
    return invalid_argument("Slice starts " + ints_to_string(starts) + ", axes " +
                            ints_to_string(axes) + " and steps " + ints_to_string(steps) +
                            " differ in length");
  }
  ER_ASSIGN_OR_RETURN(axes, normalize_axes(axes, rank, "Slice"));

  // Per-axis first index and step; untouched axes take everything.
  std::vector<int64_t> first(static_cast<size_t>(rank), 0);
  std::vector<int64_t> step(static_cast<size_t>(rank), 1);
  Shape out_shape = data.shape();
  for (size_t i = 0; i < n; ++i) {
    const size_t a = static_cast<size_t>(axes[i]);
    const int64_t dim = data.shape()[a];
    const int64_t s = steps[i];
    if (s == 0) return invalid_argument("Slice step for axis " + std::to_string(a) + " is 0");
    const SliceAxis sliced = slice_axis(starts[i], ends[i], s, dim);
    first[a] = sliced.first;
    step[a] = sliced.step;
    out_shape[a] = sliced.count;
  }

  Tensor out(data.dtype(), out_shape);
  if (out.size() > 0) {
    const std::vector<int64_t> strides = strides_of(data.shape());
    const ElementCopier copier(data, out);
    std::vector<int64_t> index(static_cast<size_t>(rank), 0);
    int64_t dst = 0;
    do {
      int64_t src = 0;
      for (size_t k = 0; k < index.size(); ++k) src += (first[k] + index[k] * step[k]) * strides[k];
      copier.copy(dst++, src);
    } while (next_index(index, out_shape));
  }
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

}  // namespace edgerun::reference
