// `edgerun inspect --plan`: the partitions, the backend of every node, why each node left on
// the reference is there, and coverage per backend as share of nodes and of FLOPs.
#include <nlohmann/json.hpp>

#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "all_values.h"
#include "commands.h"
#include "inputs.h"
#include "onnx/importer.h"
#include "opt/optimize.h"
#include "runtime/input_binding.h"
#include "runtime/flops.h"

namespace edgerun::cli {
namespace {

int fail(const Status& s) {
  std::cerr << "error: " << s.to_string() << "\n";
  return 1;
}

// The shapes of every value of one run on generated (or given) inputs, by name.
Result<std::map<std::string, Shape>> value_shapes(const InspectArgs& args,
                                                  const PrepareOptions& options,
                                                  const PreparedModel& model, std::ostream& log) {
  ER_ASSIGN_OR_RETURN(ExpandedModel expanded, with_every_value_as_output(args.model));
  Engine engine;
  ER_ASSIGN_OR_RETURN(PreparedModel every_value, engine.prepare(expanded.artifact, options));
  ER_ASSIGN_OR_RETURN(ValueMap feeds, make_feeds(model, args.inputs, args.seed, log));
  ER_ASSIGN_OR_RETURN(ValueMap values, every_value.run_values(feeds));
  std::map<std::string, Shape> shapes;
  for (const auto& [name, v] : feeds) {
    if (v.is_tensor()) shapes[name] = v.tensor().shape();
  }
  for (const auto& [name, v] : values) {
    if (v.is_tensor()) shapes[name] = v.tensor().shape();
  }
  return shapes;
}

std::string percent(double part, double whole) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(1) << (whole > 0 ? 100.0 * part / whole : 0.0) << "%";
  return os.str();
}

}  // namespace

int plan_command(const InspectArgs& args) {
  PrepareOptions options;
  options.compute_units = *parse_compute_units(args.compute_units);
  if (Status s = parse_shape_options(args.shapes, &options); !s.is_ok()) return fail(s);
  Engine engine;
  PrepareStats stats;
  Result<PreparedModel> model =
      engine.prepare(ModelArtifact::from_file(args.model), options, &stats);
  if (!model.is_ok()) return fail(model.status());
  // The graph as the engine places it: imported, then put through the same passes, so its nodes
  // line up one to one with the capability report's placements.
  Result<ir::Model> graph_model = onnx_import::import_model_file(args.model);
  if (!graph_model.is_ok()) return fail(graph_model.status());
  PrepareOptions bound = options;  // apply_shape_options records the dims it binds
  if (Status s = runtime::apply_shape_options(graph_model->graph, bound); !s.is_ok()) return fail(s);
  opt::prepare_graph(graph_model->graph, options.optimize);
  const ir::Graph& graph = graph_model->graph;
  if (graph.nodes.size() != model->capabilities().placements.size()) {
    return fail(internal_error("the plan has " +
                               std::to_string(model->capabilities().placements.size()) +
                               " placements for a graph of " + std::to_string(graph.nodes.size()) +
                               " nodes"));
  }

  std::ostringstream run_log;
  Result<std::map<std::string, Shape>> shapes = value_shapes(args, options, *model, run_log);
  if (!shapes.is_ok()) return fail(shapes.status().with_context("measuring value shapes"));
  auto shape_of = [&](const std::string& name) -> Shape {
    if (name.empty()) return {};
    auto it = shapes->find(name);
    if (it != shapes->end()) return it->second;
    auto init = graph.initializers.find(name);
    return init != graph.initializers.end() ? init->second.shape() : Shape{};
  };

  const CapabilityReport& caps = model->capabilities();
  std::vector<double> flops(graph.nodes.size(), 0.0);
  double total_flops = 0;
  std::map<std::string, double> flops_per_backend;
  for (size_t i = 0; i < graph.nodes.size() && i < caps.placements.size(); ++i) {
    const ir::Node& node = graph.nodes[i];
    std::vector<Shape> in, out;
    for (const std::string& name : node.inputs) in.push_back(shape_of(name));
    for (const std::string& name : node.outputs) out.push_back(shape_of(name));
    flops[i] = node_flops(node, in, out);
    total_flops += flops[i];
    flops_per_backend[caps.placements[i].backend] += flops[i];
  }

  if (args.json) {
    nlohmann::json j;
    j["model"] = args.model;
    j["requested"] = compute_units_name(caps.requested);
    j["actual"] = caps.actual;
    j["notes"] = caps.notes;
    j["node_count"] = caps.node_count;
    j["total_flops"] = total_flops;
    // The planned intermediates of one run; null when the input shapes are bound only at run
    // time (set them with --shape to plan here).
    j["arena_bytes"] = stats.arena_bytes > 0 ? nlohmann::json(stats.arena_bytes) : nlohmann::json();
    j["arena_in_place"] = stats.arena_bytes > 0 ? nlohmann::json(stats.arena_in_place) : nlohmann::json();
    for (const auto& [backend, count] : caps.nodes_per_backend) {
      j["backends"][backend] = {
          {"nodes", count},
          {"node_share", caps.node_count ? static_cast<double>(count) / caps.node_count : 0.0},
          {"flops", flops_per_backend[backend]},
          {"flop_share", total_flops > 0 ? flops_per_backend[backend] / total_flops : 0.0}};
    }
    j["partitions"] = nlohmann::json::array();
    for (const PartitionReport& p : caps.partitions) {
      double f = 0;
      for (size_t n : p.nodes) f += flops[n];
      j["partitions"].push_back({{"backend", p.backend}, {"nodes", p.nodes}, {"flops", f}});
    }
    j["nodes"] = nlohmann::json::array();
    for (size_t i = 0; i < caps.placements.size(); ++i) {
      const NodePlacement& p = caps.placements[i];
      j["nodes"].push_back({{"name", p.node}, {"op", p.op}, {"backend", p.backend},
                            {"flops", flops[i]}, {"reason", p.reason}});
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }

  std::cout << "plan for " << args.model << " (compute units requested: "
            << compute_units_name(caps.requested) << ", actual: " << caps.actual << ")\n";
  for (const std::string& note : caps.notes) std::cout << "note: " << note << "\n";
  std::cout << run_log.str();
  std::cout << "\ncoverage (" << caps.node_count << " nodes, " << std::setprecision(4)
            << total_flops / 1e9 << " GFLOPs, a multiply-add counts 2):\n";
  for (const auto& [backend, count] : caps.nodes_per_backend) {
    std::cout << "  " << std::left << std::setw(12) << backend << std::right << std::setw(6)
              << count << " nodes (" << percent(static_cast<double>(count), caps.node_count)
              << ")  " << percent(flops_per_backend[backend], total_flops) << " of FLOPs\n";
  }
  std::cout << "\npartitions, in execution order:\n";
  for (size_t k = 0; k < caps.partitions.size(); ++k) {
    const PartitionReport& p = caps.partitions[k];
    double f = 0;
    for (size_t n : p.nodes) f += flops[n];
    std::cout << "  " << std::setw(3) << k << "  " << std::left << std::setw(10) << p.backend
              << std::right << std::setw(5) << p.nodes.size() << " nodes  "
              << percent(f, total_flops) << " of FLOPs  ("
              << caps.placements[p.nodes.front()].node;
    if (p.nodes.size() > 1) std::cout << " .. " << caps.placements[p.nodes.back()].node;
    std::cout << ")\n";
  }
  std::cout << "\nplanned arena: "
            << (stats.arena_bytes > 0 ? std::to_string(stats.arena_bytes) + " bytes per run, " +
                                            std::to_string(stats.arena_in_place) +
                                            " values written in place over an input"
                                      : std::string("planned at the first run (input shapes not "
                                                    "fixed; set them with --shape)"))
            << "\n";
  std::cout << "\nnodes:\n";
  for (size_t i = 0; i < caps.placements.size(); ++i) {
    const NodePlacement& p = caps.placements[i];
    std::cout << "  " << std::left << std::setw(32) << p.node << std::setw(22) << p.op
              << std::setw(11) << p.backend << std::right << std::fixed << std::setprecision(3)
              << std::setw(12) << flops[i] / 1e6 << " MFLOPs" << std::defaultfloat << (p.reason.empty() ? "" : "  " + p.reason) << "\n";
  }
  return 0;
}

}  // namespace edgerun::cli
