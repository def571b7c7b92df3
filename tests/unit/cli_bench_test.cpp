// `edgerun bench` end to end on the demo model: the JSON report, the Chrome trace and argument
// errors. Only the shape of the figures is checked, never their speed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "onnx/importer.h"
#include "opt/optimize.h"

namespace edgerun {
namespace {

namespace fs = std::filesystem;

const std::string kDemoModel = std::string(EDGERUN_SOURCE_DIR) + "/models/demo_cnn.onnx";

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class CliBenchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("edgerun_cli_bench_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs the CLI; stdout and stderr are kept apart so that --json output can be parsed.
  int edgerun(const std::string& args, std::string* out, std::string* err) {
    const std::string cmd = std::string(EDGERUN_CLI_PATH) + " " + args + " > " +
                            (dir_ / "out.txt").string() + " 2> " + (dir_ / "err.txt").string();
    const int rc = std::system(cmd.c_str());
    *out = read_file(dir_ / "out.txt");
    *err = read_file(dir_ / "err.txt");
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  fs::path dir_;
};

TEST_F(CliBenchTest, JsonHasTheRequiredFiguresInOrder) {
  std::string out, err;
  ASSERT_EQ(edgerun("bench " + kDemoModel + " --runs 7 --warmup 1 --threads 1 --json", &out, &err),
            0)
      << out << err;
  const nlohmann::json report = nlohmann::json::parse(out);
  for (const char* key : {"p50_ms", "p95_ms", "p99_ms", "prepare_ms", "first_run_ms",
                          "peak_rss_bytes", "threads", "import_ms", "optimise_ms", "compile_ms",
                          "mean_ms", "min_ms", "throughput_per_s", "arena_bytes"}) {
    EXPECT_TRUE(report.contains(key)) << key << " missing in " << out;
  }
  EXPECT_EQ(report["threads"], 1);
  EXPECT_EQ(report["runs"], 7);
  EXPECT_EQ(report["warmup_runs"], 1);
  EXPECT_GT(report["p50_ms"].get<double>(), 0);
  EXPECT_LE(report["min_ms"].get<double>(), report["p50_ms"].get<double>());
  EXPECT_LE(report["p50_ms"].get<double>(), report["p95_ms"].get<double>());
  EXPECT_LE(report["p95_ms"].get<double>(), report["p99_ms"].get<double>());
  EXPECT_GT(report["first_run_ms"].get<double>(), 0);
  EXPECT_GE(report["prepare_ms"].get<double>(),
            report["import_ms"].get<double>() + report["compile_ms"].get<double>());
  EXPECT_GT(report["peak_rss_bytes"].get<uint64_t>(), 1u << 20);
  EXPECT_GT(report["arena_bytes"].get<uint64_t>(), 0u);  // planned before the first run
}

TEST_F(CliBenchTest, RunsUnderPassiveOpenMpUnlessTheCallerChose) {
  const auto policy = [&](const std::string& env) {
    const std::string cmd = "env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT " + env + " " +
                            EDGERUN_CLI_PATH + " bench " + kDemoModel +
                            " --runs 1 --warmup 0 --json > " + (dir_ / "out.txt").string() +
                            " 2> /dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return nlohmann::json::parse(read_file(dir_ / "out.txt"))["openmp_wait_policy"];
  };
  EXPECT_EQ(policy(""), "PASSIVE");
  EXPECT_EQ(policy("OMP_WAIT_POLICY=ACTIVE"), "ACTIVE");
  EXPECT_EQ(policy("GOMP_SPINCOUNT=1000"), "GOMP_SPINCOUNT=1000");
}

TEST_F(CliBenchTest, TelemetryAndDeadlines) {
  std::string out, err;
  ASSERT_EQ(edgerun("bench " + kDemoModel + " --runs 4 --warmup 0 --timeout-ms 60000 --json",
                    &out, &err),
            0)
      << out << err;
  const nlohmann::json report = nlohmann::json::parse(out);
  EXPECT_EQ(report["timeout_ms"], 60000);
  // The model's own counters: the first run and the four timed ones, all successful.
  EXPECT_EQ(report["telemetry"]["runs"]["ok"], 5) << out;
  EXPECT_EQ(report["telemetry"]["runs"]["failed"], 0) << out;

  ASSERT_EQ(edgerun("bench " + kDemoModel + " --runs 2", &out, &err), 0) << err;
  EXPECT_NE(out.find("telemetry:"), std::string::npos) << out;

  EXPECT_EQ(edgerun("bench " + kDemoModel + " --runs 1 --timeout-ms 100 --profile " +
                        (dir_ / "t.json").string(),
                    &out, &err),
            1);
  EXPECT_NE(err.find("--timeout-ms cannot be combined with --profile"), std::string::npos) << err;
}

TEST_F(CliBenchTest, ProfileHasOneEventPerRunStepAndNode) {
  const fs::path trace_path = dir_ / "trace.json";
  std::string out, err;
  ASSERT_EQ(edgerun("bench " + kDemoModel + " --runs 3 --warmup 0 --profile " +
                        trace_path.string(),
                    &out, &err),
            0)
      << out << err;
  EXPECT_NE(out.find("top ops by time"), std::string::npos) << out;
  EXPECT_NE(out.find("planned arena: "), std::string::npos) << out;
  EXPECT_EQ(out.find("planned arena: 0 bytes"), std::string::npos) << out;

  Result<ir::Model> model = onnx_import::import_model_file(kDemoModel);
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  opt::prepare_graph(model->graph, true);  // the nodes as they run (the BN folded into the conv)
  const nlohmann::json trace = nlohmann::json::parse(read_file(trace_path));
  ASSERT_TRUE(trace["traceEvents"].is_array());
  std::map<std::string, int> runs_of_node;
  int runs = 0, steps = 0;
  for (const nlohmann::json& e : trace["traceEvents"]) {
    EXPECT_EQ(e["ph"], "X");
    EXPECT_GE(e["dur"].get<double>(), 0);
    if (e["cat"] == "run") ++runs;
    if (e["cat"] == "step") ++steps;
    if (e["cat"] != "node") continue;
    // A fused chain is one event that names each of its nodes.
    for (const nlohmann::json& node : e["args"]["nodes"]) ++runs_of_node[node.get<std::string>()];
  }
  EXPECT_EQ(runs, 3);
  EXPECT_GE(steps, 3);
  EXPECT_EQ(steps % 3, 0);
  ASSERT_EQ(runs_of_node.size(), model->graph.nodes.size());
  for (const ir::Node& node : model->graph.nodes) {
    EXPECT_EQ(runs_of_node[node.name], 3) << node.name;
  }
}

TEST_F(CliBenchTest, BadArgumentsSayWhatIsWrong) {
  std::string out, err;
  EXPECT_NE(edgerun("bench " + kDemoModel + " --threads 0", &out, &err), 0);
  EXPECT_NE(err.find("--threads"), std::string::npos) << err;

  EXPECT_NE(edgerun("bench " + kDemoModel + " --runs 3 --seconds 1", &out, &err), 0);
  EXPECT_NE(err.find("excludes"), std::string::npos) << err;

  EXPECT_NE(edgerun("bench " + (dir_ / "missing.onnx").string(), &out, &err), 0);
  EXPECT_NE(err.find("missing.onnx"), std::string::npos) << err;

  const std::string unwritable = (dir_ / "no_such_dir" / "trace.json").string();
  EXPECT_EQ(edgerun("bench " + kDemoModel + " --runs 1 --profile " + unwritable, &out, &err), 1);
  EXPECT_NE(err.find(unwritable), std::string::npos) << err;
}

}  // namespace
}  // namespace edgerun
