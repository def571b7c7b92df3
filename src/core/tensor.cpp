#include "edgerun/tensor.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>

#include "memory/page_hints.h"

namespace edgerun {

int64_t shape_size(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

namespace {

// 64-byte alignment keeps vector loads aligned for every dtype and every backend.
constexpr size_t kAlignment = 64;

std::shared_ptr<const void> allocate(DType dtype, int64_t count, bool zero, void** data) {
  if (dtype == DType::kString) {
    auto* strings = new std::string[static_cast<size_t>(count > 0 ? count : 1)];
    *data = strings;
    return std::shared_ptr<const void>(strings, [](const void* p) {
      delete[] static_cast<const std::string*>(p);
    });
  }
  size_t bytes = static_cast<size_t>(count) * dtype_size(dtype);
  bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (bytes == 0) bytes = kAlignment;
  // Large tensors (weights, big activations) on huge pages (memory::allocate_hinted).
  void* p = memory::allocate_hinted(bytes, kAlignment);
  if (p == nullptr) throw std::bad_alloc();
  if (zero) std::memset(p, 0, bytes);
  *data = p;
  return std::shared_ptr<const void>(p, [](const void* q) { std::free(const_cast<void*>(q)); });
}

}  // namespace

Tensor::Tensor(DType dtype, Shape shape)
    : dtype_(dtype), shape_(std::move(shape)), size_(shape_size(shape_)) {
  storage_ = allocate(dtype_, size_, true, &data_);
}

Tensor Tensor::uninitialized(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.size_ = shape_size(t.shape_);
  t.storage_ = allocate(dtype, t.size_, false, &t.data_);
  return t;
}

Tensor Tensor::wrap(DType dtype, Shape shape, void* data, std::shared_ptr<const void> keep_alive) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.size_ = shape_size(t.shape_);
  t.data_ = data;
  t.storage_ = std::move(keep_alive);
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  Tensor copy(dtype_, shape_);
  if (dtype_ == DType::kString) {
    for (int64_t i = 0; i < size_; ++i) copy.data<std::string>()[i] = data<std::string>()[i];
  } else if (nbytes() > 0) {
    std::memcpy(copy.data_, data_, nbytes());
  }
  return copy;
}

Tensor Tensor::reshaped(Shape shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  t.size_ = shape_size(t.shape_);
  return t;
}

}  // namespace edgerun
