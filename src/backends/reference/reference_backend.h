// The reference backend: runs every registered op with plain, exact kernels. It is the
// ground truth the accelerated backends are measured against, and the fallback for any node
// they do not claim.
#pragma once

#include "backends/backend.h"

namespace edgerun::reference {

class ReferenceBackend final : public Backend {
 public:
  std::string_view name() const override { return "reference"; }
  bool supports(const ir::Node& node, const ir::Graph& graph, const ValueTypes& types,
                std::string* why_not) const override;
  Result<std::unique_ptr<Executable>> compile(const Partition& partition) const override;
};

// Why the reference backend cannot run `node` (unknown op, opset outside the kernel's range),
// or an empty string when it can.
std::string unsupported_reason(const ir::Node& node);

}  // namespace edgerun::reference
