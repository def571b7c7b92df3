// ONNX SequenceProto and OptionalProto files (the test-data format for sequence and optional
// values) -> Value. TensorProto files are read by tensor_proto.h.
#pragma once

#include <string>

#include "edgerun/status.hpp"
#include "edgerun/value.hpp"

namespace edgerun::onnx_import {

// Reads a TensorProto, SequenceProto or OptionalProto file. A file does not say which message it
// holds, so the caller names the kind it expects (from the model's declared type). Sequences of tensors and optionals
// of tensors or of sequences of tensors are supported; sequences of maps, sparse tensors or
// nested sequences are refused by name. `name` receives the message's name field.
Result<Value> read_value_pb(const std::string& path, ValueKind kind, std::string* name = nullptr);

}  // namespace edgerun::onnx_import
