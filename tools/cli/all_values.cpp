#include "all_values.h"

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace edgerun::cli {

Result<ExpandedModel> with_every_value_as_output(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open model file '" + path + "'");
  std::stringstream bytes;
  bytes << in.rdbuf();
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes.str())) {
    return invalid_model("'" + path + "' is not a serialised ONNX model");
  }
  onnx::GraphProto* graph = model.mutable_graph();
  std::set<std::string> outputs;
  for (const auto& o : graph->output()) outputs.insert(o.name());
  std::vector<ProducedValue> values;
  for (const auto& node : graph->node()) {
    for (const std::string& name : node.output()) {
      if (name.empty()) continue;
      values.push_back({name, node.name(), node.op_type()});
      if (outputs.insert(name).second) graph->add_output()->set_name(name);
    }
  }
  std::string base_dir = std::filesystem::path(path).parent_path().string();
  return ExpandedModel{
      ModelArtifact::from_bytes(model.SerializeAsString(), base_dir.empty() ? "." : base_dir),
      std::move(values)};
}

}  // namespace edgerun::cli
