// What flows along a graph edge. Today every value is a tensor; ONNX sequences and optionals
// (issue: whole operator set) become further kinds here, so kernels and the executor already
// pass Values rather than Tensors.
#pragma once

#include <utility>

#include "edgerun/tensor.hpp"

namespace edgerun {

class Value {
 public:
  enum class Kind { kEmpty, kTensor };

  Value() = default;
  Value(Tensor tensor) : kind_(Kind::kTensor), tensor_(std::move(tensor)) {}  // NOLINT

  Kind kind() const { return kind_; }
  bool is_tensor() const { return kind_ == Kind::kTensor; }
  bool empty() const { return kind_ == Kind::kEmpty; }
  const Tensor& tensor() const { return tensor_; }
  Tensor& tensor() { return tensor_; }

 private:
  Kind kind_ = Kind::kEmpty;
  Tensor tensor_;
};

}  // namespace edgerun
