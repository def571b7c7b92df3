#include "runtime/flops.h"

#include <algorithm>

namespace edgerun {
namespace {

double elements(const Shape& s) { return static_cast<double>(shape_size(s)); }

const Shape& at(const std::vector<Shape>& shapes, size_t i) {
  static const Shape kNone;
  return i < shapes.size() ? shapes[i] : kNone;
}

// Product of the dims after the first: for a conv weight [M, C/group, k...] the number of
// multiply-adds behind one output element.
double per_output_element(const Shape& weight) {
  double n = 1;
  for (size_t i = 1; i < weight.size(); ++i) n *= static_cast<double>(weight[i]);
  return n;
}

}  // namespace

double node_flops(const ir::Node& node, const std::vector<Shape>& inputs,
                  const std::vector<Shape>& outputs) {
  const std::string& op = node.op_type;
  const Shape& y = at(outputs, 0);
  if (op == "Conv" || op == "ConvInteger" || op == "QLinearConv") {
    const size_t w = op == "QLinearConv" ? 3 : 1;
    const size_t bias = op == "QLinearConv" ? 8 : 2;
    return 2 * elements(y) * per_output_element(at(inputs, w)) +
           (node.has_input(bias) ? elements(y) : 0);
  }
  if (op == "ConvTranspose") {
    // Every input element is scattered through a [M/group, k...] slice of the weight.
    return 2 * elements(at(inputs, 0)) * per_output_element(at(inputs, 1)) +
           (node.has_input(2) ? elements(y) : 0);
  }
  if (op == "MatMul" || op == "MatMulInteger" || op == "QLinearMatMul" || op == "Gemm") {
    const Shape& a = at(inputs, 0);
    if (a.empty()) return elements(y);
    // The reduction length: A's last dim, or its first for a transposed Gemm A.
    const bool trans_a = op == "Gemm" && node.attr_int("transA", 0) != 0;
    const double k = static_cast<double>(trans_a ? a.front() : a.back());
    return 2 * elements(y) * k + (op == "Gemm" && node.has_input(2) ? elements(y) : 0);
  }
  if (node.op == ir::Op::Attention) {
    // Q Kᵀ and P V: 2 * Sk multiply-adds per element of Q and of Y.
    const Shape& q = at(inputs, 0);
    const Shape& k = at(inputs, 1);
    if (q.size() < 3 || k.size() != q.size()) return elements(y);
    const double sk = static_cast<double>(k[k.size() - 3]);
    return 2 * sk * (elements(q) + elements(y));
  }
  if (op == "MaxPool" || op == "AveragePool" || op == "LpPool") {
    double window = 1;
    for (int64_t k : node.attr_ints("kernel_shape")) window *= static_cast<double>(k);
    return elements(y) * window;
  }
  double largest = 0;
  for (const Shape& s : inputs) largest = std::max(largest, elements(s));
  for (const Shape& s : outputs) largest = std::max(largest, elements(s));
  return largest;
}

}  // namespace edgerun
