#include "backends/onednn/executable.h"

#include <mutex>
#include <new>

#include "backends/onednn/lowering.h"
#include "backends/reference/kernel.h"

namespace edgerun::onednn {
namespace {

// One node of the partition with its lowered forms, one per set of input shapes seen so far.
struct CompiledNode {
  const ir::Node* node = nullptr;
  std::vector<int> inputs;  // -1 for omitted optional inputs
  std::vector<int> outputs;
  std::vector<int> release;
  std::vector<bool> constant;  // input i is an initializer
  reference::KernelFn fallback = nullptr;

  // Shapes -> lowered node; null means "these shapes run on the reference kernel". Bounded: a
  // node that keeps meeting new shapes (data-dependent ones) rebuilds the oldest entry.
  static constexpr size_t kMaxEntries = 16;
  mutable std::mutex mutex;
  mutable std::vector<std::pair<std::vector<Shape>, std::shared_ptr<const PreparedNode>>> cache;
};

class OneDnnExecutable final : public Executable {
 public:
  explicit OneDnnExecutable(const dnnl::engine& engine) : engine_(engine) {}

  Status add_node(const ir::Node& node, const ir::Graph& graph, const SlotTable& slots,
                  std::vector<int> release) {
    auto n = std::make_unique<CompiledNode>();
    n->node = &node;
    n->fallback = reference::kernel_for(*node.op);
    for (const std::string& in : node.inputs) {
      n->inputs.push_back(in.empty() ? -1 : slots.find(in));
      n->constant.push_back(!in.empty() && graph.initializers.count(in) > 0);
      if (!in.empty() && n->inputs.back() < 0) {
        return internal_error(node.describe() + " input '" + in + "' has no slot");
      }
    }
    for (const std::string& out : node.outputs) {
      n->outputs.push_back(out.empty() ? -1 : slots.find(out));
    }
    n->release = std::move(release);
    nodes_.push_back(std::move(n));
    return Status::ok();
  }

  size_t reference_fallbacks() const {
    size_t count = 0;
    for (const auto& n : nodes_) {
      std::lock_guard<std::mutex> lock(n->mutex);
      for (const auto& entry : n->cache) count += entry.second == nullptr ? 1 : 0;
    }
    return count;
  }

  Status run(ExecutionFrame& frame) const override {
    try {
      dnnl::stream stream(engine_);
      for (const auto& n : nodes_) {
        ER_RETURN_IF_ERROR(run_node(*n, stream, frame).with_context(n->node->describe()));
        for (int slot : n->release) frame.values[static_cast<size_t>(slot)] = Value();
      }
    } catch (const std::bad_alloc&) {
      return Status(StatusCode::kOutOfMemory, "out of memory");
    } catch (const dnnl::error& e) {
      return runtime_error(std::string("oneDNN: ") + e.what());
    } catch (const std::exception& e) {
      return internal_error(std::string("oneDNN backend threw: ") + e.what());
    }
    return Status::ok();
  }

 private:
  Result<std::shared_ptr<const PreparedNode>> lowered(const CompiledNode& n,
                                                      const std::vector<const Tensor*>& in) const {
    std::vector<Shape> key;
    key.reserve(in.size());
    for (const Tensor* t : in) key.push_back(t != nullptr ? t->shape() : Shape{-1});
    {
      std::lock_guard<std::mutex> lock(n.mutex);
      for (const auto& [shapes, prepared] : n.cache) {
        if (shapes == key) return prepared;
      }
    }
    // Build outside the lock; when two threads race, both results are equivalent.
    std::shared_ptr<const PreparedNode> prepared;
    Result<std::shared_ptr<const PreparedNode>> built =
        prepare_node(*n.node, engine_, in, n.constant);
    if (built.is_ok()) {
      prepared = std::move(built).value();
    } else if (built.status().code() != StatusCode::kUnsupported) {
      return built.status();
    }
    std::lock_guard<std::mutex> lock(n.mutex);
    if (n.cache.size() >= CompiledNode::kMaxEntries) n.cache.erase(n.cache.begin());
    n.cache.emplace_back(std::move(key), prepared);
    return prepared;
  }

  Status run_node(const CompiledNode& n, dnnl::stream& stream, ExecutionFrame& frame) const {
    const ir::Node& node = *n.node;
    std::vector<const Value*> values(n.inputs.size(), nullptr);
    std::vector<const Tensor*> tensors(n.inputs.size(), nullptr);
    bool all_tensors = true;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i] < 0) continue;
      const Value& v = frame.values[static_cast<size_t>(n.inputs[i])];
      if (v.empty()) return runtime_error("input '" + node.inputs[i] + "' has no value");
      values[i] = &v;
      if (v.is_tensor())
        tensors[i] = &v.tensor();
      else
        all_tensors = false;
    }
    std::shared_ptr<const PreparedNode> prepared;
    if (all_tensors) {
      ER_ASSIGN_OR_RETURN(prepared, lowered(n, tensors));
    }
    if (prepared != nullptr) {
      std::vector<Tensor> outputs(n.outputs.size());
      ER_RETURN_IF_ERROR(prepared->execute(stream, tensors, outputs));
      for (size_t i = 0; i < n.outputs.size(); ++i) {
        if (n.outputs[i] >= 0 && outputs[i].defined()) {
          frame.values[static_cast<size_t>(n.outputs[i])] = Value(std::move(outputs[i]));
        }
      }
      return Status::ok();
    }
    // Shapes oneDNN cannot take (or a malformed input the reference will name): the reference
    // kernel runs this node, so the result is the same as on the reference backend.
    std::vector<Value> outputs(n.outputs.size());
    reference::KernelContext ctx(node, values, outputs, nullptr);
    ER_RETURN_IF_ERROR(n.fallback(ctx));
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      if (n.outputs[i] >= 0 && !outputs[i].empty()) {
        frame.values[static_cast<size_t>(n.outputs[i])] = std::move(outputs[i]);
      }
    }
    return Status::ok();
  }

  dnnl::engine engine_;
  std::vector<std::unique_ptr<CompiledNode>> nodes_;
};

}  // namespace

Result<std::unique_ptr<Executable>> compile_partition(const Partition& partition,
                                                      const dnnl::engine& engine) {
  auto executable = std::make_unique<OneDnnExecutable>(engine);
  for (size_t i = 0; i < partition.nodes.size(); ++i) {
    const ir::Node& node = partition.graph->nodes[partition.nodes[i]];
    if (!node.op) return internal_error(node.describe() + " is not a known op");
    std::vector<int> release;
    if (i < partition.release_after.size()) release = partition.release_after[i];
    ER_RETURN_IF_ERROR(
        executable->add_node(node, *partition.graph, *partition.slots, std::move(release)));
  }
  return std::unique_ptr<Executable>(std::move(executable));
}

size_t reference_fallbacks(const Executable& executable) {
  const auto* onednn = dynamic_cast<const OneDnnExecutable*>(&executable);
  return onednn == nullptr ? 0 : onednn->reference_fallbacks();
}

}  // namespace edgerun::onednn
