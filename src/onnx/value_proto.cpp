#include "onnx/value_proto.h"

#include <fstream>
#include <sstream>

#include <onnx/onnx-data_pb.h>

#include "onnx/tensor_proto.h"

namespace edgerun::onnx_import {
namespace {

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Result<Value> sequence_from_proto(const onnx::SequenceProto& proto, const std::string& what) {
  if (proto.elem_type() != onnx::SequenceProto::TENSOR &&
      proto.elem_type() != onnx::SequenceProto::UNDEFINED) {
    return unsupported(what + ": sequences of " +
                       onnx::SequenceProto::DataType_Name(proto.elem_type()) +
                       " are not supported, only sequences of tensors");
  }
  std::vector<Tensor> items;
  DType dtype = DType::kUndefined;
  for (int i = 0; i < proto.tensor_values_size(); ++i) {
    ER_ASSIGN_OR_RETURN(Tensor t, tensor_from_proto(proto.tensor_values(i),
                                                    what + " element " + std::to_string(i), nullptr));
    if (i > 0 && t.dtype() != dtype) {
      return invalid_argument(what + ": element " + std::to_string(i) + " has dtype " +
                              std::string(dtype_name(t.dtype())) + ", element 0 has " +
                              std::string(dtype_name(dtype)));
    }
    dtype = t.dtype();
    items.push_back(std::move(t));
  }
  return Value::sequence(dtype, std::move(items));
}

Result<Value> optional_from_proto(const onnx::OptionalProto& proto, const std::string& what) {
  if (proto.has_tensor_value()) {
    ER_ASSIGN_OR_RETURN(Tensor t, tensor_from_proto(proto.tensor_value(), what, nullptr));
    return Value(std::move(t));
  }
  if (proto.has_sequence_value()) return sequence_from_proto(proto.sequence_value(), what);
  if (proto.has_sparse_tensor_value() || proto.has_map_value() || proto.has_optional_value()) {
    return unsupported(what + ": optionals of " +
                       onnx::OptionalProto::DataType_Name(proto.elem_type()) +
                       " are not supported, only of tensors and sequences of tensors");
  }
  return Value::none();
}

}  // namespace

Result<Value> read_value_pb(const std::string& path, ValueKind kind, std::string* name) {
  if (kind == ValueKind::kTensor) {
    ER_ASSIGN_OR_RETURN(Tensor t, read_tensor_pb(path, name));
    return Value(std::move(t));
  }
  ER_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  if (kind == ValueKind::kSequence) {
    onnx::SequenceProto proto;
    if (!proto.ParseFromString(bytes)) {
      return invalid_argument("'" + path + "' is not a serialised ONNX SequenceProto");
    }
    if (name != nullptr) *name = proto.name();
    return sequence_from_proto(proto, "'" + path + "'");
  }
  onnx::OptionalProto proto;
  if (!proto.ParseFromString(bytes)) {
    return invalid_argument("'" + path + "' is not a serialised ONNX OptionalProto");
  }
  if (name != nullptr) *name = proto.name();
  return optional_from_proto(proto, "'" + path + "'");
}

}  // namespace edgerun::onnx_import
