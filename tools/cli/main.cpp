// edgerun: inspect, plan, run and compare ONNX models.
#include <CLI/CLI.hpp>

#include <iostream>

#include "commands.h"
#include "edgerun/edgerun.hpp"
#include "openmp_policy.h"

int main(int argc, char** argv) {
  edgerun::cli::prefer_passive_openmp(argv);
  CLI::App app{"edgerun " + std::string(edgerun::version()) +
               ": on-device neural-network inference runtime"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(edgerun::version()));

  edgerun::cli::InspectArgs inspect;
  CLI::App* inspect_cmd = app.add_subcommand(
      "inspect", "Print a model's inputs, outputs, opsets, op histogram, parameters and the ops "
                 "edgerun cannot run");
  inspect_cmd->add_option("model", inspect.model, "ONNX model file")->required();
  inspect_cmd->add_flag("--plan", inspect.plan,
                        "show the execution plan: partitions, the backend of every node and why "
                        "nodes stay on the reference, coverage as share of nodes and FLOPs (runs "
                        "the model once on generated inputs to measure shapes)");
  inspect_cmd->add_flag("--json", inspect.json, "with --plan: print the plan as JSON");
  inspect_cmd->add_option("--compute-units", inspect.compute_units,
                          "with --plan: all | cpu_only | cpu_and_gpu | cpu_and_ne")
      ->check(CLI::IsMember({"all", "cpu_only", "cpu_and_gpu", "cpu_and_ne"}));
  inspect_cmd->add_option("--input,-i", inspect.inputs, "with --plan: NAME=FILE input");
  inspect_cmd->add_option("--shape,-s", inspect.shapes, "with --plan: NAME=DIMS input shape");

  edgerun::cli::RunArgs run;
  CLI::App* run_cmd = app.add_subcommand(
      "run", "Run a model; inputs not given are filled with seeded random data");
  run_cmd->add_option("model", run.model, "ONNX model file")->required();
  run_cmd->add_option("--input,-i", run.inputs,
                      "NAME=FILE: a .npy file, or an ONNX TensorProto, SequenceProto or "
                      "OptionalProto .pb file");
  run_cmd->add_option("--shape,-s", run.shapes, "NAME=DIMS, e.g. image=1x3x224x224");
  run_cmd->add_option("--output-dir,-o", run.output_dir,
                      "write each output here: NAME.npy, a sequence as NAME/0.npy..., an empty "
                      "optional as NAME.none");
  run_cmd->add_option("--compute-units", run.compute_units,
                      "all | cpu_only | cpu_and_gpu | cpu_and_ne")
      ->check(CLI::IsMember({"all", "cpu_only", "cpu_and_gpu", "cpu_and_ne"}));
  run_cmd->add_option("--seed", run.seed, "seed for generated inputs")->capture_default_str();
  run_cmd->add_option("--runs", run.runs, "timed runs after the first")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();

  run_cmd->add_flag("--stats", run.stats,
                    "print telemetry: latency percentiles, per-backend share, failures and "
                    "fallbacks, circuit breakers, memory");
  run_cmd->add_option("--timeout-ms", run.timeout_ms,
                      "deadline for each run in milliseconds; a run past it fails with a "
                      "timeout error (0: none)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();

  edgerun::cli::BenchArgs bench;
  CLI::App* bench_cmd = app.add_subcommand(
      "bench", "Measure a model: prepare time by phase, first run, latency percentiles, "
               "throughput, peak memory; --profile adds a Chrome trace and the top ops by time");
  bench_cmd->add_option("model", bench.model, "ONNX model file")->required();
  bench_cmd->add_option("--input,-i", bench.inputs, "NAME=FILE, a .npy or ONNX .pb file");
  bench_cmd->add_option("--shape,-s", bench.shapes, "NAME=DIMS, e.g. image=1x3x224x224");
  bench_cmd->add_option("--compute-units", bench.compute_units,
                        "all | cpu_only | cpu_and_gpu | cpu_and_ne")
      ->check(CLI::IsMember({"all", "cpu_only", "cpu_and_gpu", "cpu_and_ne"}));
  bench_cmd->add_option("--threads", bench.threads,
                        "threads for the oneDNN kernels (default: OMP_NUM_THREADS if set, else "
                        "one per physical core)")
      ->check(CLI::Range(1, 1024));
  bench_cmd->add_option("--warmup", bench.warmup, "untimed runs after the first")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  CLI::Option* runs_opt = bench_cmd->add_option("--runs", bench.runs, "timed runs")
                              ->check(CLI::Range(1, 100000000));
  CLI::Option* seconds_opt =
      bench_cmd->add_option("--seconds", bench.seconds,
                            "time runs for this many seconds, and at least 10 runs (default 5)")
          ->check(CLI::Range(0.001, 86400.0));
  runs_opt->excludes(seconds_opt);
  bench_cmd->add_flag("--json", bench.json, "print one JSON object instead of text");
  bench_cmd->add_option("--profile", bench.profile,
                        "write a Chrome trace (Perfetto, chrome://tracing) of the timed runs, one "
                        "event per run, step and node, and list the top ops by time");
  bench_cmd->add_option("--seed", bench.seed, "seed for generated inputs")->capture_default_str();
  bench_cmd->add_flag("--into", bench.into,
                      "timed runs read the inputs in place and write into output tensors "
                      "allocated once (PreparedModel::run_into)");
  bench_cmd->add_option("--timeout-ms", bench.timeout_ms,
                        "deadline for each timed run in milliseconds; a run past it fails the "
                        "benchmark with a timeout error (0: none; not with --profile)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();

  edgerun::cli::ParityArgs parity;
  CLI::App* parity_cmd = app.add_subcommand(
      "parity", "Run a model under every available backend configuration and compare each output "
                "with the reference backend's (L-inf, RMSE, max relative error, cosine); exits 1 "
                "when a budget is exceeded");
  parity_cmd->add_option("model", parity.model, "ONNX model file")->required();
  parity_cmd->add_option("--input,-i", parity.inputs, "NAME=FILE, a .npy or ONNX .pb file");
  parity_cmd->add_option("--shape,-s", parity.shapes, "NAME=DIMS, e.g. image=1x3x224x224");
  parity_cmd->add_option("--seed", parity.seed, "seed for generated inputs")->capture_default_str();
  parity_cmd->add_flag("--per-node", parity.per_node,
                       "also compare every intermediate value and name the first node whose "
                       "output leaves the budget");

  CLI::App* operators_cmd = app.add_subcommand(
      "operators", "Print every operator edgerun runs, with opsets, ONNX types and backends, as "
                   "markdown (docs/operators.md)");

  CLI11_PARSE(app, argc, argv);
  if (inspect_cmd->parsed()) {
    return inspect.plan ? edgerun::cli::plan_command(inspect) : edgerun::cli::inspect_command(inspect);
  }
  if (run_cmd->parsed()) return edgerun::cli::run_command(run);
  if (bench_cmd->parsed()) return edgerun::cli::bench_command(bench);
  if (parity_cmd->parsed()) return edgerun::cli::parity_command(parity);
  if (operators_cmd->parsed()) return edgerun::cli::operators_command();
  return 2;
}
