#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "commands.h"
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

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int fail(const Status& s) {
  std::cerr << "error: " << s.to_string() << "\n";
  return 1;
}

}  // namespace

int run_command(const RunArgs& args) {
  PrepareOptions options;
  options.compute_units = *parse_compute_units(args.compute_units);
  for (const std::string& s : args.shapes) {
    Result<std::pair<std::string, std::string>> kv = split_assignment(s, "--shape");
    if (!kv.is_ok()) return fail(kv.status());
    Result<Shape> shape = parse_dims(kv->second);
    if (!shape.is_ok()) return fail(shape.status());
    options.input_shapes[kv->first] = shape.value();
  }

  Engine engine;
  const auto prepare_start = std::chrono::steady_clock::now();
  Result<PreparedModel> model = engine.prepare(ModelArtifact::from_file(args.model), options);
  if (!model.is_ok()) return fail(model.status());
  const double prepare_ms = std::chrono::duration<double, std::milli>(
                                std::chrono::steady_clock::now() - prepare_start).count();

  // Input files are read after prepare: whether a .pb file holds a tensor, a sequence or an
  // optional follows from the model's declared input type.
  ValueMap feeds;
  for (const std::string& s : args.inputs) {
    Result<std::pair<std::string, std::string>> kv = split_assignment(s, "--input");
    if (!kv.is_ok()) return fail(kv.status());
    const auto& inputs = model->io_schema().inputs;
    auto spec = std::find_if(inputs.begin(), inputs.end(),
                             [&](const TensorSpec& in) { return in.name == kv->first; });
    const ValueKind kind = spec == inputs.end() ? ValueKind::kTensor : spec->kind;
    Result<Value> v = read_value_file(kv->second, kind);
    if (!v.is_ok()) return fail(v.status());
    feeds[kv->first] = std::move(v).value();
  }

  std::mt19937_64 rng(args.seed);
  for (const TensorSpec& in : model->io_schema().inputs) {
    if (feeds.count(in.name)) continue;
    if (in.kind == ValueKind::kOptional) {
      feeds[in.name] = Value::none();
      std::cout << "input " << in.name << ": not given, so an empty optional\n";
      continue;
    }
    if (in.kind == ValueKind::kSequence) {
      return fail(invalid_argument("input '" + in.name + "' is a " + in.type +
                                   "; give it with --input " + in.name + "=FILE.pb (a SequenceProto)"));
    }
    if (!in.shape) return fail(invalid_argument("input '" + in.name + "' has no declared shape; give --input or --shape"));
    Shape shape;
    for (size_t d = 0; d < in.shape->size(); ++d) {
      int64_t dim = (*in.shape)[d];
      if (dim < 0) {
        dim = 1;
        std::cout << "note: dim " << d << (in.dim_names[d].empty() ? "" : " ('" + in.dim_names[d] + "')")
                  << " of input '" << in.name << "' is not fixed; using 1 (set it with --shape)\n";
      }
      shape.push_back(dim);
    }
    feeds[in.name] = random_tensor(in.dtype, shape, rng);
    std::cout << "input " << in.name << ": generated " << summarize_value(feeds[in.name], "  ") << "\n";
  }
  for (const auto& [name, v] : feeds) {
    if (std::any_of(args.inputs.begin(), args.inputs.end(),
                    [&](const std::string& s) { return s.rfind(name + "=", 0) == 0; })) {
      std::cout << "input " << name << ": " << summarize_value(v, "") << "\n";
    }
  }

  const auto first_start = std::chrono::steady_clock::now();
  Result<ValueMap> outputs = model->run_values(feeds);
  if (!outputs.is_ok()) return fail(outputs.status());
  const double first_ms = std::chrono::duration<double, std::milli>(
                              std::chrono::steady_clock::now() - first_start).count();
  std::vector<double> times;
  for (int i = 0; i < args.runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    Result<ValueMap> again = model->run_values(feeds);
    if (!again.is_ok()) return fail(again.status());
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }

  std::cout << "\noutputs:\n";
  for (const TensorSpec& spec : model->io_schema().outputs) {
    std::cout << "  " << spec.name << ": " << summarize_value(outputs->at(spec.name), "  ") << "\n";
  }
  if (!args.output_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(args.output_dir, ec);
    std::set<std::string> used;
    for (const TensorSpec& spec : model->io_schema().outputs) {
      std::string file = sanitize_file_name(spec.name);
      for (int n = 1; used.count(file); ++n) file = sanitize_file_name(spec.name) + "_" + std::to_string(n);
      used.insert(file);
      Result<std::string> path = write_value(args.output_dir, file, outputs->at(spec.name));
      if (!path.is_ok()) return fail(path.status());
      std::cout << "  wrote " << *path << "\n";
    }
  }

  const CapabilityReport& caps = model->capabilities();
  std::cout << "\nplacement (compute units requested: " << compute_units_name(caps.requested)
            << ", actual: " << caps.actual << "):\n";
  for (const std::string& note : caps.notes) std::cout << "  note: " << note << "\n";
  for (const auto& [backend, count] : caps.nodes_per_backend) {
    std::cout << "  " << backend << ": " << count << " of " << caps.node_count << " nodes\n";
  }
  constexpr size_t kListed = 40;
  for (size_t i = 0; i < caps.placements.size() && i < kListed; ++i) {
    const NodePlacement& p = caps.placements[i];
    std::cout << "    " << std::left << std::setw(28) << p.node << std::setw(22) << p.op << p.backend << "\n";
  }
  if (caps.placements.size() > kListed) {
    std::cout << "    ... " << caps.placements.size() - kListed << " more nodes\n";
  }

  std::cout << "\nlatency: prepare " << std::fixed << std::setprecision(3) << prepare_ms
            << " ms, first run " << first_ms << " ms";
  if (!times.empty()) std::cout << ", median of " << times.size() << " runs " << median(times) << " ms";
  std::cout << "\n";
  return 0;
}

}  // namespace edgerun::cli
