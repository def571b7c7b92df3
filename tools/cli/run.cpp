#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "commands.h"
#include "runtime/telemetry_report.h"
#include "tensor_io.h"
#include "inputs.h"
#include "measurements.h"
#include "value_io.h"

namespace edgerun::cli {
namespace {

int fail(const Status& s) {
  std::cerr << "error: " << s.to_string() << "\n";
  return 1;
}

}  // namespace

int run_command(const RunArgs& args) {
  PrepareOptions options;
  options.compute_units = *parse_compute_units(args.compute_units);
  if (Status s = parse_shape_options(args.shapes, &options); !s.is_ok()) return fail(s);

  Engine engine;
  const auto prepare_start = std::chrono::steady_clock::now();
  Result<PreparedModel> model = engine.prepare(ModelArtifact::from_file(args.model), options);
  if (!model.is_ok()) return fail(model.status());
  const double prepare_ms = ms_since(prepare_start);

  Result<ValueMap> feeds = make_feeds(*model, args.inputs, args.seed, std::cout);
  if (!feeds.is_ok()) return fail(feeds.status());

  RunOptions run_options;
  run_options.timeout = std::chrono::milliseconds(args.timeout_ms);
  const auto first_start = std::chrono::steady_clock::now();
  Result<ValueMap> outputs = model->run_values(*feeds, run_options);
  if (!outputs.is_ok()) return fail(outputs.status());
  const double first_ms = ms_since(first_start);
  std::vector<double> times;
  for (int i = 0; i < args.runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    Result<ValueMap> again = model->run_values(*feeds, run_options);
    if (!again.is_ok()) return fail(again.status());
    times.push_back(ms_since(start));
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
  if (!times.empty()) {
    std::cout << ", median of " << times.size() << " runs " << summarize_latencies(times).p50_ms
              << " ms";
  }
  std::cout << "\n";
  if (args.stats) std::cout << "\ntelemetry:\n" << telemetry_to_text(model->telemetry());
  return 0;
}

}  // namespace edgerun::cli
