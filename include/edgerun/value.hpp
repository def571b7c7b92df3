// What flows along a graph edge: a tensor, a sequence of tensors, or an empty optional.
//
// An ONNX optional that holds a value is represented by that value itself (a tensor or a
// sequence); only the empty optional needs a kind of its own (kNone). kEmpty means "no value
// yet" (an unfilled slot) and never reaches a kernel.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "edgerun/tensor.hpp"

namespace edgerun {

// What a graph input or output is declared to be (see TensorSpec::kind).
enum class ValueKind { kTensor, kSequence, kOptional };

class Value {
 public:
  enum class Kind { kEmpty, kTensor, kSequence, kNone };

  Value() = default;
  Value(Tensor tensor) : kind_(Kind::kTensor), tensor_(std::move(tensor)) {}  // NOLINT

  // A sequence of tensors of one element dtype. The dtype is kept for empty sequences, whose
  // element type ops such as ConcatFromSequence and SequenceInsert still need.
  static Value sequence(DType element, std::vector<Tensor> items) {
    Value v;
    v.kind_ = Kind::kSequence;
    v.element_ = element;
    v.items_ = std::make_shared<const std::vector<Tensor>>(std::move(items));
    return v;
  }
  // An optional without a value.
  static Value none() {
    Value v;
    v.kind_ = Kind::kNone;
    return v;
  }

  Kind kind() const { return kind_; }
  bool is_tensor() const { return kind_ == Kind::kTensor; }
  bool is_sequence() const { return kind_ == Kind::kSequence; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool empty() const { return kind_ == Kind::kEmpty; }

  const Tensor& tensor() const { return tensor_; }
  Tensor& tensor() { return tensor_; }

  // Sequence accessors; an empty list for values that are not sequences.
  const std::vector<Tensor>& items() const {
    static const std::vector<Tensor> kNoItems;
    return items_ ? *items_ : kNoItems;
  }
  DType element_dtype() const { return element_; }

 private:
  Kind kind_ = Kind::kEmpty;
  Tensor tensor_;
  DType element_ = DType::kUndefined;
  // Shared, immutable: copying a sequence value (as the executor does for every reader) is cheap.
  std::shared_ptr<const std::vector<Tensor>> items_;
};

// "float32[2, 3]", "sequence<float32>[4]", "optional(none)": for messages and summaries.
std::string describe_value(const Value& value);

}  // namespace edgerun
