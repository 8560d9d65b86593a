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
#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "data.cuh"
#include "recfuse/factorize/implicit_als.hpp"
#include "recfuse/graph/aggregate.hpp"
#include "recfuse/metrics/error.hpp"
#include "recfuse/nn/gemm.hpp"
#include "recfuse/nn/train.hpp"
#include "recfuse/select/topk.hpp"
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

using gpu_policy = recfuse::exec::thrust<thrust::cuda::tag>;
template <class T>
using dmatrix = recfuse::matrix_view<T, recfuse::device_memory>;

template <class T>
T* raw(thrust::device_vector<T>& v) {
  return thrust::raw_pointer_cast(v.data());
}
template <class T>
const T* raw(const thrust::device_vector<T>& v) {
  return thrust::raw_pointer_cast(v.data());
}

// Fused top-k, d = 64, k = 10: 2 m n d FLOPs (the m x n scores are never formed).
void bench_topk(const options& o, const ceilings& c) {
  const index_t m = o.quick ? 1000 : 10000, n = o.quick ? 100000 : 1000000, d = 64, k = 10;
  const auto q = recfuse::gpu_bench::uniform(m * d, 21, -1, 1);
  const auto x = recfuse::gpu_bench::uniform(n * d, 22, -1, 1);
  thrust::device_vector<float> values(m * k);
  thrust::device_vector<index_t> indices(m * k);
  const gpu_policy gpu;
  const double ms = median_ms(
      [&] {
        recfuse::topk_inner_product_into(
            gpu, dmatrix<const float>(raw(q), m, d), dmatrix<const float>(raw(x), n, d), k,
            dmatrix<float>(raw(values), m, k), dmatrix<index_t>(raw(indices), m, k));
      },
      1, 5);
  report(o, c, "topk_inner_product<float>",
         "m=" + std::to_string(m) + " n=" + std::to_string(n) + " d=64 k=10", ms, 2.0 * m * n * d,
         true);
}

// The power-law graph of peers.py's graph_csr(): row i has 1 + floor(31 u) neighbours with ids
// floor(rows * u^3), built on the host from data.cuh's numbers.
struct host_graph {
  std::vector<index_t> offsets;
  std::vector<std::int32_t> cols;
};
host_graph power_law_graph(index_t rows, std::uint64_t seed) {
  host_graph g;
  g.offsets.assign(static_cast<std::size_t>(rows) + 1, 0);
  for (index_t i = 0; i < rows; ++i) {
    const auto deg = 1 + static_cast<index_t>(31.0f * recfuse::gpu_bench::uniform01(seed, i));
    g.offsets[i + 1] = g.offsets[i] + deg;
  }
  g.cols.resize(static_cast<std::size_t>(g.offsets.back()));
  for (std::size_t e = 0; e < g.cols.size(); ++e) {
    const double u = recfuse::gpu_bench::uniform01(seed + 1, e);
    g.cols[e] = static_cast<std::int32_t>(
        std::min<double>(static_cast<double>(rows) * u * u * u, static_cast<double>(rows - 1)));
  }
  return g;
}

// Mean aggregation: at least the gathered neighbour rows, the output and the CSR move.
void bench_aggregate(const options& o, const ceilings& c) {
  const index_t rows = o.quick ? 100000 : 1000000, width = 64;
  const auto hg = power_law_graph(rows, 31);
  const index_t nnz = static_cast<index_t>(hg.cols.size());
  const thrust::device_vector<index_t> offsets(hg.offsets.begin(), hg.offsets.end());
  const thrust::device_vector<std::int32_t> cols(hg.cols.begin(), hg.cols.end());
  const auto x = recfuse::gpu_bench::uniform(rows * width, 33, -1, 1);
  thrust::device_vector<float> out(rows * width);
  const recfuse::csr_view<float, std::int32_t, recfuse::device_memory> g(rows, rows, raw(offsets),
                                                                         raw(cols), nullptr);
  const gpu_policy gpu;
  const double ms = median_ms([&] {
    recfuse::graph::aggregate(gpu, g, dmatrix<const float>(raw(x), rows, width),
                              dmatrix<float>(raw(out), rows, width),
                              {recfuse::graph::aggregation::mean});
  });
  const double bytes = (static_cast<double>(nnz) + 2.0 * rows) * width * sizeof(float) +
                       nnz * sizeof(std::int32_t) + (rows + 1.0) * sizeof(index_t);
  report(o, c, "aggregate_mean<float>",
         "rows=" + std::to_string(rows) + " nnz=" + std::to_string(nnz) + " width=64", ms, bytes,
         false);
}

// One implicit ALS sweep (users, then items; CG, 3 steps, 64 factors) from the Thrust kernels
// on device data, as fit_implicit_als runs each iteration: gramian_kernel, then
// fit_implicit_als_kernel over every row of the side. Uniform random interactions at the shape
// of implicit's lastfm-360k benchmark (358,868 users x 292,385 items, 17.5M entries). The floor
// is the larger of its FLOPs at the fp32 peak and its bytes at copy bandwidth.
void bench_implicit_sweep(const options& o, const ceilings& c) {
  const index_t users = o.quick ? 10000 : 358868, items = o.quick ? 8000 : 292385;
  const index_t nnz = o.quick ? 500000 : 17500000, f = 64;
  // Entries by user (CSR) and by item (its transpose), built on the host.
  std::vector<std::vector<std::int32_t>> by_user(users);
  for (index_t e = 0; e < nnz; ++e) {
    const auto u = static_cast<index_t>(recfuse::gpu_bench::uniform01(51, e) * users);
    const auto i = static_cast<std::int32_t>(recfuse::gpu_bench::uniform01(52, e) * items);
    by_user[std::min(u, users - 1)].push_back(std::min<std::int32_t>(i, items - 1));
  }
  auto to_device_csr = [](const std::vector<std::vector<std::int32_t>>& rows, index_t cols,
                          thrust::device_vector<index_t>& off,
                          thrust::device_vector<std::int32_t>& idx,
                          thrust::device_vector<float>& val) {
    std::vector<index_t> ho(rows.size() + 1, 0);
    std::vector<std::int32_t> hi;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      auto row = rows[r];
      std::sort(row.begin(), row.end());
      row.erase(std::unique(row.begin(), row.end()), row.end());
      hi.insert(hi.end(), row.begin(), row.end());
      ho[r + 1] = static_cast<index_t>(hi.size());
    }
    off.assign(ho.begin(), ho.end());
    idx.assign(hi.begin(), hi.end());
    val = recfuse::gpu_bench::uniform(hi.size(), 53, 1, 10);
    return recfuse::csr_view<float, std::int32_t, recfuse::device_memory>(
        static_cast<index_t>(rows.size()), cols, raw(off), raw(idx), raw(val));
  };
  std::vector<std::vector<std::int32_t>> by_item(items);
  for (index_t u = 0; u < users; ++u) {
    for (const auto i : by_user[u]) by_item[i].push_back(static_cast<std::int32_t>(u));
  }
  thrust::device_vector<index_t> uo, io;
  thrust::device_vector<std::int32_t> ui, ii;
  thrust::device_vector<float> uv, iv;
  const auto user_rows = to_device_csr(by_user, items, uo, ui, uv);
  const auto item_rows = to_device_csr(by_item, users, io, ii, iv);
  const double stored = static_cast<double>(ui.size());
  auto user_f = recfuse::gpu_bench::uniform(users * f, 54, 0, 0.01f);
  auto item_f = recfuse::gpu_bench::uniform(items * f, 55, 0, 0.01f);
  thrust::device_vector<float> gram(f * f);
  recfuse::implicit_als_options opt;
  opt.factors = f;
  const gpu_policy gpu;
  const double ms = median_ms(
      [&] {
        recfuse::thrust_backend::gramian_kernel(gpu, dmatrix<const float>(raw(item_f), items, f),
                                                raw(gram));
        recfuse::thrust_backend::fit_implicit_als_kernel(
            gpu, user_rows, dmatrix<const float>(raw(item_f), items, f), raw(gram),
            dmatrix<float>(raw(user_f), users, f), static_cast<const std::int32_t*>(nullptr), users,
            opt);
        recfuse::thrust_backend::gramian_kernel(gpu, dmatrix<const float>(raw(user_f), users, f),
                                                raw(gram));
        recfuse::thrust_backend::fit_implicit_als_kernel(
            gpu, item_rows, dmatrix<const float>(raw(user_f), users, f), raw(gram),
            dmatrix<float>(raw(item_f), items, f), static_cast<const std::int32_t*>(nullptr), items,
            opt);
      },
      1, 3);
  const double cg = opt.cg_steps, ff = static_cast<double>(f) * f;
  const double flops =
      2.0 * (users + items) * ff + cg * (2.0 * (users + items) * ff) + 2.0 * cg * 4.0 * stored * f;
  const double bytes = 2.0 * (users + items) * f * sizeof(float) * 2 +
                       2.0 * stored * (sizeof(std::int32_t) + sizeof(float));
  const double floor_ms = std::max(flops / c.fp32_flops_per_s, bytes / c.copy_bytes_per_s) * 1e3;
  const std::string shape = std::to_string(users) + "x" + std::to_string(items) +
                            " nnz=" + std::to_string(static_cast<long long>(stored)) + " f=64 cg=3";
  report(o, c, "implicit_als_sweep<float>", shape, ms, flops, true);
  std::printf(
      "implicit_als_sweep: floor %.3f ms (FLOPs at fp32 peak vs bytes at copy bandwidth): "
      "%.1fx the floor\n",
      floor_ms, ms / floor_ms);
  if (o.json != nullptr) {
    std::fprintf(o.json, "{\"kernel\": \"implicit_als_sweep<float>\", \"floor_ms\": %.6f}\n",
                 floor_ms);
  }
}

// d(mean squared error)/d(prediction) = 2 (y - t) / batch.
struct mse_gradient {
  const float* y;
  const float* t;
  float* g;
  float scale;
  __host__ __device__ void operator()(index_t i) const { g[i] = scale * (y[i] - t[i]); }
};

// One MLP training step (256 -> 512 -> 256 -> 1, ReLU, MSE, Adam; batch 4096) composed from the
// Thrust kernels on device data, in the order nn::train_step runs them on the host: the forward
// layers, the loss gradient, per layer the weight gradient (gemm), bias gradient (column sums)
// and the backprop into the layer below, then one Adam step over every parameter. About
// 6 * batch * (sum of in * out) FLOPs.
void bench_mlp_step(const options& o, const ceilings& c) {
  namespace tb = recfuse::thrust_backend;
  using recfuse::nn::activation;
  const index_t batch = 4096;
  const index_t sizes[] = {256, 512, 256, 1};
  constexpr int layers = 3;
  // parameters and gradients: per layer w (out x in) then b (out), one contiguous block
  index_t offset[layers + 1] = {0};
  for (int l = 0; l < layers; ++l) offset[l + 1] = offset[l] + sizes[l + 1] * (sizes[l] + 1);
  const index_t count = offset[layers];
  auto params = recfuse::gpu_bench::uniform(count, 43, -0.05f, 0.05f);
  thrust::device_vector<float> grads(count), m(count, 0.0f), v(count, 0.0f);
  const auto x = recfuse::gpu_bench::uniform(batch * sizes[0], 41, -1, 1);
  const auto target = recfuse::gpu_bench::uniform(batch, 42, 0, 1);
  std::vector<thrust::device_vector<float>> acts;  // each layer's output, batch x out
  std::vector<thrust::device_vector<float>> deltas;
  for (int l = 0; l < layers; ++l) {
    acts.emplace_back(batch * sizes[l + 1]);
    deltas.emplace_back(batch * sizes[l + 1]);
  }
  const gpu_policy gpu;
  auto w = [&](thrust::device_vector<float>& block, int l) {
    return dmatrix<float>(raw(block) + offset[l], sizes[l + 1], sizes[l]);
  };
  auto b = [&](thrust::device_vector<float>& block, int l) {
    return recfuse::vector_view<float, recfuse::device_memory>(
        raw(block) + offset[l] + sizes[l + 1] * sizes[l], sizes[l + 1]);
  };
  auto input = [&](int l) {
    return l == 0 ? dmatrix<const float>(raw(x), batch, sizes[0])
                  : dmatrix<const float>(raw(acts[l - 1]), batch, sizes[l]);
  };
  recfuse::nn::adam_step_constants k{1e-3, 0.9, 0.999, 1e-8, 0.0, 0.0, 0.0};
  int t = 0;
  const double ms = median_ms(
      [&] {
        for (int l = 0; l < layers; ++l) {
          tb::dense_forward_kernel(
              gpu, input(l), dmatrix<const float>(w(params, l)),
              recfuse::vector_view<const float, recfuse::device_memory>(b(params, l)),
              l + 1 < layers ? activation::relu : activation::identity,
              dmatrix<float>(raw(acts[l]), batch, sizes[l + 1]));
        }
        thrust::for_each(gpu.thrust_policy(), thrust::counting_iterator<index_t>(0),
                         thrust::counting_iterator<index_t>(batch),
                         mse_gradient{raw(acts[layers - 1]), raw(target), raw(deltas[layers - 1]),
                                      2.0f / static_cast<float>(batch)});
        for (int l = layers - 1; l >= 0; --l) {
          const dmatrix<const float> d(raw(deltas[l]), batch, sizes[l + 1]);
          tb::gemm_kernel(gpu, true, false, 1.0f, d, input(l), 0.0f, w(grads, l));
          tb::column_sums_kernel(gpu, d, b(grads, l));
          if (l > 0) {
            tb::dense_backward_input_kernel(gpu, d, dmatrix<const float>(w(params, l)),
                                            activation::relu,
                                            dmatrix<const float>(raw(acts[l - 1]), batch, sizes[l]),
                                            dmatrix<float>(raw(deltas[l - 1]), batch, sizes[l]));
          }
        }
        ++t;
        k.bias_correction1 = 1.0 - std::pow(k.beta1, t);
        k.bias_correction2_sqrt = std::sqrt(1.0 - std::pow(k.beta2, t));
        tb::adam_step_kernel(
            gpu, recfuse::vector_view<float, recfuse::device_memory>(raw(params), count),
            recfuse::vector_view<const float, recfuse::device_memory>(raw(grads), count),
            recfuse::vector_view<float, recfuse::device_memory>(raw(m), count),
            recfuse::vector_view<float, recfuse::device_memory>(raw(v), count), k);
      },
      5, 20);
  double macs = 0;
  for (int l = 0; l < layers; ++l) macs += static_cast<double>(sizes[l]) * sizes[l + 1];
  report(o, c, "mlp_train_step<float>", "batch=4096 256-512-256-1", ms, 6.0 * batch * macs, true);
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
    bench_topk(o, c);
    bench_aggregate(o, c);
    bench_implicit_sweep(o, c);
    bench_mlp_step(o, c);
  } catch (const std::exception& e) {
    std::printf("bench_gpu: %s\n", e.what());
    return 1;
  }
  if (o.json != nullptr) std::fclose(o.json);
  return 0;
}
