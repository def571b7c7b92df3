#include "opt/remove_dead_nodes.h"

#include <set>

namespace edgerun::opt {
namespace {

void add_subgraph_reads(const ir::Node& node, std::set<std::string>& live) {
  for (const ir::Attribute& a : node.attributes) {
    if (a.g) {
      for (const std::string& r : a.g->outer_references()) live.insert(r);
    }
    for (const auto& g : a.graphs) {
      for (const std::string& r : g->outer_references()) live.insert(r);
    }
  }
}

}  // namespace

size_t remove_dead_nodes(ir::Graph& graph) {
  std::set<std::string> live;
  for (const ir::ValueInfo& out : graph.outputs) live.insert(out.name);
  // Backwards: a node is live when one of its outputs is read by a live node after it.
  std::vector<char> keep(graph.nodes.size(), 0);
  size_t removed = 0;
  for (size_t i = graph.nodes.size(); i-- > 0;) {
    const ir::Node& node = graph.nodes[i];
    bool used = false;
    for (const std::string& out : node.outputs) used = used || (!out.empty() && live.count(out));
    if (!used) {
      ++removed;
      continue;
    }
    keep[i] = 1;
    for (const std::string& in : node.inputs) {
      if (!in.empty()) live.insert(in);
    }
    add_subgraph_reads(node, live);
  }
  if (removed > 0) {
    std::vector<ir::Node> nodes;
    nodes.reserve(graph.nodes.size() - removed);
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      if (keep[i]) nodes.push_back(std::move(graph.nodes[i]));
    }
    graph.nodes = std::move(nodes);
  }
  std::set<std::string> inputs;
  for (const ir::ValueInfo& in : graph.inputs) inputs.insert(in.name);
  std::erase_if(graph.initializers, [&](const auto& entry) {
    return live.count(entry.first) == 0 && inputs.count(entry.first) == 0;
  });
  return removed;
}

}  // namespace edgerun::opt
