// The `edgerun` command's subcommands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace edgerun::cli {

struct InspectArgs {
  std::string model;
  bool plan = false;                // the partitions and placement instead of the summary
  bool json = false;                // --plan as JSON
  std::string compute_units = "all";
  std::vector<std::string> inputs;  // NAME=FILE, for the run that measures value shapes
  std::vector<std::string> shapes;  // NAME=1x3x224x224
  uint64_t seed = 0;
};

struct RunArgs {
  std::string model;
  std::vector<std::string> inputs;  // NAME=FILE (.npy or TensorProto .pb)
  std::vector<std::string> shapes;  // NAME=1x3x224x224
  std::string output_dir;
  std::string compute_units = "all";
  uint64_t seed = 0;
  int runs = 10;
  bool stats = false;     // print the telemetry snapshot after the runs
  int64_t timeout_ms = 0;  // deadline per run; 0: none
};

struct BenchArgs {
  std::string model;
  std::vector<std::string> inputs;  // NAME=FILE
  std::vector<std::string> shapes;  // NAME=1x3x224x224
  std::string compute_units = "all";
  int threads = 0;                  // 0: the runtime's default
  int warmup = 10;                  // untimed runs after the first
  int runs = 0;                     // timed runs; 0: time by `seconds`
  double seconds = 0;               // timed runs for this long (and at least 10); 0: 5 s
  bool json = false;
  std::string profile;              // Chrome trace of the timed runs, written here
  uint64_t seed = 0;
  int64_t timeout_ms = 0;           // deadline per timed run; 0: none
  bool into = false;                // timed runs write into outputs allocated once (run_into)
};

struct ParityArgs {
  std::string model;
  std::vector<std::string> inputs;  // NAME=FILE
  std::vector<std::string> shapes;  // NAME=1x3x224x224
  uint64_t seed = 0;
  bool per_node = false;
};

int inspect_command(const InspectArgs& args);
// inspect --plan: partitions, placement with reasons, node and FLOP coverage per backend.
int plan_command(const InspectArgs& args);
int run_command(const RunArgs& args);
// Prepare phases, first-run latency, percentiles, throughput and peak memory; exit 1 on error.
int bench_command(const BenchArgs& args);
// Exit status: 0 within budget, 1 outside it, 2 when the model could not be run.
int parity_command(const ParityArgs& args);
// Prints the operator registry as markdown (docs/operators.md).
int operators_command();

}  // namespace edgerun::cli
