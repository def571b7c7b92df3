#include "value_io.h"

#include <filesystem>
#include <fstream>

#include "core/npy.h"
#include "onnx/value_proto.h"
#include "tensor_io.h"

namespace edgerun::cli {

namespace fs = std::filesystem;

Result<Value> read_value_file(const std::string& path, ValueKind kind) {
  const bool pb = path.size() >= 3 && path.compare(path.size() - 3, 3, ".pb") == 0;
  if (pb) return onnx_import::read_value_pb(path, kind);
  if (kind == ValueKind::kSequence) {
    return invalid_argument("input file '" + path +
                            "' must be an ONNX SequenceProto .pb file: the input is a sequence");
  }
  ER_ASSIGN_OR_RETURN(Tensor t, read_tensor_file(path));
  return Value(std::move(t));
}

std::string summarize_value(const Value& v, const std::string& indent) {
  if (v.is_tensor()) return summarize(v.tensor());
  if (v.is_none()) return "optional, empty";
  std::string s = describe_value(v);
  for (size_t i = 0; i < v.items().size(); ++i) {
    s += "\n" + indent + "  [" + std::to_string(i) + "] " + summarize(v.items()[i]);
  }
  return s;
}

Result<std::string> write_value(const std::string& dir, const std::string& stem, const Value& v) {
  const fs::path base = fs::path(dir) / stem;
  if (v.is_tensor()) {
    const std::string path = base.string() + ".npy";
    ER_RETURN_IF_ERROR(write_npy(path, v.tensor()));
    return path;
  }
  if (v.is_none()) {
    const std::string path = base.string() + ".none";
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return io_error("cannot write '" + path + "'");
    return path;
  }
  std::error_code ec;
  fs::remove_all(base, ec);  // a stale element from an earlier, longer sequence must not linger
  fs::create_directories(base, ec);
  if (ec) return io_error("cannot create folder '" + base.string() + "': " + ec.message());
  for (size_t i = 0; i < v.items().size(); ++i) {
    ER_RETURN_IF_ERROR(write_npy((base / (std::to_string(i) + ".npy")).string(), v.items()[i]));
  }
  return base.string() + "/";
}

}  // namespace edgerun::cli
