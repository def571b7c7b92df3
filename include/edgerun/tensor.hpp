// A dense tensor: dtype + shape + shared, contiguous row-major storage.
//
// Copies share storage (cheap, like a shared_ptr); clone() makes a deep copy. Kernels never
// write into their inputs, so sharing is safe across threads. Storage can be borrowed from the
// caller or from a memory-mapped file (Tensor::wrap) without copying.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "edgerun/dtype.hpp"

namespace edgerun {

using Shape = std::vector<int64_t>;

// Number of elements of a shape (1 for a scalar).
int64_t shape_size(const Shape& shape);
// "[1, 3, 224, 224]"
std::string shape_to_string(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  // Allocates zero-initialised storage (default-constructed strings for kString).
  Tensor(DType dtype, Shape shape);
  // Storage left uninitialised, for outputs and copies that overwrite it entirely (strings are
  // still default-constructed): zero-filling costs as much as the write that follows.
  static Tensor uninitialized(DType dtype, Shape shape);

  // Zero-copy view of memory someone else owns; `keep_alive` is held as long as the tensor (or
  // any copy of it) lives (null: the owner guarantees the memory outlives every use, as a run's
  // arena does for its intermediates). Not for kString.
  static Tensor wrap(DType dtype, Shape shape, void* data, std::shared_ptr<const void> keep_alive);

  template <class T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values);
  template <class T>
  static Tensor scalar(T value) { return from_vector<T>({}, {value}); }

  bool defined() const { return dtype_ != DType::kUndefined; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t axis) const { return shape_[static_cast<size_t>(axis)]; }
  int64_t size() const { return size_; }
  size_t nbytes() const { return static_cast<size_t>(size_) * dtype_size(dtype_); }

  void* raw_data() { return data_; }
  const void* raw_data() const { return data_; }
  template <class T>
  T* data() { return static_cast<T*>(data_); }
  template <class T>
  const T* data() const { return static_cast<const T*>(data_); }
  template <class T>
  std::vector<T> to_vector() const {
    const T* p = data<T>();
    return std::vector<T>(p, p + size_);
  }

  // Deep copy into fresh storage.
  Tensor clone() const;
  // Same storage, new shape with the same element count.
  Tensor reshaped(Shape shape) const;
  // True for a view over bytes it keeps nothing alive for (Tensor::wrap without keep_alive):
  // their owner guarantees them, as a run's arena and a caller's bound buffers do.
  bool borrowed() const { return data_ != nullptr && storage_ == nullptr; }

 private:
  DType dtype_ = DType::kUndefined;
  Shape shape_;
  int64_t size_ = 0;
  void* data_ = nullptr;
  std::shared_ptr<const void> storage_;
};

template <class T>
Tensor Tensor::from_vector(Shape shape, const std::vector<T>& values) {
  Tensor t(dtype_of<T>, std::move(shape));
  T* out = t.data<T>();
  for (size_t i = 0; i < values.size() && static_cast<int64_t>(i) < t.size(); ++i) out[i] = values[i];
  return t;
}

}  // namespace edgerun
