#include "onnx/tensor_proto.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <complex>
#include <cstring>
#include <fstream>
#include <sstream>

#include <onnx/onnx_pb.h>

#include "core/dispatch.h"
#include "memory/reloadable_copies.h"

namespace edgerun::onnx_import {
namespace {

// Data that lies in a file mapping can be used where it lies when it is aligned for its dtype;
// bools are always copied, since ONNX lets any non-zero byte mean true.
bool viewable(const char* start, DType dtype) {
  return reinterpret_cast<uintptr_t>(start) % dtype_size(dtype) == 0 && dtype != DType::kBool;
}

// Below this size a weight's copy stays in memory: eviction works in whole pages.
constexpr size_t kReloadableBytes = 64 * 1024;

// A tensor of `shape` holding a copy of the bytes at `start`.
Tensor copied(const char* start, DType dtype, const Shape& shape) {
  Tensor copy = Tensor::uninitialized(dtype, shape);
  if (copy.nbytes() > 0) std::memcpy(copy.raw_data(), start, copy.nbytes());
  if (dtype == DType::kBool) {
    auto* b = static_cast<uint8_t*>(copy.raw_data());
    for (int64_t i = 0; i < copy.size(); ++i) b[i] = b[i] != 0;
  }
  return copy;
}

// A copy of a misaligned weight that lies in a mapped file (`file` keeps it mapped): large ones
// may leave memory once packed and come back from the file (memory/reloadable_copies.h).
Tensor copied_from_file(const char* start, DType dtype, const Shape& shape,
                        std::shared_ptr<const void> file) {
  const size_t bytes = static_cast<size_t>(shape_size(shape)) * dtype_size(dtype);
  if (bytes >= kReloadableBytes && dtype != DType::kBool) {
    void* data = nullptr;
    if (auto owner = memory::make_reloadable_copy(start, bytes, std::move(file), &data)) {
      return Tensor::wrap(dtype, shape, data, std::move(owner));
    }
  }
  return copied(start, dtype, shape);
}

}  // namespace

struct ExternalDataFiles::Mapping {
  void* base = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (base != nullptr && base != MAP_FAILED) munmap(base, size);
  }
};

Result<Tensor> ExternalDataFiles::view(const std::string& location, int64_t offset, int64_t length,
                                       DType dtype, const Shape& shape) {
  if (location.empty() || location[0] == '/' || location.find("..") != std::string::npos) {
    return invalid_model("external data location '" + location +
                         "' must be a relative path inside the model's directory");
  }
  auto it = mappings_.find(location);
  if (it == mappings_.end()) {
    const std::string path = base_dir_ + "/" + location;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error("cannot open external data file '" + path + "': " + strerror(errno));
    struct stat st {};
    ::fstat(fd, &st);
    auto mapping = std::make_shared<Mapping>();
    mapping->size = static_cast<size_t>(st.st_size);
    if (mapping->size > 0) {
      mapping->base = ::mmap(nullptr, mapping->size, PROT_READ, MAP_PRIVATE, fd, 0);
    }
    ::close(fd);
    if (mapping->base == MAP_FAILED) return io_error("cannot memory-map '" + path + "'");
    it = mappings_.emplace(location, std::move(mapping)).first;
  }
  const std::shared_ptr<Mapping>& m = it->second;
  const int64_t count = shape_size(shape);
  const int64_t needed = count * static_cast<int64_t>(dtype_size(dtype));
  if (length < 0) length = static_cast<int64_t>(m->size) - offset;
  if (offset < 0 || offset + length > static_cast<int64_t>(m->size) || length != needed) {
    return invalid_model("external data '" + location + "' offset " + std::to_string(offset) +
                         " length " + std::to_string(length) + " does not hold the " +
                         std::to_string(needed) + " bytes the tensor needs (file has " +
                         std::to_string(m->size) + " bytes)");
  }
  auto* start = static_cast<char*>(m->base) + offset;
  if (!viewable(start, dtype)) return copied_from_file(start, dtype, shape, m);
  return Tensor::wrap(dtype, shape, start, m);
}

namespace {

bool supported_dtype(int32_t t) {
  return t >= static_cast<int32_t>(DType::kFloat32) && t <= static_cast<int32_t>(DType::kBFloat16);
}

template <class T, class Field>
Status copy_field(const Field& field, Tensor& t, const std::string& what, int per_element = 1) {
  if (static_cast<int64_t>(field.size()) != t.size() * per_element) {
    return invalid_model("tensor '" + what + "' has " + std::to_string(field.size()) +
                         " values for shape " + shape_to_string(t.shape()) + " (expected " +
                         std::to_string(t.size() * per_element) + ")");
  }
  if constexpr (std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>) {
    for (int64_t i = 0; i < t.size(); ++i) {
      t.data<T>()[i] = T(field.Get(static_cast<int>(2 * i)), field.Get(static_cast<int>(2 * i + 1)));
    }
  } else if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
    for (int64_t i = 0; i < t.size(); ++i) {
      t.data<T>()[i] = T::from_bits(static_cast<uint16_t>(field.Get(static_cast<int>(i))));
    }
  } else if constexpr (std::is_same_v<T, bool>) {
    for (int64_t i = 0; i < t.size(); ++i) t.data<T>()[i] = field.Get(static_cast<int>(i)) != 0;
  } else {
    for (int64_t i = 0; i < t.size(); ++i) {
      t.data<T>()[i] = static_cast<T>(field.Get(static_cast<int>(i)));
    }
  }
  return Status::ok();
}

}  // namespace

Result<Tensor> tensor_from_proto(const onnx::TensorProto& proto, const std::string& what,
                                 ExternalDataFiles* external, const LiftedData* lifted) {
  if (!supported_dtype(proto.data_type())) {
    return unsupported("tensor '" + what + "' has data type " + std::to_string(proto.data_type()) +
                       ", which edgerun does not know");
  }
  if (proto.has_segment()) return unsupported("tensor '" + what + "' is segmented");
  const auto dtype = static_cast<DType>(proto.data_type());
  Shape shape;
  for (int64_t d : proto.dims()) {
    if (d < 0) {
      return invalid_model("tensor '" + what + "' has a negative dim " + std::to_string(d));
    }
    shape.push_back(d);
  }
  // Guard against absurd sizes before allocating (a corrupt dims list must not OOM us).
  long double total = 1;
  for (int64_t d : shape) total *= static_cast<long double>(d);
  if (total * dtype_size(dtype) > static_cast<long double>(1ull << 40)) {
    return invalid_model("tensor '" + what + "' claims " + shape_to_string(shape) +
                         " elements, more than this runtime accepts");
  }

  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    if (external == nullptr) {
      return invalid_model("tensor '" + what + "' uses external data, which is not allowed here");
    }
    std::string location;
    int64_t offset = 0;
    int64_t length = -1;
    for (const auto& kv : proto.external_data()) {
      if (kv.key() == "location") location = kv.value();
      if (kv.key() != "offset" && kv.key() != "length") continue;
      int64_t number = 0;
      const char* first = kv.value().data();
      const char* last = first + kv.value().size();
      const auto [end, ec] = std::from_chars(first, last, number);
      if (ec != std::errc() || end != last || number < 0) {
        return invalid_model("tensor '" + what + "' has external data " + kv.key() + " '" +
                             kv.value() + "', expected a non-negative integer");
      }
      (kv.key() == "offset" ? offset : length) = number;
    }
    if (dtype == DType::kString) return unsupported("string tensors cannot be external: " + what);
    Result<Tensor> viewed = external->view(location, offset, length, dtype, shape);
    if (!viewed.is_ok()) return viewed.status().with_context("tensor '" + what + "'");
    return viewed;
  }

  if (proto.has_raw_data() || lifted != nullptr) {
    if (dtype == DType::kString) {
      return invalid_model("string tensor '" + what + "' cannot use raw_data");
    }
    const std::string_view raw = lifted != nullptr ? lifted->bytes : std::string_view(proto.raw_data());
    const size_t needed = static_cast<size_t>(shape_size(shape)) * dtype_size(dtype);
    if (raw.size() != needed) {
      return invalid_model("tensor '" + what + "' raw_data has " + std::to_string(raw.size()) +
                           " bytes, shape " + shape_to_string(shape) + " of " +
                           std::string(dtype_name(dtype)) + " needs " + std::to_string(needed));
    }
    if (lifted != nullptr && lifted->file != nullptr) {
      if (viewable(raw.data(), dtype)) {
        return Tensor::wrap(dtype, shape, const_cast<char*>(raw.data()), lifted->file);
      }
      Tensor copy = copied_from_file(raw.data(), dtype, shape, lifted->file);
      lifted->file->release(raw);
      return copy;
    }
    return copied(raw.data(), dtype, shape);
  }

  Tensor t(dtype, shape);

  Status s = dispatch<AllTypes>(dtype, "TensorProto import", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float> ) return copy_field<T>(proto.float_data(), t, what);
    else if constexpr (std::is_same_v<T, std::complex<float>>)
      return copy_field<T>(proto.float_data(), t, what, 2);
    else if constexpr (std::is_same_v<T, double>) return copy_field<T>(proto.double_data(), t, what);
    else if constexpr (std::is_same_v<T, std::complex<double>>)
      return copy_field<T>(proto.double_data(), t, what, 2);
    else if constexpr (std::is_same_v<T, int64_t>) return copy_field<T>(proto.int64_data(), t, what);
    else if constexpr (std::is_same_v<T, uint32_t> || std::is_same_v<T, uint64_t>)
      return copy_field<T>(proto.uint64_data(), t, what);
    else if constexpr (std::is_same_v<T, std::string>) {
      if (proto.string_data_size() != t.size()) {
        return invalid_model("string tensor '" + what + "' has " +
                             std::to_string(proto.string_data_size()) + " values for shape " +
                             shape_to_string(shape));
      }
      for (int64_t i = 0; i < t.size(); ++i) {
        t.data<std::string>()[i] = proto.string_data(static_cast<int>(i));
      }
      return Status::ok();
    } else {
      return copy_field<T>(proto.int32_data(), t, what);
    }
  });
  if (!s.is_ok()) return s;
  return t;
}

Result<Tensor> read_tensor_pb(const std::string& path, std::string* name) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes)) {
    return io_error("'" + path + "' is not a serialised ONNX TensorProto");
  }
  if (name != nullptr) *name = proto.name();
  return tensor_from_proto(proto, proto.name().empty() ? path : proto.name(), nullptr);
}

Status write_tensor_pb(const std::string& path, const Tensor& tensor, const std::string& name) {
  onnx::TensorProto proto;
  proto.set_name(name);
  proto.set_data_type(static_cast<int32_t>(tensor.dtype()));
  for (int64_t d : tensor.shape()) proto.add_dims(d);
  if (tensor.dtype() == DType::kString) {
    for (int64_t i = 0; i < tensor.size(); ++i) proto.add_string_data(tensor.data<std::string>()[i]);
  } else {
    proto.set_raw_data(tensor.raw_data(), tensor.nbytes());
  }
  std::ofstream out(path, std::ios::binary);
  if (!out || !proto.SerializeToOstream(&out)) return io_error("cannot write '" + path + "'");
  return Status::ok();
}

}  // namespace edgerun::onnx_import
