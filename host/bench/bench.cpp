// run_benchmarks: the device's peak first (every percentage and floor is
// relative to it), then the kernels, then the training steps.
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "host/bench/engine.h"
#include "host/shared/error_macros.h"
#include "host/cpu/gemm_cpu.h"
#include "host/core/device_registry.h"

namespace cumlp {

namespace bench {

namespace {

// Copy bandwidth (bytes read + written per second) of `copy` over buffers of
// `bytes`, from the fastest sample (on a shared machine, the closest to what
// the hardware can do).
double copy_gbps(const Timing& t, std::size_t bytes, const std::function<void()>& copy,
                 const std::function<void()>& sync) {
  const Stats s = time_calls(t, copy, sync);
  return 2.0 * static_cast<double>(bytes) / (s.best_us * 1e3);
}

}  // namespace

// The cpu's peak is measured directly (memcpy, OpenBLAS sgemm). Other
// devices are measured through their own copy and GEMM ops.
// Bandwidth is the better of a cache-sized (2 MiB) and a DRAM-sized copy, so
// the floors stay floors for working sets that fit in cache.
DevicePeak measure_peak(const Device& device, Backend& backend, const Timing& t, bool quick) {
  DevicePeak p;
  p.device = device.name();
  const bool cpu = device.type == "cpu";
  const std::size_t big = (quick ? 16u : 64u) << 20, small = 2u << 20;
  // Square GEMM, large enough for full speed (512^3: ~1.5 ms on two cores)
  // yet short enough that on a busy machine some samples run undisturbed;
  // small on the simulator, where it only has to run.
  const int64_t n = device.type == "sim" ? 64 : quick ? 256 : 512;
  auto sync = [&] { backend.synchronize(); };
  double cache_bw = 0, dram_bw = 0, gemm_us = 0;
  if (cpu) {
    std::vector<char> a(big, 1), b(big, 0);
    cache_bw = copy_gbps(t, small, [&] { std::memcpy(b.data(), a.data(), small); }, [] {});
    dram_bw = copy_gbps(t, big, [&] { std::memcpy(b.data(), a.data(), big); }, [] {});
    // On 1 thread and on all of them, the faster counting: on a machine
    // shared with other work, one thread can beat two that wait on each other.
    std::vector<float> x(static_cast<std::size_t>(n * n), 0.5f), y(x.size());
    p.threads = openblas_get_num_threads();
    gemm_us = 1e300;
    for (int threads : {1, p.threads}) {
      openblas_set_num_threads(threads);
      gemm_us = std::min(gemm_us, time_calls(t, [&] {
        cpu::gemm_cpu<float>(false, true, n, n, n, x.data(), x.data(), y.data());
      }, [] {}).best_us);
    }
    openblas_set_num_threads(p.threads);
  } else {
    void* a = backend.alloc(big);
    void* b = backend.alloc(big);
    void* y = backend.alloc(static_cast<std::size_t>(n * n) * sizeof(float));
    cache_bw = copy_gbps(t, small, [&] { backend.copy(b, a, small); }, sync);
    dram_bw = copy_gbps(t, big, [&] { backend.copy(b, a, big); }, sync);
    gemm_us = time_calls(t, [&] { backend.linear_act_forward(DType::F32, n, n, n, a, a, nullptr, {}, y, nullptr); },
                         sync).best_us;
    for (void* q : {a, b, y}) backend.release(q);
  }
  p.bandwidth_gbps = std::max(cache_bw, dram_bw);
  p.gflops = 2.0 * static_cast<double>(n * n * n) / (gemm_us * 1e3);
  void* one = backend.alloc(3 * sizeof(float));
  p.launch_us = time_calls(t, [&] {
    backend.linear_act_forward(DType::F32, 1, 1, 1, one, one, nullptr, {}, static_cast<float*>(one) + 2, nullptr);
  }, sync).median_us;
  backend.release(one);
  p.description = detail::concat(cpu ? "memcpy" : "device copy", " ", small >> 20, " MiB: ", cache_bw, " GB/s, ",
                                 big >> 20, " MiB: ", dram_bw, " GB/s; ", cpu ? "OpenBLAS sgemm" : "device GEMM", " ",
                                 n, "^3: ", p.gflops, " GFLOP/s", cpu ? detail::concat(" (best of 1 and ", p.threads, " threads)") : "",
                                 "; 1x1x1 Linear forward: ", p.launch_us, " us");
  return p;
}

}  // namespace bench

BenchReport run_benchmarks(const Device& device, const BenchOptions& options) {
  bench::Timing t;
  t.samples = options.quick ? std::min(options.samples, 5) : options.samples;
  t.min_sample_us = options.quick ? std::min(options.min_sample_us, 300.0) : options.min_sample_us;
  t.warmup_us = options.quick ? 3000 : 20000;
  t.once = device.type == "sim";
  CUMLP_CHECK(t.samples >= 1, "bench needs at least one sample, got ", options.samples);
  bench::check_models(options.models);
  std::unique_ptr<Backend> backend = make_backend(device);
  backend->set_precision(options.precision);
  BenchReport r;
  r.peak = bench::measure_peak(device, *backend, t, options.quick);
  if (options.kernels) r.kernels = bench::bench_kernels(*backend, r.peak, t, options.precision);
  r.steps = bench::bench_steps(device, r.peak, t, options);
  return r;
}

}  // namespace cumlp
