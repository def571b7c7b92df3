// The machine's single-precision matrix-multiply rate, the ceiling edgerun's achieved GFLOP/s is
// compared with in bench/compare: oneDNN's dnnl_sgemm on square matrices, timed per thread
// count. Prints one JSON object per thread count:
//   {"threads": 2, "size": 2048, "gflops_best": ..., "gflops_median": ..., "repeats": N}
//
// usage: edgerun_sgemm_rate [--size N] [--threads 1,2] [--repeats R]
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Options {
  long size = 2048;
  std::vector<int> threads = {1};
  int repeats = 5;
};

int usage(const std::string& why) {
  std::fprintf(stderr, "error: %s\nusage: edgerun_sgemm_rate [--size N] [--threads 1,2] "
                       "[--repeats R]\n", why.c_str());
  return 2;
}

bool parse_positive(const std::string& text, long* value) {
  char* end = nullptr;
  *value = std::strtol(text.c_str(), &end, 10);
  return end != text.c_str() && *end == '\0' && *value > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return usage(flag + " needs a value");
    const std::string value = argv[++i];
    long number = 0;
    if (flag == "--size" && parse_positive(value, &number)) {
      options.size = number;
    } else if (flag == "--repeats" && parse_positive(value, &number)) {
      options.repeats = static_cast<int>(number);
    } else if (flag == "--threads") {
      options.threads.clear();
      std::stringstream list(value);
      for (std::string item; std::getline(list, item, ',');) {
        if (!parse_positive(item, &number)) return usage("bad thread count '" + item + "'");
        options.threads.push_back(static_cast<int>(number));
      }
    } else {
      return usage("bad option " + flag + " " + value);
    }
  }
  const long n = options.size;
  std::vector<float> a(static_cast<size_t>(n * n), 0.5f), b(a.size(), 0.25f), c(a.size());
  const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) *
                       static_cast<double>(n);
  for (int threads : options.threads) {
    // Debian's oneDNN runs on OpenMP and reads the calling thread's setting.
    omp_set_num_threads(threads);
    // One untimed call: page faults, OpenMP team start-up.
    dnnl_sgemm('N', 'N', n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    std::vector<double> seconds;
    for (int r = 0; r < options.repeats; ++r) {
      const auto start = std::chrono::steady_clock::now();
      const dnnl_status_t status =
          dnnl_sgemm('N', 'N', n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
      seconds.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      if (status != dnnl_success) {
        std::fprintf(stderr, "error: dnnl_sgemm failed with status %d\n", static_cast<int>(status));
        return 1;
      }
    }
    std::sort(seconds.begin(), seconds.end());
    std::printf("{\"threads\": %d, \"size\": %ld, \"gflops_best\": %.2f, \"gflops_median\": %.2f, "
                "\"repeats\": %d}\n",
                threads, n, flops / seconds.front() / 1e9,
                flops / seconds[seconds.size() / 2] / 1e9, options.repeats);
  }
  return 0;
}
