// Benchmarks of the graph component, reference (threads:0) vs xsimd (threads:1, threads:2):
//   - aggregate (mean, sum, gcn, max) and aggregate_backward (mean) over a generated power-law
//     graph: 100K nodes, 1M edges, source and target popularity both Zipf-like (a hub holds a
//     few percent of the edges, most nodes have a handful), 64 float features. Counters:
//     gathered = bytes of neighbour rows read per second (edges x 64 x 4 bytes), the figure to
//     hold against the machine's read bandwidth (bench/ceilings); edges/s.
//   - cooccurrence_graph (cosine, top 50) from 300K power-law interactions, 30K users x 10K
//     items (the cost is the sum over users of their distinct items squared: heavy users dominate).
//
//   bench_graph --benchmark_filter=aggregate
//   bench_graph --benchmark_filter=cooccurrence
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "recfuse/graph/aggregate.hpp"
#include "recfuse/graph/builders.hpp"
#include "recfuse/xsimd/graph/aggregate.hpp"
#include "recfuse/xsimd/graph/builders.hpp"
#include "recfuse/xsimd/graph/sage.hpp"
#include "support/policy.hpp"

namespace {

using recfuse::index_t;
using recfuse::bench::with_policy;

// Inverse CDF of a truncated power law over ranks 0..n-1 (P(rank r) ~ 1 / (r + 1)).
template <class Rng>
index_t zipf_rank(Rng& rng, index_t n) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  return std::min(n - 1, static_cast<index_t>(std::pow(static_cast<double>(n), unit(rng))) - 1);
}

// 100K nodes, 1M edges: row (aggregating node) and column (neighbour) drawn Zipf-like, with a
// fixed random relabelling so hubs are spread over the id range; weights in [0.5, 1.5).
const recfuse::csr_matrix<float>& powerlaw_graph() {
  static const recfuse::csr_matrix<float> g = [] {
    constexpr index_t nodes = 100000, edges = 1000000;
    std::mt19937_64 rng(2026);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::vector<std::int32_t> label(nodes);
    for (index_t i = 0; i < nodes; ++i) label[i] = static_cast<std::int32_t>(i);
    std::shuffle(label.begin(), label.end(), rng);
    recfuse::interactions<float> coo;  // (row, column) as (user, item)
    coo.users = coo.items = nodes;
    for (index_t e = 0; e < edges; ++e) {
      coo.user.push_back(label[zipf_rank(rng, nodes)]);
      coo.item.push_back(label[zipf_rank(rng, nodes)]);
      coo.value.push_back(static_cast<float>(0.5 + unit(rng)));
    }
    return recfuse::to_csr(coo.view());
  }();
  return g;
}

const std::vector<float>& features() {
  static const std::vector<float> x = [] {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    std::vector<float> v(static_cast<std::size_t>(100000 * 64));
    for (auto& f : v) f = unit(rng);
    return v;
  }();
  return x;
}

constexpr index_t width = 64;

void set_counters(benchmark::State& state, const recfuse::csr_matrix<float>& g) {
  const double gathered = static_cast<double>(g.nnz()) * width * sizeof(float);
  state.counters["gathered"] = benchmark::Counter(
      gathered, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1024);
  state.counters["edges"] = benchmark::Counter(static_cast<double>(g.nnz()),
                                               benchmark::Counter::kIsIterationInvariantRate);
}

void aggregate_powerlaw(benchmark::State& state, recfuse::graph::aggregation kind, bool weighted) {
  const int threads = static_cast<int>(state.range(0));
  const auto& g = powerlaw_graph();
  const auto& x = features();
  std::vector<float> out(static_cast<std::size_t>(g.rows * width));
  const recfuse::matrix_view<const float> xv{x.data(), g.cols, width};
  const recfuse::matrix_view<float> ov{out.data(), g.rows, width};
  for (auto _ : state) {
    with_policy(threads, [&](const auto& p) {
      recfuse::graph::aggregate(p, g.view(), xv, ov, {kind, weighted});
    });
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, g);
}

void BM_aggregate_mean_powerlaw(benchmark::State& s) {
  aggregate_powerlaw(s, recfuse::graph::aggregation::mean, false);
}
void BM_aggregate_sum_weighted_powerlaw(benchmark::State& s) {
  aggregate_powerlaw(s, recfuse::graph::aggregation::sum, true);
}
void BM_aggregate_gcn_powerlaw(benchmark::State& s) {
  aggregate_powerlaw(s, recfuse::graph::aggregation::gcn, false);
}
void BM_aggregate_max_powerlaw(benchmark::State& s) {
  aggregate_powerlaw(s, recfuse::graph::aggregation::max, false);
}

void BM_aggregate_backward_mean_powerlaw(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const auto& g = powerlaw_graph();
  const auto& x = features();
  std::vector<float> gx(static_cast<std::size_t>(g.cols * width));
  const recfuse::matrix_view<const float> xv{x.data(), g.cols, width};
  for (auto _ : state) {
    with_policy(threads, [&](const auto& p) {
      recfuse::graph::aggregate_backward(p, g.view(), xv, xv, {gx.data(), g.cols, width},
                                         {recfuse::graph::aggregation::mean, false});
    });
    benchmark::DoNotOptimize(gx.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, g);
}

void BM_cooccurrence_powerlaw(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  static const recfuse::interactions<float> data = [] {
    recfuse::interactions<float> d;
    d.users = 30000;
    d.items = 10000;
    std::mt19937_64 rng(11);
    for (index_t e = 0; e < 300000; ++e) {
      d.user.push_back(static_cast<std::int32_t>(zipf_rank(rng, d.users)));
      d.item.push_back(static_cast<std::int32_t>(zipf_rank(rng, d.items)));
      d.value.push_back(1.0f);
    }
    return d;
  }();
  index_t nnz = 0;
  for (auto _ : state) {
    const auto g = with_policy(
        threads, [&](const auto& p) { return recfuse::graph::cooccurrence_graph(p, data.view()); });
    nnz = g.nnz();
    benchmark::DoNotOptimize(g.values.data());
  }
  state.counters["graph_edges"] = static_cast<double>(nnz);
}

}  // namespace

BENCHMARK(BM_aggregate_mean_powerlaw)
    ->ArgName("threads")
    ->ArgsProduct({recfuse::bench::policies()})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_aggregate_sum_weighted_powerlaw)
    ->ArgName("threads")
    ->ArgsProduct({recfuse::bench::policies(false)})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_aggregate_gcn_powerlaw)
    ->ArgName("threads")
    ->ArgsProduct({recfuse::bench::policies(false)})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_aggregate_max_powerlaw)
    ->ArgName("threads")
    ->ArgsProduct({recfuse::bench::policies(false)})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_aggregate_backward_mean_powerlaw)
    ->ArgName("threads")
    ->ArgsProduct({recfuse::bench::policies()})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_cooccurrence_powerlaw)
    ->ArgName("threads")
    ->ArgsProduct({recfuse::bench::policies()})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
