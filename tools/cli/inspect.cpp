#include <iostream>
#include <map>
#include <set>

#include "backends/reference/reference_backend.h"
#include "commands.h"
#include "onnx/importer.h"

namespace edgerun::cli {
namespace {

void count_ops(const ir::Graph& g, std::map<std::string, int>& histogram,
               std::map<std::string, std::string>& unsupported) {
  for (const ir::Node& n : g.nodes) {
    const std::string key = (n.domain.empty() ? "" : n.domain + ".") + n.op_type;
    ++histogram[key];
    const std::string why = reference::unsupported_reason(n);
    if (!why.empty()) unsupported[key + " (opset " + std::to_string(n.opset) + ")"] = why;
    for (const ir::Attribute& a : n.attributes) {
      if (a.g) count_ops(*a.g, histogram, unsupported);
      for (const auto& sg : a.graphs) count_ops(*sg, histogram, unsupported);
    }
  }
}

}  // namespace

int inspect_command(const InspectArgs& args) {
  Result<ir::Model> loaded = onnx_import::import_model_file(args.model);
  if (!loaded.is_ok()) {
    std::cerr << "error: " << loaded.status().to_string() << "\n";
    return 1;
  }
  const ir::Model& m = loaded.value();
  std::cout << "model:     " << args.model << "\n";
  std::cout << "ir:        version " << m.ir_version << "\n";
  std::cout << "producer:  " << (m.producer_name.empty() ? "(none)" : m.producer_name)
            << (m.producer_version.empty() ? "" : " " + m.producer_version) << "\n";
  if (!m.graph.name.empty()) std::cout << "graph:     " << m.graph.name << "\n";
  std::cout << "opsets:   ";
  for (const auto& [domain, version] : m.opset_imports) {
    std::cout << " " << (domain.empty() ? "ai.onnx" : domain) << "=" << version;
  }
  std::cout << "\n";
  for (const auto& [key, value] : m.metadata) std::cout << "metadata:  " << key << " = " << value << "\n";

  std::cout << "\ninputs:\n";
  for (const ir::ValueInfo& v : m.graph.inputs) {
    std::cout << "  " << v.name << ": " << ir::type_to_string(v.type) << "\n";
  }
  std::cout << "outputs:\n";
  for (const ir::ValueInfo& v : m.graph.outputs) {
    std::cout << "  " << v.name << ": " << ir::type_to_string(v.type) << "\n";
  }

  int64_t params = 0;
  int64_t bytes = 0;
  for (const auto& [name, t] : m.graph.initializers) {
    params += t.size();
    bytes += static_cast<int64_t>(t.dtype() == DType::kString ? 0 : t.nbytes());
  }
  std::cout << "\nparameters: " << params << " in " << m.graph.initializers.size()
            << " initializers, " << bytes << " bytes (" << bytes / 1048576.0 << " MiB)\n";

  std::map<std::string, int> histogram;
  std::map<std::string, std::string> unsupported;
  count_ops(m.graph, histogram, unsupported);
  std::cout << "\nops (" << m.graph.nodes.size() << " nodes in the main graph):\n";
  std::multimap<int, std::string, std::greater<>> by_count;
  for (const auto& [op, n] : histogram) by_count.emplace(n, op);
  for (const auto& [n, op] : by_count) std::cout << "  " << n << "\t" << op << "\n";

  if (unsupported.empty()) {
    std::cout << "\nedgerun can run every op in this model.\n";
  } else {
    std::cout << "\nops edgerun cannot run:\n";
    for (const auto& [op, why] : unsupported) std::cout << "  " << op << ": " << why << "\n";
  }
  return 0;
}

}  // namespace edgerun::cli
