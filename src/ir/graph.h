// The intermediate representation: a model is a graph of nodes that refer to values by name.
// Names keep import, subgraph scoping and printing simple; the executor turns them into slot
// indices once at compile time, so the hot path never looks a name up.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "edgerun/status.hpp"
#include "edgerun/tensor.hpp"
#include "ir/attribute.h"
#include "ir/op.h"

namespace edgerun::ir {

// One dimension of a declared shape: a number, a symbol ("batch"), or unknown.
struct Dim {
  int64_t value = -1;  // >= 0 when known
  std::string symbol;  // set for symbolic dims
  bool known() const { return value >= 0; }
};

struct TypeInfo {
  enum class Kind { kUnknown, kTensor, kSequence, kOptional, kMap, kSparseTensor };
  Kind kind = Kind::kUnknown;
  DType dtype = DType::kUndefined;             // element dtype for tensors
  std::optional<std::vector<Dim>> shape;       // absent: rank unknown
  std::shared_ptr<TypeInfo> element;           // sequence / optional element type
};

std::string type_to_string(const TypeInfo& type);

struct ValueInfo {
  std::string name;
  TypeInfo type;
  std::string doc;
};

struct Node {
  std::string name;
  std::string domain;   // "" for the default ONNX domain
  std::string op_type;  // as written in the model
  std::optional<Op> op; // empty when edgerun does not know the op
  int64_t opset = 0;    // the opset version the model imports for this node's domain
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;  // "" marks an omitted optional output
  std::vector<Attribute> attributes;

  // "node 'conv1' (Conv)" for error messages.
  std::string describe() const;

  const Attribute* find_attr(std::string_view attr_name) const;
  bool has_attr(std::string_view attr_name) const { return find_attr(attr_name) != nullptr; }
  // Typed getters with defaults. The importer has checked attribute types against the ONNX
  // schema, so a present attribute has the type its op declares.
  int64_t attr_int(std::string_view attr_name, int64_t fallback) const;
  float attr_float(std::string_view attr_name, float fallback) const;
  std::string attr_string(std::string_view attr_name, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(std::string_view attr_name,
                                 const std::vector<int64_t>& fallback = {}) const;
  std::vector<float> attr_floats(std::string_view attr_name,
                                 const std::vector<float>& fallback = {}) const;
  std::vector<std::string> attr_strings(std::string_view attr_name) const;
  // Number of node inputs actually given (omitted trailing/optional ones excluded).
  bool has_input(size_t index) const { return index < inputs.size() && !inputs[index].empty(); }
};

struct Graph {
  std::string name;
  std::string doc;
  std::vector<Node> nodes;  // topologically sorted after validate()
  std::vector<ValueInfo> inputs;   // graph inputs that are not initializers
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> value_infos;  // annotations of intermediate values
  std::map<std::string, Tensor> initializers;

  const ValueInfo* find_value_info(std::string_view value_name) const;

  // Checks the graph is well formed and sorts its nodes topologically: every node input is
  // produced by a node, a graph input, an initializer or (for subgraphs) the outer scope; no
  // value is produced twice; there is no cycle. Recurses into subgraphs.
  Status validate(const std::set<std::string>& outer_scope = {});

  // Names a subgraph reads from enclosing scopes (inputs no node/input/initializer defines).
  std::vector<std::string> outer_references() const;
};

struct Model {
  int64_t ir_version = 0;
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc;
  std::map<std::string, int64_t> opset_imports;  // domain ("" = default) -> version
  std::map<std::string, std::string> metadata;
  Graph graph;
};

}  // namespace edgerun::ir
