// Runs the official ONNX backend test data (Debian libonnx-testdata) on edgerun and checks the
// results against an expected-failures file: any failure not listed, and any listed test that
// passes, fails the run. The file therefore only ever shrinks.
//
//   edgerun_conformance --data /usr/share/libonnx-testdata/data --backends reference
//     --expected-failures tests/conformance/expected_failures/reference.txt
//
// --compute-units and --backends pick the placement (PrepareOptions): the reference run pins
// the reference backend so it stays the exact ground truth; a run with compute units `all`
// checks what the accelerated backends claim, against its own expected-failures file.
// --no-optimize turns the graph optimisations off (PrepareOptions::optimize), so the suite can
// show that they change no result.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <complex>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "edgerun/edgerun.hpp"
#include "ir/op.h"
#include "onnx/tensor_proto.h"
#include "onnx/value_proto.h"

namespace fs = std::filesystem;
using namespace edgerun;

namespace {

constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-7;

struct Options {
  std::string data = "/usr/share/libonnx-testdata/data";
  std::vector<std::string> folders;
  std::string filter;
  std::string expected_failures;
  std::string write_failures;
  ComputeUnits compute_units = ComputeUnits::kAll;
  std::vector<std::string> backends;  // allow-list; empty: what the compute units allow
  bool optimize = true;               // graph optimisations (PrepareOptions::optimize)
  bool verbose = false;
};

// The suite's comparison: same dtype and shape; floats within atol + rtol * |expected| with NaN
// equal to NaN; everything else exact.
Status compare(const Tensor& actual, const Tensor& expected, const std::string& name) {
  if (actual.dtype() != expected.dtype()) {
    return runtime_error("output '" + name + "' has dtype " + std::string(dtype_name(actual.dtype())) +
                         ", expected " + std::string(dtype_name(expected.dtype())));
  }
  if (actual.shape() != expected.shape()) {
    return runtime_error("output '" + name + "' has shape " + shape_to_string(actual.shape()) +
                         ", expected " + shape_to_string(expected.shape()));
  }
  return dispatch<AllTypes>(actual.dtype(), "compare", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    int64_t bad = 0;
    int64_t first = -1;
    double worst = 0;
    for (int64_t i = 0; i < actual.size(); ++i) {
      const T& a = actual.data<T>()[i];
      const T& e = expected.data<T>()[i];
      bool ok;
      if constexpr (std::is_floating_point_v<compute_t<T>>) {
        const double x = static_cast<double>(static_cast<compute_t<T>>(a));
        const double y = static_cast<double>(static_cast<compute_t<T>>(e));
        ok = (std::isnan(x) && std::isnan(y)) || x == y || std::fabs(x - y) <= kAtol + kRtol * std::fabs(y);
        if (!ok) worst = std::max(worst, std::isnan(x - y) ? INFINITY : std::fabs(x - y));
      } else if constexpr (std::is_same_v<T, std::complex<float>> ||
                           std::is_same_v<T, std::complex<double>>) {
        ok = std::abs(a - e) <= kAtol + kRtol * std::abs(e);
      } else {
        ok = a == e;
      }
      if (!ok && bad++ == 0) first = i;
    }
    if (bad == 0) return Status::ok();
    std::ostringstream os;
    os << "output '" << name << "': " << bad << " of " << actual.size()
       << " elements differ (first at index " << first << ")";
    if (worst > 0) os << ", max abs diff " << worst;
    return runtime_error(os.str());
  });
}

std::vector<std::string> sorted_files(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<int, std::string>> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && name.size() > 3 && name.substr(name.size() - 3) == ".pb") {
      found.emplace_back(std::stoi(name.substr(prefix.size())), entry.path().string());
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> paths;
  for (auto& [index, path] : found) paths.push_back(path);
  return paths;
}

// libonnx-testdata 1.12 stores bfloat16 tensors as uint16 (the raw bits); the models declare
// bfloat16. Same bits, so the runner relabels them to compare like with like.
Tensor as_dtype_bits(const Tensor& t, DType dtype) {
  if (t.dtype() == DType::kUInt16 && dtype == DType::kBFloat16) {
    Tensor out(DType::kBFloat16, t.shape());
    std::memcpy(out.raw_data(), t.raw_data(), t.nbytes());
    return out;
  }
  return t;
}

Status compare_values(const Value& actual, const Value& expected, const std::string& name,
                      DType declared) {
  if (actual.kind() != expected.kind()) {
    return runtime_error("output '" + name + "' is " + describe_value(actual) + ", expected " +
                         describe_value(expected));
  }
  if (actual.is_tensor()) {
    return compare(actual.tensor(), as_dtype_bits(expected.tensor(), declared), name);
  }
  if (actual.items().size() != expected.items().size()) {
    return runtime_error("output '" + name + "' is " + describe_value(actual) + ", expected " +
                         describe_value(expected));
  }
  for (size_t i = 0; i < actual.items().size(); ++i) {
    ER_RETURN_IF_ERROR(compare(actual.items()[i], as_dtype_bits(expected.items()[i], declared),
                               name + "[" + std::to_string(i) + "]"));
  }
  return Status::ok();
}

// One test directory: model.onnx plus test_data_set_*/{input,output}_N.pb.
// Nodes per backend over every prepared test, and the tests that ran any node off the reference.
struct PlacementTally {
  std::map<std::string, size_t> nodes;
  int tests_accelerated = 0;
};

Status run_test(const fs::path& dir, const Options& opt, PlacementTally& tally) {
  Engine engine;
  PrepareOptions prepare;
  prepare.compute_units = opt.compute_units;
  prepare.backends = opt.backends;
  prepare.optimize = opt.optimize;
  Result<PreparedModel> model =
      engine.prepare(ModelArtifact::from_file((dir / "model.onnx").string()), prepare);
  if (!model.is_ok()) return model.status();
  bool accelerated = false;
  for (const auto& [backend, count] : model->capabilities().nodes_per_backend) {
    tally.nodes[backend] += count;
    accelerated = accelerated || backend != "reference";
  }
  if (accelerated) ++tally.tests_accelerated;
  if (opt.verbose) {
    for (const NodePlacement& p : model->capabilities().placements) {
      std::cout << "  " << dir.filename().string() << ": " << p.op << " '" << p.node << "' on "
                << p.backend << (p.reason.empty() ? "" : " (" + p.reason + ")") << "\n";
    }
  }
  const IoSchema& schema = model->io_schema();
  std::vector<fs::path> sets;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0) {
      sets.push_back(entry.path());
    }
  }
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return not_found("no test_data_set_* folder");
  for (const fs::path& set : sets) {
    ValueMap feeds;
    std::vector<std::string> inputs = sorted_files(set, "input_");
    for (size_t i = 0; i < inputs.size(); ++i) {
      // The suite feeds inputs by position over the graph inputs that are not initializers.
      if (i >= schema.inputs.size()) return invalid_argument("more input files than model inputs");
      const TensorSpec& spec = schema.inputs[i];
      Result<Value> v = onnx_import::read_value_pb(inputs[i], spec.kind);
      if (!v.is_ok()) return v.status();
      Value value = std::move(v).value();
      if (value.is_tensor()) value = Value(as_dtype_bits(value.tensor(), spec.dtype));
      feeds[spec.name] = std::move(value);
    }
    Result<ValueMap> outputs = model->run_values(feeds);
    if (!outputs.is_ok()) return outputs.status();
    std::vector<std::string> expected = sorted_files(set, "output_");
    if (expected.size() != schema.outputs.size()) {
      return runtime_error("the test has " + std::to_string(expected.size()) +
                           " outputs, the model " + std::to_string(schema.outputs.size()));
    }
    for (size_t i = 0; i < expected.size(); ++i) {
      const TensorSpec& spec = schema.outputs[i];
      Result<Value> want = onnx_import::read_value_pb(expected[i], spec.kind);
      if (!want.is_ok()) return want.status();
      ER_RETURN_IF_ERROR(compare_values(outputs.value().at(spec.name), want.value(), spec.name,
                                        spec.dtype)
                             .with_context(set.filename().string()));
    }
  }
  return Status::ok();
}

// "folder/test_name  # reason" per line; '#' starts a comment; blank lines are ignored.
Result<std::map<std::string, std::string>> read_expected(const std::string& path) {
  std::map<std::string, std::string> entries;
  if (path.empty()) return entries;
  std::ifstream in(path);
  if (!in) return io_error("cannot open expected-failures file '" + path + "'");
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const size_t hash = line.find('#');
    std::string reason = hash == std::string::npos ? "" : line.substr(hash + 1);
    std::string key = line.substr(0, hash);
    key.erase(std::remove_if(key.begin(), key.end(), ::isspace), key.end());
    if (key.empty()) continue;
    reason.erase(0, reason.find_first_not_of(' '));
    if (reason.empty()) {
      return invalid_argument(path + ":" + std::to_string(number) + ": entry '" + key +
                              "' has no '# reason'");
    }
    entries[key] = reason;
  }
  return entries;
}

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  if (s.size() > 160) s = s.substr(0, 157) + "...";
  return s;
}

// The op family a test exercises, for the scoreboard: the registry op with the longest name that
// starts the test's name, compared without case and underscores ("test_reduce_sum_keepdims" ->
// ReduceSum -> "reduce"). Tests named after no op (whole models) count as "other".
std::string family_of_test(const std::string& test) {
  auto squash = [](std::string_view text) {
    std::string out;
    for (char c : text) {
      if (c != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
  };
  const std::string name = squash(test.rfind("test_", 0) == 0 ? test.substr(5) : test);
  std::string_view family = "other";
  size_t longest = 0;
  for (const ir::OpInfo& info : ir::all_ops()) {
    const std::string op = squash(info.name);
    if (op.size() > longest && name.rfind(op, 0) == 0) {
      longest = op.size();
      family = info.family;
    }
  }
  return std::string(family);
}

int usage() {
  std::cerr << "usage: edgerun_conformance [--data DIR] [--folder NAME]... [--filter SUBSTR]\n"
               "                           [--expected-failures FILE] [--write-failures FILE]\n"
               "                           [--compute-units all|cpu_only|cpu_and_gpu|cpu_and_ne]\n"
               "                           [--backends NAME[,NAME...]] [--no-optimize] [--verbose]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--data") opt.data = next();
    else if (arg == "--folder") opt.folders.push_back(next());
    else if (arg == "--filter") opt.filter = next();
    else if (arg == "--expected-failures") opt.expected_failures = next();
    else if (arg == "--write-failures") opt.write_failures = next();
    else if (arg == "--compute-units") {
      std::optional<ComputeUnits> units = parse_compute_units(next());
      if (!units) return usage();
      opt.compute_units = *units;
    } else if (arg == "--backends") {
      std::stringstream list(next());
      for (std::string name; std::getline(list, name, ',');) {
        if (!name.empty()) opt.backends.push_back(name);
      }
    } else if (arg == "--no-optimize") opt.optimize = false;
    else if (arg == "--verbose" || arg == "-v") opt.verbose = true;
    else return usage();
  }
  if (opt.folders.empty()) opt.folders = {"node", "pytorch-converted", "pytorch-operator", "simple"};
  Result<std::map<std::string, std::string>> expected = read_expected(opt.expected_failures);
  if (!expected.is_ok()) {
    std::cerr << expected.status().message() << "\n";
    return 2;
  }

  int total_passed = 0, total_failed = 0, unexpected_failures = 0, unexpected_passes = 0;
  std::map<std::string, std::pair<int, int>> by_family;  // family -> (passed, run)
  PlacementTally tally;
  std::ostringstream failures_out;
  for (const std::string& folder : opt.folders) {
    const fs::path root = fs::path(opt.data) / folder;
    if (!fs::is_directory(root)) {
      std::cout << folder << ": skipped (" << root.string() << " not found)\n";
      continue;
    }
    std::vector<fs::path> tests;
    for (const auto& entry : fs::directory_iterator(root)) {
      if (entry.is_directory() && entry.path().filename().string().find(opt.filter) != std::string::npos) {
        tests.push_back(entry.path());
      }
    }
    std::sort(tests.begin(), tests.end());
    int passed = 0, failed = 0;
    for (const fs::path& dir : tests) {
      const std::string key = folder + "/" + dir.filename().string();
      const bool listed = expected->count(key) > 0;
      const Status s = run_test(dir, opt, tally);
      auto& [family_passed, family_run] = by_family[family_of_test(dir.filename().string())];
      ++family_run;
      if (s.is_ok()) ++family_passed;
      if (s.is_ok()) {
        ++passed;
        if (listed) {
          ++unexpected_passes;
          std::cout << "UNEXPECTED PASS " << key << " (remove it from the expected failures)\n";
        } else if (opt.verbose) {
          std::cout << "pass " << key << "\n";
        }
      } else {
        ++failed;
        failures_out << key << "  # " << one_line(s.to_string()) << "\n";
        if (!listed) {
          ++unexpected_failures;
          std::cout << "UNEXPECTED FAIL " << key << ": " << one_line(s.to_string()) << "\n";
        } else if (opt.verbose) {
          std::cout << "fail " << key << ": " << one_line(s.to_string()) << "\n";
        }
      }
    }
    std::cout << folder << ": " << passed << " passed, " << failed << " failed (of "
              << tests.size() << ")\n";
    total_passed += passed;
    total_failed += failed;
  }
  if (!opt.write_failures.empty()) {
    std::ofstream out(opt.write_failures);
    out << failures_out.str();
  }
  std::cout << "by op family:";
  for (const auto& [family, counts] : by_family) {
    std::cout << " " << family << " " << counts.first << "/" << counts.second;
  }
  std::cout << "\n";
  std::cout << "nodes per backend:";
  for (const auto& [backend, count] : tally.nodes) std::cout << " " << backend << " " << count;
  std::cout << " (" << tally.tests_accelerated << " tests ran nodes off the reference)\n";
  std::cout << "unexpected failures: " << unexpected_failures
            << ", unexpected passes: " << unexpected_passes << "\n";
  std::cout << total_passed << " passed, " << total_failed << " failed\n";
  return unexpected_failures == 0 && unexpected_passes == 0 ? 0 : 1;
}
