#include "runtime/partitioner.h"

#include <algorithm>
#include <numeric>
#include <queue>
#include <unordered_map>

namespace edgerun::runtime {

std::vector<std::string> node_reads(const ir::Node& node) {
  std::vector<std::string> reads;
  for (const std::string& in : node.inputs) {
    if (!in.empty()) reads.push_back(in);
  }
  for (const ir::Attribute& a : node.attributes) {
    if (a.g) {
      for (const std::string& r : a.g->outer_references()) reads.push_back(r);
    }
    for (const auto& g : a.graphs) {
      for (const std::string& r : g->outer_references()) reads.push_back(r);
    }
  }
  return reads;
}

namespace {

// Node-level data dependencies: succs[i] are the nodes that read an output of node i.
struct Dependencies {
  std::vector<std::vector<size_t>> preds;
  std::vector<std::vector<size_t>> succs;
};

Dependencies dependencies_of(const ir::Graph& graph) {
  const size_t n = graph.nodes.size();
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < n; ++i) {
    for (const std::string& out : graph.nodes[i].outputs) {
      if (!out.empty()) producer.emplace(out, i);
    }
  }
  Dependencies deps;
  deps.preds.resize(n);
  deps.succs.resize(n);
  for (size_t i = 0; i < n; ++i) {
    for (const std::string& r : node_reads(graph.nodes[i])) {
      auto it = producer.find(r);
      if (it == producer.end() || it->second == i) continue;
      deps.preds[i].push_back(it->second);
      deps.succs[it->second].push_back(i);
    }
  }
  for (auto* lists : {&deps.preds, &deps.succs}) {
    for (auto& l : *lists) {
      std::sort(l.begin(), l.end());
      l.erase(std::unique(l.begin(), l.end()), l.end());
    }
  }
  return deps;
}

// Groups of nodes merged along edges; a merge that would let a path leave the merged group and
// come back into it (a cycle between partitions) is refused.
class Grouping {
 public:
  Grouping(const Dependencies& deps, size_t n) : deps_(deps), parent_(n), members_(n) {
    std::iota(parent_.begin(), parent_.end(), size_t{0});
    for (size_t i = 0; i < n; ++i) members_[i] = {i};
  }

  size_t find(size_t i) {
    while (parent_[i] != i) i = parent_[i] = parent_[parent_[i]];
    return i;
  }
  const std::vector<size_t>& members(size_t root) const { return members_[root]; }

  // Merges the groups of `from` and `to` (an edge from -> to) unless that makes a cycle.
  bool try_merge(size_t from, size_t to) {
    const size_t a = find(from), b = find(to);
    if (a == b) return true;
    if (creates_cycle(a, b) || creates_cycle(b, a)) return false;
    const size_t keep = std::min(a, b), drop = std::max(a, b);
    parent_[drop] = keep;
    members_[keep].insert(members_[keep].end(), members_[drop].begin(), members_[drop].end());
    std::sort(members_[keep].begin(), members_[keep].end());
    members_[drop].clear();
    return true;
  }

 private:
  // Whether some path from group `a` reaches group `b` through a node outside both. Nodes are
  // in topological order, so nothing after b's last node can lead into b.
  bool creates_cycle(size_t a, size_t b) {
    const size_t last_b = members_[b].back();
    std::vector<size_t> stack;
    std::vector<char> seen(parent_.size(), 0);
    for (size_t m : members_[a]) {
      for (size_t s : deps_.succs[m]) {
        const size_t g = find(s);
        if (g != a && g != b && s < last_b && !seen[s]) {
          seen[s] = 1;
          stack.push_back(s);
        }
      }
    }
    while (!stack.empty()) {
      const size_t x = stack.back();
      stack.pop_back();
      for (size_t s : deps_.succs[x]) {
        if (s > last_b || seen[s]) continue;
        if (find(s) == b) return true;
        seen[s] = 1;
        stack.push_back(s);
      }
    }
    return false;
  }

  const Dependencies& deps_;
  std::vector<size_t> parent_;
  std::vector<std::vector<size_t>> members_;
};

std::string op_list(const ir::Graph& graph, const std::vector<size_t>& nodes) {
  std::string s;
  for (size_t i : nodes) s += (s.empty() ? "" : ", ") + graph.nodes[i].op_type;
  return s;
}

}  // namespace

Result<PartitionPlan> partition_graph(const ir::Graph& graph,
                                      const std::vector<const Backend*>& backends,
                                      const ValueTypes& types, const PartitionOptions& options) {
  const size_t n = graph.nodes.size();
  if (backends.empty()) return invalid_argument("no backend to place the graph's nodes on");
  const Dependencies deps = dependencies_of(graph);
  const size_t num_backends = backends.size();

  // claims[k][i]: backend k can run node i; why[k][i]: why not.
  std::vector<std::vector<char>> claims(num_backends, std::vector<char>(n, 0));
  std::vector<std::vector<std::string>> why(num_backends, std::vector<std::string>(n));
  for (size_t k = 0; k < num_backends; ++k) {
    for (size_t i = 0; i < n; ++i) {
      claims[k][i] = backends[k]->supports(graph.nodes[i], graph, types, &why[k][i]);
    }
  }

  PartitionPlan plan;
  plan.placement.assign(n, nullptr);
  plan.reasons.assign(n, "");
  auto add_reason = [&](size_t i, size_t k, const std::string& reason) {
    std::string& r = plan.reasons[i];
    r += (r.empty() ? "" : "; ") + std::string(backends[k]->name()) + ": " + reason;
  };
  std::vector<std::vector<size_t>> groups;  // accepted partitions of the earlier backends
  std::vector<size_t> group_backend;

  for (size_t k = 0; k + 1 < num_backends; ++k) {
    Grouping grouping(deps, n);
    auto candidate = [&](size_t i) { return plan.placement[i] == nullptr && claims[k][i]; };
    for (size_t i = 0; i < n; ++i) {
      if (!candidate(i)) continue;
      for (size_t s : deps.succs[i]) {
        if (candidate(s)) grouping.try_merge(i, s);
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (plan.placement[i] != nullptr) continue;
      if (!claims[k][i]) {
        add_reason(i, k, why[k][i].empty() ? "not supported" : why[k][i]);
        continue;
      }
      if (grouping.find(i) != i) continue;  // handled with its group's root (its first node)
      const std::vector<size_t>& members = grouping.members(i);
      bool heavy = false;
      bool others_can_run = true;
      for (size_t m : members) {
        heavy = heavy || backends[k]->is_compute_heavy(graph.nodes[m]);
        bool later = false;
        for (size_t l = k + 1; l < num_backends; ++l) later = later || claims[l][m];
        others_can_run = others_can_run && later;
      }
      if (!heavy && members.size() < options.min_partition_nodes && others_can_run) {
        const std::string reason = "a partition of " + std::to_string(members.size()) +
                                   " node(s) (" + op_list(graph, members) +
                                   ") without a compute-heavy op is too small to pay for the "
                                   "copies at its boundary";
        for (size_t m : members) add_reason(m, k, reason);
        continue;
      }
      for (size_t m : members) plan.placement[m] = backends[k];
      groups.push_back(members);
      group_backend.push_back(k);
    }
  }

  // The last backend takes the rest, one unit per node (merged into runs below).
  std::string unplaced;
  const size_t last = num_backends - 1;
  for (size_t i = 0; i < n; ++i) {
    if (plan.placement[i] != nullptr) continue;
    if (!claims[last][i]) {
      add_reason(i, last, why[last][i].empty() ? "not supported" : why[last][i]);
      unplaced += "\n  " + graph.nodes[i].describe() + ": " + plan.reasons[i];
      continue;
    }
    plan.placement[i] = backends[last];
    groups.push_back({i});
    group_backend.push_back(last);
  }
  if (!unplaced.empty()) return unsupported("no backend can run these nodes:" + unplaced);

  // Order the units: Kahn's algorithm on the unit graph, earliest first node first, so a graph
  // that needs no reordering keeps its order.
  std::vector<size_t> unit_of(n);
  for (size_t u = 0; u < groups.size(); ++u) {
    for (size_t i : groups[u]) unit_of[i] = u;
  }
  std::vector<std::vector<size_t>> unit_succs(groups.size());
  std::vector<size_t> indegree(groups.size(), 0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t s : deps.succs[i]) {
      if (unit_of[s] != unit_of[i]) unit_succs[unit_of[i]].push_back(unit_of[s]);
    }
  }
  for (auto& l : unit_succs) {
    std::sort(l.begin(), l.end());
    l.erase(std::unique(l.begin(), l.end()), l.end());
    for (size_t s : l) ++indegree[s];
  }
  using Entry = std::pair<size_t, size_t>;  // (first node, unit)
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> ready;
  for (size_t u = 0; u < groups.size(); ++u) {
    if (indegree[u] == 0) ready.emplace(groups[u].front(), u);
  }
  std::vector<size_t> order;
  while (!ready.empty()) {
    const size_t u = ready.top().second;
    ready.pop();
    order.push_back(u);
    for (size_t s : unit_succs[u]) {
      if (--indegree[s] == 0) ready.emplace(groups[s].front(), s);
    }
  }
  if (order.size() != groups.size()) {
    return internal_error("the partitions of the graph depend on each other in a cycle");
  }
  for (size_t u : order) {
    const Backend* b = backends[group_backend[u]];
    // Consecutive nodes of the last backend run as one step; other partitions stay whole.
    if (group_backend[u] == last && !plan.partitions.empty() &&
        plan.partitions.back().backend == b) {
      plan.partitions.back().nodes.push_back(groups[u].front());
      continue;
    }
    plan.partitions.push_back({b, groups[u]});
  }
  return plan;
}

}  // namespace edgerun::runtime
