#include "ir/graph.h"

#include <algorithm>
#include <map>
#include <sstream>

namespace edgerun::ir {

std::string_view attr_type_name(AttrType type) {
  switch (type) {
    case AttrType::kUndefined: return "UNDEFINED";
    case AttrType::kFloat: return "FLOAT";
    case AttrType::kInt: return "INT";
    case AttrType::kString: return "STRING";
    case AttrType::kTensor: return "TENSOR";
    case AttrType::kGraph: return "GRAPH";
    case AttrType::kFloats: return "FLOATS";
    case AttrType::kInts: return "INTS";
    case AttrType::kStrings: return "STRINGS";
    case AttrType::kTensors: return "TENSORS";
    case AttrType::kGraphs: return "GRAPHS";
    case AttrType::kSparseTensor: return "SPARSE_TENSOR";
    case AttrType::kSparseTensors: return "SPARSE_TENSORS";
    case AttrType::kTypeProto: return "TYPE_PROTO";
    case AttrType::kTypeProtos: return "TYPE_PROTOS";
  }
  return "UNKNOWN";
}

std::string type_to_string(const TypeInfo& type) {
  switch (type.kind) {
    case TypeInfo::Kind::kUnknown: return "?";
    case TypeInfo::Kind::kSequence:
      return "sequence<" + (type.element ? type_to_string(*type.element) : "?") + ">";
    case TypeInfo::Kind::kOptional:
      return "optional<" + (type.element ? type_to_string(*type.element) : "?") + ">";
    case TypeInfo::Kind::kMap: return "map";
    case TypeInfo::Kind::kSparseTensor:
    case TypeInfo::Kind::kTensor: break;
  }
  std::ostringstream os;
  os << dtype_name(type.dtype);
  if (!type.shape) {
    os << "[?]";  // unknown rank
    return os.str();
  }
  os << '[';
  for (size_t i = 0; i < type.shape->size(); ++i) {
    const Dim& d = (*type.shape)[i];
    os << (i ? ", " : "");
    if (d.known()) {
      os << d.value;
    } else if (!d.symbol.empty()) {
      os << d.symbol;
    } else {
      os << '?';
    }
  }
  os << ']';
  return os.str();
}

std::string Node::describe() const {
  std::string s = "node '" + name + "' (";
  if (!domain.empty()) s += domain + ".";
  return s + op_type + ")";
}

const Attribute* Node::find_attr(std::string_view attr_name) const {
  for (const Attribute& a : attributes) {
    if (a.name == attr_name) return &a;
  }
  return nullptr;
}

int64_t Node::attr_int(std::string_view attr_name, int64_t fallback) const {
  const Attribute* a = find_attr(attr_name);
  return a && a->type == AttrType::kInt ? a->i : fallback;
}

float Node::attr_float(std::string_view attr_name, float fallback) const {
  const Attribute* a = find_attr(attr_name);
  if (!a) return fallback;
  if (a->type == AttrType::kFloat) return a->f;
  if (a->type == AttrType::kInt) return static_cast<float>(a->i);
  return fallback;
}

std::string Node::attr_string(std::string_view attr_name, const std::string& fallback) const {
  const Attribute* a = find_attr(attr_name);
  return a && a->type == AttrType::kString ? a->s : fallback;
}

std::vector<int64_t> Node::attr_ints(std::string_view attr_name,
                                     const std::vector<int64_t>& fallback) const {
  const Attribute* a = find_attr(attr_name);
  return a && a->type == AttrType::kInts ? a->ints : fallback;
}

std::vector<float> Node::attr_floats(std::string_view attr_name,
                                     const std::vector<float>& fallback) const {
  const Attribute* a = find_attr(attr_name);
  return a && a->type == AttrType::kFloats ? a->floats : fallback;
}

std::vector<std::string> Node::attr_strings(std::string_view attr_name) const {
  const Attribute* a = find_attr(attr_name);
  return a && a->type == AttrType::kStrings ? a->strings : std::vector<std::string>{};
}

const ValueInfo* Graph::find_value_info(std::string_view value_name) const {
  for (const auto* list : {&inputs, &outputs, &value_infos}) {
    for (const ValueInfo& v : *list) {
      if (v.name == value_name) return &v;
    }
  }
  return nullptr;
}

namespace {

std::set<std::string> local_definitions(const Graph& g) {
  std::set<std::string> defined;
  for (const ValueInfo& v : g.inputs) defined.insert(v.name);
  for (const auto& [name, tensor] : g.initializers) defined.insert(name);
  for (const Node& n : g.nodes) {
    for (const std::string& o : n.outputs) {
      if (!o.empty()) defined.insert(o);
    }
  }
  return defined;
}

void collect_outer_references(const Graph& g, const std::set<std::string>& enclosing_defined,
                              std::set<std::string>& out) {
  std::set<std::string> defined = local_definitions(g);
  for (const Node& n : g.nodes) {
    for (const std::string& in : n.inputs) {
      if (!in.empty() && !defined.count(in)) out.insert(in);
    }
    for (const Attribute& a : n.attributes) {
      std::vector<const Graph*> bodies;
      if (a.g) bodies.push_back(a.g.get());
      for (const auto& sg : a.graphs) bodies.push_back(sg.get());
      for (const Graph* body : bodies) {
        std::set<std::string> inner;
        collect_outer_references(*body, {}, inner);
        for (const std::string& name : inner) {
          if (!defined.count(name)) out.insert(name);
        }
      }
    }
  }
  for (const ValueInfo& o : g.outputs) {
    if (!defined.count(o.name)) out.insert(o.name);
  }
  (void)enclosing_defined;
}

}  // namespace

std::vector<std::string> Graph::outer_references() const {
  std::set<std::string> refs;
  collect_outer_references(*this, {}, refs);
  return {refs.begin(), refs.end()};
}

Status Graph::validate(const std::set<std::string>& outer_scope) {
  // Who produces each value.
  std::map<std::string, size_t> producer;
  std::set<std::string> available = outer_scope;
  for (const ValueInfo& v : inputs) available.insert(v.name);
  for (const auto& [n, t] : initializers) available.insert(n);
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const std::string& o : nodes[i].outputs) {
      if (o.empty()) continue;
      if (producer.count(o)) {
        return invalid_model("value '" + o + "' is produced twice: by " +
                             nodes[producer[o]].describe() + " and by " + nodes[i].describe());
      }
      if (available.count(o) && !outer_scope.count(o)) {
        return invalid_model(nodes[i].describe() + " produces '" + o +
                             "', which is already a graph input or initializer");
      }
      producer[o] = i;
    }
  }
  // Every node input must come from somewhere.
  std::vector<std::vector<size_t>> consumers(nodes.size());
  std::vector<size_t> pending(nodes.size(), 0);
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::set<size_t> deps;
    std::vector<std::string> needed;
    for (const std::string& in : nodes[i].inputs) {
      if (!in.empty()) needed.push_back(in);
    }
    // A subgraph's references to this scope are dependencies of the node that owns it.
    for (const Attribute& a : nodes[i].attributes) {
      std::vector<const Graph*> bodies;
      if (a.g) bodies.push_back(a.g.get());
      for (const auto& sg : a.graphs) bodies.push_back(sg.get());
      for (const Graph* body : bodies) {
        for (const std::string& r : body->outer_references()) needed.push_back(r);
      }
    }
    for (const std::string& in : needed) {
      auto p = producer.find(in);
      if (p != producer.end()) {
        deps.insert(p->second);
      } else if (!available.count(in)) {
        return invalid_model(nodes[i].describe() + " reads '" + in +
                             "', which no node, graph input or initializer produces");
      }
    }
    pending[i] = deps.size();
    for (size_t d : deps) consumers[d].push_back(i);
  }
  // Kahn's algorithm, stable with respect to the model's order.
  std::vector<size_t> order;
  std::vector<size_t> ready;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (pending[i] == 0) ready.push_back(i);
  }
  std::make_heap(ready.begin(), ready.end(), std::greater<>());
  while (!ready.empty()) {
    std::pop_heap(ready.begin(), ready.end(), std::greater<>());
    const size_t i = ready.back();
    ready.pop_back();
    order.push_back(i);
    for (size_t c : consumers[i]) {
      if (--pending[c] == 0) {
        ready.push_back(c);
        std::push_heap(ready.begin(), ready.end(), std::greater<>());
      }
    }
  }
  if (order.size() != nodes.size()) {
    std::string members;
    int listed = 0;
    for (size_t i = 0; i < nodes.size() && listed < 5; ++i) {
      if (pending[i] > 0) {
        members += (listed++ ? ", " : "") + nodes[i].describe();
      }
    }
    return invalid_model("the graph has a cycle through " + members);
  }
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  for (size_t i : order) sorted.push_back(std::move(nodes[i]));
  nodes = std::move(sorted);
  // Graph outputs must exist.
  std::set<std::string> defined = available;
  for (const auto& [n, p] : producer) defined.insert(n);
  for (const ValueInfo& o : outputs) {
    if (!defined.count(o.name)) {
      return invalid_model("graph output '" + o.name + "' is not produced by any node or input");
    }
  }
  // Subgraphs see everything defined here plus the outer scope.
  for (Node& n : nodes) {
    for (Attribute& a : n.attributes) {
      std::vector<Graph*> bodies;
      if (a.g) bodies.push_back(a.g.get());
      for (auto& sg : a.graphs) bodies.push_back(sg.get());
      for (Graph* body : bodies) {
        Status s = body->validate(defined);
        if (!s.is_ok()) return s.with_context("in subgraph '" + a.name + "' of " + n.describe());
      }
    }
  }
  return Status::ok();
}

}  // namespace edgerun::ir
