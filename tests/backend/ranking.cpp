// Ranking metrics and AUC on a backend against the reference, on random data with fixed seeds.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "backend.hpp"
#include "recfuse/metrics/ranking.hpp"
#include "test_support.hpp"

using namespace recfuse;

namespace {

template <class Index>
struct random_pattern {
  index_t rows, cols;
  std::vector<index_t> offsets{0};
  std::vector<Index> indices;

  csr_pattern_view<Index> view() const { return {rows, cols, offsets.data(), indices.data()}; }
};

// Row sizes drawn from [0, max_row], about a fifth of the rows empty (row 0 never is, so some
// user is always evaluated), ids with repeats.
template <class Index>
random_pattern<Index> make_pattern(index_t rows, index_t cols, index_t max_row, std::uint64_t seed,
                                   bool first_nonempty = true) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<index_t> size(1, std::max<index_t>(1, max_row));
  std::uniform_int_distribution<index_t> item(0, cols - 1);
  random_pattern<Index> p;
  p.rows = rows;
  p.cols = cols;
  for (index_t r = 0; r < rows; ++r) {
    const bool empty = (r > 0 || !first_nonempty) && rng() % 5 == 0;
    const index_t n = empty ? 0 : size(rng);
    for (index_t e = 0; e < n; ++e) p.indices.push_back(static_cast<Index>(item(rng)));
    p.offsets.push_back(static_cast<index_t>(p.indices.size()));
  }
  return p;
}

// The AUC, or NaN where no user qualifies (value_error), so a backend can be compared either way.
template <class Policy, class... Args>
double auc_or_nan(const Policy& policy, const Args&... args) {
  try {
    return auc(policy, args...);
  } catch (const value_error&) {
    return std::numeric_limits<double>::quiet_NaN();
  }
}

bool same_auc(double got, double want) {
  return std::isnan(want) ? std::isnan(got) : test::close(got, want, 1e-12);
}

void check_same_report(const ranking_report& got, const ranking_report& want) {
  // Only the order of the sum over users differs.
  constexpr double tol = 1e-12;
  CHECK(got.users == want.users);
  CHECK(test::close(got.precision, want.precision, tol));
  CHECK(test::close(got.recall, want.recall, tol));
  CHECK(test::close(got.ndcg, want.ndcg, tol));
  CHECK(test::close(got.map, want.map, tol));
  CHECK(test::close(got.hit_rate, want.hit_rate, tol));
}

}  // namespace

TEMPLATE_TEST_CASE("ranking metrics: backend matches reference", "[metrics][ranking][backend]",
                   std::int32_t, std::int64_t) {
  using Id = TestType;
  const auto policy = test::backend_policy();
  constexpr index_t r = 12;  // recommendation columns
  // 2500 users span several blocks of users, so the xsimd backend splits them across threads.
  for (index_t users : {1, 7, 100, 1001, 2500}) {
    for (index_t items : {1, 17, 500}) {
      const std::uint64_t seed = 1000 * static_cast<std::uint64_t>(users) + items;
      // Rows of ids in [0, items) with repeats, then -1 padding from a random point.
      std::mt19937_64 rng(seed);
      std::uniform_int_distribution<index_t> item(0, items - 1);
      std::vector<Id> recs(static_cast<std::size_t>(users * r));
      for (index_t u = 0; u < users; ++u) {
        const index_t valid = rng() % 4 == 0 ? static_cast<index_t>(rng() % (r + 1)) : r;
        for (index_t i = 0; i < r; ++i) {
          recs[static_cast<std::size_t>(u * r + i)] = static_cast<Id>(i < valid ? item(rng) : -1);
        }
      }
      const matrix_view<const Id> m(recs.data(), users, r);
      const auto relevant = make_pattern<Id>(users, items, std::min<index_t>(items, 30), seed + 7);
      for (index_t k : {1, 5, 10}) {
        CAPTURE(users, items, k, test::backend_name);
        const ranking_report want = evaluate_ranking(exec::reference{}, m, relevant.view(), k);
        REQUIRE(want.users > 0);
        check_same_report(evaluate_ranking(policy, m, relevant.view(), k), want);
        CHECK(test::close(ndcg_at_k(policy, m, relevant.view(), k), want.ndcg, 1e-12));
      }
    }
  }
}

TEST_CASE("ranking metrics: backend rejects bad input", "[metrics][ranking][backend]") {
  const auto policy = test::backend_policy();
  const std::vector<index_t> recs = {0, 1, 2, 3, 4, 5};
  const matrix_view<const index_t> m(recs.data(), 2, 3);
  const std::vector<index_t> offsets = {0, 1, 1};
  const std::vector<std::int32_t> ids = {2};
  const csr_pattern_view<std::int32_t> rel(2, 6, offsets.data(), ids.data());
  CHECK(evaluate_ranking(policy, m, rel, 3).precision == Approx(1.0 / 3));
  CHECK_THROWS_AS(evaluate_ranking(policy, m, rel, 4), value_error);
  const csr_pattern_view<std::int32_t> narrow(2, 5, offsets.data(), ids.data());
  CHECK_THROWS_WITH(evaluate_ranking(policy, m, narrow, 3), Catch::Contains("row 1") &&
                                                                Catch::Contains("position 2") &&
                                                                Catch::Contains("item id 5"));
  const std::vector<index_t> empty_offsets = {0, 0, 0};
  const csr_pattern_view<std::int32_t> none(2, 6, empty_offsets.data(), ids.data());
  CHECK_THROWS_WITH(evaluate_ranking(policy, m, none, 3),
                    Catch::Contains("no user has a relevant item"));
}

TEMPLATE_TEST_CASE("auc: backend matches reference", "[metrics][auc][backend]", float, double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  for (index_t users : {1, 7, 100}) {
    for (index_t items : {2, 17, 500, 1000}) {
      for (int variant = 0; variant < 2; ++variant) {
        // variant 0: continuous scores; variant 1: scores on 8 levels, so many ties.
        const std::uint64_t seed = 7919 * static_cast<std::uint64_t>(users) + 31 * items + variant;
        auto scores = test::random_vector<T>(users * items, seed, -1.0, 1.0);
        if (variant == 1) {
          for (auto& x : scores) x = std::round(x * T(4)) / T(4);
        }
        // Relevant rows up to 60% of the items, past the backend's switch between counting
        // strategies (a few dozen positives) when items are many.
        const auto relevant = make_pattern<std::int32_t>(users, items, items * 3 / 5, seed + 1);
        const auto exclude = make_pattern<index_t>(users, items, items / 4 + 1, seed + 2, false);
        // NaN where excluded: never read.
        for (index_t u = 0; u < users; ++u) {
          for (index_t e = exclude.offsets[u]; e < exclude.offsets[u + 1]; e += 2) {
            scores[static_cast<std::size_t>(u * items + exclude.indices[e])] =
                std::numeric_limits<T>::quiet_NaN();
          }
        }
        const matrix_view<const T> s(scores.data(), users, items);
        CAPTURE(users, items, variant, test::backend_name);
        const double want = auc_or_nan(exec::reference{}, s, relevant.view(), exclude.view());
        CHECK(same_auc(auc_or_nan(policy, s, relevant.view(), exclude.view()), want));
        if (users >= 7) CHECK(!std::isnan(want));
        // Without exclusion the NaN scores would be read, so replace them.
        std::vector<T> finite = scores;
        for (auto& x : finite) x = std::isnan(x) ? T(0.5) : x;
        const matrix_view<const T> f(finite.data(), users, items);
        const double want_all = auc_or_nan(exec::reference{}, f, relevant.view());
        CHECK(same_auc(auc_or_nan(policy, f, relevant.view()), want_all));
        if (users >= 7) CHECK(!std::isnan(want_all));
      }
    }
  }
}

TEST_CASE("auc: backend rejects bad input", "[metrics][auc][backend]") {
  const auto policy = test::backend_policy();
  std::vector<double> scores = {0.1, std::numeric_limits<double>::quiet_NaN(), 0.3, 0.4};
  const matrix_view<const double> s(scores.data(), 2, 2);
  const std::vector<index_t> offsets = {0, 1, 2};
  const std::vector<std::int32_t> ids = {0, 1};
  const csr_pattern_view<std::int32_t> rel(2, 2, offsets.data(), ids.data());
  CHECK_THROWS_WITH(auc(policy, s, rel),
                    Catch::StartsWith("recfuse::auc") && Catch::Contains("scores(0, 1) is NaN"));
  const csr_pattern_view<std::int32_t> wide(2, 3, offsets.data(), ids.data());
  CHECK_THROWS_AS(auc(policy, s, wide), shape_error);
}
