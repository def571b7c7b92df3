// Sequence ops: build, index, edit, split into and concatenate from sequences of tensors, and
// SequenceMap, which runs a body graph once per element.
#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/shape_util.h"

namespace edgerun::reference {
namespace {

Result<const Value*> sequence_input(const KernelContext& ctx, size_t i, std::string_view op) {
  const Value& v = ctx.input_value(i);
  if (!v.is_sequence()) {
    return invalid_argument(std::string(op) + " input " + std::to_string(i) +
                            " must be a sequence, got " + describe_value(v));
  }
  return &v;
}

// A position input (a scalar int32/int64) checked against [-n, n - 1], or [-n, n] where the
// position may be one past the end (SequenceInsert).
Result<size_t> read_position(const Tensor& t, size_t n, bool allow_end, std::string_view op) {
  if (t.size() != 1 || t.rank() > 1) {
    return invalid_argument(std::string(op) + " position must be a scalar, got shape " +
                            shape_to_string(t.shape()));
  }
  ER_ASSIGN_OR_RETURN(std::vector<int64_t> p, read_ints(t, std::string(op) + " position"));
  const auto len = static_cast<int64_t>(n);
  const int64_t last = allow_end ? len : len - 1;
  if (p[0] < -len || p[0] > last) {
    return invalid_argument(std::string(op) + " position " + std::to_string(p[0]) +
                            " is out of range for a sequence of length " + std::to_string(len) +
                            " (expected " + std::to_string(-len) + ".." + std::to_string(last) +
                            ")");
  }
  return static_cast<size_t>(p[0] < 0 ? p[0] + len : p[0]);
}

Status check_element_dtype(const Value& seq, const Tensor& t, std::string_view op) {
  if (seq.element_dtype() != DType::kUndefined && t.dtype() != seq.element_dtype()) {
    return invalid_argument(std::string(op) + ": tensor of dtype " +
                            std::string(dtype_name(t.dtype())) + " does not fit a sequence of " +
                            std::string(dtype_name(seq.element_dtype())));
  }
  return Status::ok();
}

DType element_dtype_of(const Value& seq, const Tensor& added) {
  return seq.element_dtype() != DType::kUndefined ? seq.element_dtype() : added.dtype();
}

}  // namespace

Status kernel_SequenceEmpty(KernelContext& ctx) {
  const int64_t code = ctx.attr_int("dtype", static_cast<int64_t>(DType::kFloat32));
  const auto dtype = static_cast<DType>(code);
  if (code <= 0 || dtype_size(dtype) == 0) {
    return invalid_model("SequenceEmpty dtype " + std::to_string(code) + " is not a tensor type");
  }
  ctx.set_output_value(0, Value::sequence(dtype, {}));
  return Status::ok();
}

Status kernel_SequenceConstruct(KernelContext& ctx) {
  if (ctx.num_inputs() == 0) return invalid_model("SequenceConstruct needs at least one input");
  std::vector<Tensor> items;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    if (t.dtype() != ctx.input(0).dtype()) {
      return invalid_argument("SequenceConstruct input " + std::to_string(i) + " has dtype " +
                              std::string(dtype_name(t.dtype())) + " but input 0 has " +
                              std::string(dtype_name(ctx.input(0).dtype())));
    }
    items.push_back(t);
  }
  ctx.set_output_value(0, Value::sequence(ctx.input(0).dtype(), std::move(items)));
  return Status::ok();
}

Status kernel_SequenceAt(KernelContext& ctx) {
  ER_ASSIGN_OR_RETURN(const Value* seq, sequence_input(ctx, 0, "SequenceAt"));
  ER_ASSIGN_OR_RETURN(size_t at, read_position(ctx.input(1), seq->items().size(), false, "SequenceAt"));
  ctx.set_output(0, seq->items()[at]);
  return Status::ok();
}

Status kernel_SequenceInsert(KernelContext& ctx) {
  ER_ASSIGN_OR_RETURN(const Value* seq, sequence_input(ctx, 0, "SequenceInsert"));
  const Tensor& t = ctx.input(1);
  ER_RETURN_IF_ERROR(check_element_dtype(*seq, t, "SequenceInsert"));
  std::vector<Tensor> items = seq->items();
  size_t at = items.size();
  if (ctx.has_input(2)) {
    ER_ASSIGN_OR_RETURN(at, read_position(ctx.input(2), items.size(), true, "SequenceInsert"));
  }
  items.insert(items.begin() + static_cast<std::ptrdiff_t>(at), t);
  ctx.set_output_value(0, Value::sequence(element_dtype_of(*seq, t), std::move(items)));
  return Status::ok();
}

Status kernel_SequenceErase(KernelContext& ctx) {
  ER_ASSIGN_OR_RETURN(const Value* seq, sequence_input(ctx, 0, "SequenceErase"));
  std::vector<Tensor> items = seq->items();
  if (items.empty()) return invalid_argument("SequenceErase on an empty sequence");
  size_t at = items.size() - 1;
  if (ctx.has_input(1)) {
    ER_ASSIGN_OR_RETURN(at, read_position(ctx.input(1), items.size(), false, "SequenceErase"));
  }
  items.erase(items.begin() + static_cast<std::ptrdiff_t>(at));
  ctx.set_output_value(0, Value::sequence(seq->element_dtype(), std::move(items)));
  return Status::ok();
}

Status kernel_SequenceLength(KernelContext& ctx) {
  ER_ASSIGN_OR_RETURN(const Value* seq, sequence_input(ctx, 0, "SequenceLength"));
  ctx.set_output(0, Tensor::scalar<int64_t>(static_cast<int64_t>(seq->items().size())));
  return Status::ok();
}

Status kernel_SplitToSequence(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  if (data.rank() == 0) {
    return invalid_argument("SplitToSequence needs an input of rank >= 1, got a scalar");
  }
  ER_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(ctx.attr_int("axis", 0), data.rank()));
  const int64_t dim = data.dim(axis);
  std::vector<int64_t> lengths;
  if (!ctx.has_input(1)) {
    // No split: one element per index along the axis, which keepdims=0 then drops.
    lengths.assign(static_cast<size_t>(dim), 1);
  } else {
    const Tensor& split = ctx.input(1);
    ER_ASSIGN_OR_RETURN(std::vector<int64_t> given, read_ints(split, "SplitToSequence split"));
    if (split.rank() == 0) {
      if (given[0] <= 0) {
        return invalid_argument("SplitToSequence split size must be positive, got " +
                                std::to_string(given[0]));
      }
      // Equal chunks of the given size; the last takes what is left.
      for (int64_t left = dim; left > 0; left -= given[0]) {
        lengths.push_back(std::min(given[0], left));
      }
    } else {
      int64_t total = 0;
      for (int64_t s : given) {
        if (s < 0) {
          return invalid_argument("SplitToSequence lengths " + ints_to_string(given) +
                                  " contain a negative length");
        }
        total += s;
      }
      if (total != dim) {
        return invalid_argument("SplitToSequence lengths " + ints_to_string(given) + " sum to " +
                                std::to_string(total) + " but axis " + std::to_string(axis) +
                                " has dim " + std::to_string(dim));
      }
      lengths = given;
    }
  }
  std::vector<Tensor> parts = split_tensor(data, axis, lengths);
  if (!ctx.has_input(1) && ctx.attr_int("keepdims", 1) == 0) {
    for (Tensor& part : parts) {
      Shape squeezed = part.shape();
      squeezed.erase(squeezed.begin() + axis);
      part = part.reshaped(squeezed);
    }
  }
  ctx.set_output_value(0, Value::sequence(data.dtype(), std::move(parts)));
  return Status::ok();
}

Status kernel_ConcatFromSequence(KernelContext& ctx) {
  ER_ASSIGN_OR_RETURN(const Value* seq, sequence_input(ctx, 0, "ConcatFromSequence"));
  if (!ctx.has_attr("axis")) return invalid_model("ConcatFromSequence needs an 'axis' attribute");
  const std::vector<Tensor>& items = seq->items();
  if (items.empty()) return invalid_argument("ConcatFromSequence of an empty sequence");
  int64_t axis = ctx.attr_int("axis", 0);
  const bool new_axis = ctx.attr_int("new_axis", 0) != 0;
  std::vector<Tensor> stacked;  // with new_axis, each element gains a dim of 1 at the axis
  std::vector<const Tensor*> parts;
  if (new_axis) {
    const int64_t rank = items[0].rank() + 1;
    ER_ASSIGN_OR_RETURN(axis, normalize_axis(axis, rank));
    for (const Tensor& t : items) {
      if (t.rank() + 1 != rank) {
        return invalid_argument("ConcatFromSequence element of shape " +
                                shape_to_string(t.shape()) + " has a different rank than " +
                                shape_to_string(items[0].shape()));
      }
      Shape s = t.shape();
      s.insert(s.begin() + axis, 1);
      stacked.push_back(t.reshaped(s));
    }
    for (const Tensor& t : stacked) parts.push_back(&t);
  } else {
    for (const Tensor& t : items) parts.push_back(&t);
  }
  ER_ASSIGN_OR_RETURN(Tensor out, concat_tensors(parts, axis, "ConcatFromSequence"));
  ctx.set_output(0, std::move(out));
  return Status::ok();
}

// Runs the body once per position: sequence inputs give their element at that position, tensor
// inputs are passed whole every time; each body output is collected into an output sequence.
Status kernel_SequenceMap(KernelContext& ctx) {
  const ir::Attribute* body_attr = ctx.node().find_attr("body");
  if (body_attr == nullptr || !body_attr->g) return invalid_model("SequenceMap needs a body graph");
  const ir::Graph& body = *body_attr->g;
  ER_ASSIGN_OR_RETURN(const Value* first, sequence_input(ctx, 0, "SequenceMap"));
  const size_t n = first->items().size();
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    const Value& v = ctx.input_value(i);
    if (v.is_sequence() && v.items().size() != n) {
      return invalid_argument("SequenceMap input " + std::to_string(i) + " has " +
                              std::to_string(v.items().size()) + " elements, input 0 has " +
                              std::to_string(n));
    }
  }
  std::vector<std::vector<Tensor>> collected(ctx.num_outputs());
  for (size_t pos = 0; pos < n; ++pos) {
    std::vector<Value> args;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const Value& v = ctx.input_value(i);
      args.push_back(v.is_sequence() ? Value(v.items()[pos]) : v);
    }
    ER_ASSIGN_OR_RETURN(std::vector<Value> outs, ctx.subgraphs()->run(body, std::move(args)));
    if (outs.size() != collected.size()) {
      return invalid_model("SequenceMap body produced " + std::to_string(outs.size()) +
                           " outputs, the node has " + std::to_string(collected.size()));
    }
    for (size_t k = 0; k < outs.size(); ++k) {
      if (!outs[k].is_tensor()) {
        return invalid_model("SequenceMap body output " + std::to_string(k) +
                             " must be a tensor, got " + describe_value(outs[k]));
      }
      collected[k].push_back(outs[k].tensor());
    }
  }
  for (size_t k = 0; k < collected.size(); ++k) {
    // An empty result takes its element type from the body's declared output.
    DType dtype = k < body.outputs.size() ? body.outputs[k].type.dtype : DType::kUndefined;
    if (!collected[k].empty()) dtype = collected[k][0].dtype();
    ctx.set_output_value(k, Value::sequence(dtype, std::move(collected[k])));
  }
  return Status::ok();
}

}  // namespace edgerun::reference
