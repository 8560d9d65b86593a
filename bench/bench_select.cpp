// recfuse bench: top-k selection, reference vs xsimd (1 and 2 threads).
//
// Case names carry the arguments in this order (Google Benchmark appends /real_time):
//   topk/<backend>/rows/cols/k/threads/exclusion                 a precomputed score matrix
//   topk_inner_product/<backend>/m/n/d/k/threads/exclusion       fused: scores never stored
// (the reference is serial: its threads argument is 1.)
//
// exclusion: 0 none; 1 twenty random items per row; 2 "seen" items: twenty of each row's
// forty best items (the realistic case: what a user already has tends to score high, so
// every excluded item passes the threshold filter and is looked up).
// Counters: bytes/s of scores read (topk); FLOP/s = 2 * m * n * d per call (fused). Compare
// the fused FLOP/s with the fp32 FMA peak that bench/ceilings measures on the same machine.
// Run e.g.:  bench_select --benchmark_filter='topk_inner_product/xsimd/1000/100000/64/10/2/'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "recfuse/select/topk.hpp"
#include "recfuse/xsimd/select/topk.hpp"
#include "support/policy.hpp"

namespace {

using recfuse::index_t;

std::vector<float> random_floats(index_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (auto& x : v) x = u(rng);
  return v;
}

struct exclusion {
  index_t rows = 0, cols = 0;
  std::vector<index_t> offsets{0};
  std::vector<std::int32_t> ids;
  recfuse::csr_pattern_view<std::int32_t> view() const {
    return {rows, cols, offsets.data(), ids.data()};
  }
};

exclusion random_exclusion(index_t rows, index_t cols, std::uint64_t seed) {
  exclusion e;
  e.rows = rows;
  e.cols = cols;
  std::mt19937_64 rng(seed);
  for (index_t r = 0; r < rows; ++r) {
    for (int i = 0; i < 20 && cols > 0; ++i) {
      e.ids.push_back(static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(cols)));
    }
    e.offsets.push_back(static_cast<index_t>(e.ids.size()));
  }
  return e;
}

// Every other one of each row's 40 best items, in scrambled order.
exclusion seen_exclusion(const recfuse::topk_result<float>& best40, index_t cols) {
  exclusion e;
  e.rows = best40.rows;
  e.cols = cols;
  for (index_t r = 0; r < best40.rows; ++r) {
    for (index_t j = best40.k - 1; j >= 0; j -= 2) {
      if (best40.index(r, j) >= 0) e.ids.push_back(static_cast<std::int32_t>(best40.index(r, j)));
    }
    e.offsets.push_back(static_cast<index_t>(e.ids.size()));
  }
  return e;
}

struct score_case {
  std::vector<float> scores;
  exclusion random, seen;
};

const score_case& scores_for(index_t rows, index_t cols) {
  static std::map<std::pair<index_t, index_t>, score_case> cache;
  auto [it, fresh] = cache.try_emplace({rows, cols});
  if (fresh) {
    auto& c = it->second;
    c.scores = random_floats(rows * cols, 42);
    c.random = random_exclusion(rows, cols, 43);
    const recfuse::matrix_view<const float> s(c.scores.data(), rows, cols);
    c.seen = seen_exclusion(recfuse::topk(recfuse::exec::xsimd{}, s, 40), cols);
  }
  return it->second;
}

struct factor_case {
  std::vector<float> queries, items;
  exclusion random, seen;
};

const factor_case& factors_for(index_t m, index_t n, index_t d) {
  static std::map<std::tuple<index_t, index_t, index_t>, factor_case> cache;
  auto [it, fresh] = cache.try_emplace({m, n, d});
  if (fresh) {
    auto& c = it->second;
    c.queries = random_floats(m * d, 7);
    c.items = random_floats(n * d, 8);
    c.random = random_exclusion(m, n, 9);
    const recfuse::matrix_view<const float> q(c.queries.data(), m, d);
    const recfuse::matrix_view<const float> x(c.items.data(), n, d);
    c.seen = seen_exclusion(recfuse::topk_inner_product(recfuse::exec::xsimd{}, q, x, 40), n);
  }
  return it->second;
}

const exclusion* pick(const exclusion& random, const exclusion& seen, int64_t mode) {
  return mode == 1 ? &random : mode == 2 ? &seen : nullptr;
}

template <class Policy>
void bm_topk(benchmark::State& state, Policy policy) {
  const index_t rows = state.range(0), cols = state.range(1), k = state.range(2);
  const auto& c = scores_for(rows, cols);
  const recfuse::matrix_view<const float> s(c.scores.data(), rows, cols);
  const exclusion* ex = pick(c.random, c.seen, state.range(4));
  for (auto _ : state) {
    auto r = ex ? recfuse::topk(policy, s, k, ex->view()) : recfuse::topk(policy, s, k);
    benchmark::DoNotOptimize(r.indices.data());
  }
  state.SetBytesProcessed(state.iterations() * rows * cols * static_cast<int64_t>(sizeof(float)));
}

template <class Policy>
void bm_inner_product(benchmark::State& state, Policy policy) {
  const index_t m = state.range(0), n = state.range(1), d = state.range(2), k = state.range(3);
  const auto& c = factors_for(m, n, d);
  const recfuse::matrix_view<const float> q(c.queries.data(), m, d);
  const recfuse::matrix_view<const float> x(c.items.data(), n, d);
  const exclusion* ex = pick(c.random, c.seen, state.range(5));
  for (auto _ : state) {
    auto r = ex ? recfuse::topk_inner_product(policy, q, x, k, ex->view())
                : recfuse::topk_inner_product(policy, q, x, k);
    benchmark::DoNotOptimize(r.indices.data());
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(m) * static_cast<double>(n) *
                             static_cast<double>(d) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

void topk_reference(benchmark::State& state) { bm_topk(state, recfuse::exec::reference{}); }
void topk_xsimd(benchmark::State& state) {
  bm_topk(state, recfuse::exec::xsimd{static_cast<int>(state.range(3))});
}
void inner_product_reference(benchmark::State& state) {
  bm_inner_product(state, recfuse::exec::reference{});
}
void inner_product_xsimd(benchmark::State& state) {
  bm_inner_product(state, recfuse::exec::xsimd{static_cast<int>(state.range(4))});
}

#if defined(RECFUSE_BENCH_THRUST)
// Thrust's OMP system on 2 threads (bench/support/policy.hpp): the Thrust backend's CPU test
// vehicle, one row per functor.
void topk_thrust_omp(benchmark::State& state) {
  recfuse::bench::with_policy(-2, [&](const auto& p) { bm_topk(state, p); });
}
void inner_product_thrust_omp(benchmark::State& state) {
  recfuse::bench::with_policy(-2, [&](const auto& p) { bm_inner_product(state, p); });
}
#endif

// rows, cols, k, threads, exclusion
void topk_sizes(benchmark::internal::Benchmark* b, bool threaded) {
  for (auto [rows, cols, k] : {std::tuple{1, 100000, 10}, std::tuple{100, 100000, 10},
                               std::tuple{1000, 10000, 10}, std::tuple{100, 100000, 100}}) {
    for (int threads : threaded ? std::vector<int>{1, 2} : std::vector<int>{1}) {
      for (int ex : {0, 1, 2}) b->Args({rows, cols, k, threads, ex});
    }
  }
}

// m, n, d, k, threads, exclusion
void inner_product_sizes(benchmark::internal::Benchmark* b) {
  for (auto [m, n, d, k] : {std::tuple{1000, 100000, 64, 10}, std::tuple{1, 100000, 64, 10},
                            std::tuple{16, 100000, 64, 10}, std::tuple{1000, 10000, 128, 100},
                            std::tuple{1000, 100000, 32, 10}}) {
    for (int threads : {1, 2}) {
      for (int ex : {0, 1, 2}) b->Args({m, n, d, k, threads, ex});
    }
  }
}

}  // namespace

BENCHMARK(topk_reference)
    ->Name("topk/reference")
    ->Apply([](auto* b) { topk_sizes(b, false); }) -> Unit(benchmark::kMillisecond)
        -> UseRealTime();
BENCHMARK(topk_xsimd)->Name("topk/xsimd")->Apply([](auto* b) {
                                           topk_sizes(b, true);
                                         }) -> Unit(benchmark::kMillisecond) -> UseRealTime();
#if defined(RECFUSE_BENCH_THRUST)
BENCHMARK(topk_thrust_omp)
    ->Name("topk/thrust_omp")
    ->Apply([](auto* b) { topk_sizes(b, false); }) -> Unit(benchmark::kMillisecond)
        -> UseRealTime();
BENCHMARK(inner_product_thrust_omp)
    ->Name("topk_inner_product/thrust_omp")
    ->Args({100, 10000, 64, 10, 2, 0})
    ->Args({100, 10000, 64, 10, 2, 2})
    ->Args({1000, 100000, 64, 10, 2, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
#endif
// The reference is a serial scalar loop: small sizes only.
BENCHMARK(inner_product_reference)
    ->Name("topk_inner_product/reference")
    ->Args({1, 100000, 64, 10, 1, 0})
    ->Args({100, 10000, 64, 10, 1, 0})
    ->Args({100, 10000, 64, 10, 1, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(inner_product_xsimd)
    ->Name("topk_inner_product/xsimd")
    ->Args({100, 10000, 64, 10, 1, 0})
    ->Args({100, 10000, 64, 10, 1, 2})
    ->Apply(inner_product_sizes)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
