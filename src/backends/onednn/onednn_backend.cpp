#include "backends/onednn/onednn_backend.h"

#include <oneapi/dnnl/dnnl.hpp>

#include "backends/onednn/claim.h"
#include "backends/onednn/executable.h"

namespace edgerun::onednn {

struct OneDnnBackend::State {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  int threads = 0;
  ThreadChoice choice = ThreadChoice::kBySize;
};

OneDnnBackend::OneDnnBackend(int threads, ThreadChoice choice)
    : state_(std::make_unique<State>()) {
  state_->threads = threads;
  state_->choice = choice;
}
OneDnnBackend::~OneDnnBackend() = default;

bool OneDnnBackend::supports(const ir::Node& node, const ir::Graph& graph, const ValueTypes& types,
                             std::string* why_not) const {
  std::string why = claim_reason(node, graph, types);
  if (why_not != nullptr) *why_not = why;
  return why.empty();
}

bool OneDnnBackend::is_compute_heavy(const ir::Node& node) const {
  return node.op && onednn::is_compute_heavy(*node.op);
}

Result<std::unique_ptr<Executable>> OneDnnBackend::compile(const Partition& partition) const {
  return compile_partition(partition, state_->engine, state_->threads, state_->choice);
}

}  // namespace edgerun::onednn
