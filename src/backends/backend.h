// The seam between the runtime and the hardware: a Backend claims nodes it can run and compiles
// groups of them (partitions) into Executables that read and write slots of an ExecutionFrame.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "edgerun/edgerun.hpp"
#include "edgerun/profile.hpp"
#include "edgerun/status.hpp"
#include "edgerun/value.hpp"
#include "ir/graph.h"

namespace edgerun {

// Value names -> dense slot indices, fixed when a graph is compiled so the hot path indexes a
// vector instead of hashing names.
class SlotTable {
 public:
  int add(const std::string& name);  // returns the existing slot if the name has one
  int find(const std::string& name) const;  // -1 when absent
  const std::string& name(int slot) const { return names_[static_cast<size_t>(slot)]; }
  size_t size() const { return names_.size(); }

 private:
  std::unordered_map<std::string, int> index_;
  std::vector<std::string> names_;
};

// Why a run should stop early: the caller's cancellation, its deadline, or the caller having
// stopped waiting for it (an abandoned run). Executors ask between steps and, where they can,
// between nodes; asking costs an atomic load and a clock read.
struct RunControl {
  const CancellationToken* cancellation = nullptr;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::atomic<bool> abandoned{false};

  // OK while the run may go on; otherwise kCancelled or kTimeout, saying why.
  Status stop_status() const;
};

// Where the planned intermediates of a run live (src/memory/): per slot, an offset into the
// run's arena and the bytes planned there. A slot's region holds its plain tensor and, after it,
// the room a backend asked for to keep the value in its own layout (oneDNN's blocked layouts pad
// channels), so both forms of one value can exist at once (a blocked value and its plain copy).
struct SlotRegion {
  size_t offset = 0;
  size_t plain_bytes = 0;    // 0: the slot is not planned
  size_t backend_bytes = 0;  // at offset + align_up(plain_bytes)
};
struct ArenaPlan {
  std::vector<SlotRegion> regions;  // by slot
  size_t arena_bytes = 0;           // the planned peak
  size_t planned_values = 0;
  size_t in_place = 0;  // values that write over an input dying at their node
};

// The values of one run of one graph. Subgraph runs (If/Loop/Scan bodies) get their own frame
// whose parent is the frame of the node that runs them; outer-scope names resolve through it.
struct ExecutionFrame {
  const SlotTable* slots = nullptr;
  std::vector<Value> values;
  const ExecutionFrame* parent = nullptr;
  const RunControl* control = nullptr;  // null: nothing asks this run to stop

  // RunControl::stop_status() of this frame or the nearest enclosing frame that has one.
  Status stop_status() const;
  // Where executables record each node's time (runtime/profiler.h); null when not profiling.
  Profile* profile = nullptr;

  // Looks a name up here and then in enclosing frames; null when no frame has a value for it.
  const Value* lookup(const std::string& name) const;

  // The run's arena and its plan; null when nothing is planned (subgraph frames, tests).
  const ArenaPlan* arena_plan = nullptr;
  std::byte* arena = nullptr;
  // allocate() calls for a planned slot whose tensor did not fit its region (a shape the plan
  // did not foresee): they got heap memory instead.
  uint64_t arena_misses = 0;

  // Graph outputs the caller gave its own tensors for (Program::run_into), by slot; null or a
  // null entry: none. allocate() hands out such a tensor when dtype and shape match exactly, so
  // the kernel writes the result where the caller reads it.
  std::vector<Tensor*>* bound_outputs = nullptr;
  // Borrowed tensors (Tensor::borrowed) that earlier runs on this frame's value table left, by
  // slot. A run that needs the same tensor again (same bytes, dtype and shape) takes it back
  // instead of building one, so a steady-state run builds no tensors, and allocates nothing,
  // for its planned values, bound outputs and bound inputs. Null: nothing is kept (subgraph
  // frames, tests).
  std::vector<Value>* kept = nullptr;

  // Storage for the value of `slot`, which the caller fills entirely: the caller's bound output
  // tensor when it has the dtype and shape, else the slot's planned region when it fits, else a
  // fresh (uninitialised) heap tensor. Planned tensors do not own their bytes: they are valid
  // until the run ends and must not escape it (Program::run copies graph outputs that point
  // into the arena).
  // A Shape or dims a kernel worked out on the stack: no Shape is built when the tensor kept
  // from the last run fits.
  Tensor allocate(int slot, DType dtype, std::span<const int64_t> dims);
  Tensor allocate(int slot, DType dtype, Shape&& shape);  // a miss keeps `shape`
  // A tensor over `data`, whose owner keeps it for the run: the one kept for `slot` when it
  // matches, else a new Tensor::wrap without keep_alive.
  Tensor borrow(int slot, DType dtype, std::span<const int64_t> shape, void* data);
  // Empties `slot`, keeping a borrowed tensor for the next run on this table.
  void release(int slot);
  // `bytes` of the room planned for `slot` in a backend's own layout; null when none fits.
  void* backend_region(int slot, size_t bytes);

 private:
  // Where allocate() puts `slot`'s tensor without allocating: a bound output or the planned
  // region; null when neither takes it.
  void* place_for(int slot, DType dtype, std::span<const int64_t> shape);
};

// What is known about a graph's values before it runs: dtypes (from declarations, initializers
// and a dtype pass over the nodes), concrete shapes (graph inputs of a shape specialisation,
// initializers, and every node output that follows from them by shape inference) and the values
// of small tensors that are fixed at prepare time (initializers, shape arithmetic). Absent means
// "not known until run time".
struct ValueTypes {
  std::unordered_map<std::string, DType> dtypes;
  std::unordered_map<std::string, Shape> shapes;
  std::unordered_map<std::string, Tensor> values;

  DType dtype(const std::string& name) const {
    auto it = dtypes.find(name);
    return it == dtypes.end() ? DType::kUndefined : it->second;
  }
  const Shape* shape(const std::string& name) const {
    auto it = shapes.find(name);
    return it == shapes.end() ? nullptr : &it->second;
  }
  const Tensor* value(const std::string& name) const {
    auto it = values.find(name);
    return it == values.end() ? nullptr : &it->second;
  }
};

// The nodes of one graph that one backend runs as a unit.
struct Partition {
  const ir::Graph* graph = nullptr;
  std::vector<size_t> nodes;  // indices into graph->nodes, in execution order
  const SlotTable* slots = nullptr;
  // What is known about the graph's values at prepare time (dtypes, shapes of the
  // specialisation, small constant values), so compile() can size its work before the first run.
  // Owned by the Program, which outlives its executables.
  const ValueTypes* types = nullptr;
  // For each entry of `nodes`: slots whose last reader is that node; the executable drops them
  // right after it so intermediates do not outlive their use.
  std::vector<std::vector<int>> release_after;
};

class Executable {
 public:
  virtual ~Executable() = default;
  // Reads the partition's inputs from `frame` and writes its outputs there. Must be safe to
  // call from several threads at once, each with its own frame.
  virtual Status run(ExecutionFrame& frame) const = 0;

  // For the memory planner, after compile. The bytes this executable writes for `slot`, whose
  // plain tensor takes `plain_bytes`: plain 0 when it never materialises the value in this
  // specialisation (an intermediate inside a fused chain), backend > 0 for room in its own
  // layout.
  struct SlotBytes {
    size_t plain = 0;
    size_t backend = 0;
  };
  virtual SlotBytes planned_bytes(int /*slot*/, size_t plain_bytes) const {
    return {plain_bytes, 0};
  }
  // The node (graph index) at whose turn `graph_node` actually runs, when the executable reorders
  // (a fused chain runs at its last link): values it reads must stay alive until then.
  virtual size_t runs_at(size_t graph_node) const { return graph_node; }
  // Whether `graph_node` may write its output over its input 0 (the planner asks only for ops
  // whose kernels allow it): false where the executable runs it in a way that does not, such as
  // fused into another node's primitive.
  virtual bool may_write_in_place(size_t /*graph_node*/) const { return true; }
  // The slot whose bytes the output of `graph_node` may take over, in the layout and size the
  // executable plans for both, when that slot dies at this node; -1 for none. A product whose
  // residual Add is fused as oneDNN's sum post-op adds onto its addend: planned into the same
  // bytes, the addend is never copied.
  virtual int accumulates_into(size_t /*graph_node*/) const { return -1; }
  // Whether runs read the constants of this executable's nodes where they lie, so Program::build
  // makes sure they are in memory; false for one that makes them resident itself whenever it
  // reads them (memory/reloadable_copies.h).
  virtual bool reads_constants_during_runs() const { return true; }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  // Whether this backend can run `node`, given what `types` knows about its values; when not,
  // `why_not` (if given) says why.
  virtual bool supports(const ir::Node& node, const ir::Graph& graph, const ValueTypes& types,
                        std::string* why_not) const = 0;
  // Whether `node` does enough work on this backend to pay for a partition boundary on its own
  // (a convolution does, a lone Relu does not). The partitioner refuses partitions that hold
  // too few nodes and none of these.
  virtual bool is_compute_heavy(const ir::Node&) const { return true; }
  virtual Result<std::unique_ptr<Executable>> compile(const Partition& partition) const = 0;
};

}  // namespace edgerun
