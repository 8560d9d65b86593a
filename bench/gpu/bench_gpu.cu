// The GPU benchmark: this GPU's ceilings, then each Thrust CUDA kernel of recfuse on device data,
// timed with CUDA events (warm-up runs first, then the median of the timed repeats), on random
// inputs built on the device (data.cuh; peers.py builds the same numbers for the peers).
//
//   bench_gpu [--quick] [--json FILE]
//
// Each kernel line gives its time, the work it must do (bytes it must move at least, or FLOPs)
// and the fraction of the ceiling that bounds it: copy bandwidth (a device-to-device copy,
// counting bytes read plus written) for bandwidth-bound kernels, the fp32 FMA rate for
// arithmetic-bound ones. --json appends one JSON object per line to FILE for bench/gpu/table.py.
#include <cuda_runtime_api.h>
#include <thrust/device_vector.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "data.cuh"
#include "recfuse/metrics/error.hpp"
#include "recfuse/thrust/all.hpp"
#include "recfuse/thrust/detail/cuda_check.hpp"

namespace {

using recfuse::index_t;
constexpr const char* here = "bench_gpu";

struct options {
  bool quick = false;
  std::FILE* json = nullptr;
};

// Median milliseconds of `repeats` runs of f() after `warmup` runs, timed with CUDA events on the
// default stream.
template <class F>
double median_ms(F&& f, int warmup = 3, int repeats = 10) {
  for (int i = 0; i < warmup; ++i) f();
  RECFUSE_CUDA_CHECK(here, cudaDeviceSynchronize());
  cudaEvent_t start, stop;
  RECFUSE_CUDA_CHECK(here, cudaEventCreate(&start));
  RECFUSE_CUDA_CHECK(here, cudaEventCreate(&stop));
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    RECFUSE_CUDA_CHECK(here, cudaEventRecord(start));
    f();
    RECFUSE_CUDA_CHECK(here, cudaEventRecord(stop));
    RECFUSE_CUDA_CHECK(here, cudaEventSynchronize(stop));
    RECFUSE_CUDA_CHECK(here, cudaGetLastError());
    float ms = 0;
    RECFUSE_CUDA_CHECK(here, cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

struct ceilings {
  double copy_bytes_per_s = 0;  // read + written
  double fp32_flops_per_s = 0;
};

void report(const options& o, const ceilings& c, const char* kernel, const std::string& shape,
            double ms, double work, bool flops) {
  const double rate = work / (ms * 1e-3);
  const double ceiling = flops ? c.fp32_flops_per_s : c.copy_bytes_per_s;
  std::printf("%-28s %-36s %10.3f ms  %8.1f %s  %5.1f%% of %s\n", kernel, shape.c_str(), ms,
              flops ? rate * 1e-9 : rate * 1e-9, flops ? "GFLOP/s" : "GB/s  ", 100 * rate / ceiling,
              flops ? "fp32 peak" : "copy bandwidth");
  if (o.json != nullptr) {
    std::fprintf(o.json,
                 "{\"kernel\": \"%s\", \"shape\": \"%s\", \"ms\": %.6f, \"work\": %.6g, "
                 "\"unit\": \"%s\", \"ceiling\": \"%s\", \"fraction\": %.4f}\n",
                 kernel, shape.c_str(), ms, work, flops ? "FLOP" : "B", flops ? "fp32" : "copy",
                 rate / ceiling);
  }
}

// ---- ceilings -----------------------------------------------------------------------------------

// 8 independent FMA chains per thread, `iters` rounds: 16 * iters FLOPs per thread. The inputs
// come from the thread index so nothing folds at compile time; the result is stored so nothing
// is dead.
__global__ void fma_peak(float* out, int iters, float a, float b) {
  float x[8];
  for (int j = 0; j < 8; ++j) x[j] = static_cast<float>(threadIdx.x + j) * 1e-3f;
  for (int i = 0; i < iters; ++i) {
#pragma unroll
    for (int j = 0; j < 8; ++j) x[j] = fmaf(x[j], a, b);
  }
  float s = 0;
  for (int j = 0; j < 8; ++j) s += x[j];
  out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

ceilings measure_ceilings(const options& o) {
  ceilings c;
  const std::size_t bytes = o.quick ? (std::size_t{64} << 20) : (std::size_t{2} << 30);
  const auto src = recfuse::gpu_bench::uniform(bytes / sizeof(float), 1, -1, 1);
  thrust::device_vector<float> dst(bytes / sizeof(float));
  const double copy_ms = median_ms([&] {
    RECFUSE_CUDA_CHECK(here, cudaMemcpyAsync(thrust::raw_pointer_cast(dst.data()),
                                             thrust::raw_pointer_cast(src.data()), bytes,
                                             cudaMemcpyDeviceToDevice));
  });
  c.copy_bytes_per_s = 2.0 * static_cast<double>(bytes) / (copy_ms * 1e-3);

  int device = 0, sms = 0;
  RECFUSE_CUDA_CHECK(here, cudaGetDevice(&device));
  RECFUSE_CUDA_CHECK(here, cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const int threads = 256, blocks = sms * 8, iters = o.quick ? 1024 : 16384;
  thrust::device_vector<float> out(static_cast<std::size_t>(threads) * blocks);
  const double fma_ms = median_ms([&] {
    fma_peak<<<blocks, threads>>>(thrust::raw_pointer_cast(out.data()), iters, 0.999f, 1e-4f);
  });
  c.fp32_flops_per_s = 16.0 * iters * threads * static_cast<double>(blocks) / (fma_ms * 1e-3);
  std::printf("ceilings: copy %.0f GB/s (read + written), fp32 FMA %.1f TFLOP/s (%d SMs)\n",
              c.copy_bytes_per_s * 1e-9, c.fp32_flops_per_s * 1e-12, sms);
  if (o.json != nullptr) {
    std::fprintf(o.json, "{\"ceiling\": \"copy\", \"value\": %.6g}\n", c.copy_bytes_per_s);
    std::fprintf(o.json, "{\"ceiling\": \"fp32\", \"value\": %.6g}\n", c.fp32_flops_per_s);
  }
  return c;
}

// ---- kernels ------------------------------------------------------------------------------------

void bench_rmse(const options& o, const ceilings& c) {
  const std::size_t n = o.quick ? (std::size_t{1} << 22) : (std::size_t{1} << 28);
  const auto a = recfuse::gpu_bench::uniform(n, 11, 1, 5);
  const auto b = recfuse::gpu_bench::uniform(n, 12, 1, 5);
  const recfuse::exec::thrust<thrust::cuda::tag> gpu;
  double sink = 0;
  const double ms = median_ms([&] { sink += recfuse::rmse(gpu, a, b); });
  report(o, c, "rmse<float>", "n=" + std::to_string(n), ms, 2.0 * n * sizeof(float), false);
  if (!(sink > 0)) std::printf("rmse: unexpected %g\n", sink);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      o.quick = true;
    } else if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
      o.json = std::fopen(argv[++i], "w");
      if (o.json == nullptr) {
        std::printf("bench_gpu: cannot write %s\n", argv[i]);
        return 2;
      }
    } else {
      std::printf("usage: bench_gpu [--quick] [--json FILE]\n");
      return 2;
    }
  }
  try {
    const ceilings c = measure_ceilings(o);
    bench_rmse(o, c);
  } catch (const std::exception& e) {
    std::printf("bench_gpu: %s\n", e.what());
    return 1;
  }
  if (o.json != nullptr) std::fclose(o.json);
  return 0;
}
