// The closed set of operators edgerun knows, generated from ops.def.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace edgerun::ir {

enum class Op : uint16_t {
#define OP(id, domain, onnx_name, min_opset, max_opset) id,
#include "ir/ops.def"
#undef OP
};

struct OpInfo {
  Op op;
  std::string_view domain;  // "" is the default ONNX domain
  std::string_view name;    // op_type as it appears in ONNX
  int min_opset;            // the opset range our kernels implement, inclusive
  int max_opset;
  std::string_view family;  // the ops/*.def file it is listed in: "nn", "sequence", ...
};

const OpInfo& op_info(Op op);
// Looks an op up by domain and op_type; "ai.onnx" is the same domain as "".
std::optional<Op> find_op(std::string_view domain, std::string_view op_type);
// Every op in the registry, in ops.def order.
std::span<const OpInfo> all_ops();

}  // namespace edgerun::ir
