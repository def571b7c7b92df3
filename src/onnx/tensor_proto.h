// ONNX TensorProto <-> Tensor, including raw_data, the typed repeated fields and external data.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "edgerun/status.hpp"
#include "edgerun/tensor.hpp"
#include "onnx/mapped_file.h"

namespace onnx {
class TensorProto;
}

namespace edgerun::onnx_import {

// Memory-maps external data files once per model and hands out zero-copy views of them.
class ExternalDataFiles {
 public:
  explicit ExternalDataFiles(std::string base_dir) : base_dir_(std::move(base_dir)) {}
  // A view of [offset, offset + length) of `location` (relative to the model's directory);
  // length < 0 means "to the end of the file".
  Result<Tensor> view(const std::string& location, int64_t offset, int64_t length, DType dtype,
                      const Shape& shape);

 private:
  struct Mapping;
  std::string base_dir_;
  std::map<std::string, std::shared_ptr<Mapping>> mappings_;
};

// A tensor's raw_data lifted out of its proto before parsing (split_weights). With `file`, the
// bytes lie in that mapping and are viewed in place when aligned for the dtype; otherwise, or
// without `file`, they are copied (and the mapping's pages released).
struct LiftedData {
  std::string_view bytes;
  std::shared_ptr<const MappedFile> file;
};

// `what` names the tensor in error messages. `external` may be null when the caller does not
// allow external data (it is then an error). `lifted`, when given, stands for proto.raw_data().
Result<Tensor> tensor_from_proto(const onnx::TensorProto& proto, const std::string& what,
                                 ExternalDataFiles* external, const LiftedData* lifted = nullptr);

// Reads a serialised TensorProto file (the ONNX test data format).
Result<Tensor> read_tensor_pb(const std::string& path, std::string* name = nullptr);
// Writes raw_data-encoded TensorProto bytes.
Status write_tensor_pb(const std::string& path, const Tensor& tensor, const std::string& name);

}  // namespace edgerun::onnx_import
