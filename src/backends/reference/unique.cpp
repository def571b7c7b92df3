// Unique: the distinct elements of a tensor (flattened), or its distinct slices along an axis,
// with the index of each one's first occurrence, the inverse mapping and the counts.
//
// Slices compare lexicographically in row-major order. NaNs equal each other and sort after
// every number; complex values sort by real part, then imaginary part.
#include <algorithm>
#include <complex>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/reduce_util.h"

namespace edgerun::reference {
namespace {

template <class T>
struct IsComplex : std::false_type {};
template <class T>
struct IsComplex<std::complex<T>> : std::true_type {};

// Three-way comparison of two elements: -1, 0 or 1.
template <class T>
int compare_values(const T& a, const T& b) {
  if constexpr (IsComplex<T>::value) {
    const int re = compare_values(a.real(), b.real());
    return re != 0 ? re : compare_values(a.imag(), b.imag());
  } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool>) {
    return a < b ? -1 : (b < a ? 1 : 0);
  } else {
    const auto va = static_cast<compute_t<T>>(a);
    const auto vb = static_cast<compute_t<T>>(b);
    const bool na = is_nan_value(va);
    const bool nb = is_nan_value(vb);
    if (na || nb) return na == nb ? 0 : (na ? 1 : -1);
    return va < vb ? -1 : (vb < va ? 1 : 0);
  }
}

}  // namespace

Status kernel_Unique(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const bool sorted = ctx.attr_int("sorted", 1) != 0;
  const bool has_axis = ctx.has_attr("axis");
  // Without an axis the flattened tensor is a list of 1-element slices.
  int64_t axis = 0;
  if (has_axis) {
    if (x.rank() == 0) {
      return invalid_argument("Unique with an axis needs an input of rank >= 1, got a scalar");
    }
    ER_ASSIGN_OR_RETURN(axis, normalize_axis(ctx.attr_int("axis", 0), x.rank()));
  }
  const Shape shape = has_axis ? x.shape() : Shape{x.size()};
  const int64_t n = shape[static_cast<size_t>(axis)];
  int64_t outer = 1;
  int64_t inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= shape[static_cast<size_t>(i)];
  for (int64_t i = axis + 1; i < static_cast<int64_t>(shape.size()); ++i) {
    inner *= shape[static_cast<size_t>(i)];
  }

  // groups[g]: the slices equal to the g-th unique slice, ascending; their first is its first
  // occurrence. inverse[i]: the group of slice i.
  std::vector<std::vector<int64_t>> groups;
  std::vector<int64_t> inverse(static_cast<size_t>(n));
  Tensor y;
  ER_RETURN_IF_ERROR(dispatch<AllTypes>(x.dtype(), "Unique", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* in = x.data<T>();
    auto compare_slices = [&](int64_t a, int64_t b) {
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          const int c = compare_values(in[(o * n + a) * inner + i], in[(o * n + b) * inner + i]);
          if (c != 0) return c;
        }
      }
      return 0;
    };
    // A stable sort keeps equal slices in index order, so each run starts at a first occurrence.
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return compare_slices(a, b) < 0; });
    for (size_t k = 0; k < order.size(); ++k) {
      if (k == 0 || compare_slices(order[k - 1], order[k]) != 0) groups.emplace_back();
      groups.back().push_back(order[k]);
    }
    if (!sorted) {
      std::sort(groups.begin(), groups.end(),
                [](const auto& a, const auto& b) { return a.front() < b.front(); });
    }
    Shape y_shape = shape;
    y_shape[static_cast<size_t>(axis)] = static_cast<int64_t>(groups.size());
    y = Tensor(x.dtype(), y_shape);
    T* out = y.data<T>();
    const auto unique = static_cast<int64_t>(groups.size());
    for (int64_t g = 0; g < unique; ++g) {
      const int64_t src = groups[static_cast<size_t>(g)].front();
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          out[(o * unique + g) * inner + i] = in[(o * n + src) * inner + i];
        }
      }
      for (int64_t member : groups[static_cast<size_t>(g)]) {
        inverse[static_cast<size_t>(member)] = g;
      }
    }
    return Status::ok();
  }));

  const auto unique = static_cast<int64_t>(groups.size());
  Tensor indices(DType::kInt64, {unique});
  Tensor counts(DType::kInt64, {unique});
  for (int64_t g = 0; g < unique; ++g) {
    indices.data<int64_t>()[g] = groups[static_cast<size_t>(g)].front();
    counts.data<int64_t>()[g] = static_cast<int64_t>(groups[static_cast<size_t>(g)].size());
  }
  ctx.set_output(0, y);
  ctx.set_output(1, indices);
  ctx.set_output(2, Tensor::from_vector<int64_t>({n}, inverse));
  ctx.set_output(3, counts);
  return Status::ok();
}

}  // namespace edgerun::reference
