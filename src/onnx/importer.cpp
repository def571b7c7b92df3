#include "onnx/importer.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <unordered_map>

#include <google/protobuf/io/coded_stream.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "onnx/mapped_file.h"
#include "onnx/tensor_proto.h"
#include "onnx/weight_split.h"

namespace edgerun::onnx_import {
namespace {

using OpsetMap = std::map<std::string, int64_t>;

std::string canonical_domain(const std::string& domain) {
  return domain == "ai.onnx" ? std::string() : domain;
}

ir::TypeInfo import_type(const onnx::TypeProto& type) {
  ir::TypeInfo info;
  switch (type.value_case()) {
    case onnx::TypeProto::kTensorType:
    case onnx::TypeProto::kSparseTensorType: {
      const bool sparse = type.value_case() == onnx::TypeProto::kSparseTensorType;
      info.kind = sparse ? ir::TypeInfo::Kind::kSparseTensor : ir::TypeInfo::Kind::kTensor;
      const int32_t elem = sparse ? type.sparse_tensor_type().elem_type()
                                  : type.tensor_type().elem_type();
      info.dtype = static_cast<DType>(elem);
      const bool has_shape = sparse ? type.sparse_tensor_type().has_shape()
                                    : type.tensor_type().has_shape();
      if (has_shape) {
        const auto& shape = sparse ? type.sparse_tensor_type().shape() : type.tensor_type().shape();
        std::vector<ir::Dim> dims;
        for (const auto& d : shape.dim()) {
          ir::Dim dim;
          if (d.has_dim_value()) dim.value = d.dim_value();
          if (d.has_dim_param()) dim.symbol = d.dim_param();
          dims.push_back(dim);
        }
        info.shape = std::move(dims);
      }
      break;
    }
    case onnx::TypeProto::kSequenceType:
      info.kind = ir::TypeInfo::Kind::kSequence;
      info.element = std::make_shared<ir::TypeInfo>(import_type(type.sequence_type().elem_type()));
      break;
    case onnx::TypeProto::kOptionalType:
      info.kind = ir::TypeInfo::Kind::kOptional;
      info.element = std::make_shared<ir::TypeInfo>(import_type(type.optional_type().elem_type()));
      break;
    case onnx::TypeProto::kMapType:
      info.kind = ir::TypeInfo::Kind::kMap;
      break;
    default:
      break;
  }
  return info;
}

ir::ValueInfo import_value_info(const onnx::ValueInfoProto& v) {
  return ir::ValueInfo{v.name(), v.has_type() ? import_type(v.type()) : ir::TypeInfo{},
                       v.doc_string()};
}

// The main graph's raw_data taken out before parsing, by initializer index, and the mapping it
// lies in (null when the bytes are the caller's).
struct LiftedWeights {
  using Spans = std::vector<std::optional<std::string_view>>;
  Spans raw_data;
  std::shared_ptr<const MappedFile> file;
};

class GraphImporter {
 public:
  GraphImporter(const OpsetMap& opsets, ExternalDataFiles* external)
      : opsets_(opsets), external_(external) {}

  // `lifted`: for the main graph, the raw_data split_weights took out of its initializers.
  Result<ir::Graph> import_graph(const onnx::GraphProto& g, const LiftedWeights* lifted = nullptr) {
    ir::Graph graph;
    graph.name = g.name();
    graph.doc = g.doc_string();
    for (int i = 0; i < g.initializer_size(); ++i) {
      const onnx::TensorProto& init = g.initializer(i);
      if (init.name().empty()) return invalid_model("graph '" + g.name() + "' has an unnamed initializer");
      std::optional<LiftedData> data;
      if (lifted != nullptr && static_cast<size_t>(i) < lifted->raw_data.size() &&
          lifted->raw_data[static_cast<size_t>(i)]) {
        data = LiftedData{*lifted->raw_data[static_cast<size_t>(i)], lifted->file};
      }
      Result<Tensor> t = tensor_from_proto(init, init.name(), external_, data ? &*data : nullptr);
      if (!t.is_ok()) return t.status();
      graph.initializers[init.name()] = std::move(t).value();
    }
    if (g.sparse_initializer_size() > 0) {
      return unsupported("graph '" + g.name() + "' has sparse initializers");
    }
    for (const auto& in : g.input()) {
      // Before IR version 4 initializers were also listed as inputs; they stay initializers.
      if (!graph.initializers.count(in.name())) graph.inputs.push_back(import_value_info(in));
    }
    for (const auto& out : g.output()) graph.outputs.push_back(import_value_info(out));
    for (const auto& vi : g.value_info()) graph.value_infos.push_back(import_value_info(vi));
    int unnamed = 0;
    for (const auto& n : g.node()) {
      Result<ir::Node> node = import_node(n, unnamed);
      if (!node.is_ok()) return node.status();
      graph.nodes.push_back(std::move(node).value());
    }
    return graph;
  }

 private:
  Result<ir::Node> import_node(const onnx::NodeProto& n, int& unnamed) {
    ir::Node node;
    node.op_type = n.op_type();
    node.domain = canonical_domain(n.domain());
    node.name = n.name().empty() ? n.op_type() + "_" + std::to_string(unnamed++) : n.name();
    node.inputs.assign(n.input().begin(), n.input().end());
    node.outputs.assign(n.output().begin(), n.output().end());
    auto opset = opsets_.find(node.domain);
    if (opset == opsets_.end()) {
      return invalid_model(node.describe() + " uses domain '" + n.domain() +
                           "', which the model does not import (no opset_import entry)");
    }
    node.opset = opset->second;
    node.op = ir::find_op(node.domain, node.op_type);
    for (const auto& a : n.attribute()) {
      Result<ir::Attribute> attr = import_attribute(a, node);
      if (!attr.is_ok()) return attr.status();
      node.attributes.push_back(std::move(attr).value());
    }
    ER_RETURN_IF_ERROR(check_against_schema(node));
    return node;
  }

  Result<ir::Attribute> import_attribute(const onnx::AttributeProto& a, const ir::Node& node) {
    ir::Attribute attr;
    attr.name = a.name();
    if (!a.ref_attr_name().empty()) {
      return unsupported(node.describe() + " attribute '" + a.name() +
                         "' refers to a function attribute, which is only valid inside functions");
    }
    const std::string what = node.describe() + " attribute '" + a.name() + "'";
    switch (a.type()) {
      case onnx::AttributeProto::FLOAT: attr.type = ir::AttrType::kFloat; attr.f = a.f(); break;
      case onnx::AttributeProto::INT: attr.type = ir::AttrType::kInt; attr.i = a.i(); break;
      case onnx::AttributeProto::STRING: attr.type = ir::AttrType::kString; attr.s = a.s(); break;
      case onnx::AttributeProto::TENSOR: {
        attr.type = ir::AttrType::kTensor;
        ER_ASSIGN_OR_RETURN(attr.t, tensor_from_proto(a.t(), what, external_));
        break;
      }
      case onnx::AttributeProto::GRAPH: {
        attr.type = ir::AttrType::kGraph;
        ER_ASSIGN_OR_RETURN(ir::Graph body, import_graph(a.g()));
        attr.g = std::make_shared<ir::Graph>(std::move(body));
        break;
      }
      case onnx::AttributeProto::FLOATS:
        attr.type = ir::AttrType::kFloats;
        attr.floats.assign(a.floats().begin(), a.floats().end());
        break;
      case onnx::AttributeProto::INTS:
        attr.type = ir::AttrType::kInts;
        attr.ints.assign(a.ints().begin(), a.ints().end());
        break;
      case onnx::AttributeProto::STRINGS:
        attr.type = ir::AttrType::kStrings;
        attr.strings.assign(a.strings().begin(), a.strings().end());
        break;
      case onnx::AttributeProto::TENSORS:
        attr.type = ir::AttrType::kTensors;
        for (const auto& t : a.tensors()) {
          ER_ASSIGN_OR_RETURN(Tensor tensor, tensor_from_proto(t, what, external_));
          attr.tensors.push_back(std::move(tensor));
        }
        break;
      case onnx::AttributeProto::GRAPHS:
        attr.type = ir::AttrType::kGraphs;
        for (const auto& g : a.graphs()) {
          ER_ASSIGN_OR_RETURN(ir::Graph body, import_graph(g));
          attr.graphs.push_back(std::make_shared<ir::Graph>(std::move(body)));
        }
        break;
      case onnx::AttributeProto::SPARSE_TENSOR: attr.type = ir::AttrType::kSparseTensor; break;
      case onnx::AttributeProto::SPARSE_TENSORS: attr.type = ir::AttrType::kSparseTensors; break;
      case onnx::AttributeProto::TYPE_PROTO: attr.type = ir::AttrType::kTypeProto; break;
      case onnx::AttributeProto::TYPE_PROTOS: attr.type = ir::AttrType::kTypeProtos; break;
      default:
        return invalid_model(what + " has no valid type (" + std::to_string(a.type()) + ")");
    }
    return attr;
  }

  // Holds default-domain nodes to the ONNX schema of the imported opset: attribute names and
  // types, required attributes, input and output counts. Kernels may then trust attributes.
  Status check_against_schema(const ir::Node& node) {
    const auto* schema = onnx::OpSchemaRegistry::Schema(node.op_type, static_cast<int>(node.opset),
                                                        node.domain);
    if (schema == nullptr) return Status::ok();  // unknown op: prepare reports it
    const auto& declared = schema->attributes();
    for (const ir::Attribute& a : node.attributes) {
      auto it = declared.find(a.name);
      if (it == declared.end()) {
        return invalid_model(node.describe() + " has attribute '" + a.name + "', which " +
                             node.op_type + " (opset " + std::to_string(node.opset) +
                             ") does not define");
      }
      const auto expected = static_cast<ir::AttrType>(static_cast<int>(it->second.type));
      if (expected != a.type) {
        return invalid_model(node.describe() + " attribute '" + a.name + "' must be " +
                             std::string(ir::attr_type_name(expected)) + ", got " +
                             std::string(ir::attr_type_name(a.type)));
      }
    }
    for (const auto& [name, spec] : declared) {
      if (spec.required && !node.has_attr(name)) {
        return invalid_model(node.describe() + " is missing required attribute '" + name + "'");
      }
    }
    const int inputs = static_cast<int>(node.inputs.size());
    if (inputs < schema->min_input() || inputs > schema->max_input()) {
      return invalid_model(node.describe() + " has " + std::to_string(inputs) +
                           " inputs, expected " + std::to_string(schema->min_input()) + ".." +
                           std::to_string(schema->max_input()));
    }
    const int outputs = static_cast<int>(node.outputs.size());
    if (outputs < schema->min_output() || outputs > schema->max_output()) {
      return invalid_model(node.describe() + " has " + std::to_string(outputs) +
                           " outputs, expected " + std::to_string(schema->min_output()) + ".." +
                           std::to_string(schema->max_output()));
    }
    return Status::ok();
  }

  const OpsetMap& opsets_;
  ExternalDataFiles* external_;
};

// Fills in value_info with ONNX's own (symbolic) type and shape inference, best effort: a
// failure leaves the model as it was, since edgerun's kernels compute shapes at run time anyway.
void infer_types(onnx::ModelProto& model) {
  try {
    onnx::shape_inference::InferShapes(model);
  } catch (const std::exception&) {
  }
}

}  // namespace

Result<ir::Model> import_model_bytes(std::string_view bytes, const ImportOptions& options) {
  // Weights under this size stay in the skeleton: small tensors (shapes, scalars) are what
  // ONNX's shape inference reads, and lifting them would save nothing.
  constexpr size_t kLiftBytes = 4096;
  std::optional<SplitModel> split = split_weights(bytes, kLiftBytes);
  const std::string_view message = split ? std::string_view(split->skeleton) : bytes;
  onnx::ModelProto proto;
  google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(message.data()),
                                                static_cast<int>(message.size()));
  stream.SetTotalBytesLimit(INT32_MAX);
  if (bytes.empty() || !proto.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage()) {
    return invalid_model("the file is not a valid ONNX model (protobuf parse failed: truncated or "
                         "corrupt, " + std::to_string(bytes.size()) + " bytes)");
  }
  if (!proto.has_graph()) return invalid_model("the model has no graph");
  if (proto.ir_version() <= 0) {
    return invalid_model("the model has no ir_version (is it really an ONNX model?)");
  }
  ir::Model model;
  model.ir_version = proto.ir_version();
  model.producer_name = proto.producer_name();
  model.producer_version = proto.producer_version();
  model.domain = proto.domain();
  model.model_version = proto.model_version();
  model.doc = proto.doc_string();
  for (const auto& op : proto.opset_import()) {
    model.opset_imports[canonical_domain(op.domain())] = op.version();
  }
  if (proto.opset_import_size() == 0) {
    // IR version 1-2 models predate opset_import; they mean opset 1 of the default domain.
    model.opset_imports[""] = 1;
  }
  for (const auto& kv : proto.metadata_props()) model.metadata[kv.key()] = kv.value();

  infer_types(proto);

  ExternalDataFiles external(options.base_dir);
  GraphImporter importer(model.opset_imports, &external);
  LiftedWeights lifted{split ? std::move(split->raw_data) : LiftedWeights::Spans{}, options.file};
  Result<ir::Graph> graph = importer.import_graph(proto.graph(), &lifted);
  if (!graph.is_ok()) return graph.status();
  model.graph = std::move(graph).value();
  ER_RETURN_IF_ERROR(model.graph.validate());
  return model;
}

Result<ir::Model> import_model_file(const std::string& path) {
  ER_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  ImportOptions options;
  options.base_dir = std::filesystem::path(path).parent_path().string();
  if (options.base_dir.empty()) options.base_dir = ".";
  options.file = std::make_shared<const MappedFile>(std::move(file));
  Result<ir::Model> model = import_model_bytes(options.file->bytes(), options);
  if (!model.is_ok()) return model.status().with_context("'" + path + "'");
  return model;
}

}  // namespace edgerun::onnx_import
