// Explicit biased MF on a backend against the reference: SGD after one epoch (parameters) and
// after many (held-out RMSE), ALS, predict, fold_in_user and refit; the thread count never
// changing a model; accuracy on a synthetic low-rank set and, where it is present, on
// MovieLens 100K.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "backend.hpp"
#include "recfuse/factorize/biased_mf.hpp"
#include "test_support.hpp"
#if defined(RECFUSE_TEST_BACKEND_XSIMD)
#include "recfuse/xsimd/factorize/biased_mf.hpp"
#elif defined(RECFUSE_TEST_BACKEND_KOKKOS)
#include "recfuse/kokkos/factorize/biased_mf.hpp"
#endif
#if defined(RECFUSE_TEST_BACKEND_THRUST) && defined(_OPENMP)
#include <omp.h>
#endif

using namespace recfuse;

namespace {

template <class T>
struct split {
  interactions<T> train, test;
};

// Ratings 3 + u . v + noise on about `density` of a users x items grid, u and v of `rank`
// N(0, 1/sqrt(rank)) entries (so u . v has variance 1); 10% of them go to the test set.
// Portable generator: the same data everywhere.
template <class T>
split<T> low_rank(index_t users, index_t items, index_t rank, double density, double noise,
                  std::uint64_t seed) {
  std::mt19937_64 g(seed);
  const double s = 1.0 / std::sqrt(std::sqrt(static_cast<double>(rank)));
  std::vector<double> uf(static_cast<std::size_t>(users * rank)),
      vf(static_cast<std::size_t>(items * rank));
  for (auto& x : uf) x = s * detail::bmf::normal(g);
  for (auto& x : vf) x = s * detail::bmf::normal(g);
  split<T> out;
  out.train.users = out.test.users = users;
  out.train.items = out.test.items = items;
  for (index_t u = 0; u < users; ++u) {
    for (index_t i = 0; i < items; ++i) {
      if (detail::bmf::uniform01(g) >= density) continue;
      double r = 3.0 + noise * detail::bmf::normal(g);
      for (index_t f = 0; f < rank; ++f) r += uf[u * rank + f] * vf[i * rank + f];
      auto& to = detail::bmf::uniform01(g) < 0.1 ? out.test : out.train;
      to.user.push_back(static_cast<std::int32_t>(u));
      to.item.push_back(static_cast<std::int32_t>(i));
      to.value.push_back(static_cast<T>(r));
    }
  }
  return out;
}

// n ratings in [1, 5] on random (user, item) pairs (duplicates possible, and fine).
template <class T>
interactions<T> random_ratings(index_t users, index_t items, index_t n, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  interactions<T> d;
  d.users = users;
  d.items = items;
  for (index_t e = 0; e < n; ++e) {
    d.user.push_back(static_cast<std::int32_t>(detail::bmf::uniform_below(g, users)));
    d.item.push_back(static_cast<std::int32_t>(detail::bmf::uniform_below(g, items)));
    d.value.push_back(static_cast<T>(1 + detail::bmf::uniform_below(g, 5)));
  }
  return d;
}

vector_view<const std::int32_t> ids(const std::vector<std::int32_t>& v) {
  return {v.data(), static_cast<index_t>(v.size())};
}
using test::cview;
using test::mview;

template <class Policy, class T>
double test_rmse(const Policy& p, const biased_mf_model<T>& m, const interactions<T>& test) {
  std::vector<T> out(test.value.size());
  predict(p, m, ids(test.user), ids(test.item), mview(out));
  double se = 0;
  for (std::size_t e = 0; e < out.size(); ++e) {
    const double d = static_cast<double>(out[e]) - test.value[e];
    se += d * d;
  }
  return std::sqrt(se / static_cast<double>(out.size()));
}

template <class T>
double max_abs_diff(const std::vector<T>& a, const std::vector<T>& b) {
  REQUIRE(a.size() == b.size());
  double d = 0;
  for (std::size_t j = 0; j < a.size(); ++j) {
    d = std::max(d, std::abs(static_cast<double>(a[j]) - static_cast<double>(b[j])));
  }
  return d;
}

// Largest parameter difference between two models of the same shape.
template <class T>
double model_diff(const biased_mf_model<T>& a, const biased_mf_model<T>& b) {
  REQUIRE(a.users == b.users);
  REQUIRE(a.items == b.items);
  REQUIRE(a.factors == b.factors);
  CHECK(a.global_mean == b.global_mean);
  CHECK(a.min_rating == b.min_rating);
  CHECK(a.max_rating == b.max_rating);
  return std::max({max_abs_diff(a.user_bias, b.user_bias), max_abs_diff(a.item_bias, b.item_bias),
                   max_abs_diff(a.user_factors, b.user_factors),
                   max_abs_diff(a.item_factors, b.item_factors)});
}

template <class T>
bool same_model(const biased_mf_model<T>& a, const biased_mf_model<T>& b) {
  return a.user_bias == b.user_bias && a.item_bias == b.item_bias &&
         a.user_factors == b.user_factors && a.item_factors == b.item_factors;
}

const std::vector<index_t> odd_factors = {1, 3, 7, 9, 17, 33};

}  // namespace

TEMPLATE_TEST_CASE("fit_biased_sgd: backend matches reference after one epoch",
                   "[factorize][backend]", float, double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  const auto d = low_rank<T>(300, 200, 4, 0.08, 0.1, 7);
  // One epoch from the same start: the backend's FMA / batch order moves each update by a few
  // ulps of its terms, and that does not grow within an epoch at these step sizes (measured
  // on AVX2: at most 7.5e-8 for float, 1.1e-16 for double; the bounds leave 10x or more).
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  for (index_t k : odd_factors) {
    for (int blocks : {1, 3, 8}) {
      CAPTURE(k, blocks, test::backend_name);
      sgd_options o;
      o.factors = k;
      o.epochs = 1;
      o.blocks = blocks;
      o.init_scale = 0.2;
      const auto want = fit_biased_sgd(exec::reference{}, d.train.view(), o);
      const auto got = fit_biased_sgd(policy, d.train.view(), o);
      const double diff = model_diff(got, want);
      CAPTURE(diff);
      CHECK(diff <= tol);
    }
  }
  // A single rating.
  interactions<T> one;
  one.users = 2;
  one.items = 3;
  one.user = {1};
  one.item = {2};
  one.value = {T(3.5)};
  sgd_options o;
  o.factors = 9;
  o.epochs = 3;
  o.init_scale = 0.5;
  CHECK(model_diff(fit_biased_sgd(policy, one.view(), o),
                   fit_biased_sgd(exec::reference{}, one.view(), o)) <= tol);
}

TEMPLATE_TEST_CASE("fit_biased_sgd: backend and reference fit equally well", "[factorize][backend]",
                   float, double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  const auto d = low_rank<T>(200, 150, 4, 0.2, 0.1, 11);
  for (index_t k : {index_t{9}, index_t{33}}) {
    CAPTURE(k, test::backend_name);
    // The default schedule, 50 epochs: parameters drift apart by rounding, but the fits are
    // equally good (measured: RMSEs within 4e-9 for float; the bound is the brief's 2e-3 / 20).
    sgd_options o;
    o.factors = k;
    const auto want = fit_biased_sgd(exec::reference{}, d.train.view(), o);
    const auto got = fit_biased_sgd(policy, d.train.view(), o);
    const double rw = test_rmse(exec::reference{}, want, d.test);
    const double rg = test_rmse(exec::reference{}, got, d.test);
    CAPTURE(rw, rg);
    CHECK(std::abs(rw - rg) <= 1e-4);
  }
}

TEMPLATE_TEST_CASE("fit_biased_als: backend matches reference", "[factorize][backend]", float,
                   double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  const auto d = low_rank<T>(150, 100, 4, 0.15, 0.1, 13);
  // Both solve in double (other summation orders) and round to T: float results agree to the
  // last bit or so, double ones to about 1e-15 (measured 2.3e-15).
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-12;
  for (index_t k : odd_factors) {
    CAPTURE(k, test::backend_name);
    als_options o;
    o.factors = k;
    o.iterations = 2;
    const auto want = fit_biased_als(exec::reference{}, d.train.view(), o);
    const auto got = fit_biased_als(policy, d.train.view(), o);
    const double diff = model_diff(got, want);
    CAPTURE(diff);
    CHECK(diff <= tol);
  }
  // Users and items without ratings come out as zeros.
  auto sparse = d.train;
  sparse.users += 2;
  sparse.items += 3;
  als_options o;
  o.factors = 5;
  o.iterations = 2;
  const auto m = fit_biased_als(policy, sparse.view(), o);
  for (index_t u = 150; u < 152; ++u) {
    CHECK(m.user_bias[u] == T(0));
    for (index_t f = 0; f < 5; ++f) CHECK(m.user_factors[u * 5 + f] == T(0));
  }
  CHECK(m.item_bias[101] == T(0));
  CHECK(model_diff(m, fit_biased_als(exec::reference{}, sparse.view(), o)) <= tol);
  // Zero regularisation with too few ratings takes the jitter retry on both.
  interactions<T> tiny;
  tiny.users = 2;
  tiny.items = 3;
  tiny.user = {0, 1, 1, 1};
  tiny.item = {0, 0, 1, 2};
  tiny.value = {4, 3, 5, 1};
  als_options z;
  z.factors = 3;
  z.iterations = 1;
  z.reg_bias = 0;
  z.reg_factor = 0;
  const auto zg = fit_biased_als(policy, tiny.view(), z);
  const auto zw = fit_biased_als(exec::reference{}, tiny.view(), z);
  CHECK(test::close(zg.predict(0, 0), zw.predict(0, 0), 1e-3));
}

#ifdef RECFUSE_TEST_BACKEND_XSIMD
TEMPLATE_TEST_CASE("biased MF: the thread count never changes the model",
                   "[factorize][backend][xsimd]", float, double) {
  using T = TestType;
  // Rounds big enough that the SGD kernel does run them on 2 and 3 threads.
  const auto d = random_ratings<T>(1500, 1000, 30000, 17);
  for (int blocks : {2, 3}) {
    CAPTURE(blocks);
    sgd_options o;
    o.factors = 33;
    o.epochs = 2;
    o.blocks = blocks;
    REQUIRE(xsimd_backend::detail::bmf::sgd_threads(exec::xsimd{3}, d.size(), blocks, o.factors) ==
            std::min(blocks, 3));
    const auto one = fit_biased_sgd(exec::xsimd{1}, d.view(), o);
    CHECK(same_model(one, fit_biased_sgd(exec::xsimd{2}, d.view(), o)));
    CHECK(same_model(one, fit_biased_sgd(exec::xsimd{3}, d.view(), o)));
    CHECK(model_diff(one, fit_biased_sgd(exec::reference{}, d.view(), o)) <
          (std::is_same_v<T, float> ? 1e-5 : 1e-13));
  }
  als_options o;
  o.factors = 9;
  o.iterations = 2;
  REQUIRE(xsimd_backend::detail::bmf::als_threads(exec::xsimd{3}, d.users,
                                                  static_cast<double>(d.size()), o.factors) == 3);
  const auto one = fit_biased_als(exec::xsimd{1}, d.view(), o);
  CHECK(same_model(one, fit_biased_als(exec::xsimd{2}, d.view(), o)));
  CHECK(same_model(one, fit_biased_als(exec::xsimd{3}, d.view(), o)));
}
#endif

#if defined(RECFUSE_TEST_BACKEND_THRUST) && defined(_OPENMP)
TEMPLATE_TEST_CASE("biased MF: the OpenMP thread count never changes the Thrust model",
                   "[factorize][backend][thrust]", float, double) {
  using T = TestType;
  // The tiles of an SGD round share no rows and each ALS row is one functor call, so the
  // models must be bit-identical whatever the number of threads (the omp system follows
  // omp_set_num_threads; the cpp and tbb systems do not compile this case).
  const auto d = random_ratings<T>(1500, 1000, 30000, 17);
  const auto policy = test::backend_policy();
  const int threads = omp_get_max_threads();
  auto fit_with = [&](int n, auto fit, const auto& o) {
    omp_set_num_threads(n);
    auto m = fit(policy, d.view(), o);
    omp_set_num_threads(threads);
    return m;
  };
  auto sgd = [](const auto& p, const auto& v, const sgd_options& o) {
    return fit_biased_sgd(p, v, o);
  };
  auto als = [](const auto& p, const auto& v, const als_options& o) {
    return fit_biased_als(p, v, o);
  };
  for (int blocks : {2, 3, 8}) {
    CAPTURE(blocks);
    sgd_options o;
    o.factors = 33;
    o.epochs = 2;
    o.blocks = blocks;
    const auto one = fit_with(1, sgd, o);
    CHECK(same_model(one, fit_with(2, sgd, o)));
    CHECK(same_model(one, fit_with(3, sgd, o)));
    CHECK(model_diff(one, fit_biased_sgd(exec::reference{}, d.view(), o)) <
          (std::is_same_v<T, float> ? 1e-5 : 1e-13));
  }
  als_options o;
  o.factors = 9;
  o.iterations = 2;
  const auto one = fit_with(1, als, o);
  CHECK(same_model(one, fit_with(2, als, o)));
  CHECK(same_model(one, fit_with(3, als, o)));
}
#endif

#if defined(RECFUSE_TEST_BACKEND_KOKKOS)
TEMPLATE_TEST_CASE("biased MF: the Kokkos model never depends on the space's concurrency",
                   "[factorize][backend][kokkos]", float, double) {
  using T = TestType;
  // The Kokkos kernels run the reference's SGD update tile by tile (a round's tiles, which share
  // no rows, in parallel, no atomics) and the reference's ALS row solve one team per row, so the
  // model is the reference's up to floating-point contraction, and bit-identical on instances
  // with any number of threads. On OpenMP, instances of 1, 2 and 3 threads compare within this
  // program (the ctest _1thread rerun covers the default instance); on Serial the reference alone.
  const auto d = random_ratings<T>(1500, 1000, 30000, 17);
  const auto policy = test::backend_policy();
  using space = RECFUSE_TEST_KOKKOS_SPACE;
  auto each_instance = [&](auto fit) {
#if defined(KOKKOS_ENABLE_OPENMP)
    if constexpr (std::is_same_v<space, Kokkos::OpenMP>) {
      const auto one = fit(exec::kokkos<space>{Kokkos::OpenMP(1)});
      CHECK(same_model(one, fit(exec::kokkos<space>{Kokkos::OpenMP(2)})));
      CHECK(same_model(one, fit(exec::kokkos<space>{Kokkos::OpenMP(3)})));
      CHECK(same_model(one, fit(policy)));
    }
#endif
    return fit(policy);
  };
  for (int blocks : {1, 2, 3, 8}) {
    CAPTURE(blocks);
    sgd_options o;
    o.factors = 33;
    o.epochs = 2;
    o.blocks = blocks;
    const auto got = each_instance([&](const auto& p) { return fit_biased_sgd(p, d.view(), o); });
    // The xsimd backend's bound for the same data (measured with GCC 12 on x86-64: 0, the
    // reference's model bit for bit, SGD and ALS).
    CHECK(model_diff(got, fit_biased_sgd(exec::reference{}, d.view(), o)) <
          (std::is_same_v<T, float> ? 1e-5 : 1e-13));
  }
  als_options o;
  o.factors = 9;
  o.iterations = 2;
  const auto got = each_instance([&](const auto& p) { return fit_biased_als(p, d.view(), o); });
  CHECK(model_diff(got, fit_biased_als(exec::reference{}, d.view(), o)) <
        (std::is_same_v<T, float> ? 1e-6 : 1e-12));
  // refit on the same instances: the same row solve, on listed rows.
  const std::vector<std::int32_t> rows = {0, 5, 999, 1499};
  auto refit = [&](const auto& p) {
    auto m = got;
    refit_users(p, m, d.view(), ids(rows), o);
    return m;
  };
  auto want = got;
  refit_users(exec::reference{}, want, d.view(), ids(rows), o);
  CHECK(model_diff(each_instance(refit), want) <= (std::is_same_v<T, float> ? 1e-6 : 1e-12));
}

TEMPLATE_TEST_CASE("biased MF: Kokkos ALS rows in team scratch (levels 0 and 1) and in a buffer",
                   "[factorize][backend][kokkos]", float, double) {
  using T = TestType;
  // Each place for a row's (k + 1)^2 + (k + 1) doubles of work area runs the reference's row
  // solve: the users' step is the reference's bit for bit (up to contraction) wherever the areas
  // are. k = 9 fits in level 0 (32 KiB on host spaces), k = 70 only in level 1; the buffer
  // (rows whose area fits in no scratch, k > about 1580) is forced here, in chunks of 7 rows.
  namespace kbmf = kokkos_backend::detail::bmf;
  using space = RECFUSE_TEST_KOKKOS_SPACE;
  const auto policy = test::backend_policy();
  const auto d = random_ratings<T>(150, 120, 3000, 37);
  const auto by_user = to_csr(d.view(), csr_by::user);
  for (index_t k : {index_t{9}, index_t{70}}) {
    CAPTURE(k);
    CHECK(kbmf::als_scratch_level<space>(k) == (k == 9 ? 0 : 1));
    sgd_options so;
    so.factors = k;
    so.epochs = 1;
    const auto start = fit_biased_sgd(exec::reference{}, d.view(), so);
    auto want = start;
    reference_backend::biased_als_solve_rows(exec::reference{}, want, detail::bmf::side::users,
                                             by_user, nullptr, 0.1, 0.05);
    CHECK(!same_model(want, start));
    const index_t per_row = detail::bmf::als_row_scratch(k);
    for (int level : {0, 1, -1}) {
      if (level == 0 && k != 9) continue;
      CAPTURE(level);
      auto got = start;
      const kbmf::als_rows<T> rs{by_user.offsets.data(), by_user.indices.data(),
                                 by_user.values.data(), nullptr, by_user.rows};
      kbmf::solve_rows(policy, detail::bmf::make_als_side(got, detail::bmf::side::users), rs, 0.1,
                       0.05, level, 7 * per_row + 3);
      CHECK(model_diff(got, want) <= (std::is_same_v<T, float> ? 1e-6 : 1e-12));
    }
  }
}
#endif

TEMPLATE_TEST_CASE("predict: backend matches reference, with unseen ids", "[factorize][backend]",
                   float, double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  const auto d = low_rank<T>(40, 30, 3, 0.3, 0.1, 19);
  for (index_t k : {index_t{1}, index_t{7}, index_t{33}}) {
    sgd_options o;
    o.factors = k;
    o.epochs = 3;
    o.init_scale = 0.3;
    auto m = fit_biased_sgd(policy, d.train.view(), o);
    // Blow the user factors up so that many predictions fall outside the rating range and are
    // clipped at both ends.
    for (auto& x : m.user_factors) x *= 8;
    index_t low = 0, high = 0;
    for (index_t n : test::sizes) {
      if (n > 5000) continue;
      CAPTURE(k, n, test::backend_name);
      std::mt19937_64 g(static_cast<std::uint64_t>(n + k));
      std::vector<std::int32_t> u(static_cast<std::size_t>(n)), i(static_cast<std::size_t>(n));
      for (index_t j = 0; j < n; ++j) {  // ids in [-3, users + 3): some unseen, some negative
        u[j] = static_cast<std::int32_t>(detail::bmf::uniform_below(g, 46)) - 3;
        i[j] = static_cast<std::int32_t>(detail::bmf::uniform_below(g, 36)) - 3;
      }
      std::vector<T> want(static_cast<std::size_t>(n)), got(want.size(), T(-7));
      predict(exec::reference{}, m, ids(u), ids(i), mview(want));
      predict(policy, m, ids(u), ids(i), mview(got));
      index_t bad = -1;
      for (index_t j = 0; j < n && bad < 0; ++j) {
        if (!test::close(got[j], want[j], test::tolerance<T>())) bad = j;
        low += want[j] == m.min_rating;
        high += want[j] == m.max_rating;
      }
      CAPTURE(bad);
      CHECK(bad == -1);
    }
    if (k > 1) {
      CHECK(low > 10);
      CHECK(high > 10);
    }
  }
}

TEMPLATE_TEST_CASE("fold_in_user and refit: backend, and the ALS user step", "[factorize][backend]",
                   float, double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  const auto d = low_rank<T>(100, 90, 4, 0.2, 0.1, 23);
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-12;
  for (index_t k : {index_t{1}, index_t{9}, index_t{33}}) {
    CAPTURE(k, test::backend_name);
    als_options o;
    o.factors = k;
    o.iterations = 2;
    const auto m = fit_biased_als(policy, d.train.view(), o);
    for (std::int32_t user : {0, 17, 99}) {
      CAPTURE(user);
      // The user's ratings in data order (the order the ALS row sees them).
      std::vector<std::int32_t> items;
      std::vector<T> ratings;
      for (std::size_t e = 0; e < d.train.value.size(); ++e) {
        if (d.train.user[e] == user) {
          items.push_back(d.train.item[e]);
          ratings.push_back(d.train.value[e]);
        }
      }
      REQUIRE(!items.empty());
      std::vector<T> p(static_cast<std::size_t>(k)), pr(p.size());
      const T b = fold_in_user(policy, m, ids(items), cview(ratings), mview(p), o);
      const T br = fold_in_user(exec::reference{}, m, ids(items), cview(ratings), mview(pr), o);
      CHECK(std::abs(b - br) <= tol);
      CHECK(max_abs_diff(p, pr) <= tol);
      // refit_users is the same solve on the same rows: identical numbers.
      auto refit = m;
      const std::vector<std::int32_t> who = {user};
      refit_users(policy, refit, d.train.view(), ids(who), o);
      CHECK(refit.user_bias[user] == b);
      for (index_t f = 0; f < k; ++f) CHECK(refit.user_factors[user * k + f] == p[f]);
      CHECK(refit.item_factors == m.item_factors);  // a user step leaves the items alone
    }
    // refit of many rows on the backend vs the reference; the other rows stay.
    std::vector<std::int32_t> rows;
    for (std::int32_t r = 0; r < 90; r += 3) rows.push_back(r);
    auto got = m, want = m;
    refit_items(policy, got, d.train.view(), ids(rows), o);
    refit_items(exec::reference{}, want, d.train.view(), ids(rows), o);
    CHECK(model_diff(got, want) <= tol);
    for (index_t f = 0; f < k; ++f) CHECK(got.item_factors[1 * k + f] == m.item_factors[1 * k + f]);
    refit_users(policy, got, d.train.view(), ids(rows), o);
    refit_users(exec::reference{}, want, d.train.view(), ids(rows), o);
    CHECK(model_diff(got, want) <= tol);
  }
}

TEMPLATE_TEST_CASE("biased MF: one rating, and bad input, on the backend", "[factorize][backend]",
                   float, double) {
  using T = TestType;
  using Catch::Matchers::Contains;
  const auto policy = test::backend_policy();
  interactions<T> one;
  one.users = 3;
  one.items = 2;
  one.user = {2};
  one.item = {0};
  one.value = {T(4)};
  als_options ao;
  ao.factors = 7;
  ao.iterations = 2;
  const auto m = fit_biased_als(policy, one.view(), ao);
  CHECK(model_diff(m, fit_biased_als(exec::reference{}, one.view(), ao)) <=
        (std::is_same_v<T, float> ? 1e-6 : 1e-12));
  CHECK(m.predict(2, 0) == T(4));  // mu = 4 = the range: every prediction is 4
  CHECK(m.user_bias[0] == T(0));   // users 0 and 1 have no ratings

  interactions<T> empty;
  empty.users = 2;
  empty.items = 2;
  CHECK_THROWS_AS(fit_biased_sgd(policy, empty.view()), value_error);
  CHECK_THROWS_AS(fit_biased_als(policy, empty.view()), value_error);
  sgd_options bad;
  bad.blocks = 0;
  CHECK_THROWS_WITH(fit_biased_sgd(policy, one.view(), bad),
                    Contains("recfuse::fit_biased_sgd") && Contains("blocks is 0"));
  auto nan = one;
  nan.value[0] = std::numeric_limits<T>::quiet_NaN();
  CHECK_THROWS_AS(fit_biased_als(policy, nan.view()), value_error);
  const std::vector<std::int32_t> u = {0, 1}, i = {0};
  std::vector<T> out(2);
  CHECK_THROWS_AS(predict(policy, m, ids(u), ids(i), mview(out)), shape_error);
  std::vector<T> p(7);
  const std::vector<std::int32_t> far = {2};
  const std::vector<T> r = {3};
  CHECK_THROWS_WITH(fold_in_user(policy, m, ids(far), cview(r), mview(p)),
                    Contains("recfuse::fold_in_user") && Contains("items[0] is 2"));
  auto mm = m;
  CHECK_THROWS_AS(refit_items(policy, mm, one.view(), ids(far)), index_error);
  // Factor counts beyond 65536, and real options that overflow float for a float model.
  CHECK_THROWS_WITH(
      fit_biased_als(policy, one.view(), als_options{.factors = index_t{1} << 32}),
      Contains("recfuse::fit_biased_als") && Contains("options.factors is 4294967296"));
  sgd_options huge;
  huge.learning_rate = 1e39;
  if constexpr (std::is_same_v<T, float>) {
    CHECK_THROWS_AS(fit_biased_sgd(policy, one.view(), huge), value_error);
    CHECK_THROWS_WITH(fit_biased_sgd(policy, one.view(), huge),
                      Contains("recfuse::fit_biased_sgd") &&
                          Contains("options.learning_rate is 1e+39, which overflows float"));
  } else {
    huge.epochs = 0;
    CHECK_NOTHROW(fit_biased_sgd(policy, one.view(), huge));
  }
  // refit on empty data: the listed rows get zeros (a row without ratings), the rest stays.
  const auto small = low_rank<T>(20, 15, 2, 0.5, 0.1, 31);
  const auto fitted = fit_biased_als(policy, small.train.view(), ao);
  interactions<T> none;
  none.users = 20;
  none.items = 15;
  const std::vector<std::int32_t> user3 = {3};
  auto zeroed = fitted;
  refit_users(policy, zeroed, none.view(), ids(user3), ao);
  auto want = fitted;
  want.user_bias[3] = T(0);
  std::fill_n(want.user_factors.begin() + 3 * 7, 7, T(0));
  CHECK(same_model(zeroed, want));
  CHECK(!same_model(fitted, want));
}

TEMPLATE_TEST_CASE("biased MF: accuracy on a synthetic low-rank set", "[factorize][backend]", float,
                   double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  // 300 x 200, rank 4 (rating sd about 1) + noise 0.1, 20% observed: the mean predicts with
  // RMSE about 1. With the regularisation this clean set wants, SGD gets about 0.19 and ALS
  // 0.14. (The defaults, regularised for sparse and noisy ratings, get about 0.32.)
  const auto d = low_rank<T>(300, 200, 4, 0.2, 0.1, 29);
  double mean = 0;
  for (T v : d.train.value) mean += v;
  mean /= static_cast<double>(d.train.value.size());
  double base = 0;
  for (T v : d.test.value) base += (v - mean) * (v - mean);
  base = std::sqrt(base / static_cast<double>(d.test.value.size()));
  sgd_options so;
  so.factors = 8;
  so.reg_bias = so.reg_factor = 0.02;
  als_options ao;
  ao.factors = 8;
  ao.reg_bias = ao.reg_factor = 0.02;
  const double sgd = test_rmse(policy, fit_biased_sgd(policy, d.train.view(), so), d.test);
  const double als = test_rmse(policy, fit_biased_als(policy, d.train.view(), ao), d.test);
  CAPTURE(base, sgd, als, test::backend_name);
  CHECK(base > 0.9);
  CHECK(sgd < 0.25);
  CHECK(als < 0.2);
}

TEST_CASE("biased MF: MovieLens 100K u1", "[factorize][backend][ml100k]") {
  // ../../../shared/data/ml-100k from this file (the checkout's sibling `shared`).
  const auto dir = std::filesystem::path(__FILE__).parent_path() / ".." / ".." / ".." / "shared" /
                   "data" / "ml-100k";
  auto load = [&](const char* name) {
    interactions<float> d;
    d.users = 943;
    d.items = 1682;
    std::ifstream in(dir / name);
    long u = 0, i = 0, t = 0;
    float r = 0;
    while (in >> u >> i >> r >> t) {
      d.user.push_back(static_cast<std::int32_t>(u - 1));
      d.item.push_back(static_cast<std::int32_t>(i - 1));
      d.value.push_back(r);
    }
    return d;
  };
  if (!std::filesystem::exists(dir / "u1.base") || !std::filesystem::exists(dir / "u1.test")) {
    WARN("MovieLens 100K not found at " << dir.string() << "; skipped");
    return;
  }
  const auto train = load("u1.base");
  const auto test = load("u1.test");
  REQUIRE(train.value.size() == 80000);
  const auto policy = test::backend_policy();
  // Few factors and a short schedule to stay fast: SGD gets 0.928 (the defaults: 0.922), ALS
  // 0.937 (the defaults: 0.923).
  sgd_options so;
  so.factors = 16;
  so.epochs = 25;
  so.learning_rate = 0.02;
  const double sgd = test_rmse(policy, fit_biased_sgd(policy, train.view(), so), test);
  als_options ao;
  ao.factors = 8;
  ao.iterations = 4;
  const double als = test_rmse(policy, fit_biased_als(policy, train.view(), ao), test);
  CAPTURE(sgd, als, test::backend_name);
  CHECK(sgd < 0.935);
  CHECK(als < 0.945);
}
