// `edgerun parity`: runs a model under each available backend configuration and measures every
// output against the reference backend's, with budgets per precision.
#include <algorithm>
#include <iomanip>
#include <map>
#include <iostream>
#include <set>

#include "commands.h"
#include "all_values.h"
#include "inputs.h"
#include "runtime/parity.h"

namespace edgerun::cli {
namespace {

struct Configuration {
  std::string label;
  PrepareOptions options;
};

int fail(const Status& s) {
  std::cerr << "error: " << s.to_string() << "\n";
  return 2;
}

// The outputs of one prepared configuration on the shared inputs.
Result<ValueMap> run_configuration(const std::string& model_path, const PrepareOptions& options,
                                   const ValueMap& feeds, PreparedModel* prepared) {
  Engine engine;
  ER_ASSIGN_OR_RETURN(*prepared, engine.prepare(ModelArtifact::from_file(model_path), options));
  return prepared->run_values(feeds);
}

// Each output's tensors (a sequence's elements, none for an empty optional), named for the table.
std::vector<std::pair<std::string, Tensor>> tensors_of(const std::string& name, const Value& v) {
  std::vector<std::pair<std::string, Tensor>> out;
  if (v.is_tensor()) out.emplace_back(name, v.tensor());
  for (size_t i = 0; i < v.items().size(); ++i) {
    out.emplace_back(name + "[" + std::to_string(i) + "]", v.items()[i]);
  }
  return out;
}

// Walks the node outputs in execution order and reports the first that leaves the budget under
// `options`, then the largest divergences relative to their values' scale.
int first_divergent_node(const std::string& path, const PrepareOptions& options,
                         const ParityBudget& budget, const ValueMap& feeds) {
  Result<ExpandedModel> expanded = with_every_value_as_output(path);
  if (!expanded.is_ok()) return fail(expanded.status());
  Engine engine;
  PrepareOptions reference_options = options;
  reference_options.backends = {"reference"};
  Result<PreparedModel> reference = engine.prepare(expanded->artifact, reference_options);
  if (!reference.is_ok()) return fail(reference.status());
  Result<PreparedModel> accelerated = engine.prepare(expanded->artifact, options);
  if (!accelerated.is_ok()) return fail(accelerated.status());
  Result<ValueMap> want = reference->run_values(feeds);
  if (!want.is_ok()) return fail(want.status());
  Result<ValueMap> got = accelerated->run_values(feeds);
  if (!got.is_ok()) return fail(got.status());

  std::map<std::string, std::string> backend_of;  // node name -> backend
  for (const NodePlacement& p : accelerated->capabilities().placements) {
    backend_of[p.node] = p.backend;
  }
  struct Row {
    const ProducedValue* value;
    Divergence divergence;
    double relative;  // L-inf / max(1, max|reference|)
  };
  std::vector<Row> rows;
  const ProducedValue* first = nullptr;
  std::string first_why;
  for (const ProducedValue& v : expanded->values) {
    const Value& a = got->at(v.value);
    const Value& r = want->at(v.value);
    if (!a.is_tensor() || !r.is_tensor()) continue;
    Result<Divergence> d = measure_divergence(a.tensor(), r.tensor());
    const std::string why = d.is_ok() ? budget_violation(*d, budget) : d.status().message();
    if (!why.empty() && first == nullptr) {
      first = &v;
      first_why = why;
    }
    if (d.is_ok()) rows.push_back({&v, *d, d->max_abs / std::max(1.0, d->ref_max_abs)});
  }
  std::cout << "\nper node (" << accelerated->capabilities().actual << "), "
            << expanded->values.size() << " values in execution order:\n";
  if (first == nullptr) {
    std::cout << "  every intermediate value is within the " << budget.name << " budget\n";
  } else {
    std::cout << "  first outside the " << budget.name << " budget: '" << first->value
              << "' of node '" << first->node << "' (" << first->op << ", on "
              << backend_of[first->node] << "): " << first_why << "\n";
  }
  std::sort(rows.begin(), rows.end(),
            [](const Row& x, const Row& y) { return x.relative > y.relative; });
  std::cout << "  largest relative L-inf:\n";
  for (size_t i = 0; i < rows.size() && i < 5; ++i) {
    const Row& row = rows[i];
    std::cout << "    " << std::left << std::setw(32) << row.value->value << std::setw(20)
              << row.value->op << std::setw(12) << backend_of[row.value->node] << std::right
              << std::scientific << std::setprecision(2) << row.relative << "\n";
  }
  std::cout << std::defaultfloat;
  return first == nullptr ? 0 : 1;
}

}  // namespace

int parity_command(const ParityArgs& args) {
  PrepareOptions base;
  if (Status s = parse_shape_options(args.shapes, &base); !s.is_ok()) return fail(s);

  PrepareOptions reference_options = base;
  reference_options.backends = {"reference"};
  PreparedModel reference;
  Engine engine;
  Result<PreparedModel> prepared =
      engine.prepare(ModelArtifact::from_file(args.model), reference_options);
  if (!prepared.is_ok()) return fail(prepared.status());
  reference = std::move(prepared).value();
  Result<ValueMap> feeds = make_feeds(reference, args.inputs, args.seed, std::cout);
  if (!feeds.is_ok()) return fail(feeds.status());
  Result<ValueMap> expected = reference.run_values(*feeds);
  if (!expected.is_ok()) return fail(expected.status().with_context("reference backend"));

  // One configuration per accelerated backend (with the reference for what it leaves), plus the
  // default placement; configurations that place nodes identically are measured once.
  std::vector<Configuration> configurations;
  configurations.push_back({"all", base});
  for (const std::string& backend : reference.capabilities().available_backends) {
    if (backend == "reference") continue;
    Configuration c{backend, base};
    c.options.backends = {backend, "reference"};
    configurations.push_back(c);
  }

  const ParityBudget budget = fp32_budget();
  std::cout << "\nbudget " << budget.name << ": L-inf <= " << budget.max_abs << ", RMSE <= "
            << budget.rmse << " (times max(1, max|reference|)), cosine >= " << budget.min_cosine
            << "\n";
  std::set<std::string> placements_seen;
  int violations = 0;
  for (const Configuration& config : configurations) {
    PreparedModel model;
    Result<ValueMap> actual = run_configuration(args.model, config.options, *feeds, &model);
    if (!actual.is_ok()) {
      std::cout << "\n" << config.label << ": failed: " << actual.status().to_string() << "\n";
      ++violations;
      continue;
    }
    std::string placement;
    for (const NodePlacement& p : model.capabilities().placements) placement += p.backend + ",";
    if (!placements_seen.insert(placement).second) {
      std::cout << "\n" << config.label << ": places every node as an earlier configuration does\n";
      continue;
    }
    std::cout << "\n" << config.label << " (" << model.capabilities().actual << "):\n";
    for (const auto& [backend, count] : model.capabilities().nodes_per_backend) {
      std::cout << "  " << backend << ": " << count << " of " << model.capabilities().node_count
                << " nodes\n";
    }
    std::cout << "  " << std::left << std::setw(28) << "output" << std::right << std::setw(12)
              << "L-inf" << std::setw(12) << "RMSE" << std::setw(12) << "max rel" << std::setw(12)
              << "cosine" << "  verdict\n";
    for (const TensorSpec& spec : model.io_schema().outputs) {
      const auto got = tensors_of(spec.name, actual->at(spec.name));
      const auto want = tensors_of(spec.name, expected->at(spec.name));
      if (got.size() != want.size() ||
          actual->at(spec.name).kind() != expected->at(spec.name).kind()) {
        std::cout << "  " << spec.name << ": " << describe_value(actual->at(spec.name))
                  << " but the reference gives " << describe_value(expected->at(spec.name))
                  << "  FAIL\n";
        ++violations;
        continue;
      }
      for (size_t i = 0; i < got.size(); ++i) {
        Result<Divergence> d = measure_divergence(got[i].second, want[i].second);
        if (!d.is_ok()) {
          std::cout << "  " << got[i].first << ": " << d.status().message() << "  FAIL\n";
          ++violations;
          continue;
        }
        const std::string why = budget_violation(*d, budget);
        std::cout << "  " << std::left << std::setw(28) << got[i].first << std::right
                  << std::scientific << std::setprecision(2) << std::setw(12) << d->max_abs
                  << std::setw(12) << d->rmse << std::setw(12) << d->max_rel << std::fixed
                  << std::setprecision(7) << std::setw(12) << d->cosine << "  "
                  << (why.empty() ? "ok" : "FAIL: " + why) << "\n";
        if (!why.empty()) ++violations;
      }
    }
  }
  if (args.per_node) {
    for (const Configuration& config : configurations) {
      if (first_divergent_node(args.model, config.options, budget, *feeds) != 0) ++violations;
    }
  }
  std::cout << "\n" << (violations == 0 ? "parity: every output within budget"
                                        : "parity: " + std::to_string(violations) +
                                              " output(s) outside budget")
            << "\n";
  return violations == 0 ? 0 : 1;
}

}  // namespace edgerun::cli
