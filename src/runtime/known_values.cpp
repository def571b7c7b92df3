#include "runtime/known_values.h"

#include "backends/reference/evaluate.h"

namespace edgerun::runtime {

std::optional<std::vector<Tensor>> evaluate_with_reference(const ir::Node& node,
                                                           const ValueTypes& types) {
  return reference::evaluate_node(node, [&](const std::string& name) { return types.value(name); });
}

}  // namespace edgerun::runtime
