// Einsum: general Einstein summation with explicit or implicit output, repeated labels
// (diagonals) and ellipsis broadcasting, computed as one loop over every label's index.
#include <algorithm>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/nn_util.h"

namespace edgerun::reference {
namespace {

// Labels are numbered so that numeric order is numpy's implicit-output order: 'A'-'Z' as 0-25,
// 'a'-'z' as 26-51; the dims an ellipsis stands for follow from 52 on, right-aligned so that
// operands with shorter ellipses broadcast against longer ones.
constexpr int kLetters = 52;

int label_id(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
  return -1;
}

struct Term {
  std::vector<int> letters;  // label ids in order; kEllipsis marks where "..." sits
  bool has_ellipsis = false;
};
constexpr int kEllipsis = -1;

Result<Term> parse_term(const std::string& text, const std::string& equation) {
  Term t;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "...") == 0) {
      if (t.has_ellipsis) {
        return invalid_argument("Einsum equation '" + equation + "' has two ellipses in '" +
                                text + "'");
      }
      t.has_ellipsis = true;
      t.letters.push_back(kEllipsis);
      i += 2;
      continue;
    }
    const int id = label_id(text[i]);
    if (id < 0) {
      return invalid_argument("Einsum equation '" + equation + "' has invalid character '" +
                              std::string(1, text[i]) + "'");
    }
    t.letters.push_back(id);
  }
  return t;
}

// The label ids of each axis of a tensor of `rank`, expanding "..." to its ellipsis ids.
Result<std::vector<int>> axis_labels(const Term& t, int64_t rank, int64_t ellipsis_rank,
                                     const std::string& equation, size_t operand) {
  const int64_t letters = static_cast<int64_t>(t.letters.size()) - (t.has_ellipsis ? 1 : 0);
  const int64_t own_ellipsis = rank - letters;
  if (own_ellipsis < 0 || (!t.has_ellipsis && own_ellipsis != 0)) {
    return invalid_argument("Einsum equation '" + equation + "' gives operand " +
                            std::to_string(operand) + " " + std::to_string(letters) +
                            " labels" + (t.has_ellipsis ? " and an ellipsis" : "") +
                            ", but it has rank " + std::to_string(rank));
  }
  std::vector<int> out;
  for (int id : t.letters) {
    if (id != kEllipsis) {
      out.push_back(id);
      continue;
    }
    for (int64_t j = 0; j < own_ellipsis; ++j) {
      out.push_back(kLetters + static_cast<int>(ellipsis_rank - own_ellipsis + j));
    }
  }
  return out;
}

}  // namespace

Status kernel_Einsum(KernelContext& ctx) {
  std::string equation;
  for (char c : ctx.attr_string("equation")) {
    if (c != ' ') equation += c;
  }
  const size_t arrow = equation.find("->");
  const std::string lhs = equation.substr(0, arrow);
  std::vector<std::string> term_texts;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    term_texts.push_back(lhs.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  const size_t num_ops = ctx.num_inputs();
  if (term_texts.size() != num_ops) {
    return invalid_argument("Einsum equation '" + equation + "' names " +
                            std::to_string(term_texts.size()) + " operands, got " +
                            std::to_string(num_ops) + " inputs");
  }
  std::vector<Term> terms;
  int64_t ellipsis_rank = 0;
  for (size_t i = 0; i < num_ops; ++i) {
    Term t;
    ER_ASSIGN_OR_RETURN(t, parse_term(term_texts[i], equation));
    if (ctx.input(i).dtype() != ctx.input(0).dtype()) {
      return invalid_argument("Einsum inputs must share a dtype, got " +
                              std::string(dtype_name(ctx.input(0).dtype())) + " and " +
                              std::string(dtype_name(ctx.input(i).dtype())));
    }
    if (t.has_ellipsis) {
      const int64_t letters = static_cast<int64_t>(t.letters.size()) - 1;
      ellipsis_rank = std::max(ellipsis_rank, ctx.input(i).rank() - letters);
    }
    terms.push_back(std::move(t));
  }
  const int num_ids = kLetters + static_cast<int>(ellipsis_rank);
  // The size of every label, checked across operands; ellipsis dims of size 1 broadcast.
  std::vector<int64_t> dim(static_cast<size_t>(num_ids), -1);
  std::vector<int> uses(static_cast<size_t>(num_ids), 0);
  std::vector<std::vector<int>> labels(num_ops);
  for (size_t i = 0; i < num_ops; ++i) {
    const Tensor& t = ctx.input(i);
    ER_ASSIGN_OR_RETURN(labels[i], axis_labels(terms[i], t.rank(), ellipsis_rank, equation, i));
    for (size_t a = 0; a < labels[i].size(); ++a) {
      const int id = labels[i][a];
      const int64_t d = t.dim(static_cast<int64_t>(a));
      ++uses[id];
      if (dim[id] == -1 || (id >= kLetters && dim[id] == 1)) {
        dim[id] = d;
      } else if (d != dim[id] && !(id >= kLetters && d == 1)) {
        return invalid_argument("Einsum equation '" + equation + "': operand " +
                                std::to_string(i) + " axis " + std::to_string(a) + " has size " +
                                std::to_string(d) + ", but the same label elsewhere has size " +
                                std::to_string(dim[id]));
      }
    }
  }
  std::vector<int> out_ids;
  if (arrow != std::string::npos) {
    Term out_term;
    ER_ASSIGN_OR_RETURN(out_term, parse_term(equation.substr(arrow + 2), equation));
    for (int id : out_term.letters) {
      if (id == kEllipsis) {
        for (int j = kLetters; j < num_ids; ++j) out_ids.push_back(j);
        continue;
      }
      if (uses[id] == 0 || std::count(out_ids.begin(), out_ids.end(), id) > 0) {
        return invalid_argument("Einsum equation '" + equation +
                                "': output labels must appear in the inputs, once each");
      }
      out_ids.push_back(id);
    }
  } else {
    // Implicit output: the broadcast ellipsis dims, then the labels used exactly once, sorted.
    for (int j = kLetters; j < num_ids; ++j) out_ids.push_back(j);
    for (int id = 0; id < kLetters; ++id) {
      if (uses[id] == 1) out_ids.push_back(id);
    }
  }
  std::vector<int> sum_ids;
  for (int id = 0; id < num_ids; ++id) {
    if (uses[id] > 0 && std::find(out_ids.begin(), out_ids.end(), id) == out_ids.end()) {
      sum_ids.push_back(id);
    }
  }
  Shape out_shape, sum_shape;
  for (int id : out_ids) out_shape.push_back(dim[id]);
  for (int id : sum_ids) sum_shape.push_back(dim[id]);
  // Per operand, how far one step of each label moves in it: repeated labels add their
  // strides (a diagonal), broadcast dims move nowhere.
  std::vector<std::vector<int64_t>> step(num_ops, std::vector<int64_t>(num_ids, 0));
  for (size_t i = 0; i < num_ops; ++i) {
    const Tensor& t = ctx.input(i);
    const std::vector<int64_t> strides = strides_of(t.shape());
    for (size_t a = 0; a < labels[i].size(); ++a) {
      if (t.dim(static_cast<int64_t>(a)) != 1) step[i][labels[i][a]] += strides[a];
    }
  }
  Tensor y(ctx.input(0).dtype(), out_shape);
  const int64_t out_count = shape_size(out_shape);
  const int64_t sum_count = shape_size(sum_shape);
  ER_RETURN_IF_ERROR(dispatch<NumericTypes>(y.dtype(), "Einsum", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using A = nn::acc_t<T>;
    std::vector<const T*> data(num_ops);
    for (size_t i = 0; i < num_ops; ++i) data[i] = ctx.input(i).data<T>();
    std::vector<int64_t> oi(out_ids.size(), 0), si(sum_ids.size(), 0);
    std::vector<int64_t> base(num_ops);
    for (int64_t o = 0; o < out_count; ++o, nn::next_index(oi, out_shape)) {
      for (size_t i = 0; i < num_ops; ++i) {
        base[i] = 0;
        for (size_t k = 0; k < out_ids.size(); ++k) base[i] += oi[k] * step[i][out_ids[k]];
      }
      A acc = 0;
      for (int64_t s = 0; s < sum_count; ++s, nn::next_index(si, sum_shape)) {
        A prod = 1;
        for (size_t i = 0; i < num_ops; ++i) {
          int64_t off = base[i];
          for (size_t k = 0; k < sum_ids.size(); ++k) off += si[k] * step[i][sum_ids[k]];
          prod *= static_cast<A>(static_cast<compute_t<T>>(data[i][off]));
        }
        acc += prod;
      }
      if constexpr (std::is_floating_point_v<compute_t<T>>) {
        y.data<T>()[o] = T(static_cast<compute_t<T>>(acc));
      } else {
        y.data<T>()[o] = static_cast<T>(acc);
      }
    }
    return Status::ok();
  }));
  ctx.set_output(0, std::move(y));
  return Status::ok();
}

}  // namespace edgerun::reference
