// Benchmarks of the metrics component: rmse and mae (bandwidth-bound: bytes/s over both inputs,
// next to a streaming-read loop over the same bytes, timed the same way), evaluate_ranking on
// 10,000 users x k = 10 and auc on 1,000 users x 10,000 items; reference (threads:0) vs xsimd
// (threads:1, threads:2).
//
//   bench_metrics --benchmark_filter='rmse|stream' --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "recfuse/xsimd/detail/xsimd.hpp"
#include "support/policy.hpp"

#include "recfuse/metrics/error.hpp"
#include "recfuse/metrics/ranking.hpp"
#include "recfuse/xsimd/metrics/error.hpp"
#include "recfuse/xsimd/metrics/ranking.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using recfuse::index_t;
using recfuse::bench::with_policy;

template <class T>
std::vector<T> random_values(index_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(1.0, 5.0);
  std::vector<T> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<T>(dist(rng));
  return v;
}

// state.range(0) = n, state.range(1) = threads (0: the serial reference).
template <class T, bool squared>
void error_metric(benchmark::State& state) {
  const index_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  const auto a = random_values<T>(n, 1);
  const auto b = random_values<T>(n, 2);
  for (auto _ : state) {
    const double e = with_policy(threads, [&](const auto& policy) {
      return squared ? recfuse::rmse(policy, a, b) : recfuse::mae(policy, a, b);
    });
    benchmark::DoNotOptimize(e);
  }
  state.SetBytesProcessed(state.iterations() * 2 * n * static_cast<index_t>(sizeof(T)));
}

// The streaming-read ceiling for the same bytes and access pattern as rmse: two arrays of n
// elements summed, split across threads like the kernels, with independent accumulators and no
// other work.
template <class T>
void stream_read(benchmark::State& state) {
  const index_t n = state.range(0);
  const int threads = std::max<int>(1, static_cast<int>(state.range(1)));
  const auto a = random_values<T>(n, 3);
  const auto b = random_values<T>(n, 4);
  using batch = xsimd::batch<T>;
  constexpr index_t lanes = batch::size;
  for (auto _ : state) {
    std::vector<T> parts(static_cast<std::size_t>(threads));
#pragma omp parallel num_threads(threads)
    {
#ifdef _OPENMP
      const int t = omp_get_thread_num();
#else
      const int t = 0;
#endif
      const index_t begin = n * t / threads, end = n * (t + 1) / threads;
      batch s0(T(0)), s1(T(0)), s2(T(0)), s3(T(0));
      index_t i = begin;
      for (; i + 2 * lanes <= end; i += 2 * lanes) {
        s0 += batch::load_unaligned(a.data() + i);
        s1 += batch::load_unaligned(b.data() + i);
        s2 += batch::load_unaligned(a.data() + i + lanes);
        s3 += batch::load_unaligned(b.data() + i + lanes);
      }
      T s = xsimd::reduce_add((s0 + s1) + (s2 + s3));
      for (; i < end; ++i) s += a[static_cast<std::size_t>(i)] + b[static_cast<std::size_t>(i)];
      parts[static_cast<std::size_t>(t)] = s;
    }
    benchmark::DoNotOptimize(parts.data());
  }
  state.SetBytesProcessed(state.iterations() * 2 * n * static_cast<index_t>(sizeof(T)));
}

void error_args(benchmark::internal::Benchmark* b) {
  for (index_t n : {index_t{1000}, index_t{1000000}, index_t{10000000}, index_t{30000000}}) {
    for (const auto threads : recfuse::bench::policies()) b->Args({n, threads});
  }
  b->ArgNames({"n", "threads"})->UseRealTime();
}

void stream_args(benchmark::internal::Benchmark* b) {
  for (index_t n : {index_t{1000}, index_t{1000000}, index_t{10000000}, index_t{30000000}}) {
    for (int threads : {1, 2}) b->Args({n, threads});
  }
  b->ArgNames({"n", "threads"})->UseRealTime();
}

BENCHMARK_TEMPLATE(error_metric, float, true)->Name("rmse<float>")->Apply(error_args);
BENCHMARK_TEMPLATE(error_metric, float, false)->Name("mae<float>")->Apply(error_args);
BENCHMARK_TEMPLATE(stream_read, float)->Name("stream_read<float>")->Apply(stream_args);

// A CSR pattern with `per_row` distinct random items in each row.
struct pattern {
  std::vector<index_t> offsets{0};
  std::vector<std::int32_t> indices;
  recfuse::csr_pattern_view<std::int32_t> view(index_t rows, index_t cols) const {
    return {rows, cols, offsets.data(), indices.data()};
  }
};

pattern random_pattern(index_t rows, index_t cols, index_t per_row, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int32_t> item(0, static_cast<std::int32_t>(cols - 1));
  pattern p;
  for (index_t r = 0; r < rows; ++r) {
    for (index_t e = 0; e < per_row; ++e) p.indices.push_back(item(rng));
    std::sort(p.indices.end() - per_row, p.indices.end());
    p.indices.erase(std::unique(p.indices.end() - per_row, p.indices.end()), p.indices.end());
    p.offsets.push_back(static_cast<index_t>(p.indices.size()));
  }
  return p;
}

// 10,000 users x k = 10 recommendations over 20,000 items, ~20 relevant items each.
void ranking(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  constexpr index_t users = 10000, items = 20000, k = 10;
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<index_t> item(0, items - 1);
  std::vector<index_t> recs(static_cast<std::size_t>(users * k));
  for (auto& id : recs) id = item(rng);
  const recfuse::matrix_view<const index_t> m(recs.data(), users, k);
  const pattern rel = random_pattern(users, items, 20, 6);
  for (auto _ : state) {
    const auto r = with_policy(threads, [&](const auto& policy) {
      return recfuse::evaluate_ranking(policy, m, rel.view(users, items), k);
    });
    benchmark::DoNotOptimize(r);
  }
  state.counters["users/s"] =
      benchmark::Counter(static_cast<double>(users), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(ranking)
    ->Name("evaluate_ranking")
    ->ArgName("threads")
    ->ArgsProduct({recfuse::bench::policies()})
    ->UseRealTime();

// 1,000 users x 10,000 items of float scores, ~20 relevant and ~50 excluded items per user.
void auc(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  constexpr index_t users = 1000, items = 10000;
  const auto scores = random_values<float>(users * items, 7);
  const recfuse::matrix_view<const float> s(scores.data(), users, items);
  const pattern rel = random_pattern(users, items, 20, 8);
  const pattern train = random_pattern(users, items, 50, 9);
  for (auto _ : state) {
    const double a = with_policy(threads, [&](const auto& policy) {
      return recfuse::auc(policy, s, rel.view(users, items), train.view(users, items));
    });
    benchmark::DoNotOptimize(a);
  }
  state.SetBytesProcessed(state.iterations() * users * items * static_cast<index_t>(sizeof(float)));
}
BENCHMARK(auc)
    ->Name("auc")
    ->ArgName("threads")
    ->ArgsProduct({recfuse::bench::policies()})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
