// Benchmarks of the factorization component, reference (threads:0) vs xsimd (threads:1,
// threads:2), on MovieLens 100K u1.base (where ../shared/data is beside the repository; skipped
// otherwise) and on generated power-law data with 20 million interactions:
//   - biased SGD: updates per second (ratings x epochs / seconds), 64 factors;
//   - biased ALS and implicit ALS (CG, 3 steps): seconds per sweep (a fit of 3 sweeps / 3; the
//     fit's one-time CSR conversion and initialisation are included);
//   - fold-in: one user with 100 interactions, 64 factors (implicit CG and Cholesky, explicit),
//     single-threaded: the real-time update path; latency in microseconds.
//
//   bench_factorize --benchmark_filter=ml100k
//   bench_factorize --benchmark_filter=fold_in
//   bench_factorize --benchmark_filter=powerlaw     (minutes: 20M interactions, reference too)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <vector>

#include "recfuse/factorize.hpp"
#include "recfuse/io/ratings.hpp"
#include "recfuse/xsimd/all.hpp"
#include "support/policy.hpp"

namespace {

using recfuse::index_t;
using recfuse::bench::with_policy;

// MovieLens 100K u1.base, or empty when the data is not there.
const recfuse::interactions<float>& ml100k() {
  static const recfuse::interactions<float> data = [] {
    const std::filesystem::path path =
        std::filesystem::path(RECFUSE_SOURCE_DIR) / "../shared/data/ml-100k/u1.base";
    if (!std::filesystem::exists(path)) return recfuse::interactions<float>{};
    recfuse::io::id_map users, items;
    return recfuse::io::load_ratings<float>(path, users, items);
  }();
  return data;
}

// 20M interactions: 400K users x 100K items, user activity and item popularity both Zipf-like
// (exponent ~1), ratings 1..5. Seeded; duplicates are possible and kept (a few percent).
const recfuse::interactions<float>& powerlaw() {
  static const recfuse::interactions<float> data = [] {
    constexpr index_t users = 400000, items = 100000, nnz = 20000000;
    recfuse::interactions<float> d;
    d.users = users;
    d.items = items;
    d.user.reserve(nnz);
    d.item.reserve(nnz);
    d.value.reserve(nnz);
    std::mt19937_64 rng(2026);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    // Inverse CDF of a truncated power law over ranks, then a fixed random relabelling.
    auto draw = [&](index_t n) {
      const double u = unit(rng);
      return std::min(n - 1, static_cast<index_t>(std::pow(static_cast<double>(n), u)) - 1);
    };
    std::vector<std::int32_t> user_label(users), item_label(items);
    for (index_t i = 0; i < users; ++i) user_label[i] = static_cast<std::int32_t>(i);
    for (index_t i = 0; i < items; ++i) item_label[i] = static_cast<std::int32_t>(i);
    std::shuffle(user_label.begin(), user_label.end(), rng);
    std::shuffle(item_label.begin(), item_label.end(), rng);
    for (index_t e = 0; e < nnz; ++e) {
      d.user.push_back(user_label[draw(users)]);
      d.item.push_back(item_label[draw(items)]);
      d.value.push_back(static_cast<float>(1 + static_cast<int>(unit(rng) * 5)));
    }
    return d;
  }();
  return data;
}

const recfuse::interactions<float>& dataset(int which) {
  return which == 0 ? ml100k() : powerlaw();
}

// state.range(0): data (0 = ML-100K u1.base, 1 = power-law 20M); range(1): threads.
void biased_sgd(benchmark::State& state) {
  const auto& d = dataset(static_cast<int>(state.range(0)));
  if (d.size() == 0) return state.SkipWithError("MovieLens data not found");
  recfuse::sgd_options o;
  o.factors = 64;
  o.epochs = state.range(0) == 0 ? 10 : 1;
  for (auto _ : state) {
    const auto m = with_policy(static_cast<int>(state.range(1)), [&](const auto& p) {
      return recfuse::fit_biased_sgd(p, d.view(), o);
    });
    benchmark::DoNotOptimize(m.user_factors.data());
  }
  state.counters["updates/s"] = benchmark::Counter(
      static_cast<double>(d.size()) * o.epochs * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

void biased_als(benchmark::State& state) {
  const auto& d = dataset(static_cast<int>(state.range(0)));
  if (d.size() == 0) return state.SkipWithError("MovieLens data not found");
  recfuse::als_options o;
  o.factors = 64;
  o.iterations = 3;
  for (auto _ : state) {
    const auto m = with_policy(static_cast<int>(state.range(1)), [&](const auto& p) {
      return recfuse::fit_biased_als(p, d.view(), o);
    });
    benchmark::DoNotOptimize(m.user_factors.data());
  }
  state.counters["s/sweep"] = benchmark::Counter(
      static_cast<double>(o.iterations) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void implicit_als(benchmark::State& state) {
  const auto& d = dataset(static_cast<int>(state.range(0)));
  if (d.size() == 0) return state.SkipWithError("MovieLens data not found");
  recfuse::implicit_als_options o;
  o.factors = 64;
  o.iterations = 3;
  o.solver = state.range(2) == 0 ? recfuse::implicit_solver::conjugate_gradient
                                 : recfuse::implicit_solver::cholesky;
  for (auto _ : state) {
    const auto m = with_policy(static_cast<int>(state.range(1)), [&](const auto& p) {
      return recfuse::fit_implicit_als(p, d.view(), o);
    });
    benchmark::DoNotOptimize(m.user_factors.data());
  }
  state.counters["s/sweep"] = benchmark::Counter(
      static_cast<double>(o.iterations) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// A trained-looking item side: 10,000 items x 64 random factors; a user with 100 distinct items.
struct fold_in_setup {
  static constexpr index_t items = 10000, factors = 64, count = 100;
  recfuse::implicit_mf_model<float> implicit;
  recfuse::biased_mf_model<float> biased;
  std::vector<float> gram;
  std::vector<std::int32_t> ids;
  std::vector<float> values, ratings;

  fold_in_setup() {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<float> unit(-0.1f, 0.1f);
    implicit.users = biased.users = 1;
    implicit.items = biased.items = items;
    implicit.factors = biased.factors = factors;
    implicit.user_factors.assign(factors, 0.0f);
    implicit.item_factors.resize(items * factors);
    for (auto& x : implicit.item_factors) x = unit(rng);
    biased.user_factors = implicit.user_factors;
    biased.item_factors = implicit.item_factors;
    biased.user_bias.assign(1, 0.0f);
    biased.item_bias.resize(items);
    for (auto& b : biased.item_bias) b = unit(rng);
    biased.global_mean = 3.5f;
    biased.min_rating = 1.0f;
    biased.max_rating = 5.0f;
    gram = recfuse::gramian(recfuse::exec::xsimd{1}, implicit.item_matrix());
    std::vector<std::int32_t> all(items);
    for (index_t i = 0; i < items; ++i) all[i] = static_cast<std::int32_t>(i);
    std::shuffle(all.begin(), all.end(), rng);
    ids.assign(all.begin(), all.begin() + count);
    values.assign(count, 1.0f);
    for (index_t i = 0; i < count; ++i) ratings.push_back(static_cast<float>(1 + rng() % 5));
  }
};

// state.range(0): 0 = implicit CG, 1 = implicit Cholesky, 2 = explicit (biased) ridge solve.
void fold_in(benchmark::State& state) {
  static const fold_in_setup s;
  const recfuse::exec::xsimd cpu{1};
  const index_t n = fold_in_setup::count;
  std::vector<float> x(fold_in_setup::factors);
  recfuse::implicit_als_options io;
  io.factors = fold_in_setup::factors;
  io.solver = state.range(0) == 1 ? recfuse::implicit_solver::cholesky
                                  : recfuse::implicit_solver::conjugate_gradient;
  recfuse::als_options eo;
  eo.factors = fold_in_setup::factors;
  const recfuse::vector_view<const std::int32_t> ids(s.ids.data(), n);
  const recfuse::vector_view<float> out(x.data(), static_cast<index_t>(x.size()));
  for (auto _ : state) {
    if (state.range(0) == 2) {
      const float b = recfuse::fold_in_user(
          cpu, s.biased, ids, recfuse::vector_view<const float>(s.ratings.data(), n), out, eo);
      benchmark::DoNotOptimize(b);
    } else {
      std::fill(x.begin(), x.end(), 0.0f);  // a new user: CG starts from zero
      recfuse::fold_in_user(
          cpu, s.implicit,
          recfuse::vector_view<const float>(s.gram.data(), static_cast<index_t>(s.gram.size())),
          ids, recfuse::vector_view<const float>(s.values.data(), n), out, io);
    }
    benchmark::DoNotOptimize(x.data());
  }
}

}  // namespace

BENCHMARK(biased_sgd)
    ->Name("ml100k/biased_sgd")
    ->ArgNames({"data", "threads"})
    ->ArgsProduct({{0}, recfuse::bench::policies()})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(biased_als)
    ->Name("ml100k/biased_als")
    ->ArgNames({"data", "threads"})
    ->ArgsProduct({{0}, recfuse::bench::policies()})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(implicit_als)
    ->Name("ml100k/implicit_als")
    ->ArgNames({"data", "threads", "cholesky"})
    ->ArgsProduct({{0}, recfuse::bench::policies(), {0, 1}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(biased_sgd)
    ->Name("powerlaw/biased_sgd")
    ->ArgNames({"data", "threads"})
    ->ArgsProduct({{1}, recfuse::bench::policies()})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);
BENCHMARK(biased_als)
    ->Name("powerlaw/biased_als")
    ->ArgNames({"data", "threads"})
    ->ArgsProduct({{1}, recfuse::bench::policies()})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);
BENCHMARK(implicit_als)
    ->Name("powerlaw/implicit_als")
    ->ArgNames({"data", "threads", "cholesky"})
    ->ArgsProduct({{1}, recfuse::bench::policies(), {0}})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);
BENCHMARK(fold_in)->Name("fold_in")->ArgNames({"kind"})->DenseRange(0, 2)->Unit(
    benchmark::kMicrosecond);
