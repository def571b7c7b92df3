// The strongest check of static shape inference: run a model on the reference backend with every
// intermediate value exposed and compare each actual shape (and each value known at prepare
// time) with what inference said. Unknown is allowed; wrong is a failure. Runs over every ONNX
// conformance model (Debian libonnx-testdata) and the demo model.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "backends/reference/reference_backend.h"
#include "onnx/importer.h"
#include "onnx/tensor_proto.h"
#include "opt/fold_constant_nodes.h"
#include "runtime/program.h"

namespace edgerun::runtime {
namespace {

namespace fs = std::filesystem;

const char* const kTestData = "/usr/share/libonnx-testdata/data";

struct CheckTally {
  size_t models_checked = 0;
  size_t values = 0;
  size_t shapes_known = 0;
  size_t values_known = 0;
  std::vector<std::string> mismatches;
};

bool same_bytes(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.dtype() == DType::kString) {
    const auto* x = static_cast<const std::string*>(a.raw_data());
    const auto* y = static_cast<const std::string*>(b.raw_data());
    for (int64_t i = 0; i < a.size(); ++i) {
      if (x[i] != y[i]) return false;
    }
    return true;
  }
  return a.nbytes() == 0 || std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

// Runs `graph` (prepared as Engine::prepare would: constants folded) on `inputs` and checks every
// node output against the inference of the specialisation for the inputs' shapes. A model the
// reference cannot run is not this test's business and is skipped.
void check_model(const std::string& label, ir::Graph graph, std::vector<Value> inputs,
                 CheckTally& tally) {
  opt::fold_constant_nodes(graph);
  std::vector<Shape> shapes;
  for (const Value& v : inputs) shapes.push_back(v.is_tensor() ? v.tensor().shape() : Shape{-1});
  std::vector<std::string> produced;
  for (const ir::Node& node : graph.nodes) {
    for (const std::string& out : node.outputs) {
      if (out.empty()) continue;
      produced.push_back(out);
      bool listed = false;
      for (const ir::ValueInfo& o : graph.outputs) listed = listed || o.name == out;
      if (!listed) graph.outputs.push_back(ir::ValueInfo{out, {}, {}});
    }
  }
  static const reference::ReferenceBackend kReference;
  Result<std::unique_ptr<Program>> program = Program::build(graph, {&kReference}, shapes);
  if (!program.is_ok()) return;
  Result<std::vector<Value>> outputs = program.value()->run(std::move(inputs));
  if (!outputs.is_ok()) return;
  const ValueTypes& types = program.value()->value_types();
  ++tally.models_checked;
  for (size_t i = 0; i < graph.outputs.size(); ++i) {
    const std::string& name = graph.outputs[i].name;
    if (std::find(produced.begin(), produced.end(), name) == produced.end()) continue;
    ++tally.values;
    const Shape* inferred = types.shape(name);
    if (inferred == nullptr) continue;
    ++tally.shapes_known;
    const Value& actual = outputs.value()[i];
    if (!actual.is_tensor() || actual.tensor().shape() != *inferred) {
      tally.mismatches.push_back(
          label + ": '" + name + "' inferred " + shape_to_string(*inferred) + ", actual " +
          (actual.is_tensor() ? shape_to_string(actual.tensor().shape()) : "not a tensor"));
      continue;
    }
    if (const Tensor* known = types.value(name)) {
      ++tally.values_known;
      if (!same_bytes(*known, actual.tensor())) {
        tally.mismatches.push_back(label + ": '" + name + "' has a prepare-time value that " +
                                   "differs from the run's");
      }
    }
  }
}

void check_conformance_dir(const fs::path& dir, CheckTally& tally) {
  Result<ir::Model> model = onnx_import::import_model_file((dir / "model.onnx").string());
  if (!model.is_ok()) return;
  const fs::path set = dir / "test_data_set_0";
  std::vector<Value> inputs;
  for (size_t i = 0; i < model->graph.inputs.size(); ++i) {
    if (model->graph.inputs[i].type.kind != ir::TypeInfo::Kind::kTensor) return;
    Result<Tensor> t =
        onnx_import::read_tensor_pb((set / ("input_" + std::to_string(i) + ".pb")).string());
    if (!t.is_ok()) return;
    inputs.emplace_back(std::move(t).value());
  }
  check_model(dir.parent_path().filename().string() + "/" + dir.filename().string(),
              std::move(model->graph), std::move(inputs), tally);
}

std::string summary(const CheckTally& tally) {
  std::string s = std::to_string(tally.models_checked) + " models, " +
                  std::to_string(tally.shapes_known) + "/" + std::to_string(tally.values) +
                  " shapes inferred, " + std::to_string(tally.values_known) + " values known";
  for (size_t i = 0; i < tally.mismatches.size() && i < 40; ++i) s += "\n  " + tally.mismatches[i];
  return s;
}

TEST(ShapeInferenceCheck, EveryConformanceModel) {
  if (!fs::exists(kTestData)) GTEST_SKIP() << "libonnx-testdata is not installed";
  CheckTally tally;
  for (const char* suite : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    std::vector<fs::path> dirs;
    for (const auto& entry : fs::directory_iterator(fs::path(kTestData) / suite)) {
      if (entry.is_directory()) dirs.push_back(entry.path());
    }
    std::sort(dirs.begin(), dirs.end());
    for (const fs::path& dir : dirs) check_conformance_dir(dir, tally);
  }
  std::cout << "shape inference check: " << summary(tally) << "\n";
  EXPECT_GT(tally.models_checked, 500u);
  EXPECT_TRUE(tally.mismatches.empty()) << summary(tally);
}

TEST(ShapeInferenceCheck, DemoModel) {
  Result<ir::Model> model =
      onnx_import::import_model_file(std::string(EDGERUN_SOURCE_DIR) + "/models/demo_cnn.onnx");
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  std::vector<Value> inputs;
  for (const ir::ValueInfo& in : model->graph.inputs) {
    ASSERT_TRUE(in.type.shape.has_value());
    Shape shape;
    for (const ir::Dim& d : *in.type.shape) shape.push_back(d.known() ? d.value : 2);
    inputs.emplace_back(Tensor(in.type.dtype, shape));
  }
  CheckTally tally;
  check_model("demo_cnn", std::move(model->graph), std::move(inputs), tally);
  ASSERT_EQ(tally.models_checked, 1u);
  EXPECT_TRUE(tally.mismatches.empty()) << summary(tally);
  EXPECT_EQ(tally.shapes_known, tally.values) << summary(tally);
}

}  // namespace
}  // namespace edgerun::runtime
