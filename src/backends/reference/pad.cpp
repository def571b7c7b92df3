// Pad: grows (or, with negative pads, crops) each axis, filling with a constant
// or with values mirrored, repeated from the edge, or wrapped around from the
// other side.
#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/shape_util.h"

namespace edgerun::reference {

namespace {

// The padding value as a one-element tensor of the data's dtype, so the fill is
// copied like any other element.
Result<Tensor> fill_value(KernelContext& ctx, DType dtype) {
  Tensor fill(dtype, {1});
  if (ctx.opset() < 11) {
    const double value = ctx.attr_float("value", 0.0f);
    if (dtype == DType::kString) return fill;
    Status s = dispatch<NumericBoolTypes>(dtype, "Pad", [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_same_v<T, bool>) {
        fill.data<T>()[0] = value != 0.0;
      } else {
        fill.data<T>()[0] = static_cast<T>(static_cast<compute_t<T>>(value));
      }
      return Status::ok();
    });
    if (!s.is_ok()) return s;
    return fill;
  }
  if (!ctx.has_input(2) || ctx.input(2).size() == 0) return fill;
  const Tensor& given = ctx.input(2);
  if (given.dtype() != dtype) {
    return invalid_argument("Pad constant_value has dtype " +
                            std::string(dtype_name(given.dtype())) + " but data has " +
                            std::string(dtype_name(dtype)));
  }
  ElementCopier(given, fill).copy(0, 0);
  return fill;
}

// Where output position `o` along an axis of length `dim` reads from, given
// `begin` elements of padding in front; -1 means "the constant".
Result<int64_t> source_coord(int64_t o, int64_t begin, int64_t dim, const std::string& mode) {
  const int64_t c = o - begin;
  if (c >= 0 && c < dim) return c;
  if (mode == "constant") return int64_t{-1};
  if (dim == 0) {
    return invalid_argument("Pad mode '" + mode + "' cannot pad an axis of dim 0");
  }
  if (mode == "edge") return c < 0 ? int64_t{0} : dim - 1;
  if (mode == "wrap") return ((c % dim) + dim) % dim;
  // reflect: mirror without repeating the edge, bouncing as often as the
  // padding needs.
  if (dim == 1) return int64_t{0};
  const int64_t period = 2 * (dim - 1);
  int64_t r = ((c % period) + period) % period;
  return r < dim ? r : period - r;
}

}  // namespace

Status kernel_Pad(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const int64_t rank = data.rank();
  const std::string mode = ctx.attr_string("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap") {
    return invalid_argument("Pad mode '" + mode + "' is not constant, reflect, edge or wrap");
  }
  std::vector<int64_t> pads;
  if (ctx.opset() < 2) {
    pads = ctx.attr_ints("paddings");
  } else if (ctx.opset() < 11) {
    pads = ctx.attr_ints("pads");
  } else {
    if (!ctx.has_input(1)) return invalid_model("Pad needs a pads input");
    ER_ASSIGN_OR_RETURN(pads, read_ints(ctx.input(1), "Pad pads"));
  }
  std::vector<int64_t> axes;
  if (ctx.opset() >= 18 && ctx.has_input(3)) {
    ER_ASSIGN_OR_RETURN(axes, read_ints(ctx.input(3), "Pad axes"));
    ER_ASSIGN_OR_RETURN(axes, normalize_axes(axes, rank, "Pad"));
  } else {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  const size_t n = axes.size();
  if (pads.size() != 2 * n) {
    return invalid_argument(
        "Pad pads " + ints_to_string(pads) + " have " + std::to_string(pads.size()) +
        " entries; expected " + std::to_string(2 * n) + " (begin and end for each of " +
        std::to_string(n) + " axes of input " + shape_to_string(data.shape()) + ")");
  }
  std::vector<int64_t> begin(static_cast<size_t>(rank), 0);
  Shape out_shape = data.shape();
  for (size_t i = 0; i < n; ++i) {
    const size_t a = static_cast<size_t>(axes[i]);
    begin[a] = pads[i];
    out_shape[a] += pads[i] + pads[i + n];
    if (out_shape[a] < 0) {
      return invalid_argument("Pad pads " + ints_to_string(pads) + " crop axis " +
                              std::to_string(a) + " of " + shape_to_string(data.shape()) +
                              " below zero");
    }
  }
  Tensor fill;
  ER_ASSIGN_OR_RETURN(fill, fill_value(ctx, data.dtype()));

  // Source coordinate of every output position, per axis, so the element loop
  // stays simple.
  std::vector<std::vector<int64_t>> coords(static_cast<size_t>(rank));
  for (size_t a = 0; a < coords.size(); ++a) {
    for (int64_t o = 0; o < out_shape[a]; ++o) {
      int64_t c = 0;
      ER_ASSIGN_OR_RETURN(c, source_coord(o, begin[a], data.shape()[a], mode));
      coords[a].push_back(c);
    }
  }
  Tensor out(data.dtype(), out_shape);
  if (out.size() > 0) {
    const std::vector<int64_t> strides = strides_of(data.shape());
    const ElementCopier from_data(data, out);
    const ElementCopier from_fill(fill, out);
    std::vector<int64_t> index(static_cast<size_t>(rank), 0);
    int64_t dst = 0;
    do {
      int64_t src = 0;
      bool inside = true;
      for (size_t k = 0; k < index.size(); ++k) {
        const int64_t c = coords[k][static_cast<size_t>(index[k])];
        if (c < 0) {
          inside = false;
          break;
        }
        src += c * strides[k];
      }
      if (inside) {
        from_data.copy(dst, src);
      } else {
        from_fill.copy(dst, 0);
      }
      ++dst;
    } while (next_index(index, out_shape));
  }
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

}  // namespace edgerun::reference
