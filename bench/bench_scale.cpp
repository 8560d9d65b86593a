// Benchmarks of the scale component: standard_scaler transform and fit, minmax_scaler transform,
// normalize_rows; reference vs xsimd at 1 and 2 threads; a 10,000 x 1,024 float matrix (10M
// elements, 40 MB: past the last-level cache), a narrow 1,000,000 x 10 one and a tiny 64 x 16.
// Bytes/s count the bytes a call must read plus those it must write (transforms 8 bytes per float
// element, fit 4); next to them a triad loop over as many elements, timed the same way and
// counted the STREAM way (12 bytes per element), is the ceiling the transforms are held to, and a
// copy loop (8 bytes per element, like the transforms) the read + write ceiling.
//
//   bench_scale --benchmark_filter='transform|triad' --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "recfuse/xsimd/detail/xsimd.hpp"
#include "support/policy.hpp"

#include "recfuse/scale/minmax_scaler.hpp"
#include "recfuse/scale/normalize.hpp"
#include "recfuse/scale/standard_scaler.hpp"
#include "recfuse/xsimd/detail/parallel.hpp"
#include "recfuse/xsimd/scale/minmax_scaler.hpp"
#include "recfuse/xsimd/scale/normalize.hpp"
#include "recfuse/xsimd/scale/standard_scaler.hpp"

namespace {

using recfuse::index_t;
using recfuse::bench::with_policy;

std::vector<float> random_matrix(index_t rows, index_t cols, std::uint64_t seed) {
  std::vector<float> v(static_cast<std::size_t>(rows * cols));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 3.0f);
  for (auto& x : v) x = dist(rng);
  return v;
}

struct shape {
  index_t rows;
  index_t cols;
  int threads;
  explicit shape(const benchmark::State& state)
      : rows(state.range(0)), cols(state.range(1)), threads(static_cast<int>(state.range(2))) {}
  index_t elements() const { return rows * cols; }
};

void standard_transform(benchmark::State& state) {
  const shape s(state);
  const auto x = random_matrix(s.rows, s.cols, 1);
  std::vector<float> out(x.size());
  recfuse::standard_scaler<float> scaler;
  scaler.fit(recfuse::exec::xsimd{}, recfuse::matrix_view<const float>(x.data(), s.rows, s.cols));
  const recfuse::matrix_view<const float> in(x.data(), s.rows, s.cols);
  const recfuse::matrix_view<float> to(out.data(), s.rows, s.cols);
  for (auto _ : state) {
    with_policy(s.threads, [&](const auto& policy) { scaler.transform(policy, in, to); });
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * s.elements() * 2 *
                          static_cast<index_t>(sizeof(float)));
}

// In place: no separate output to allocate in the cache, so fewer bytes really move.
void standard_transform_in_place(benchmark::State& state) {
  const shape s(state);
  auto x = random_matrix(s.rows, s.cols, 1);
  recfuse::standard_scaler<float> scaler(true, false);  // centring only: values stay bounded
  scaler.fit(recfuse::exec::xsimd{}, recfuse::matrix_view<const float>(x.data(), s.rows, s.cols));
  const recfuse::matrix_view<float> xv(x.data(), s.rows, s.cols);
  for (auto _ : state) {
    with_policy(s.threads, [&](const auto& policy) { scaler.transform(policy, xv, xv); });
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * s.elements() * 2 *
                          static_cast<index_t>(sizeof(float)));
}

void standard_fit(benchmark::State& state) {
  const shape s(state);
  const auto x = random_matrix(s.rows, s.cols, 2);
  const recfuse::matrix_view<const float> in(x.data(), s.rows, s.cols);
  recfuse::standard_scaler<float> scaler;
  for (auto _ : state) {
    with_policy(s.threads, [&](const auto& policy) { scaler.fit(policy, in); });
    benchmark::DoNotOptimize(scaler.mean().data());
  }
  state.SetBytesProcessed(state.iterations() * s.elements() * static_cast<index_t>(sizeof(float)));
}

void minmax_transform(benchmark::State& state) {
  const shape s(state);
  const auto x = random_matrix(s.rows, s.cols, 3);
  std::vector<float> out(x.size());
  const recfuse::matrix_view<const float> in(x.data(), s.rows, s.cols);
  recfuse::minmax_scaler<float> scaler;
  scaler.fit(recfuse::exec::xsimd{}, in);
  for (auto _ : state) {
    with_policy(s.threads, [&](const auto& policy) {
      scaler.transform(policy, in, recfuse::matrix_view<float>(out.data(), s.rows, s.cols));
    });
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * s.elements() * 2 *
                          static_cast<index_t>(sizeof(float)));
}

void minmax_fit(benchmark::State& state) {
  const shape s(state);
  const auto x = random_matrix(s.rows, s.cols, 4);
  const recfuse::matrix_view<const float> in(x.data(), s.rows, s.cols);
  recfuse::minmax_scaler<float> scaler;
  for (auto _ : state) {
    with_policy(s.threads, [&](const auto& policy) { scaler.fit(policy, in); });
    benchmark::DoNotOptimize(scaler.data_min().data());
  }
  state.SetBytesProcessed(state.iterations() * s.elements() * static_cast<index_t>(sizeof(float)));
}

void normalize(benchmark::State& state) {
  const shape s(state);
  const auto x = random_matrix(s.rows, s.cols, 5);
  std::vector<float> out(x.size());
  const recfuse::matrix_view<const float> in(x.data(), s.rows, s.cols);
  for (auto _ : state) {
    with_policy(s.threads, [&](const auto& policy) {
      recfuse::normalize_rows(policy, in, recfuse::matrix_view<float>(out.data(), s.rows, s.cols));
    });
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * s.elements() * 2 *
                          static_cast<index_t>(sizeof(float)));
}

// The ceiling: a = b + 3 * c over rows * cols floats, split into chunks like the kernels.
void triad(benchmark::State& state) {
  const shape s(state);
  const index_t n = s.elements();
  const auto b = random_matrix(s.rows, s.cols, 6);
  const auto c = random_matrix(s.rows, s.cols, 7);
  std::vector<float> a(b.size());
  using batch = xsimd::batch<float>;
  constexpr auto lanes = static_cast<index_t>(batch::size);
  const recfuse::exec::xsimd policy{s.threads};
  const int chunks = recfuse::xsimd_backend::detail::chunk_count(policy, n, index_t{1} << 15);
  for (auto _ : state) {
    recfuse::xsimd_backend::detail::for_chunks(chunks, n, [&](int, index_t begin, index_t end) {
      const batch three(3.0f);
      index_t i = begin;
      for (; i + lanes <= end; i += lanes) {
        xsimd::fma(three, batch::load_unaligned(c.data() + i), batch::load_unaligned(b.data() + i))
            .store_unaligned(a.data() + i);
      }
      for (; i < end; ++i) a[i] = b[i] + 3.0f * c[i];
    });
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * n * 3 * static_cast<index_t>(sizeof(float)));
}

// The matching ceiling for read + write: a = b over rows * cols floats, counted 8 bytes per element
// like the transforms.
void copy(benchmark::State& state) {
  const shape s(state);
  const index_t n = s.elements();
  const auto b = random_matrix(s.rows, s.cols, 8);
  std::vector<float> a(b.size());
  using batch = xsimd::batch<float>;
  constexpr auto lanes = static_cast<index_t>(batch::size);
  const recfuse::exec::xsimd policy{s.threads};
  const int chunks = recfuse::xsimd_backend::detail::chunk_count(policy, n, index_t{1} << 15);
  for (auto _ : state) {
    recfuse::xsimd_backend::detail::for_chunks(chunks, n, [&](int, index_t begin, index_t end) {
      index_t i = begin;
      for (; i + lanes <= end; i += lanes)
        batch::load_unaligned(b.data() + i).store_unaligned(a.data() + i);
      for (; i < end; ++i) a[i] = b[i];
    });
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * n * 2 * static_cast<index_t>(sizeof(float)));
}

void shapes(benchmark::internal::Benchmark* b) {
  for (const auto& [rows, cols] : {std::pair<long, long>{10000, 1024}, {1000000, 10}, {64, 16}}) {
    for (const auto threads : recfuse::bench::policies()) b->Args({rows, cols, threads});
  }
  b->ArgNames({"rows", "cols", "threads"})->UseRealTime()->Unit(benchmark::kMicrosecond);
}

void triad_shapes(benchmark::internal::Benchmark* b) {
  for (const auto& [rows, cols] : {std::pair<long, long>{10000, 1024}, {1000000, 10}}) {
    for (long threads : {1, 2}) b->Args({rows, cols, threads});
  }
  b->ArgNames({"rows", "cols", "threads"})->UseRealTime()->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK(standard_transform)->Apply(shapes);
BENCHMARK(standard_transform_in_place)->Apply(shapes);
BENCHMARK(standard_fit)->Apply(shapes);
BENCHMARK(minmax_transform)->Apply(shapes);
BENCHMARK(minmax_fit)->Apply(shapes);
BENCHMARK(normalize)->Apply(shapes);
BENCHMARK(triad)->Apply(triad_shapes);
BENCHMARK(copy)->Apply(triad_shapes);
