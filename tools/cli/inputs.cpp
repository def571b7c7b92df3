#include "inputs.h"

#include <algorithm>
#include <random>
#include <sstream>

#include "tensor_io.h"
#include "value_io.h"

namespace edgerun::cli {
namespace {

Result<std::pair<std::string, std::string>> split_assignment(const std::string& arg,
                                                             const std::string& flag) {
  const size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size()) {
    return invalid_argument(flag + " expects NAME=VALUE, got '" + arg + "'");
  }
  return std::make_pair(arg.substr(0, eq), arg.substr(eq + 1));
}

Result<Shape> parse_dims(const std::string& text) {
  Shape shape;
  if (text == "scalar") return shape;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, 'x')) {
    try {
      size_t used = 0;
      const long long d = std::stoll(part, &used);
      if (used != part.size() || d < 0) throw std::invalid_argument(part);
      shape.push_back(d);
    } catch (const std::exception&) {
      return invalid_argument("'" + text + "' is not a shape like 1x3x224x224 (bad dim '" + part + "')");
    }
  }
  return shape;
}

}  // namespace

Status parse_shape_options(const std::vector<std::string>& shapes, PrepareOptions* options) {
  for (const std::string& s : shapes) {
    ER_ASSIGN_OR_RETURN(auto kv, split_assignment(s, "--shape"));
    ER_ASSIGN_OR_RETURN(Shape shape, parse_dims(kv.second));
    options->input_shapes[kv.first] = std::move(shape);
  }
  return Status::ok();
}

Result<ValueMap> make_feeds(const PreparedModel& model, const std::vector<std::string>& input_args,
                            uint64_t seed, std::ostream& log) {
  // Input files are read after prepare: whether a .pb file holds a tensor, a sequence or an
  // optional follows from the model's declared input type.
  const std::vector<TensorSpec>& inputs = model.io_schema().inputs;
  ValueMap feeds;
  for (const std::string& s : input_args) {
    ER_ASSIGN_OR_RETURN(auto kv, split_assignment(s, "--input"));
    auto spec = std::find_if(inputs.begin(), inputs.end(),
                             [&](const TensorSpec& in) { return in.name == kv.first; });
    const ValueKind kind = spec == inputs.end() ? ValueKind::kTensor : spec->kind;
    ER_ASSIGN_OR_RETURN(Value v, read_value_file(kv.second, kind));
    log << "input " << kv.first << ": " << summarize_value(v, "") << "\n";
    feeds[kv.first] = std::move(v);
  }
  std::mt19937_64 rng(seed);
  for (const TensorSpec& in : inputs) {
    if (feeds.count(in.name)) continue;
    if (in.kind == ValueKind::kOptional) {
      feeds[in.name] = Value::none();
      log << "input " << in.name << ": not given, so an empty optional\n";
      continue;
    }
    if (in.kind == ValueKind::kSequence) {
      return invalid_argument("input '" + in.name + "' is a " + in.type + "; give it with --input " +
                              in.name + "=FILE.pb (a SequenceProto)");
    }
    if (!in.shape) {
      return invalid_argument("input '" + in.name +
                              "' has no declared shape; give --input or --shape");
    }
    Shape shape;
    for (size_t d = 0; d < in.shape->size(); ++d) {
      int64_t dim = (*in.shape)[d];
      if (dim < 0) {
        dim = 1;
        log << "note: dim " << d
            << (in.dim_names[d].empty() ? "" : " ('" + in.dim_names[d] + "')") << " of input '"
            << in.name << "' is not fixed; using 1 (set it with --shape)\n";
      }
      shape.push_back(dim);
    }
    feeds[in.name] = random_tensor(in.dtype, shape, rng);
    log << "input " << in.name << ": generated " << summarize_value(feeds[in.name], "  ") << "\n";
  }
  return feeds;
}

}  // namespace edgerun::cli
