#include "runtime/report_json.h"

#include <nlohmann/json.hpp>

namespace edgerun {
namespace {

std::string_view kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::kTensor: return "tensor";
    case ValueKind::kSequence: return "sequence";
    case ValueKind::kOptional: return "optional";
  }
  return "tensor";
}

nlohmann::json spec_json(const TensorSpec& spec) {
  nlohmann::json j;
  j["name"] = spec.name;
  j["kind"] = kind_name(spec.kind);
  j["dtype"] = dtype_name(spec.dtype);
  j["type"] = spec.type;
  j["shape"] = spec.shape ? nlohmann::json(*spec.shape) : nlohmann::json(nullptr);
  j["dim_names"] = spec.dim_names;
  return j;
}

}  // namespace

std::string schema_to_json(const IoSchema& schema) {
  nlohmann::json j;
  j["inputs"] = nlohmann::json::array();
  j["outputs"] = nlohmann::json::array();
  for (const TensorSpec& s : schema.inputs) j["inputs"].push_back(spec_json(s));
  for (const TensorSpec& s : schema.outputs) j["outputs"].push_back(spec_json(s));
  return j.dump();
}

std::string capabilities_to_json(const CapabilityReport& report) {
  nlohmann::json j;
  j["requested"] = compute_units_name(report.requested);
  j["actual"] = report.actual;
  j["available_backends"] = report.available_backends;
  j["notes"] = report.notes;
  j["node_count"] = report.node_count;
  j["nodes_per_backend"] = report.nodes_per_backend;
  j["placements"] = nlohmann::json::array();
  for (const NodePlacement& p : report.placements) {
    j["placements"].push_back(
        {{"node", p.node}, {"op", p.op}, {"backend", p.backend}, {"reason", p.reason}});
  }
  j["partitions"] = nlohmann::json::array();
  for (const PartitionReport& p : report.partitions) {
    j["partitions"].push_back({{"backend", p.backend}, {"nodes", p.nodes}});
  }
  return j.dump();
}

}  // namespace edgerun
