#include "ir/op.h"

#include <array>

namespace edgerun::ir {
namespace {

constexpr OpInfo kOps[] = {
#define OP(id, domain, onnx_name, min_opset, max_opset) \
  {Op::id, domain, onnx_name, min_opset, max_opset, OP_FAMILY},
#include "ir/ops.def"
#undef OP
};

std::string_view canonical_domain(std::string_view domain) {
  return domain == "ai.onnx" ? std::string_view() : domain;
}

}  // namespace

const OpInfo& op_info(Op op) { return kOps[static_cast<size_t>(op)]; }

std::optional<Op> find_op(std::string_view domain, std::string_view op_type) {
  const std::string_view d = canonical_domain(domain);
  for (const OpInfo& info : kOps) {
    if (info.name == op_type && info.domain == d) return info.op;
  }
  return std::nullopt;
}

std::span<const OpInfo> all_ops() {
  return kOps;
}

}  // namespace edgerun::ir
