// ONNX ModelProto -> ir::Model.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "edgerun/status.hpp"
#include "ir/graph.h"
#include "onnx/mapped_file.h"

namespace edgerun::onnx_import {

struct ImportOptions {
  // Directory that external data locations are relative to (the model file's directory).
  std::string base_dir = ".";
  // The mapping the model bytes lie in, when they do: weights aligned for their dtype are then
  // viewed where they lie (the tensors keep the mapping alive) instead of being copied.
  std::shared_ptr<const MappedFile> file;
};

// Parses serialised ModelProto bytes and converts them. Errors name what was wrong: a file that
// is not a model, a node whose attribute has the wrong type, an undefined input, a cycle.
// Ops edgerun cannot run are NOT an error here (inspect lists them); prepare rejects them.
Result<ir::Model> import_model_bytes(std::string_view bytes, const ImportOptions& options);
// Maps the file into memory (no copy of its bytes before parsing) and imports it.
Result<ir::Model> import_model_file(const std::string& path);

}  // namespace edgerun::onnx_import
