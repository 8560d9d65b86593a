// Benchmarks of the nn component: recfuse::gemm on square float matrices; the 64-256-128-1
// scorer MLP (relu, relu, identity) forward at batch 1, 64 and 4096; one training step (forward,
// mse, backward, Adam) at batch 256 and 4096. Reference (threads argument 0) vs xsimd at 1 and
// 2 threads. FLOP/s count 2 flops per multiply-add of the matrix products (a training step is
// 3 products per layer: forward, weight gradient, input gradient; the first layer skips the
// input gradient); this machine's fp32 FMA peak is printed by `ceilings`.
//
//   bench_nn --benchmark_filter='gemm|forward' --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "recfuse/nn/gemm.hpp"
#include "recfuse/nn/mlp.hpp"
#include "recfuse/nn/train.hpp"
#include "recfuse/xsimd/nn/gemm.hpp"
#include "recfuse/xsimd/nn/mlp.hpp"
#include "recfuse/xsimd/nn/train.hpp"
#include "support/policy.hpp"

namespace {

using recfuse::index_t;
using recfuse::matrix_view;
using recfuse::bench::with_policy;
using recfuse::nn::activation;

std::vector<float> random_matrix(index_t rows, index_t cols, std::uint64_t seed) {
  std::vector<float> v(static_cast<std::size_t>(rows * cols));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (auto& x : v) x = dist(rng);
  return v;
}

void set_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["FLOP/s"] = benchmark::Counter(
      flops_per_iteration * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void gemm_square(benchmark::State& state) {
  const index_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  const auto a = random_matrix(n, n, 1), b = random_matrix(n, n, 2);
  std::vector<float> c(a.size());
  with_policy(threads, [&](const auto& p) {
    for (auto _ : state) {
      recfuse::gemm(
          p, recfuse::op::none, recfuse::op::none, 1.0f, matrix_view<const float>(a.data(), n, n),
          matrix_view<const float>(b.data(), n, n), 0.0f, matrix_view<float>(c.data(), n, n));
      benchmark::DoNotOptimize(c.data());
      benchmark::ClobberMemory();
    }
  });
  set_flops(state, 2.0 * static_cast<double>(n) * n * n);
}

// x * w^T, the dense layer's product (w: torch.nn.Linear layout).
void gemm_nt(benchmark::State& state) {
  const index_t m = state.range(0), n = state.range(1), k = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  const auto a = random_matrix(m, k, 1), b = random_matrix(n, k, 2);
  std::vector<float> c(static_cast<std::size_t>(m * n));
  with_policy(threads, [&](const auto& p) {
    for (auto _ : state) {
      recfuse::gemm(p, recfuse::op::none, recfuse::op::transpose, 1.0f,
                    matrix_view<const float>(a.data(), m, k),
                    matrix_view<const float>(b.data(), n, k), 0.0f,
                    matrix_view<float>(c.data(), m, n));
      benchmark::DoNotOptimize(c.data());
    }
  });
  set_flops(state, 2.0 * static_cast<double>(m) * n * k);
}

recfuse::nn::mlp<float> scorer() {
  return recfuse::nn::mlp<float>({64, 256, 128, 1},
                                 {activation::relu, activation::relu, activation::identity}, 1);
}

double forward_flops(index_t batch) {
  return 2.0 * static_cast<double>(batch) * (64 * 256 + 256 * 128 + 128 * 1);
}

void mlp_forward(benchmark::State& state) {
  const index_t batch = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  const auto net = scorer();
  const auto x = random_matrix(batch, 64, 3);
  std::vector<float> out(static_cast<std::size_t>(batch));
  with_policy(threads, [&](const auto& p) {
    for (auto _ : state) {
      recfuse::nn::forward(p, net, matrix_view<const float>(x.data(), batch, 64),
                           matrix_view<float>(out.data(), batch, 1));
      benchmark::DoNotOptimize(out.data());
    }
  });
  set_flops(state, forward_flops(batch));
}

void mlp_train_step(benchmark::State& state) {
  const index_t batch = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  auto net = scorer();
  const auto x = random_matrix(batch, 64, 3);
  const auto y = random_matrix(batch, 1, 4);
  recfuse::nn::adam<float> opt(net.parameter_count());
  recfuse::nn::mlp_workspace<float> ws;
  with_policy(threads, [&](const auto& p) {
    for (auto _ : state) {
      benchmark::DoNotOptimize(recfuse::nn::train_step(
          p, net, opt, ws, matrix_view<const float>(x.data(), batch, 64),
          matrix_view<const float>(y.data(), batch, 1), recfuse::nn::loss::mse));
    }
  });
  // forward + weight gradients for every layer, input gradients for layers 1 and 2
  const double b = static_cast<double>(batch);
  set_flops(state, forward_flops(batch) * 2 + 2.0 * b * (256 * 128 + 128 * 1));
}

}  // namespace

BENCHMARK(gemm_square)
    ->ArgsProduct({{64, 256, 1024}, recfuse::bench::policies(false)})
    ->Args({256, 0})
    ->ArgNames({"n", "threads"})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(gemm_nt)
    ->Args({4096, 256, 64, 1})
    ->Args({4096, 256, 64, 2})
    ->Args({1, 256, 64, 1})
    ->ArgNames({"m", "n", "k", "threads"})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(mlp_forward)
    ->ArgsProduct({{1, 64, 4096}, recfuse::bench::policies(false)})
    ->Args({64, 0})
    ->ArgNames({"batch", "threads"})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(mlp_train_step)
    ->ArgsProduct({{256, 4096}, recfuse::bench::policies(false)})
    ->Args({256, 0})
    ->ArgNames({"batch", "threads"})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
