// Sequence and optional values on the command line: reading them from ONNX .pb files, printing
// them, and writing them next to tensor outputs (a sequence as a folder NAME/ of 0.npy, 1.npy, ...;
// an empty optional as an empty file NAME.none; an optional holding a value as that value).
#pragma once

#include <string>

#include "edgerun/edgerun.hpp"

namespace edgerun::cli {

// Reads an input for a model input declared as `kind`: .npy files hold tensors; .pb files hold a
// TensorProto, SequenceProto or OptionalProto as the declared kind says.
Result<Value> read_value_file(const std::string& path, ValueKind kind);

// One line per tensor; sequences list their elements, an empty optional says so.
std::string summarize_value(const Value& v, const std::string& indent);

// Writes `v` as `dir`/`stem`.npy, `dir`/`stem`/{0,1,...}.npy or `dir`/`stem`.none and returns
// the path written.
Result<std::string> write_value(const std::string& dir, const std::string& stem, const Value& v);

}  // namespace edgerun::cli
