// edgerun_slices_probe: would splitting a convolution into one-thread slices, run by our own
// team inside one OpenMP region, beat oneDNN's own two-thread split on small convolutions?
//
// For a few convolutions of the mobile CNNs it times (median of 7 windows of 150 ms):
//   1T        the convolution planned for and run on one thread
//   2T        planned for two threads, run alone (oneDNN opens one region per run)
//   2T x20    the same, 20 runs back to back (later regions find the workers just asleep)
//   slices    two halves of the output channels, each planned for one thread, run one after
//             the other on one thread (the cost of slicing itself)
//   region    the two halves claimed through an atomic counter by both threads of one OpenMP
//             region that runs 20 convolutions (one region per partition run), per convolution
//   in region a two-thread plan run by thread 0 inside a region (each call opens the region,
//             so its wake-up is included): oneDNN must run it on that
//             thread alone (it does not nest), checked by comparing its result with 1T's
// Run it under the wait policy to study (OMP_WAIT_POLICY=PASSIVE is what the CLI uses) and on a
// quiet machine: other processes on the cores decide these numbers more than the code does.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr memory::data_type kF32 = memory::data_type::f32;

double now_us() {
  return std::chrono::duration<double, std::micro>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct ConvCase {
  const char* name;
  int in_channels, out_channels, height, width, kernel, pad;
  bool depthwise;
  int out_height() const { return height + 2 * pad - kernel + 1; }
  int out_width() const { return width + 2 * pad - kernel + 1; }
};

// One convolution computing output channels [first, first + count) of `c` (and, depthwise,
// reading the same input channels), planned for `threads`, over nChw16c data with N = 1: a
// range of whole 16-channel blocks is one contiguous piece of the tensor, so a slice's input
// and output are pointer offsets.
struct Slice {
  dnnl::convolution_forward conv;
  memory src, weights, bias, dst, scratchpad;

  Slice(const dnnl::engine& engine, const ConvCase& c, int first, int count, int threads,
        float* src_data, float* dst_data, const std::vector<float>& all_weights) {
    omp_set_num_threads(threads);  // oneDNN plans its split for the threads in force now
    const int reads = c.depthwise ? count : c.in_channels;
    const memory::dims src_dims = {1, reads, c.height, c.width};
    const memory::dims dst_dims = {1, count, c.out_height(), c.out_width()};
    const memory::dims w_dims = c.depthwise
                                    ? memory::dims{count, 1, 1, c.kernel, c.kernel}
                                    : memory::dims{count, c.in_channels, c.kernel, c.kernel};
    const memory::desc src_md(src_dims, kF32, Tag::nChw16c), dst_md(dst_dims, kF32, Tag::nChw16c);
    const memory::desc bias_md({count}, kF32, Tag::x);
    dnnl::convolution_forward::desc d(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
        memory::desc(w_dims, kF32, Tag::any), bias_md, dst_md, {1, 1}, {c.pad, c.pad},
        {c.pad, c.pad});
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::convolution_forward::primitive_desc pd(d, attr, engine);
    conv = dnnl::convolution_forward(pd);
    const size_t per_output = c.depthwise ? static_cast<size_t>(c.kernel * c.kernel)
                                          : static_cast<size_t>(c.in_channels * c.kernel * c.kernel);
    memory user({w_dims, kF32, c.depthwise ? Tag::goihw : Tag::oihw}, engine,
                const_cast<float*>(all_weights.data()) + static_cast<size_t>(first) * per_output);
    weights = memory(pd.weights_desc(), engine);
    dnnl::stream stream(engine);
    dnnl::reorder(user, weights).execute(stream, user, weights);
    stream.wait();
    bias = memory(bias_md, engine);
    std::fill_n(static_cast<float*>(bias.get_data_handle()), count, 0.1f);
    const size_t src_offset = c.depthwise ? static_cast<size_t>(first) * c.height * c.width : 0;
    src = memory(src_md, engine, src_data + src_offset);
    dst = memory(dst_md, engine,
                 dst_data + static_cast<size_t>(first) * c.out_height() * c.out_width());
    scratchpad = memory(pd.scratchpad_desc(), engine);
  }

  void run(dnnl::stream& stream) {
    conv.execute(stream, {{DNNL_ARG_SRC, src},
                          {DNNL_ARG_WEIGHTS, weights},
                          {DNNL_ARG_BIAS, bias},
                          {DNNL_ARG_DST, dst},
                          {DNNL_ARG_SCRATCHPAD, scratchpad}});
    stream.wait();
  }
};

// Median over 7 windows of 150 ms of the time of one call of `body`.
double median_us(const std::function<void()>& body) {
  for (int i = 0; i < 20; ++i) body();
  std::vector<double> windows;
  for (int w = 0; w < 7; ++w) {
    const double start = now_us();
    int calls = 0;
    while (now_us() - start < 150000) {
      body();
      ++calls;
    }
    windows.push_back((now_us() - start) / calls);
  }
  std::sort(windows.begin(), windows.end());
  return windows[3];
}

double max_difference(const std::vector<float>& a, const std::vector<float>& b, size_t count) {
  double worst = 0;
  for (size_t i = 0; i < count; ++i) worst = std::max(worst, std::fabs(double(a[i]) - b[i]));
  return worst;
}

}  // namespace

int main() {
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  const ConvCase cases[] = {{"1x1 7x7 576->96", 576, 96, 7, 7, 1, 0, false},
                            {"dw5x5 14x14x288", 288, 288, 14, 14, 5, 2, true},
                            {"3x3 56x56 64->64", 64, 64, 56, 56, 3, 1, false},
                            {"1x1 14x14 96->576", 96, 576, 14, 14, 1, 0, false}};
  constexpr int kNodesPerRun = 20;
  std::printf("%-20s %9s %9s %9s %9s %9s %9s  (us; max |diff| vs 1T: region, in region)\n",
              "convolution", "1T", "2T", "2T x20", "slices", "region", "in region");
  for (const ConvCase& c : cases) {
    const size_t out_count = static_cast<size_t>(c.out_channels) * c.out_height() * c.out_width();
    std::vector<float> src(static_cast<size_t>(c.in_channels) * c.height * c.width);
    std::vector<float> expected(out_count), got(out_count);
    for (size_t i = 0; i < src.size(); ++i) src[i] = float((i * 7919) % 113) / 113.0f - 0.5f;
    const size_t per_output = c.depthwise ? static_cast<size_t>(c.kernel * c.kernel)
                                          : static_cast<size_t>(c.in_channels * c.kernel * c.kernel);
    std::vector<float> weights(static_cast<size_t>(c.out_channels) * per_output);
    for (size_t i = 0; i < weights.size(); ++i) {
      weights[i] = float((i * 104729) % 97) / 97.0f - 0.5f;
    }
    dnnl::stream stream(engine);
    Slice one(engine, c, 0, c.out_channels, 1, src.data(), expected.data(), weights);
    Slice two(engine, c, 0, c.out_channels, 2, src.data(), got.data(), weights);
    const int half = (c.out_channels / 2 + 15) / 16 * 16;  // whole channel blocks
    Slice first(engine, c, 0, half, 1, src.data(), got.data(), weights);
    Slice second(engine, c, half, c.out_channels - half, 1, src.data(), got.data(), weights);
    Slice* slices[2] = {&first, &second};

    omp_set_num_threads(1);
    const double t_one = median_us([&] { one.run(stream); });
    omp_set_num_threads(2);
    const double t_two = median_us([&] { two.run(stream); });
    const double t_two_runs = median_us([&] {
      for (int r = 0; r < kNodesPerRun; ++r) two.run(stream);
    }) / kNodesPerRun;
    const double t_slices = median_us([&] {
      first.run(stream);
      second.run(stream);
    });

    // Thread 0 walks the "nodes"; for each it publishes a new generation, and both threads
    // claim halves until none is left; thread 0 waits for both to be done before the next.
    std::atomic<int> next{0}, done{0}, generation{0};
    std::atomic<bool> finished{false};
    auto claim = [&](dnnl::stream& s) {
      for (int k; (k = next.fetch_add(1)) < 2;) {
        slices[k]->run(s);
        done.fetch_add(1, std::memory_order_release);
      }
    };
    auto region_run = [&] {
      finished.store(false);
      generation.store(0);
#pragma omp parallel num_threads(2)
      {
        dnnl::stream own(engine);
        if (omp_get_thread_num() == 0) {
          for (int r = 0; r < kNodesPerRun; ++r) {
            next.store(0, std::memory_order_relaxed);
            done.store(0, std::memory_order_relaxed);
            generation.store(r + 1, std::memory_order_release);
            claim(own);
            while (done.load(std::memory_order_acquire) < 2) {
            }
          }
          finished.store(true, std::memory_order_release);
        } else {
          for (int seen = 0; !finished.load(std::memory_order_acquire);) {
            const int g = generation.load(std::memory_order_acquire);
            if (g == seen) continue;
            seen = g;
            claim(own);
          }
        }
      }
    };
    const double t_region = median_us(region_run) / kNodesPerRun;
    const double t_in_region = median_us([&] {
#pragma omp parallel num_threads(2)
      {
        if (omp_get_thread_num() == 0) {
          dnnl::stream own(engine);
          two.run(own);
        }
      }
    });
    omp_set_num_threads(1);
    one.run(stream);
    std::fill(got.begin(), got.end(), 0.0f);
    region_run();
    const double region_diff = max_difference(got, expected, out_count);
    std::fill(got.begin(), got.end(), 0.0f);
#pragma omp parallel num_threads(2)
    {
      if (omp_get_thread_num() == 0) {
        dnnl::stream own(engine);
        two.run(own);
      }
    }
    const double nested_diff = max_difference(got, expected, out_count);
    std::printf("%-20s %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f  (%g, %g)\n", c.name, t_one, t_two,
                t_two_runs, t_slices, t_region, t_in_region, region_diff, nested_diff);
  }
  return 0;
}
