// The edgerun command end to end: inspect, run with files, generated inputs and bad arguments.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <onnx/onnx-data_pb.h>

#include "core/npy.h"
#include "ops/op_test.h"
#include "unit/model_builder.h"

namespace edgerun {
namespace {

namespace fs = std::filesystem;
using testing::ModelBuilder;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("edgerun_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs the CLI, returns its exit code and leaves stdout+stderr in `output`.
  int edgerun(const std::string& args, std::string* output) {
    const fs::path log = dir_ / "log.txt";
    const std::string cmd = std::string(EDGERUN_CLI_PATH) + " " + args + " > " + log.string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    *output = ss.str();
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  std::string write_model(ModelBuilder& b, const std::string& name = "model.onnx") {
    const fs::path path = dir_ / name;
    std::ofstream out(path, std::ios::binary);
    out << b.bytes();
    return path.string();
  }

  fs::path dir_;
};

TEST_F(CliTest, InspectListsIoOpsAndUnsupportedOps) {
  ModelBuilder b;
  b.input("pixels", onnx::TensorProto::FLOAT, {-1, 4}, {"batch"});
  b.initializer("w", {4}, {1, 2, 3, 4});
  b.node("Mul", {"pixels", "w"}, {"m"});
  b.node("Mystery", {"m"}, {"out"}, "odd");
  b.output("out");
  std::string out;
  ASSERT_EQ(edgerun("inspect " + write_model(b), &out), 0) << out;
  EXPECT_NE(out.find("pixels: float32[batch, 4]"), std::string::npos) << out;
  EXPECT_NE(out.find("ai.onnx=17"), std::string::npos) << out;
  EXPECT_NE(out.find("producer:  edgerun-tests"), std::string::npos) << out;
  EXPECT_NE(out.find("parameters: 4 in 1 initializers, 16 bytes"), std::string::npos) << out;
  EXPECT_NE(out.find("1\tMul"), std::string::npos) << out;
  EXPECT_NE(out.find("ops edgerun cannot run:\n  Mystery (opset 17)"), std::string::npos) << out;
}

TEST_F(CliTest, RunReadsNpyWritesSanitisedOutputs) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2});
  b.node("Neg", {"x"}, {"out/neg:0"});
  b.output("out/neg:0");
  const std::string model = write_model(b);
  ASSERT_TRUE(write_npy((dir_ / "x.npy").string(), testing::make<float>({2}, {1.5f, -2})).is_ok());
  std::string out;
  ASSERT_EQ(edgerun("run " + model + " --input x=" + (dir_ / "x.npy").string() + " --output-dir " +
                        (dir_ / "out").string() + " --runs 2",
                    &out),
            0)
      << out;
  Result<Tensor> y = read_npy((dir_ / "out" / "out_neg_0.npy").string());
  ASSERT_TRUE(y.is_ok()) << y.status().to_string() << "\n" << out;
  EXPECT_TRUE(testing::tensors_close(y.value(), testing::make<float>({2}, {-1.5f, 2})));
  EXPECT_NE(out.find("min -1.5 max 2"), std::string::npos) << out;
  EXPECT_NE(out.find("reference: 1 of 1 nodes"), std::string::npos) << out;
  EXPECT_NE(out.find("median of 2 runs"), std::string::npos) << out;
}

TEST_F(CliTest, RunGeneratesSeededInputsForSymbolicDims) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, 3}, {"batch"});
  b.node("Identity", {"x"}, {"y"});
  b.output("y");
  const std::string model = write_model(b);
  std::string first, second;
  ASSERT_EQ(edgerun("run " + model + " --shape x=4x3 --seed 7 --runs 0 -o " + (dir_ / "a").string(), &first), 0)
      << first;
  ASSERT_EQ(edgerun("run " + model + " --shape x=4x3 --seed 7 --runs 0 -o " + (dir_ / "b").string(), &second), 0);
  Result<Tensor> a = read_npy((dir_ / "a" / "y.npy").string());
  Result<Tensor> c = read_npy((dir_ / "b" / "y.npy").string());
  ASSERT_TRUE(a.is_ok() && c.is_ok());
  EXPECT_EQ(a->shape(), (Shape{4, 3}));
  EXPECT_TRUE(testing::tensors_close(a.value(), c.value(), 0, 0));  // same seed, same data
  // Without --shape the symbolic dim defaults to 1 and says so.
  ASSERT_EQ(edgerun("run " + model + " --runs 0", &first), 0);
  EXPECT_NE(first.find("('batch') of input 'x' is not fixed; using 1"), std::string::npos) << first;
}

TEST_F(CliTest, RunReadsTensorProtoInputs) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::INT64, {3});
  b.node("Identity", {"x"}, {"y"});
  b.output("y", onnx::TensorProto::INT64);
  onnx::TensorProto t;
  t.set_data_type(onnx::TensorProto::INT64);
  t.add_dims(3);
  for (int64_t v : {4, 5, 6}) t.add_int64_data(v);
  {
    std::ofstream f(dir_ / "x.pb", std::ios::binary);
    f << t.SerializeAsString();
  }
  std::string out;
  ASSERT_EQ(edgerun("run " + write_model(b) + " -i x=" + (dir_ / "x.pb").string() + " --runs 0", &out), 0)
      << out;
  EXPECT_NE(out.find("y: int64 [3]  min 4 max 6 mean 5"), std::string::npos) << out;
}

TEST_F(CliTest, RunReadsSequenceProtoAndWritesSequenceFolderAndEmptyOptional) {
  // ids -> SequenceInsert(seq, ids) -> a sequence output; an optional input left out -> an
  // empty optional output written as NAME.none.
  ModelBuilder b(18);
  auto* seq = b.graph().add_input();
  seq->set_name("seq");
  seq->mutable_type()->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()
      ->set_elem_type(onnx::TensorProto::INT64);
  auto* opt = b.graph().add_input();
  opt->set_name("maybe");
  opt->mutable_type()->mutable_optional_type()->mutable_elem_type()->mutable_tensor_type()
      ->set_elem_type(onnx::TensorProto::FLOAT);
  b.input("ids", onnx::TensorProto::INT64, {2});
  b.node("SequenceInsert", {"seq", "ids"}, {"longer"});
  b.node("Identity", {"maybe"}, {"same"});
  *b.graph().add_output() = *seq;
  b.graph().mutable_output(0)->set_name("longer");
  *b.graph().add_output() = *opt;
  b.graph().mutable_output(1)->set_name("same");

  onnx::SequenceProto sp;
  sp.set_elem_type(onnx::SequenceProto::TENSOR);
  onnx::TensorProto* first = sp.add_tensor_values();
  first->set_data_type(onnx::TensorProto::INT64);
  first->add_dims(1);
  first->add_int64_data(7);
  {
    std::ofstream f(dir_ / "seq.pb", std::ios::binary);
    f << sp.SerializeAsString();
  }
  ASSERT_TRUE(write_npy((dir_ / "ids.npy").string(), testing::make<int64_t>({2}, {8, 9})).is_ok());
  std::string out;
  ASSERT_EQ(edgerun("run " + write_model(b) + " -i seq=" + (dir_ / "seq.pb").string() +
                        " -i ids=" + (dir_ / "ids.npy").string() + " --runs 0 -o " +
                        (dir_ / "out").string(),
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("input maybe: not given, so an empty optional"), std::string::npos) << out;
  EXPECT_NE(out.find("longer: sequence<int64>[2]"), std::string::npos) << out;
  Result<Tensor> e0 = read_npy((dir_ / "out" / "longer" / "0.npy").string());
  Result<Tensor> e1 = read_npy((dir_ / "out" / "longer" / "1.npy").string());
  ASSERT_TRUE(e0.is_ok() && e1.is_ok()) << out;
  EXPECT_TRUE(testing::tensors_close(e0.value(), testing::make<int64_t>({1}, {7})));
  EXPECT_TRUE(testing::tensors_close(e1.value(), testing::make<int64_t>({2}, {8, 9})));
  EXPECT_TRUE(fs::exists(dir_ / "out" / "same.none")) << out;
  EXPECT_EQ(fs::file_size(dir_ / "out" / "same.none"), 0u);

  // A sequence input cannot come from a .npy file, and cannot be made up.
  ASSERT_EQ(edgerun("run " + (dir_ / "model.onnx").string() + " -i seq=" +
                        (dir_ / "ids.npy").string() + " -i ids=" + (dir_ / "ids.npy").string(),
                    &out),
            1);
  EXPECT_NE(out.find("must be an ONNX SequenceProto .pb file"), std::string::npos) << out;
  ASSERT_EQ(edgerun("run " + (dir_ / "model.onnx").string() + " -i ids=" +
                        (dir_ / "ids.npy").string(),
                    &out),
            1);
  EXPECT_NE(out.find("give it with --input seq=FILE.pb"), std::string::npos) << out;
}

TEST_F(CliTest, ParityComparesEveryConfigurationWithTheReference) {
  std::string out;
  ASSERT_EQ(edgerun("parity " + std::string(EDGERUN_SOURCE_DIR) + "/models/demo_cnn.onnx --shape image=2x3x32x32 --per-node", &out), 0)
      << out;
  EXPECT_NE(out.find("budget fp32: L-inf <= 0.001"), std::string::npos) << out;
  EXPECT_NE(out.find("probabilities"), std::string::npos) << out;
  EXPECT_NE(out.find("parity: every output within budget"), std::string::npos) << out;
  EXPECT_NE(out.find("11 values in execution order"), std::string::npos) << out;
  EXPECT_NE(out.find("every intermediate value is within the fp32 budget"), std::string::npos) << out;
  // A model that cannot be run is exit status 2, not a verdict.
  EXPECT_EQ(edgerun("parity " + (dir_ / "missing.onnx").string(), &out), 2) << out;
}

TEST_F(CliTest, InspectPlanShowsPartitionsReasonsAndFlopCoverage) {
  const std::string model = std::string(EDGERUN_SOURCE_DIR) + "/models/demo_cnn.onnx";
  std::string out;
  ASSERT_EQ(edgerun("inspect --plan " + model, &out), 0) << out;
  // 10 nodes: the BatchNormalization after conv1 is folded into its weights.
  EXPECT_NE(out.find("coverage (10 nodes"), std::string::npos) << out;
  EXPECT_NE(out.find("partitions, in execution order:"), std::string::npos) << out;
  EXPECT_NE(out.find("of FLOPs"), std::string::npos) << out;
  // The whole demo CNN is one oneDNN partition; Flatten runs there as a view.
  EXPECT_NE(out.find("0  onednn       10 nodes"), std::string::npos) << out;
  EXPECT_NE(out.find("flatten                         Flatten               onednn"),
            std::string::npos) << out;

  // Every node left on the reference says why.
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 3});
  b.node("Relu", {"x"}, {"r"});
  b.node("Log", {"r"}, {"l"});
  b.node("Neg", {"l"}, {"y"});
  b.output("y");
  ASSERT_EQ(edgerun("inspect --plan " + write_model(b), &out), 0) << out;
  EXPECT_NE(out.find("reference"), std::string::npos) << out;
  EXPECT_NE(out.find("oneDNN's log approximation is not exact enough near 1"), std::string::npos)
      << out;
  // Its shapes are fixed, so its arena is planned at prepare; Log writes over the Relu's output.
  EXPECT_NE(out.find("1 values written in place over an input"), std::string::npos) << out;

  // A model the graph passes change (a constant Transpose folded, the GELU fused): the plan
  // still lines up with the graph as placed.
  ModelBuilder fused = testing::exported_gelu_model();
  ASSERT_EQ(edgerun("inspect --plan " + write_model(fused), &out), 0) << out;
  EXPECT_NE(out.find("coverage (2 nodes"), std::string::npos) << out;
  EXPECT_NE(out.find("Gelu"), std::string::npos) << out;

  ASSERT_EQ(edgerun("inspect --plan --json --compute-units cpu_and_gpu " + model, &out), 0) << out;
  EXPECT_NE(out.find("\"requested\": \"cpu_and_gpu\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"flop_share\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"total_flops\": 1024356.0"), std::string::npos) << out;
  EXPECT_NE(out.find("\"arena_in_place\": "), std::string::npos) << out;
}

TEST_F(CliTest, RunStatsPrintsTelemetryWithADeadline) {
  const std::string model = std::string(EDGERUN_SOURCE_DIR) + "/models/demo_cnn.onnx";
  std::string out;
  ASSERT_EQ(edgerun("run " + model + " --runs 3 --timeout-ms 60000 --stats", &out), 0) << out;
  EXPECT_NE(out.find("telemetry:"), std::string::npos) << out;
  EXPECT_NE(out.find("runs: 4 ok, 0 failed"), std::string::npos) << out;
  EXPECT_NE(out.find("run latency: 4, p50 "), std::string::npos) << out;
  EXPECT_NE(out.find("breaker onednn"), std::string::npos) << out;
  EXPECT_NE(out.find("memory: process RSS"), std::string::npos) << out;
  EXPECT_NE(edgerun("run " + model + " --timeout-ms -1", &out), 0);
}

TEST_F(CliTest, BadArgumentsFailWithAMessage) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2});
  b.node("Identity", {"x"}, {"y"});
  b.output("y");
  const std::string model = write_model(b);
  std::string out;
  EXPECT_EQ(edgerun("run " + model + " --shape x=2xz", &out), 1);
  EXPECT_NE(out.find("bad dim 'z'"), std::string::npos) << out;
  EXPECT_EQ(edgerun("run " + model + " --input x=" + (dir_ / "missing.npy").string(), &out), 1);
  EXPECT_NE(out.find("missing.npy"), std::string::npos) << out;
  EXPECT_EQ(edgerun("run " + model + " --input nonsense", &out), 1);
  EXPECT_NE(out.find("expects NAME=VALUE"), std::string::npos) << out;
  EXPECT_EQ(edgerun("run " + (dir_ / "nope.onnx").string(), &out), 1);
  EXPECT_NE(out.find("cannot open model file"), std::string::npos) << out;
  EXPECT_NE(edgerun("run " + model + " --compute-units warp_drive", &out), 0);
}

}  // namespace
}  // namespace edgerun
