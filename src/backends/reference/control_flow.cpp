// If, Loop and Scan: they run subgraph attributes through the executor's SubgraphRunner, which
// resolves the bodies' references to enclosing scopes.
#include <cstring>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"

namespace edgerun::reference {
namespace {

const ir::Graph* body_attr(const KernelContext& ctx, std::string_view name) {
  const ir::Attribute* a = ctx.node().find_attr(name);
  return a && a->g ? a->g.get() : nullptr;
}

Result<bool> read_condition(const Tensor& t, std::string_view what) {
  if (t.dtype() != DType::kBool || t.size() != 1) {
    return invalid_argument(std::string(what) + " must be a single bool, got " +
                            std::string(dtype_name(t.dtype())) + " " + shape_to_string(t.shape()));
  }
  return t.data<bool>()[0];
}

// Copies one element block from `src` (element offset s) to `dst` (element offset d).
void copy_elements(const Tensor& src, int64_t s, Tensor& dst, int64_t d, int64_t count) {
  if (src.dtype() == DType::kString) {
    for (int64_t i = 0; i < count; ++i) dst.data<std::string>()[d + i] = src.data<std::string>()[s + i];
    return;
  }
  const size_t size = dtype_size(src.dtype());
  std::memcpy(static_cast<char*>(dst.raw_data()) + d * size,
              static_cast<const char*>(src.raw_data()) + s * size, static_cast<size_t>(count) * size);
}

// The `index`-th slice of `t` along `axis`, with that axis removed.
Tensor take_slice(const Tensor& t, int64_t axis, int64_t index) {
  Shape out_shape = t.shape();
  out_shape.erase(out_shape.begin() + axis);
  Tensor out(t.dtype(), out_shape);
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= t.dim(i);
  for (int64_t i = axis + 1; i < t.rank(); ++i) inner *= t.dim(i);
  const int64_t n = t.dim(axis);
  for (int64_t o = 0; o < outer; ++o) copy_elements(t, (o * n + index) * inner, out, o * inner, inner);
  return out;
}

// Stacks equally shaped `parts` along a new `axis`.
Result<Tensor> stack(const std::vector<Tensor>& parts, int64_t axis, std::string_view what) {
  const Shape& part_shape = parts[0].shape();
  for (const Tensor& p : parts) {
    if (p.shape() != part_shape || p.dtype() != parts[0].dtype()) {
      return invalid_argument(std::string(what) + " changes shape or dtype between iterations: " +
                              shape_to_string(part_shape) + " vs " + shape_to_string(p.shape()));
    }
  }
  Shape out_shape = part_shape;
  out_shape.insert(out_shape.begin() + axis, static_cast<int64_t>(parts.size()));
  Tensor out(parts[0].dtype(), out_shape);
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= part_shape[i];
  for (size_t i = static_cast<size_t>(axis); i < part_shape.size(); ++i) inner *= part_shape[i];
  const auto n = static_cast<int64_t>(parts.size());
  for (int64_t k = 0; k < n; ++k) {
    for (int64_t o = 0; o < outer; ++o) copy_elements(parts[k], o * inner, out, (o * n + k) * inner, inner);
  }
  return out;
}

}  // namespace

Status kernel_If(KernelContext& ctx) {
  ER_ASSIGN_OR_RETURN(bool cond, read_condition(ctx.input(0), "If condition"));
  const ir::Graph* branch = body_attr(ctx, cond ? "then_branch" : "else_branch");
  if (branch == nullptr) return invalid_model("If needs then_branch and else_branch graphs");
  ER_ASSIGN_OR_RETURN(std::vector<Value> outputs, ctx.subgraphs()->run(*branch, {}));
  if (outputs.size() != ctx.num_outputs()) {
    return invalid_model("If branch produced " + std::to_string(outputs.size()) +
                         " outputs, the node has " + std::to_string(ctx.num_outputs()));
  }
  for (size_t i = 0; i < outputs.size(); ++i) ctx.set_output_value(i, std::move(outputs[i]));
  return Status::ok();
}

Status kernel_Loop(KernelContext& ctx) {
  const ir::Graph* body = body_attr(ctx, "body");
  if (body == nullptr) return invalid_model("Loop needs a body graph");
  int64_t max_trips = -1;  // -1: no trip limit
  if (ctx.has_input(0)) {
    ER_ASSIGN_OR_RETURN(std::vector<int64_t> m, read_ints(ctx.input(0), "Loop M"));
    if (m.size() != 1) return invalid_argument("Loop M must be a single integer");
    max_trips = m[0];
  }
  bool cond = true;
  if (ctx.has_input(1)) {
    ER_ASSIGN_OR_RETURN(cond, read_condition(ctx.input(1), "Loop cond"));
  }
  if (max_trips < 0 && !ctx.has_input(1)) {
    return invalid_argument("Loop has neither a trip count nor a condition: it would never end");
  }
  std::vector<Value> carried;
  for (size_t i = 2; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return unsupported("Loop with an omitted loop-carried input");
    carried.push_back(ctx.input_value(i));
  }
  const size_t n_carried = carried.size();
  if (body->outputs.size() < 1 + n_carried) {
    return invalid_model("Loop body has " + std::to_string(body->outputs.size()) +
                         " outputs, needs at least " + std::to_string(1 + n_carried));
  }
  const size_t n_scan = body->outputs.size() - 1 - n_carried;
  std::vector<std::vector<Tensor>> scans(n_scan);
  for (int64_t trip = 0; (max_trips < 0 || trip < max_trips) && cond; ++trip) {
    std::vector<Value> inputs;
    inputs.emplace_back(Tensor::scalar<int64_t>(trip));
    inputs.emplace_back(Tensor::scalar<bool>(cond));
    for (const Value& v : carried) inputs.push_back(v);
    ER_ASSIGN_OR_RETURN(std::vector<Value> outputs, ctx.subgraphs()->run(*body, std::move(inputs)));
    ER_ASSIGN_OR_RETURN(cond, read_condition(outputs[0].tensor(), "Loop body condition output"));
    for (size_t i = 0; i < n_carried; ++i) carried[i] = std::move(outputs[1 + i]);
    for (size_t k = 0; k < n_scan; ++k) scans[k].push_back(outputs[1 + n_carried + k].tensor());
  }
  for (size_t i = 0; i < n_carried; ++i) ctx.set_output_value(i, std::move(carried[i]));
  for (size_t k = 0; k < n_scan; ++k) {
    if (scans[k].empty()) {
      // No iteration ran: an empty tensor of the declared element type.
      const ir::TypeInfo& type = body->outputs[1 + n_carried + k].type;
      Shape shape{0};
      if (type.shape) {
        for (const ir::Dim& d : *type.shape) shape.push_back(d.known() ? d.value : 0);
      }
      ctx.set_output(n_carried + k, Tensor(type.dtype == DType::kUndefined ? DType::kFloat32 : type.dtype, shape));
      continue;
    }
    ER_ASSIGN_OR_RETURN(Tensor stacked, stack(scans[k], 0, "Loop scan output"));
    ctx.set_output(n_carried + k, std::move(stacked));
  }
  return Status::ok();
}

namespace {

// One Scan over `states` and `scan_inputs` (already without any batch dim).
Status scan_once(KernelContext& ctx, const ir::Graph& body, std::vector<Value> states,
                 const std::vector<Tensor>& scan_inputs, const std::vector<int64_t>& in_axes,
                 const std::vector<int64_t>& in_dirs, const std::vector<int64_t>& out_axes,
                 const std::vector<int64_t>& out_dirs, std::vector<Value>* final_states,
                 std::vector<Tensor>* scan_outputs) {
  int64_t length = -1;
  for (size_t j = 0; j < scan_inputs.size(); ++j) {
    const int64_t n = scan_inputs[j].dim(in_axes[j]);
    if (length >= 0 && n != length) {
      return invalid_argument("Scan inputs have different sequence lengths: " + std::to_string(length) +
                              " vs " + std::to_string(n));
    }
    length = n;
  }
  const size_t n_state = states.size();
  const size_t n_out = body.outputs.size() - n_state;
  std::vector<std::vector<Tensor>> parts(n_out);
  for (int64_t t = 0; t < length; ++t) {
    std::vector<Value> inputs = states;
    for (size_t j = 0; j < scan_inputs.size(); ++j) {
      const int64_t index = in_dirs[j] == 1 ? length - 1 - t : t;
      inputs.emplace_back(take_slice(scan_inputs[j], in_axes[j], index));
    }
    ER_ASSIGN_OR_RETURN(std::vector<Value> outputs, ctx.subgraphs()->run(body, std::move(inputs)));
    for (size_t i = 0; i < n_state; ++i) states[i] = std::move(outputs[i]);
    for (size_t k = 0; k < n_out; ++k) parts[k].push_back(outputs[n_state + k].tensor());
  }
  *final_states = std::move(states);
  scan_outputs->clear();
  for (size_t k = 0; k < n_out; ++k) {
    if (parts[k].empty()) return unsupported("Scan over a sequence of length 0");
    std::vector<Tensor> ordered = parts[k];
    if (out_dirs[k] == 1) ordered.assign(parts[k].rbegin(), parts[k].rend());
    ER_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(out_axes[k], parts[k][0].rank() + 1));
    ER_ASSIGN_OR_RETURN(Tensor stacked, stack(ordered, axis, "Scan output"));
    scan_outputs->push_back(std::move(stacked));
  }
  return Status::ok();
}

Result<std::vector<int64_t>> axes_attr(const KernelContext& ctx, std::string_view name, size_t count,
                                       const std::vector<int64_t>& ranks) {
  std::vector<int64_t> axes = ctx.attr_ints(name, std::vector<int64_t>(count, 0));
  if (axes.size() != count) {
    return invalid_argument("Scan attribute '" + std::string(name) + "' has " +
                            std::to_string(axes.size()) + " entries, expected " + std::to_string(count));
  }
  for (size_t i = 0; i < count && i < ranks.size(); ++i) {
    ER_ASSIGN_OR_RETURN(axes[i], normalize_axis(axes[i], ranks[i]));
  }
  return axes;
}

}  // namespace

Status kernel_Scan(KernelContext& ctx) {
  const ir::Graph* body = body_attr(ctx, "body");
  if (body == nullptr) return invalid_model("Scan needs a body graph");
  const auto num_scan = static_cast<size_t>(ctx.attr_int("num_scan_inputs", 0));
  // Opset 8 has a leading optional sequence_lens input and a batch axis 0 on everything.
  const bool batched = ctx.opset() < 9;
  const size_t first = batched ? 1 : 0;
  if (ctx.num_inputs() < first + num_scan) return invalid_model("Scan has fewer inputs than num_scan_inputs");
  const size_t n_state = ctx.num_inputs() - first - num_scan;
  const size_t n_out = body->outputs.size() - n_state;
  if (batched && ctx.has_input(0)) return unsupported("Scan (opset 8) with sequence_lens");
  const int64_t batch_dims = batched ? 1 : 0;

  std::vector<int64_t> in_ranks;
  for (size_t j = 0; j < num_scan; ++j) in_ranks.push_back(ctx.input(first + n_state + j).rank() - batch_dims);
  std::vector<int64_t> in_axes, in_dirs, out_axes, out_dirs;
  if (batched) {
    in_axes.assign(num_scan, 0);
    out_axes.assign(n_out, 0);
    in_dirs = ctx.attr_ints("directions", std::vector<int64_t>(num_scan, 0));
    out_dirs.assign(n_out, 0);
  } else {
    ER_ASSIGN_OR_RETURN(in_axes, axes_attr(ctx, "scan_input_axes", num_scan, in_ranks));
    // Output axes are normalised once the outputs' ranks are known.
    ER_ASSIGN_OR_RETURN(out_axes, axes_attr(ctx, "scan_output_axes", n_out, {}));
    in_dirs = ctx.attr_ints("scan_input_directions", std::vector<int64_t>(num_scan, 0));
    out_dirs = ctx.attr_ints("scan_output_directions", std::vector<int64_t>(n_out, 0));
  }
  if (in_dirs.size() != num_scan || out_dirs.size() != n_out) {
    return invalid_argument("Scan direction attributes do not match the number of scan inputs/outputs");
  }

  const int64_t batch = batched ? ctx.input(first).dim(0) : 1;
  std::vector<std::vector<Value>> states_per_batch;
  std::vector<std::vector<Tensor>> outputs_per_batch;
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<Value> states;
    for (size_t i = 0; i < n_state; ++i) {
      const Tensor& s = ctx.input(first + i);
      states.emplace_back(batched ? take_slice(s, 0, b) : s);
    }
    std::vector<Tensor> scans;
    for (size_t j = 0; j < num_scan; ++j) {
      const Tensor& s = ctx.input(first + n_state + j);
      scans.push_back(batched ? take_slice(s, 0, b) : s);
    }
    std::vector<Value> final_states;
    std::vector<Tensor> scan_outputs;
    ER_RETURN_IF_ERROR(scan_once(ctx, *body, std::move(states), scans, in_axes, in_dirs, out_axes,
                                 out_dirs, &final_states, &scan_outputs));
    states_per_batch.push_back(std::move(final_states));
    outputs_per_batch.push_back(std::move(scan_outputs));
  }
  for (size_t i = 0; i < n_state; ++i) {
    if (!batched) {
      ctx.set_output_value(i, states_per_batch[0][i]);
      continue;
    }
    std::vector<Tensor> parts;
    for (auto& s : states_per_batch) parts.push_back(s[i].tensor());
    ER_ASSIGN_OR_RETURN(Tensor stacked, stack(parts, 0, "Scan state"));
    ctx.set_output(i, std::move(stacked));
  }
  for (size_t k = 0; k < n_out; ++k) {
    if (!batched) {
      ctx.set_output(n_state + k, outputs_per_batch[0][k]);
      continue;
    }
    std::vector<Tensor> parts;
    for (auto& o : outputs_per_batch) parts.push_back(o[k]);
    ER_ASSIGN_OR_RETURN(Tensor stacked, stack(parts, 0, "Scan output"));
    ctx.set_output(n_state + k, std::move(stacked));
  }
  return Status::ok();
}

}  // namespace edgerun::reference
