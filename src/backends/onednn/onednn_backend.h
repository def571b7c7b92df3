// The oneDNN backend: runs the float32 nodes oneDNN (Debian libdnnl-dev, 2.x) can run exactly
// per ONNX semantics — convolutions (plain and transposed), matrix products, pooling, inference
// batch and layer normalisation, softmax, concatenation, elementwise activations and
// broadcasting arithmetic — on the CPU, and claims shape-only ops (Reshape, Flatten, ...) as
// views so they do not split its partitions (claim.h). Within a partition, a Conv/Gemm/MatMul
// followed by activations and residual Adds whose intermediates nothing else reads runs as one
// primitive with oneDNN post-ops, and values stay in oneDNN's blocked layouts between its nodes
// (see executable.h); every fused node is still placed on this backend.
#pragma once

#include "backends/backend.h"
#include "backends/onednn/thread_choice.h"

namespace edgerun::onednn {

class OneDnnBackend final : public Backend {
 public:
  // `threads`: OpenMP threads for this backend's kernels; 0 leaves the calling thread's OpenMP
  // setting (OMP_NUM_THREADS, or one per logical CPU) in force. `choice`: how prepare picks the
  // nodes that run on one thread (ThreadChoice; the engine measures).
  explicit OneDnnBackend(int threads = 0, ThreadChoice choice = ThreadChoice::kBySize);
  ~OneDnnBackend() override;

  std::string_view name() const override { return "onednn"; }
  bool supports(const ir::Node& node, const ir::Graph& graph, const ValueTypes& types,
                std::string* why_not) const override;
  bool is_compute_heavy(const ir::Node& node) const override;
  Result<std::unique_ptr<Executable>> compile(const Partition& partition) const override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace edgerun::onednn
