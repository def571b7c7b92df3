#include "backends/onednn/executable.h"

#include <algorithm>
#include <mutex>
#include <new>
#include <set>
#include <unordered_map>

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

  // A fused chain: `node` with `post` fused after it. `inputs` are then flat (see
  // prepare_fused), `outputs` the last link's, and `members` the chain's nodes on their own,
  // which run one by one when these shapes cannot be fused.
  std::vector<PostOpNode> post;
  std::vector<std::unique_ptr<CompiledNode>> members;
  std::vector<size_t> graph_nodes;  // the graph's indices of the nodes this entry runs

  // Shapes -> lowered node; null means "these shapes run on the reference kernel". Bounded: a
  // node that keeps meeting new shapes (data-dependent ones) rebuilds the oldest entry.
  static constexpr size_t kMaxEntries = 16;
  mutable std::mutex mutex;
  mutable std::vector<std::pair<std::vector<Shape>, std::shared_ptr<const PreparedNode>>> cache;
};

// Every value a node reads, its subgraphs' outer references included.
void add_reads(const ir::Node& node, std::unordered_map<std::string, size_t>& readers) {
  for (const std::string& in : node.inputs) {
    if (!in.empty()) ++readers[in];
  }
  for (const ir::Attribute& a : node.attributes) {
    if (a.g) {
      for (const std::string& r : a.g->outer_references()) ++readers[r];
    }
    for (const auto& g : a.graphs) {
      for (const std::string& r : g->outer_references()) ++readers[r];
    }
  }
}

// The partition's nodes grouped into units in execution order: a Conv/Gemm/MatMul with the
// activations and Adds fused after it, or a node on its own. A link joins a chain only when
// the chain's value so far is read by that link alone (once) in the whole graph, is not a
// graph output, and the link is in this partition.
std::vector<std::vector<size_t>> fusion_units(const Partition& partition) {
  const ir::Graph& graph = *partition.graph;
  std::unordered_map<std::string, size_t> readers;  // value -> number of reads, graph-wide
  for (const ir::Node& node : graph.nodes) add_reads(node, readers);
  std::set<std::string> graph_outputs;
  for (const ir::ValueInfo& out : graph.outputs) graph_outputs.insert(out.name);
  std::unordered_map<std::string, size_t> reader_in_partition;  // value -> partition position
  for (size_t p = 0; p < partition.nodes.size(); ++p) {
    for (const std::string& in : graph.nodes[partition.nodes[p]].inputs) {
      if (!in.empty()) reader_in_partition[in] = p;
    }
  }
  constexpr size_t kMaxLinks = 8;
  std::vector<char> taken(partition.nodes.size(), 0);
  std::vector<std::vector<size_t>> chain_ending_at(partition.nodes.size());
  for (size_t p = 0; p < partition.nodes.size(); ++p) {
    const ir::Node& base = graph.nodes[partition.nodes[p]];
    if (taken[p] || !can_take_post_ops(*base.op)) continue;
    std::vector<size_t> chain = {p};
    while (chain.size() <= kMaxLinks) {
      const ir::Node& last = graph.nodes[partition.nodes[chain.back()]];
      if (last.outputs.empty() || last.outputs[0].empty()) break;
      bool other_outputs = false;
      for (size_t o = 1; o < last.outputs.size(); ++o) other_outputs |= !last.outputs[o].empty();
      if (other_outputs) break;
      const std::string& value = last.outputs[0];
      if (graph_outputs.count(value) > 0) break;
      auto count = readers.find(value);
      if (count == readers.end() || count->second != 1) break;
      auto reader = reader_in_partition.find(value);
      if (reader == reader_in_partition.end() || reader->second <= chain.back() ||
          taken[reader->second]) {
        break;
      }
      const ir::Node& next = graph.nodes[partition.nodes[reader->second]];
      const auto at = std::find(next.inputs.begin(), next.inputs.end(), value);
      if (!can_be_post_op(next, static_cast<size_t>(at - next.inputs.begin()))) break;
      chain.push_back(reader->second);
    }
    if (chain.size() < 2) continue;
    for (size_t q : chain) taken[q] = 1;
    std::vector<size_t> nodes;
    for (size_t q : chain) nodes.push_back(partition.nodes[q]);
    chain_ending_at[chain.back()] = std::move(nodes);
  }
  std::vector<std::vector<size_t>> units;
  for (size_t p = 0; p < partition.nodes.size(); ++p) {
    if (!chain_ending_at[p].empty()) {
      units.push_back(std::move(chain_ending_at[p]));
    } else if (!taken[p]) {
      units.push_back({partition.nodes[p]});
    }
  }
  return units;
}

class OneDnnExecutable final : public Executable {
 public:
  explicit OneDnnExecutable(const dnnl::engine& engine) : engine_(engine) {}

  static Result<std::unique_ptr<CompiledNode>> make_node(const ir::Node& node,
                                                          const ir::Graph& graph,
                                                          const SlotTable& slots,
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
    return n;
  }

  // `chain` lists graph node indices: a base and the links fused after it.
  Status add_chain(const std::vector<size_t>& chain, const ir::Graph& graph,
                   const SlotTable& slots, std::vector<int> release) {
    if (chain.size() == 1) {
      ER_ASSIGN_OR_RETURN(auto n,
                          make_node(graph.nodes[chain[0]], graph, slots, std::move(release)));
      n->graph_nodes = chain;
      nodes_.push_back(std::move(n));
      return Status::ok();
    }
    ER_ASSIGN_OR_RETURN(auto n, make_node(graph.nodes[chain[0]], graph, slots, {}));
    n->graph_nodes = chain;
    std::vector<int> own_outputs = n->outputs;
    for (size_t k = 0; k < chain.size(); ++k) {
      const ir::Node& member = graph.nodes[chain[k]];
      ER_ASSIGN_OR_RETURN(auto m, make_node(member, graph, slots, {}));
      if (k > 0) {
        const std::string& previous = graph.nodes[chain[k - 1]].outputs[0];
        PostOpNode link;
        link.node = &member;
        link.first_input = n->inputs.size();
        for (size_t i = 0; i < member.inputs.size(); ++i) {
          if (member.inputs[i] == previous) {
            link.chain_input = i;
            continue;
          }
          n->inputs.push_back(m->inputs[i]);
          n->constant.push_back(m->constant[i]);
        }
        n->post.push_back(link);
        own_outputs = m->outputs;
      }
      n->members.push_back(std::move(m));
    }
    n->outputs = std::move(own_outputs);
    n->release = std::move(release);
    nodes_.push_back(std::move(n));
    return Status::ok();
  }

  std::vector<std::vector<size_t>> fused_chains() const {
    std::vector<std::vector<size_t>> chains;
    for (const auto& n : nodes_) {
      if (!n->post.empty()) chains.push_back(n->graph_nodes);
    }
    return chains;
  }

  size_t reference_fallbacks() const {
    size_t count = 0;
    for (const auto& n : nodes_) count += fallbacks_of(*n);
    return count;
  }

  size_t unfused_runs() const {
    size_t count = 0;
    for (const auto& n : nodes_) {
      if (n->post.empty()) continue;
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
  static size_t fallbacks_of(const CompiledNode& n) {
    size_t count = 0;
    if (!n.post.empty()) {
      for (const auto& m : n.members) count += fallbacks_of(*m);
      return count;
    }
    std::lock_guard<std::mutex> lock(n.mutex);
    for (const auto& entry : n.cache) count += entry.second == nullptr ? 1 : 0;
    return count;
  }

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
        n.post.empty() ? prepare_node(*n.node, engine_, in, n.constant)
                       : prepare_fused(*n.node, n.post, engine_, in, n.constant);
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
    if (prepared == nullptr && !n.post.empty()) {
      // These shapes do not fuse: the chain's nodes run one by one, writing the intermediates
      // (released with the chain's own releases, since nothing else reads them).
      for (const auto& m : n.members) {
        ER_RETURN_IF_ERROR(run_node(*m, stream, frame).with_context(m->node->describe()));
      }
      return Status::ok();
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
  const ir::Graph& graph = *partition.graph;
  for (size_t i : partition.nodes) {
    if (!graph.nodes[i].op) return internal_error(graph.nodes[i].describe() + " is not a known op");
  }
  // Chains run as one unit at the position of their last link (the other operand of a fused
  // Add may be computed after the base), in partition order otherwise.
  const std::vector<std::vector<size_t>> units = fusion_units(partition);
  // Releases follow the units: a slot is dropped after the last unit that reads it, or after
  // the unit whose node dropped it before, whichever is later.
  std::unordered_map<size_t, size_t> position;  // partition position of each graph node
  for (size_t p = 0; p < partition.nodes.size(); ++p) position[partition.nodes[p]] = p;
  std::unordered_map<int, size_t> last_unit;
  for (size_t u = 0; u < units.size(); ++u) {
    for (size_t g : units[u]) {
      for (const std::string& in : graph.nodes[g].inputs) {
        const int slot = in.empty() ? -1 : partition.slots->find(in);
        if (slot >= 0) last_unit[slot] = u;
      }
    }
  }
  std::vector<std::vector<int>> releases(units.size());
  for (size_t u = 0; u < units.size(); ++u) {
    for (size_t g : units[u]) {
      const size_t p = position[g];
      if (p >= partition.release_after.size()) continue;
      for (int slot : partition.release_after[p]) {
        auto it = last_unit.find(slot);
        releases[it == last_unit.end() ? u : std::max(u, it->second)].push_back(slot);
      }
    }
  }
  for (size_t u = 0; u < units.size(); ++u) {
    ER_RETURN_IF_ERROR(
        executable->add_chain(units[u], graph, *partition.slots, std::move(releases[u])));
  }
  return std::unique_ptr<Executable>(std::move(executable));
}

std::vector<std::vector<size_t>> fused_chains(const Executable& executable) {
  const auto* onednn = dynamic_cast<const OneDnnExecutable*>(&executable);
  return onednn == nullptr ? std::vector<std::vector<size_t>>{} : onednn->fused_chains();
}

size_t unfused_runs(const Executable& executable) {
  const auto* onednn = dynamic_cast<const OneDnnExecutable*>(&executable);
  return onednn == nullptr ? 0 : onednn->unfused_runs();
}

size_t reference_fallbacks(const Executable& executable) {
  const auto* onednn = dynamic_cast<const OneDnnExecutable*>(&executable);
  return onednn == nullptr ? 0 : onednn->reference_fallbacks();
}

}  // namespace edgerun::onednn
