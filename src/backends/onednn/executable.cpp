#include "backends/onednn/executable.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <new>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>

#include <omp.h>

#include "backends/onednn/claim.h"
#include "backends/onednn/lower_ops.h"
#include "backends/onednn/sliced_node.h"
#include "backends/onednn/team.h"
#include "backends/onednn/thread_choice.h"
#include "backends/onednn/vector_kernels.h"
#include "backends/reference/kernel.h"
#include "backends/reference/shape_util.h"
#include "core/small_array.h"
#include "memory/reloadable_copies.h"
#include "runtime/core_budget.h"
#include "runtime/flops.h"
#include "runtime/profiler.h"

namespace edgerun::onednn {
namespace {

// One node of the partition with its lowered forms, one per list of input descriptions (shapes
// and arrival layouts) seen so far.
struct CompiledNode {
  const ir::Node* node = nullptr;
  size_t index = 0;  // of `node` in the graph
  size_t id = 0;  // index of its entry in a MemoryCache
  std::vector<int> inputs;  // -1 for omitted optional inputs
  std::vector<int> outputs;
  std::vector<int> release;
  std::vector<const Tensor*> constants;  // per input: the initializer's value, or null
  reference::KernelFn fallback = nullptr;
  bool view = false;               // a shape-only op, run by its (zero-copy) reference kernel
  // A view whose result may keep its input's strided layout (lower::reshaped_layout): every
  // node that reads it in the partition reads any strided layout as cheaply as plain data (a
  // Transpose, or another such view), so the conversion to plain is left out.
  bool relayout = false;
  // What prepare found such a view to read and give (prepare_ahead), so a run compares
  // descriptors instead of working the layout out again: the input's layout and shape, and
  // the result's.
  struct Relayout {
    dnnl::memory::desc from;
    Shape from_shape;
    dnnl::memory::desc to;
    Shape to_shape;
  };
  std::optional<Relayout> relayout_ahead;
  bool blocked_output_ok = false;  // every output is read only inside the partition

  // A fused chain: `node` with `post` fused after it. `inputs` are then flat (see
  // prepare_fused), `outputs` the last link's, and `members` the chain's nodes on their own,
  // which run one by one when these shapes cannot be fused.
  std::vector<PostOpNode> post;
  std::vector<std::unique_ptr<CompiledNode>> members;
  // What prepare_ahead lowered for the inputs it foresaw: a run whose inputs match takes it
  // without building a key or locking the cache.
  std::shared_ptr<const PreparedNode> ahead;
  std::vector<NodeInput> ahead_key;
  // OpenMP threads for this node: 0 runs it with the executable's threads, 1 on the calling
  // thread alone (work too small to pay for waking other threads; see single_thread_work).
  int threads = 0;
  bool timed = false;  // prepare timed it at 1 and at T threads (ThreadChoice::kMeasured)
  // > 1: a convolution split into this many one-thread slices that the run's Team shares
  // (ThreadChoice::kTeam).
  int slices = 0;
  std::vector<size_t> graph_nodes;  // the graph's indices of the nodes this entry runs
  // Prepare let go of a constant this node packed (memory/reloadable_copies.h): its reference
  // kernel must make it resident before reading it.
  bool released_constants = false;

  // Inputs -> lowered node; null means "these inputs run on the reference kernel". Bounded: a
  // node that keeps meeting new shapes (data-dependent ones) rebuilds the oldest entry.
  static constexpr size_t kMaxEntries = 16;
  mutable std::mutex mutex;
  mutable std::vector<std::pair<std::vector<NodeInput>, std::shared_ptr<const PreparedNode>>>
      cache;
};

// Sets the calling thread's OpenMP thread count for a scope (when `threads` > 0).
class ThreadCountScope {
 public:
  explicit ThreadCountScope(int threads) : previous_(threads > 0 ? omp_get_max_threads() : 0) {
    if (threads > 0 && threads != previous_) omp_set_num_threads(threads);
  }
  ~ThreadCountScope() {
    if (previous_ > 0) omp_set_num_threads(previous_);
  }
  ThreadCountScope(const ThreadCountScope&) = delete;
  ThreadCountScope& operator=(const ThreadCountScope&) = delete;

 private:
  int previous_;
};

// The FLOPs of `node` (runtime/flops.h) when every shape it reads and writes is known.
std::optional<double> known_flops(const ir::Node& node, const ValueTypes& types) {
  std::vector<Shape> inputs, outputs;
  for (const std::string& name : node.inputs) {
    const Shape* shape = name.empty() ? nullptr : types.shape(name);
    if (!name.empty() && shape == nullptr) return std::nullopt;
    inputs.push_back(shape != nullptr ? *shape : Shape{});
  }
  for (const std::string& name : node.outputs) {
    const Shape* shape = name.empty() ? nullptr : types.shape(name);
    if (!name.empty() && shape == nullptr) return std::nullopt;
    outputs.push_back(shape != nullptr ? *shape : Shape{});
  }
  return node_flops(node, inputs, outputs);
}

// Whether a node does too little work to be worth splitting over threads. Waking an OpenMP
// team (passive waiting) and joining it costs some 25-110 us on a VM, as much as a few MFLOP of
// convolution or matrix product take on one core; tiny models (an intent MLP, the late layers
// of a mobile CNN) ran slower on two threads than on one. Memory-bound ops (elementwise,
// pooling, normalisation) gain at most half their one-thread time, so below some 512K elements
// (~100-250 us on one core) the wake-up eats the gain: EfficientNet-B0's squeeze-excitation
// Muls ran slower on two threads.
// A node of unknown shapes is assumed big.
bool single_thread_work(const ir::Node& node, const ValueTypes& types) {
  constexpr double kMinParallelMatrixFlops = 4e6;
  constexpr double kMinParallelElements = 524288;
  const std::optional<double> flops = known_flops(node, types);
  return flops &&
         *flops < (is_compute_heavy(*node.op) ? kMinParallelMatrixFlops : kMinParallelElements);
}

// Whether a Gemm or MatMul multiplies at most a few rows by a B of 4 MiB or more: work bound by
// reading B from memory.
bool streams_large_operand(const ir::Node& node, const ValueTypes& types) {
  constexpr int64_t kMaxRows = 16, kLargeElements = int64_t{1} << 20;
  if ((*node.op != ir::Op::Gemm && *node.op != ir::Op::MatMul) || node.inputs.size() < 2) {
    return false;
  }
  const Shape* a = types.shape(node.inputs[0]);
  const Shape* b = types.shape(node.inputs[1]);
  if (a == nullptr || b == nullptr || a->size() < 2 || b->size() != 2) return false;
  // A's rows: all but its last dim, or its last for a transposed Gemm A ([K, M]).
  const bool trans_a = *node.op == ir::Op::Gemm && node.attr_int("transA", 0) != 0;
  const int64_t rows = trans_a ? a->back() : reference::dims_product(*a, 0, a->size() - 1);
  return rows <= kMaxRows && (*b)[0] * (*b)[1] >= kLargeElements;
}

// Whether a node that the size rule would split is small enough that the split may not pay
// (so prepare times it both ways). Above this (some 1-2 ms on one core) the wake-up is noise
// next to the work, and timing such nodes would make prepare slow for little.
// Only single-primitive products are timed: their arguments are whole buffers of the layouts
// they declare, so scratch memory of those layouts is all they touch. Nodes that read at offsets
// of their own (attention heads, slices of a larger tensor) are left to the size rule.
// A product of a few rows with a large B (a classifier's head) is not timed either: it streams
// B, which in a model run comes from memory, where two threads fetch more than one, while timing
// reruns it with B in the cache. ResNet-50's 2048 x 1000 head timed no faster on two threads and
// ran on one (0.31 ms, ORT 0.20 on two); kept on two, the model took 0.3 ms less.
bool worth_timing(const ir::Node& node, const ValueTypes& types) {
  switch (*node.op) {
    case ir::Op::Conv:
    case ir::Op::Gemm:
    case ir::Op::MatMul: break;
    default: return false;
  }
  if (streams_large_operand(node, types)) return false;
  constexpr double kMaxTimedFlops = 60e6;
  const std::optional<double> flops = known_flops(node, types);
  return flops && *flops < kMaxTimedFlops;
}

// Whether the team would split `node` (see SlicedNode): a 2-D convolution of batch 1, dense or
// depthwise, or a one-row Gemm, with constant weights and enough work that halving it gains
// more than handing out the halves costs (about a microsecond: on mobilenet_v3_small at 2
// threads, a threshold of 0.3 MFLOP was faster than 1 or 3, and 0.1 no faster); or a binary op
// (a squeeze-excitation's scaling) or a 2-D pooling (a CNN's stem) with a 4-D result of batch 1
// of enough elements. Lowering may still refuse a split (layouts that do not slice, a slower
// kernel for the narrower shape); that node then runs on one thread.
bool team_splits(const ir::Node& node, const ValueTypes& types, bool constant_weights) {
  constexpr double kMinSplitFlops = 3e5;
  constexpr int64_t kMinSplitElements = 32768;
  const Shape* x = node.inputs.empty() ? nullptr : types.shape(node.inputs[0]);
  const Shape* w = node.inputs.size() < 2 ? nullptr : types.shape(node.inputs[1]);
  const Shape* y = node.outputs.empty() ? nullptr : types.shape(node.outputs[0]);
  switch (*node.op) {
    case ir::Op::Add:
    case ir::Op::Sub:
    case ir::Op::Mul:
    case ir::Op::Div:
    case ir::Op::MaxPool:
    case ir::Op::AveragePool: {
      if (y == nullptr || y->size() != 4 || (*y)[0] != 1) return false;
      return reference::dims_product(*y, 0, y->size()) >= kMinSplitElements;
    }
    default: break;
  }
  if (x == nullptr || w == nullptr) return false;
  switch (*node.op) {
    case ir::Op::Conv: {
      if (!constant_weights || x->size() != 4 || w->size() != 4 || (*x)[0] != 1) return false;
      const int64_t group = node.attr_int("group", 1);
      const bool depthwise = group == (*x)[1] && (*w)[0] == group && (*w)[1] == 1;
      if (group != 1 && !depthwise) return false;
      break;
    }
    case ir::Op::Gemm: {
      // One row (a classifier's): the split result is dense only then.
      const bool trans_a = node.attr_int("transA", 0) != 0;
      if (!constant_weights || x->size() != 2 || (*x)[trans_a ? 1 : 0] != 1) return false;
      break;
    }
    default: return false;
  }
  const std::optional<double> flops = known_flops(node, types);
  return flops && *flops >= kMinSplitFlops;
}

// Zero-filled memory for every argument of `node`: what timing it needs, and nothing a run
// would see.
struct ScratchArguments {
  std::vector<dnnl::memory> inputs;
  std::vector<dnnl::memory> outputs;

  ScratchArguments(const PreparedNode& node, const dnnl::engine& engine) {
    auto zeroed = [&engine](const dnnl::memory::desc& desc) {
      dnnl::memory m(desc, engine);
      std::memset(m.get_data_handle(), 0, desc.get_size());
      return m;
    };
    for (const InputLayout& in : node.inputs) {
      inputs.push_back(in.used ? zeroed(in.want) : dnnl::memory());
    }
    for (const OutputLayout& out : node.outputs) outputs.push_back(zeroed(out.desc));
  }
};

// One profile event for a unit of the partition: a fused chain counts once, named after all
// its nodes.
void record_unit(Profile& profile, double start_us, const CompiledNode& n) {
  std::vector<const ir::Node*> nodes;
  for (const auto& member : n.members) nodes.push_back(member->node);
  if (nodes.empty()) nodes.push_back(n.node);
  record_nodes(profile, start_us, nodes);
}

// A value held in a blocked layout inside the partition during one run.
struct BlockedValue {
  dnnl::memory memory;
  // The lowered node's output shape (or the view's), which outlive the run: the run's
  // MemoryCache holds every node it lowered. A pointer, so that a run copies no shapes.
  const Shape* shape = nullptr;
  // The memory a view's value reads (`memory` then only points into it), held so its bytes
  // stay while the view is read even where its own slot is released first.
  dnnl::memory owner;
};

// The dnnl::memory objects of one run, kept for a later one: a run points them at its own
// tensors (set_data_handle) instead of creating them. One cache per run in flight, pooled like
// arenas; an entry is rebuilt when its node was lowered anew (new shapes).
// An input converted into the layout a primitive reads: the memory written and the reorder
// that writes it, kept between runs for the layout it came from.
struct Conversion {
  dnnl::memory::desc from;
  dnnl::reorder reorder;
  dnnl::memory to;
  // 3-channel images to channels last: our own kernel instead of `reorder`, over this many
  // images of this many pixels (0 images: not such a conversion).
  size_t rgb_images = 0, rgb_pixels = 0;
  // An input whose layout puts every element where the wanted one does (lower::same_bytes):
  // its memory read under the wanted descriptor, nothing converted.
  dnnl::memory alias;
};

// Whether converting `from` into `to` turns 3-channel images from channels-first to channels
// last (a CNN's input), which rgb_to_channels_last does faster than oneDNN's reorder.
bool is_rgb_to_channels_last(const dnnl::memory::desc& from, const dnnl::memory::desc& to) {
  const dnnl::memory::dims d = from.dims();
  return d.size() == 4 && d[1] == 3 && lower::is_plain(from) &&
         to == dnnl::memory::desc(d, dnnl::memory::data_type::f32,
                                  dnnl::memory::format_tag::nhwc);
}

struct MemoryCache {
  struct Entry {
    std::shared_ptr<const PreparedNode> prepared;  // held, so its address cannot be reused
    std::vector<dnnl::memory> inputs;               // plain views of inputs, by input
    std::vector<Conversion> converted;              // by input
    std::vector<dnnl::memory> outputs;              // by output, over planned or plain storage
    std::vector<char> plain_outputs;                // by output: whether its layout is plain
  };
  std::vector<Entry> entries;  // by CompiledNode::id
  // RunState::blocked, empty between runs; kept for its capacity.
  std::vector<std::optional<BlockedValue>> blocked;
};

// The state of one run of the partition: the frame and the values only oneDNN reads, in the
// layouts oneDNN wrote them.
struct RunState {
  ExecutionFrame& frame;
  dnnl::stream& stream;
  std::vector<std::optional<BlockedValue>>& blocked;  // by slot
  MemoryCache* cache = nullptr;
};

// Points `cached` (created on first use) at `data`, for memory of layout `desc`.
dnnl::memory& point(dnnl::memory& cached, const dnnl::memory::desc& desc,
                    const dnnl::engine& engine, void* data) {
  if (!cached) {
    cached = dnnl::memory(desc, engine, data);
  } else {
    cached.set_data_handle(data);
  }
  return cached;
}

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
//
// A 1x1 convolution (or a CNN's first one over an image) also takes a depthwise convolution
// after its activations (can_be_depthwise_post_op), then activations only, where edgerun's own
// kernel (own_expand_depthwise_takes) or oneDNN's depthwise post-op (onednn_depthwise_takes)
// runs the chain; else the chain ends before the depthwise convolution.
std::vector<std::vector<size_t>> fusion_units(const Partition& partition, int threads) {
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
    size_t depthwise = 0;  // the chain position of a depthwise convolution among the links
    bool added = false;    // whether an Add is
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
      const bool add = next.op && *next.op == ir::Op::Add;
      bool joins = can_be_post_op(next, static_cast<size_t>(at - next.inputs.begin())) &&
                   !(depthwise > 0 && add);
      if (!joins && depthwise == 0 && !added && at == next.inputs.begin() &&
          partition.types != nullptr &&
          can_be_depthwise_post_op(base, next, graph, *partition.types)) {
        joins = true;
        depthwise = chain.size();
      }
      if (!joins) break;
      added |= add;
      chain.push_back(reader->second);
    }
    if (depthwise > 0) {
      std::vector<const ir::Node*> links;
      for (size_t q = 1; q < chain.size(); ++q) {
        links.push_back(&graph.nodes[partition.nodes[chain[q]]]);
      }
      const ir::Node& conv = graph.nodes[partition.nodes[chain[depthwise]]];
      const Shape* expanded = partition.types->shape(base.outputs[0]);
      const Shape* weights = partition.types->shape(conv.inputs[1]);
      const Shape* base_weights = partition.types->shape(base.inputs[1]);
      if (expanded == nullptr || weights == nullptr || base_weights == nullptr ||
          (!own_expand_depthwise_takes(links, *expanded) &&
           !onednn_depthwise_takes(links, *expanded, (*base_weights)[2], (*weights)[2],
                                   threads))) {
        chain.resize(depthwise);
      }
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

// Per slot, whether its value must be a plain tensor in the frame: everything except values
// this partition produces that only its own nodes read (no other node, no subgraph, not a graph
// output). Only those may stay in a blocked layout.
std::vector<char> exported_slots(const Partition& partition) {
  const ir::Graph& graph = *partition.graph;
  std::unordered_map<std::string, size_t> readers;  // value -> number of reads, graph-wide
  for (const ir::Node& node : graph.nodes) add_reads(node, readers);
  std::unordered_map<std::string, size_t> reads_here;
  for (size_t g : partition.nodes) {
    for (const std::string& in : graph.nodes[g].inputs) {
      if (!in.empty()) ++reads_here[in];
    }
  }
  std::set<std::string> graph_outputs;
  for (const ir::ValueInfo& out : graph.outputs) graph_outputs.insert(out.name);
  std::vector<char> exported(partition.slots->size(), 1);
  for (size_t g : partition.nodes) {
    for (const std::string& out : graph.nodes[g].outputs) {
      const int slot = out.empty() ? -1 : partition.slots->find(out);
      if (slot < 0 || graph_outputs.count(out) > 0) continue;
      auto total = readers.find(out);
      const size_t count = total == readers.end() ? 0 : total->second;
      // A value nobody reads stays exported: whoever looks at the frame afterwards gets it.
      exported[static_cast<size_t>(slot)] = count > 0 && count == reads_here[out] ? 0 : 1;
    }
  }
  return exported;
}

class OneDnnExecutable final : public Executable {
 public:
  OneDnnExecutable(const dnnl::engine& engine, std::vector<char> exported,
                   const ValueTypes* types, int threads, ThreadChoice choice)
      : engine_(engine),
        exported_(std::move(exported)),
        types_(types),
        threads_(threads),
        choice_(choice) {}

  // The value of `name` when it is fixed for this specialisation: an initializer, or a value
  // shape inference computed (both outlive the executable); null otherwise.
  const Tensor* constant_value(const ir::Graph& graph, const std::string& name) const {
    auto init = graph.initializers.find(name);
    if (init != graph.initializers.end()) return &init->second;
    return types_ != nullptr ? types_->value(name) : nullptr;
  }

  Result<std::unique_ptr<CompiledNode>> make_node(const ir::Node& node, const ir::Graph& graph,
                                                  const SlotTable& slots,
                                                  std::vector<int> release) {
    auto n = std::make_unique<CompiledNode>();
    n->id = node_count_++;
    n->node = &node;
    n->index = static_cast<size_t>(&node - graph.nodes.data());
    n->fallback = reference::kernel_for(*node.op);
    n->view = is_view_op(*node.op);
    for (const std::string& in : node.inputs) {
      n->inputs.push_back(in.empty() ? -1 : slots.find(in));
      n->constants.push_back(in.empty() ? nullptr : constant_value(graph, in));
      if (!in.empty() && n->inputs.back() < 0) {
        return internal_error(node.describe() + " input '" + in + "' has no slot");
      }
    }
    for (const std::string& out : node.outputs) {
      n->outputs.push_back(out.empty() ? -1 : slots.find(out));
    }
    n->blocked_output_ok = true;
    for (int slot : n->outputs) n->blocked_output_ok &= slot < 0 || !exported(slot);
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
      runs_at_[chain[0]] = chain[0];
      nodes_.push_back(std::move(n));
      return Status::ok();
    }
    for (size_t g : chain) {
      runs_at_[g] = chain.back();
      fused_.insert(g);
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
          n->constants.push_back(m->constants[i]);
        }
        n->post.push_back(link);
        own_outputs = m->outputs;
        n->blocked_output_ok = m->blocked_output_ok;
      }
      n->members.push_back(std::move(m));
    }
    n->outputs = std::move(own_outputs);
    n->release = std::move(release);
    nodes_.push_back(std::move(n));
    return Status::ok();
  }

  // Marks the views whose results may keep a strided layout (CompiledNode::relayout), last
  // first, so a view read by another view knows whether that one does.
  void mark_relayout_views() {
    std::unordered_map<int, std::vector<const CompiledNode*>> readers;
    for (const auto& n : nodes_) {
      for (int slot : n->inputs) {
        if (slot >= 0) readers[slot].push_back(n.get());
      }
    }
    for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {
      CompiledNode& n = **it;
      if (!n.view || n.inputs.empty() || n.inputs[0] < 0 || n.outputs.size() != 1 ||
          n.outputs[0] < 0 || exported(n.outputs[0])) {
        continue;
      }
      const int slot = n.outputs[0];
      const auto found = readers.find(slot);
      if (found == readers.end()) continue;
      n.relayout = std::all_of(found->second.begin(), found->second.end(), [&](const auto* r) {
        const bool transpose = r->post.empty() && *r->node->op == ir::Op::Transpose;
        const bool view = r->relayout && r->inputs[0] == slot &&
                          std::count(r->inputs.begin(), r->inputs.end(), slot) == 1;
        return transpose || view;
      });
    }
  }

  // Builds every node's primitives now, for the shapes `types` knows, following the layouts
  // the nodes before it will write; constant weights are reordered here, once. Nodes whose
  // input shapes are not known are built on their first run instead.
  Status prepare_ahead(const SlotTable& slots, const ValueTypes& types) {
    std::vector<std::optional<NodeInput>> known(slots.size());  // by slot, as a run would see it
    for (size_t slot = 0; slot < slots.size(); ++slot) {
      const std::string& name = slots.name(static_cast<int>(slot));
      const Shape* shape = types.shape(name);
      if (shape == nullptr || types.dtype(name) == DType::kUndefined) continue;
      NodeInput in;
      in.present = true;
      in.dtype = types.dtype(name);
      in.shape = *shape;
      known[slot] = in;
    }
    // A team serves a partition whose work is mostly in nodes it splits (a CNN). Where other
    // nodes do the work (the products of a transformer), oneDNN's own threads serve them better
    // than one thread each beside a team. Large convolutions gain from the team too: ResNet-50
    // at two threads ran 4-6 % faster on it than on oneDNN's threads, which under passive
    // waiting are woken at each of its 57 nodes (some 30 us each on a VM), once the weight-heavy
    // late layers were split by output channels (slice_channels_last in lower_conv.cpp).
    constexpr double kMinShare = 0.8;
    team_ = choice_ == ThreadChoice::kTeam && team_threads() > 1 &&
            split_share(types, [&](const CompiledNode& n) {
              return team_splits(*n.node, types,
                                 n.constants.size() > 1 && n.constants[1] != nullptr);
            }) >= kMinShare;
    for (const auto& n : nodes_) ER_RETURN_IF_ERROR(prepare_ahead(*n, known));
    auto is_split = [](const CompiledNode& n) { return n.slices > 1; };
    if (team_ && split_share(types, is_split) < kMinShare) {
      // Lowering refused too many splits (layouts or kernels that do not slice): without the
      // team those nodes may use oneDNN's threads. Lowered again, at some cost to prepare.
      team_ = false;
      slot_bytes_.clear();
      accumulates_.clear();
      for (const auto& n : nodes_) forget_lowering(*n);
      for (const auto& n : nodes_) ER_RETURN_IF_ERROR(prepare_ahead(*n, known));
    }
    single_thread_ = !team_ && std::all_of(nodes_.begin(), nodes_.end(), [](const auto& n) {
      return n->threads == 1 || n->view;
    });
    return Status::ok();
  }

  // The share of the partition's known FLOPs (runtime/flops.h) in units that `split` holds for.
  template <typename Split>
  double split_share(const ValueTypes& types, Split split) const {
    double in_split = 0, total = 0;
    for (const auto& n : nodes_) {
      std::vector<const ir::Node*> members;
      for (const auto& m : n->members) members.push_back(m->node);
      if (members.empty()) members.push_back(n->node);
      for (const ir::Node* node : members) total += known_flops(*node, types).value_or(0);
      if (split(*n)) in_split += known_flops(*n->node, types).value_or(0);
    }
    return total > 0 ? in_split / total : 0;
  }

  // Drops what prepare_ahead decided and lowered for `n` (and its chain's members).
  static void forget_lowering(CompiledNode& n) {
    n.threads = 0;
    n.slices = 0;
    n.timed = false;
    n.ahead.reset();
    n.ahead_key.clear();
    {
      std::lock_guard<std::mutex> lock(n.mutex);
      n.cache.clear();
    }
    for (const auto& m : n.members) forget_lowering(*m);
  }

  size_t team_split_nodes() const {
    return static_cast<size_t>(
        std::count_if(nodes_.begin(), nodes_.end(), [](const auto& n) { return n->slices > 1; }));
  }

  size_t winograd_nodes() const {
    return static_cast<size_t>(std::count_if(nodes_.begin(), nodes_.end(), [](const auto& n) {
      return n->ahead != nullptr && n->ahead->winograd;
    }));
  }

  size_t depthwise_post_op_nodes() const {
    return static_cast<size_t>(std::count_if(nodes_.begin(), nodes_.end(), [](const auto& n) {
      return n->ahead != nullptr && depthwise_link(n->post) != nullptr;
    }));
  }

  std::map<std::string, size_t> own_kernel_nodes() const {
    std::map<std::string, size_t> counts;
    for (const auto& n : nodes_) {
      if (n->ahead != nullptr && n->ahead->own_kernel != nullptr) ++counts[n->ahead->own_kernel];
    }
    return counts;
  }

  size_t single_thread_nodes() const {
    return static_cast<size_t>(
        std::count_if(nodes_.begin(), nodes_.end(), [](const auto& n) { return n->threads == 1; }));
  }

  ThreadChoiceStats thread_choice_stats() const {
    ThreadChoiceStats stats;
    for (const auto& n : nodes_) {
      if (!n->timed) continue;
      ++stats.timed;
      if (n->threads == 1) ++stats.timed_one_thread;
    }
    return stats;
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

  LayoutStats layout_stats() const { return {blocked_reads_.load(), conversions_.load()}; }

  // What prepare_ahead found each slot this partition writes will take: nothing for the
  // intermediates of chains that fused (never materialised), the blocked layout's padded size
  // after the plain tensor for values written blocked. The plain room stays planned for those
  // too: a blocked value read by a plain-only consumer is materialised next to it.
  SlotBytes planned_bytes(int slot, size_t plain_bytes) const override {
    auto it = slot_bytes_.find(slot);
    if (it == slot_bytes_.end()) return {plain_bytes, 0};
    return {it->second.plain == 0 ? 0 : plain_bytes, it->second.backend};
  }

  // A fused post-op reads its other operand while the primitive writes: not over it.
  bool may_write_in_place(size_t graph_node) const override {
    auto it = runs_at_.find(graph_node);
    return it != runs_at_.end() && !fused_.count(graph_node);
  }

  // Lowering makes the constants it reads resident (prepare_node), what runs read is what it
  // bound and never released, and the reference kernels check (run_reference).
  bool reads_constants_during_runs() const override { return false; }

  // The sum post-op adds onto memory that holds the addend: the chain's output may take the
  // addend's bytes (then nothing is copied before the primitive runs).
  int accumulates_into(size_t graph_node) const override {
    auto it = accumulates_.find(graph_node);
    return it == accumulates_.end() ? -1 : it->second;
  }

  size_t runs_at(size_t graph_node) const override {
    auto it = runs_at_.find(graph_node);
    return it == runs_at_.end() ? graph_node : it->second;
  }

  size_t lowered_count() const {
    size_t count = 0;
    for (const auto& n : nodes_) {
      std::lock_guard<std::mutex> lock(n->mutex);
      count += n->cache.size();
    }
    return count;
  }

  Status run(ExecutionFrame& frame) const override {
    // Concurrent multi-threaded runs take turns with the cores rather than oversubscribing them;
    // a partition whose every node runs on one thread starts no others.
    const int threads = team_threads();
    Result<runtime::CoreBudget::Lease> cores = runtime::CoreBudget::process().acquire(
        single_thread_ ? 1 : threads, [&frame] { return frame.stop_status(); });
    if (!cores.is_ok()) return cores.status();
    // oneDNN sizes its OpenMP regions by omp_get_max_threads() of the thread that executes the
    // primitive, a per-thread setting: set it for this run and give the caller its own back.
    // A team's primitives run on one thread each.
    const ThreadCountScope thread_count(team_ ? 1 : threads_);
    std::optional<Team::Session> team;
    if (team_) team.emplace(Team::of_calling_thread(threads), cores.value().cores());
    try {
      CacheLease cache(*this);
      RunState state{frame, lower::thread_stream(engine_), cache.get()->blocked, cache.get()};
      state.blocked.resize(frame.values.size());
      for (const auto& n : nodes_) {
        const double start_us = profile_start(frame.profile);
        const ThreadCountScope node_threads(n->threads);
        // The node's description is built only on failure: formatting it costs more than a
        // small node's work.
        if (Status s = run_node(*n, state); !s.is_ok()) return s.with_context(n->node->describe());
        for (int slot : n->release) {
          frame.release(slot);
          state.blocked[static_cast<size_t>(slot)].reset();
        }
        if (frame.profile != nullptr) record_unit(*frame.profile, start_us, *n);
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
  bool exported(int slot) const {
    return static_cast<size_t>(slot) >= exported_.size() ||
           exported_[static_cast<size_t>(slot)] != 0;
  }

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

  // The prepare-time twin of run_node: what the node's inputs will look like, lowered now, and
  // what its outputs will then look like. Unknown inputs make the outputs unknown.
  Status prepare_ahead(CompiledNode& n, std::vector<std::optional<NodeInput>>& known) {
    if (n.relayout) {
      // The view's result keeps its input's layout (view_in_layout).
      n.relayout_ahead.reset();
      const auto& k = known[static_cast<size_t>(n.inputs[0])];
      const Shape* shape = k && k->layout ? view_result_shape(n, k->shape) : nullptr;
      const std::optional<dnnl::memory::desc> desc =
          shape != nullptr ? lower::reshaped_layout(*k->layout, lower::dims_of(*shape))
                           : std::nullopt;
      if (desc) {
        n.relayout_ahead = CompiledNode::Relayout{*k->layout, k->shape, *desc, *shape};
        NodeInput out = *k;
        out.shape = *shape;
        out.layout = *desc;
        known[static_cast<size_t>(n.outputs[0])] = out;
        return Status::ok();
      }
    }
    std::vector<NodeInput> inputs(n.inputs.size());
    bool all_known = !n.view;
    for (size_t i = 0; i < n.inputs.size() && all_known; ++i) {
      if (n.inputs[i] < 0) continue;
      const auto& k = known[static_cast<size_t>(n.inputs[i])];
      if (!k) {
        all_known = false;
        break;
      }
      inputs[i] = *k;
      inputs[i].constant = n.constants[i];
    }
    std::shared_ptr<const PreparedNode> prepared;
    if (all_known) {
      // With a team, a convolution it splits is sliced and everything else runs on one thread.
      const bool split = team_ && team_splits(*n.node, *types_, n.constants.size() > 1 &&
                                                                    n.constants[1] != nullptr);
      const bool small =
          team_ ? !split : types_ != nullptr && single_thread_work(*n.node, *types_);
      if (small) n.threads = 1;
      if (split) n.slices = team_threads();
      // oneDNN plans a primitive's work split for the thread count in force when it is built;
      // a team's primitives are each planned for one thread.
      const ThreadCountScope thread_count(team_ ? 1 : n.threads);
      // Lowered again (a team that would not split): the new form may read them during runs.
      for (size_t i = 0; i < n.node->inputs.size(); ++i) {
        if (n.constants[i] == nullptr) continue;
        edgerun::memory::reclaim_reader(n.constants[i]->raw_data(),
                                        edgerun::memory::reader_id(n.index, i));
      }
      ER_ASSIGN_OR_RETURN(prepared, lowered(n, inputs));
      if (split && (prepared == nullptr || !prepared->shares_team)) {
        n.slices = 0;  // lowering would not split these layouts or shapes
        n.threads = 1;
      }
      if (prepared != nullptr && !small && !team_ && choice_ != ThreadChoice::kBySize &&
          team_threads() > 1 && worth_timing(*n.node, *types_)) {
        prepared = faster_of(n, inputs, std::move(prepared));
      }
      if (prepared != nullptr) {
        n.ahead = prepared;
        n.ahead_key = inputs;
        release_packed_constants(n, *prepared);
      } else {
        n.threads = 0;
      }
    }
    if (prepared == nullptr && !n.post.empty()) {
      for (const auto& m : n.members) ER_RETURN_IF_ERROR(prepare_ahead(*m, known));
      return Status::ok();
    }
    if (prepared != nullptr && !n.post.empty()) {
      // The chain's intermediates are never written (the last link's output is).
      for (size_t k = 0; k + 1 < n.members.size(); ++k) {
        for (int slot : n.members[k]->outputs) {
          if (slot >= 0) slot_bytes_[slot] = {0, 0};
        }
      }
      // A sum addend that arrives in the output's own layout can be added onto in place,
      // unless the primitive also reads it as another input (a convolution over it).
      if (const std::optional<size_t> sum = prepared->sum_input) {
        const InputLayout& layout = prepared->inputs[*sum];
        const bool as_is = inputs[*sum].layout ? *inputs[*sum].layout == layout.want
                                               : layout.view == layout.want;
        const int addend = n.inputs[*sum];
        if (addend >= 0 && std::count(n.inputs.begin(), n.inputs.end(), addend) == 1 && as_is &&
            layout.want == prepared->outputs[0].desc) {
          accumulates_[n.graph_nodes.back()] = addend;
        }
      }
    }
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      const int slot = n.outputs[o];
      if (slot < 0) continue;
      auto& k = known[static_cast<size_t>(slot)];
      if (prepared == nullptr) {
        if (k) k->layout.reset();  // the reference kernel writes plain tensors
        continue;
      }
      NodeInput out;
      out.present = true;
      out.dtype = DType::kFloat32;
      out.shape = prepared->outputs[o].shape;
      if (!lower::is_plain(prepared->outputs[o].desc)) {
        out.layout = prepared->outputs[o].desc;
        slot_bytes_[slot] = {1, prepared->outputs[o].desc.get_size()};
      }
      k = out;
    }
    return Status::ok();
  }

  // Tells the memory registry which of the base node's constants `prepared` no longer reads
  // during runs (it packed them at lowering); those nothing else reads leave memory.
  static void release_packed_constants(CompiledNode& n, const PreparedNode& prepared) {
    for (size_t i = 0; i < n.node->inputs.size(); ++i) {
      if (n.constants[i] == nullptr) continue;
      if (i < prepared.inputs.size() && prepared.inputs[i].used) continue;
      edgerun::memory::release_reader(n.constants[i]->raw_data(),
                                      edgerun::memory::reader_id(n.index, i));
      n.released_constants = true;
    }
  }

  // The threads a multi-threaded node of this executable runs on.
  int team_threads() const { return threads_ > 0 ? threads_ : omp_get_max_threads(); }

  // `many` (lowered for team_threads()) or the same node lowered for one thread, whichever
  // runs faster on scratch memory; a one-thread choice sets n.threads and replaces the cached
  // form for `key`. Anything that goes wrong while timing keeps `many`: the choice is an
  // optimisation, and `many` is what would run without it.
  std::shared_ptr<const PreparedNode> faster_of(CompiledNode& n, const std::vector<NodeInput>& key,
                                                std::shared_ptr<const PreparedNode> many) {
    try {
      std::shared_ptr<const PreparedNode> one;
      {
        const ThreadCountScope single(1);
        const LoweringContext context{&engine_, n.blocked_output_ok, false};
        Result<std::shared_ptr<const PreparedNode>> built =
            n.post.empty() ? prepare_node(*n.node, context, key)
                           : prepare_fused(*n.node, n.post, context, key);
        if (!built.is_ok() || built.value() == nullptr) return many;
        one = std::move(built).value();
      }
      const int threads = team_threads();
      const ScratchArguments one_args(*one, engine_), many_args(*many, engine_);
      dnnl::stream& stream = lower::thread_stream(engine_);
      const ThreadTiming timing = choose_threads(
          threads,
          [&](int count) {
            const ThreadCountScope scope(count);
            const PreparedNode& node = count == 1 ? *one : *many;
            const ScratchArguments& args = count == 1 ? one_args : many_args;
            node.execute(stream, args.inputs, args.outputs);
          },
          steady_now_us, {}, [] {
            // In a run, a mid-sized node often follows other one-thread nodes: its workers
            // have slept for hundreds of microseconds, and waking them from that costs most
            // (~110 us measured on a VM, against ~25 us after a short gap). Time that case.
            constexpr double kIdleUs = 200;
            const double until = steady_now_us() + kIdleUs;
            while (steady_now_us() < until) {
            }
          });
      n.timed = true;
      if (timing.threads != 1) return many;
      n.threads = 1;
      std::lock_guard<std::mutex> lock(n.mutex);
      for (auto& [inputs, prepared] : n.cache) {
        if (inputs == key) prepared = one;
      }
      return one;
    } catch (const dnnl::error&) {
      return many;
    }
  }

  Result<std::shared_ptr<const PreparedNode>> lowered(const CompiledNode& n,
                                                      const std::vector<NodeInput>& key) const {
    {
      std::lock_guard<std::mutex> lock(n.mutex);
      for (const auto& [inputs, prepared] : n.cache) {
        if (inputs == key) return prepared;
      }
    }
    // Build outside the lock; when two threads race, both results are equivalent.
    std::shared_ptr<const PreparedNode> prepared;
    const LoweringContext context{&engine_, n.blocked_output_ok, false, n.slices};
    Result<std::shared_ptr<const PreparedNode>> built =
        n.post.empty() ? prepare_node(*n.node, context, key)
                       : prepare_fused(*n.node, n.post, context, key);
    if (built.is_ok()) {
      prepared = std::move(built).value();
    } else if (built.status().code() != StatusCode::kUnsupported) {
      return built.status();
    }
    std::lock_guard<std::mutex> lock(n.mutex);
    if (n.cache.size() >= CompiledNode::kMaxEntries) n.cache.erase(n.cache.begin());
    n.cache.emplace_back(key, prepared);
    return prepared;
  }

  // Makes sure the frame holds `slot` as a plain tensor (converting a blocked value once).
  Status materialize(RunState& state, int slot) const {
    Value& v = state.frame.values[static_cast<size_t>(slot)];
    const auto& blocked = state.blocked[static_cast<size_t>(slot)];
    if (!v.empty() || !blocked) return Status::ok();
    Tensor t = state.frame.allocate(slot, DType::kFloat32, *blocked->shape);
    dnnl::memory from = blocked->memory;
    dnnl::memory plain(lower::plain(lower::dims_of(*blocked->shape)), engine_, t.raw_data());
    dnnl::reorder(from, plain).execute(state.stream, from, plain);
    state.stream.wait();
    conversions_.fetch_add(1, std::memory_order_relaxed);
    v = Value(std::move(t));
    return Status::ok();
  }

  // The input in `slot` as memory of the layout `layout.want`, converting only when needed.
  // `cached`: where the plain view of the input is kept between runs, and `converted`: the
  // conversion, kept too, so a run neither allocates nor builds a reorder (both may be null).
  Result<dnnl::memory> conform(RunState& state, const InputLayout& layout, int slot,
                               dnnl::memory* cached, Conversion* converted) const {
    const auto& blocked = state.blocked[static_cast<size_t>(slot)];
    auto reorder_into = [&](dnnl::memory from) {
      conversions_.fetch_add(1, std::memory_order_relaxed);
      Conversion fresh;
      Conversion& c = converted != nullptr ? *converted : fresh;
      if (!c.to || c.to.get_desc() != layout.want || c.from != from.get_desc()) {
        c.to = dnnl::memory(layout.want, engine_);
        c.from = from.get_desc();
        c.reorder = dnnl::reorder(from, c.to);
        const dnnl::memory::dims d = c.from.dims();
        const bool rgb = is_rgb_to_channels_last(c.from, layout.want);
        c.rgb_images = rgb ? static_cast<size_t>(d[0]) : 0;
        c.rgb_pixels = rgb ? static_cast<size_t>(d[2] * d[3]) : 0;
      }
      if (c.rgb_images == 0 ||
          !rgb_to_channels_last(static_cast<const float*>(from.get_data_handle()),
                                static_cast<float*>(c.to.get_data_handle()), c.rgb_images,
                                c.rgb_pixels)) {
        lower::run_reorder(c.reorder, state.stream, from, c.to);
      }
      return c.to;
    };
    if (blocked) {
      if (blocked->memory.get_desc() == layout.want) {
        blocked_reads_.fetch_add(1, std::memory_order_relaxed);
        return blocked->memory;
      }
      if (lower::same_bytes(blocked->memory.get_desc(), layout.want)) {
        blocked_reads_.fetch_add(1, std::memory_order_relaxed);
        void* data = blocked->memory.get_data_handle();
        if (converted == nullptr) return dnnl::memory(layout.want, engine_, data);
        return point(converted->alias, layout.want, engine_, data);
      }
      // The conversion the last run made from this layout is still right (checking it anew
      // builds dims and a plain descriptor to compare with: allocations on every run).
      const bool converted_before = converted != nullptr && converted->to &&
                                    converted->from == blocked->memory.get_desc() &&
                                    converted->to.get_desc() == layout.want;
      if (converted_before || (layout.want.dims() == blocked->memory.get_desc().dims() &&
                               !lower::is_plain(layout.want))) {
        return reorder_into(blocked->memory);
      }
    }
    ER_RETURN_IF_ERROR(materialize(state, slot));
    const Value& v = state.frame.values[static_cast<size_t>(slot)];
    // A view may read part of the tensor (a Slice), never beyond it.
    if (!v.is_tensor() || static_cast<size_t>(v.tensor().size()) * sizeof(float) <
                              layout.view.get_size()) {
      return internal_error("input '" + state.frame.slots->name(slot) +
                            "' does not match the layout it was lowered for");
    }
    void* data = const_cast<void*>(v.tensor().raw_data());
    dnnl::memory fresh;
    dnnl::memory& view = cached != nullptr ? point(*cached, layout.view, engine_, data)
                                           : (fresh = dnnl::memory(layout.view, engine_, data));
    if (layout.view == layout.want) return view;
    return reorder_into(view);
  }

  Status execute(const CompiledNode& n, const std::shared_ptr<const PreparedNode>& lowered,
                 RunState& state) const {
    const PreparedNode& prepared = *lowered;
    MemoryCache::Entry* cached = nullptr;
    if (state.cache != nullptr && n.id < state.cache->entries.size()) {
      cached = &state.cache->entries[n.id];
      if (cached->prepared != lowered) {
        cached->prepared = lowered;
        cached->inputs.assign(prepared.inputs.size(), dnnl::memory());
        cached->converted.assign(prepared.inputs.size(), Conversion());
        cached->outputs.assign(prepared.outputs.size(), dnnl::memory());
        cached->plain_outputs.clear();
        for (const OutputLayout& layout : prepared.outputs) {
          cached->plain_outputs.push_back(lower::is_plain(layout.desc) ? 1 : 0);
        }
      }
    }
    // Room for a fused chain's inputs (an expansion and its depthwise convolution with two
    // Clips read 9), so that no run puts them on the heap.
    SmallArray<dnnl::memory, 16> in(prepared.inputs.size());
    for (size_t i = 0; i < prepared.inputs.size(); ++i) {
      if (!prepared.inputs[i].used) continue;
      ER_ASSIGN_OR_RETURN(in[i], conform(state, prepared.inputs[i], n.inputs[i],
                                         cached != nullptr ? &cached->inputs[i] : nullptr,
                                         cached != nullptr ? &cached->converted[i] : nullptr));
    }
    SmallArray<dnnl::memory, 2> out(prepared.outputs.size());
    SmallArray<Tensor, 2> plain_out(prepared.outputs.size());
    for (size_t o = 0; o < prepared.outputs.size(); ++o) {
      const OutputLayout& layout = prepared.outputs[o];
      const int slot = o < n.outputs.size() ? n.outputs[o] : -1;
      // is_plain() builds a descriptor to compare with: asked once per lowered node, not per run.
      const bool plain =
          cached != nullptr ? cached->plain_outputs[o] != 0 : lower::is_plain(layout.desc);
      if (plain) {
        plain_out[o] = state.frame.allocate(slot, DType::kFloat32, layout.shape);
        out[o] = cached != nullptr
                     ? point(cached->outputs[o], layout.desc, engine_, plain_out[o].raw_data())
                     : dnnl::memory(layout.desc, engine_, plain_out[o].raw_data());
      } else if (void* room = state.frame.backend_region(slot, layout.desc.get_size())) {
        out[o] = cached != nullptr ? point(cached->outputs[o], layout.desc, engine_, room)
                                   : dnnl::memory(layout.desc, engine_, room);
      } else {
        out[o] = dnnl::memory(layout.desc, engine_);
      }
    }
    prepared.execute(state.stream, in.span(), out.span());
    for (size_t o = 0; o < prepared.outputs.size(); ++o) {
      const int slot = o < n.outputs.size() ? n.outputs[o] : -1;
      if (slot < 0) continue;
      Value& v = state.frame.values[static_cast<size_t>(slot)];
      auto& blocked = state.blocked[static_cast<size_t>(slot)];
      if (plain_out[o].defined()) {
        v = Value(std::move(plain_out[o]));
        blocked.reset();
        continue;
      }
      v = Value();
      blocked = BlockedValue{out[o], &prepared.outputs[o].shape, dnnl::memory()};
      // A value read outside the partition leaves it as a plain tensor.
      if (exported(slot)) ER_RETURN_IF_ERROR(materialize(state, slot));
    }
    return Status::ok();
  }

  Status run_reference(const CompiledNode& n, RunState& state) const {
    if (n.released_constants) {
      for (const Tensor* constant : n.constants) {
        if (constant != nullptr) edgerun::memory::ensure_resident(constant->raw_data());
      }
    }
    std::vector<const Value*> values(n.inputs.size(), nullptr);
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i] < 0) continue;
      ER_RETURN_IF_ERROR(materialize(state, n.inputs[i]));
      values[i] = &state.frame.values[static_cast<size_t>(n.inputs[i])];
    }
    std::vector<Value> outputs(n.outputs.size());
    reference::KernelContext ctx(*n.node, values, outputs, nullptr);
    ctx.set_arena(&state.frame, n.outputs);
    ER_RETURN_IF_ERROR(n.fallback(ctx));
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      if (n.outputs[i] >= 0 && !outputs[i].empty()) {
        state.frame.values[static_cast<size_t>(n.outputs[i])] = std::move(outputs[i]);
        state.blocked[static_cast<size_t>(n.outputs[i])].reset();
      }
    }
    return Status::ok();
  }

  // Whether the inputs in the frame are those prepare_ahead lowered `n.ahead` for.
  static bool matches_ahead(const CompiledNode& n, const RunState& state) {
    if (n.ahead == nullptr || n.ahead_key.size() != n.inputs.size()) return false;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const int slot = n.inputs[i];
      const NodeInput& k = n.ahead_key[i];
      if (slot < 0) {
        if (k.present) return false;
        continue;
      }
      if (const auto& blocked = state.blocked[static_cast<size_t>(slot)]) {
        if (!k.layout || *blocked->shape != k.shape || blocked->memory.get_desc() != *k.layout) {
          return false;
        }
        continue;
      }
      const Value& v = state.frame.values[static_cast<size_t>(slot)];
      if (k.layout || !v.is_tensor() || v.tensor().dtype() != k.dtype ||
          v.tensor().shape() != k.shape) {
        return false;
      }
    }
    return true;
  }

  // The shape of view `n`'s result when its input has `input_shape`: the one prepare knew,
  // when the input has the shape prepare knew and every other input is a constant (so the
  // result cannot differ); null otherwise.
  const Shape* view_result_shape(const CompiledNode& n, const Shape& input_shape) const {
    if (types_ == nullptr) return nullptr;
    const Shape* known_in = types_->shape(n.node->inputs[0]);
    if (known_in == nullptr || *known_in != input_shape) return nullptr;
    for (size_t i = 1; i < n.inputs.size(); ++i) {
      if (n.inputs[i] >= 0 && n.constants[i] == nullptr) return nullptr;
    }
    return types_->shape(n.node->outputs[0]);
  }

  // Runs view `n` over its blocked input's bytes where that input arrives as prepare foresaw
  // (CompiledNode::relayout_ahead): its result is a blocked value of the same memory in the
  // reshaped layout. False (nothing done) otherwise.
  bool view_in_layout(const CompiledNode& n, RunState& state) const {
    const auto& blocked = state.blocked[static_cast<size_t>(n.inputs[0])];
    const auto& ahead = n.relayout_ahead;
    if (!blocked || !ahead || *blocked->shape != ahead->from_shape ||
        blocked->memory.get_desc() != ahead->from) {
      return false;
    }
    void* data = blocked->memory.get_data_handle();
    dnnl::memory fresh;
    dnnl::memory* result = &fresh;
    if (state.cache != nullptr && n.id < state.cache->entries.size()) {
      auto& outputs = state.cache->entries[n.id].outputs;
      if (outputs.empty() || outputs[0].get_desc() != ahead->to) {
        outputs.assign(1, dnnl::memory(ahead->to, engine_, data));
      }
      result = &point(outputs[0], ahead->to, engine_, data);
    } else {
      fresh = dnnl::memory(ahead->to, engine_, data);
    }
    const int out = n.outputs[0];
    state.frame.values[static_cast<size_t>(out)] = Value();
    state.blocked[static_cast<size_t>(out)] =
        BlockedValue{*result, &ahead->to_shape, blocked->owner ? blocked->owner : blocked->memory};
    return true;
  }

  // Runs view `n` as a tensor over its plain input's bytes where its result has the shape
  // prepare knew (view_result_shape): the one kept from the last run when it matches, so the
  // reference kernel does not work the shape out again, nor allocate for it. False (nothing
  // done) otherwise.
  Result<bool> view_as_known(const CompiledNode& n, RunState& state) const {
    if (n.inputs.empty() || n.inputs[0] < 0 || n.outputs.empty() || n.outputs[0] < 0) return false;
    for (size_t o = 1; o < n.outputs.size(); ++o) {
      if (n.outputs[o] >= 0) return false;  // Dropout's mask
    }
    ER_RETURN_IF_ERROR(materialize(state, n.inputs[0]));
    const Value& in = state.frame.values[static_cast<size_t>(n.inputs[0])];
    if (!in.is_tensor()) return false;
    const Tensor& t = in.tensor();
    const Shape* shape = view_result_shape(n, t.shape());
    if (shape == nullptr || shape_size(*shape) != t.size()) return false;
    const int out = n.outputs[0];
    state.frame.values[static_cast<size_t>(out)] =
        t.borrowed() ? state.frame.borrow(out, t.dtype(), *shape, const_cast<void*>(t.raw_data()))
                     : t.reshaped(*shape);
    state.blocked[static_cast<size_t>(out)].reset();
    return true;
  }

  Status run_node(const CompiledNode& n, RunState& state) const {
    // Shape-only ops run as views of their input: of its bytes as they are where the result
    // can keep a strided layout, else of its plain tensor.
    if (n.view) {
      if (n.relayout && view_in_layout(n, state)) return Status::ok();
      ER_ASSIGN_OR_RETURN(const bool viewed, view_as_known(n, state));
      return viewed ? Status::ok() : run_reference(n, state);
    }
    if (matches_ahead(n, state)) return execute(n, n.ahead, state);
    std::vector<NodeInput> inputs(n.inputs.size());
    bool all_tensors = true;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const int slot = n.inputs[i];
      if (slot < 0) continue;
      NodeInput& in = inputs[i];
      in.present = true;
      in.constant = n.constants[i];
      if (const auto& blocked = state.blocked[static_cast<size_t>(slot)]) {
        in.dtype = DType::kFloat32;
        in.shape = *blocked->shape;
        in.layout = blocked->memory.get_desc();
        continue;
      }
      const Value& v = state.frame.values[static_cast<size_t>(slot)];
      if (v.empty()) return runtime_error("input '" + n.node->inputs[i] + "' has no value");
      if (!v.is_tensor()) {
        all_tensors = false;
        continue;
      }
      in.dtype = v.tensor().dtype();
      in.shape = v.tensor().shape();
    }
    std::shared_ptr<const PreparedNode> prepared;
    if (all_tensors) {
      ER_ASSIGN_OR_RETURN(prepared, lowered(n, inputs));
    }
    if (prepared != nullptr) return execute(n, prepared, state);
    if (!n.post.empty()) {
      // These shapes do not fuse: the chain's nodes run one by one, writing the intermediates
      // (released with the chain's own releases, since nothing else reads them).
      for (const auto& m : n.members) {
        if (Status s = run_node(*m, state); !s.is_ok()) return s.with_context(m->node->describe());
      }
      return Status::ok();
    }
    // Shapes oneDNN cannot take (or a malformed input the reference will name): the reference
    // kernel runs this node, so the result is the same as on the reference backend.
    return run_reference(n, state);
  }

  dnnl::engine engine_;
  std::vector<char> exported_;  // by slot: read outside the partition (or a graph output)
  const ValueTypes* types_;     // what is known before the run (may be null)
  int threads_ = 0;             // OpenMP threads for this executable's runs; 0: the caller's
  ThreadChoice choice_ = ThreadChoice::kBySize;
  bool single_thread_ = false;  // every node runs on the calling thread alone
  bool team_ = false;           // runs open a Team that shares the split convolutions
  std::vector<std::unique_ptr<CompiledNode>> nodes_;
  // A MemoryCache for one run, returned to the idle ones when the run ends.
  class CacheLease {
   public:
    explicit CacheLease(const OneDnnExecutable& owner) : owner_(owner) {
      {
        std::lock_guard<std::mutex> lock(owner_.cache_mutex_);
        if (!owner_.idle_caches_.empty()) {
          cache_ = std::move(owner_.idle_caches_.back());
          owner_.idle_caches_.pop_back();
        }
      }
      if (!cache_) {
        cache_ = std::make_unique<MemoryCache>();
        cache_->entries.resize(owner_.node_count_);
      }
    }
    ~CacheLease() {
      for (auto& b : cache_->blocked) b.reset();  // lets go of this run's blocked memories
      std::lock_guard<std::mutex> lock(owner_.cache_mutex_);
      owner_.idle_caches_.push_back(std::move(cache_));
    }
    CacheLease(const CacheLease&) = delete;
    CacheLease& operator=(const CacheLease&) = delete;
    MemoryCache* get() const { return cache_.get(); }

   private:
    const OneDnnExecutable& owner_;
    std::unique_ptr<MemoryCache> cache_;
  };

  size_t node_count_ = 0;  // CompiledNodes made, members of chains included
  mutable std::mutex cache_mutex_;
  mutable std::vector<std::unique_ptr<MemoryCache>> idle_caches_;
  std::unordered_map<int, SlotBytes> slot_bytes_;      // by slot, filled by prepare_ahead
  std::unordered_map<size_t, size_t> runs_at_;         // graph node -> its unit's last node
  std::unordered_map<size_t, int> accumulates_;        // chain's last node -> its sum addend
  std::set<size_t> fused_;                             // graph nodes in chains
  mutable std::atomic<uint64_t> blocked_reads_{0};
  mutable std::atomic<uint64_t> conversions_{0};
};

}  // namespace

Result<std::unique_ptr<Executable>> compile_partition(const Partition& partition,
                                                      const dnnl::engine& engine, int threads,
                                                      ThreadChoice choice) {
  const ir::Graph& graph = *partition.graph;
  for (size_t i : partition.nodes) {
    if (!graph.nodes[i].op) return internal_error(graph.nodes[i].describe() + " is not a known op");
  }
  auto executable =
      std::make_unique<OneDnnExecutable>(engine, exported_slots(partition), partition.types,
                                         threads, choice);
  // Chains run as one unit at the position of their last link (the other operand of a fused
  // Add may be computed after the base), in partition order otherwise.
  const std::vector<std::vector<size_t>> units = fusion_units(partition, threads);
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
  executable->mark_relayout_views();
  if (partition.types != nullptr) {
    // oneDNN plans a primitive's work split for the thread count in force when it is created.
    const ThreadCountScope thread_count(threads);
    ER_RETURN_IF_ERROR(executable->prepare_ahead(*partition.slots, *partition.types));
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

LayoutStats layout_stats(const Executable& executable) {
  const auto* onednn = dynamic_cast<const OneDnnExecutable*>(&executable);
  return onednn == nullptr ? LayoutStats{} : onednn->layout_stats();
}

size_t lowered_count(const Executable& executable) {
  const auto* onednn = dynamic_cast<const OneDnnExecutable*>(&executable);
  return onednn == nullptr ? 0 : onednn->lowered_count();
}

size_t team_split_nodes(const Executable& executable) {
  const auto* e = dynamic_cast<const OneDnnExecutable*>(&executable);
  return e != nullptr ? e->team_split_nodes() : 0;
}

size_t winograd_nodes(const Executable& executable) {
  const auto* e = dynamic_cast<const OneDnnExecutable*>(&executable);
  return e != nullptr ? e->winograd_nodes() : 0;
}

size_t depthwise_post_op_nodes(const Executable& executable) {
  const auto* e = dynamic_cast<const OneDnnExecutable*>(&executable);
  return e != nullptr ? e->depthwise_post_op_nodes() : 0;
}

std::map<std::string, size_t> own_kernel_nodes(const Executable& executable) {
  const auto* e = dynamic_cast<const OneDnnExecutable*>(&executable);
  return e != nullptr ? e->own_kernel_nodes() : std::map<std::string, size_t>{};
}

size_t single_thread_nodes(const Executable& executable) {
  const auto* onednn = dynamic_cast<const OneDnnExecutable*>(&executable);
  return onednn == nullptr ? 0 : onednn->single_thread_nodes();
}

ThreadChoiceStats thread_choice_stats(const Executable& executable) {
  const auto* onednn = dynamic_cast<const OneDnnExecutable*>(&executable);
  return onednn == nullptr ? ThreadChoiceStats{} : onednn->thread_choice_stats();
}

}  // namespace edgerun::onednn
