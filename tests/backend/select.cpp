// topk and topk_inner_product on a backend against the reference, on random inputs: odd sizes,
// exact ties, NaN and -inf, random unsorted exclusion lists with duplicates. Every result is
// also checked against the contract directly (order, padding, no duplicate, nothing excluded,
// no NaN), so a reference bug cannot hide behind agreement.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "backend.hpp"
#include "recfuse/select/topk.hpp"
#include "test_support.hpp"

using namespace recfuse;

// CHECK only when the condition fails: per-element checks stay cheap (Catch2 records every
// passing CHECK and CAPTURE), and a failure still reports the expression, the CAPTUREd case and
// the row r (and position e) in scope.
#define CHECK_ROW(...)    \
  do {                    \
    if (!(__VA_ARGS__)) { \
      INFO("row " << r);  \
      CHECK(__VA_ARGS__); \
    }                     \
  } while (false)
#define CHECK_ELEM(...)                        \
  do {                                         \
    if (!(__VA_ARGS__)) {                      \
      INFO("row " << r << ", position " << e); \
      CHECK(__VA_ARGS__);                      \
    }                                          \
  } while (false)

namespace {

enum class fill { uniform, ties, nan_and_inf };

template <class T>
std::vector<T> make_scores(index_t count, fill kind, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::uniform_int_distribution<int> small(-3, 3);
  std::vector<T> v(static_cast<std::size_t>(count));
  for (auto& x : v) {
    switch (kind) {
      case fill::uniform:
        x = static_cast<T>(u(rng));
        break;
      case fill::ties:
        x = static_cast<T>(small(rng));
        break;
      case fill::nan_and_inf: {
        const double r = u(rng);
        x = r < -0.8   ? std::numeric_limits<T>::quiet_NaN()
            : r > 0.9  ? -std::numeric_limits<T>::infinity()
            : r > 0.85 ? std::numeric_limits<T>::infinity()
                       : static_cast<T>(small(rng));
        break;
      }
    }
  }
  return v;
}

// Random exclusion lists: unsorted, with duplicates, some rows empty, some long.
struct exclusion {
  index_t rows = 0, cols = 0;
  std::vector<index_t> offsets{0};
  std::vector<std::int32_t> ids;
  exclusion(index_t r, index_t c, std::uint64_t seed) : rows(r), cols(c) {
    std::mt19937_64 rng(seed);
    for (index_t i = 0; i < r; ++i) {
      const index_t count = c == 0 ? 0 : static_cast<index_t>(rng() % (i % 4 == 3 ? c + 5 : 21));
      for (index_t e = 0; e < count; ++e) {
        ids.push_back(static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(c)));
      }
      offsets.push_back(static_cast<index_t>(ids.size()));
    }
    flags.assign(static_cast<std::size_t>(r * c), 0);
    for (index_t i = 0; i < r; ++i) {
      for (index_t e = offsets[static_cast<std::size_t>(i)];
           e < offsets[static_cast<std::size_t>(i) + 1]; ++e) {
        flags[static_cast<std::size_t>(i * c + ids[static_cast<std::size_t>(e)])] = 1;
      }
    }
  }
  csr_pattern_view<std::int32_t> view() const { return {rows, cols, offsets.data(), ids.data()}; }
  bool excludes(index_t r, index_t j) const {
    return flags[static_cast<std::size_t>(r * cols + j)] != 0;
  }
  std::vector<char> flags;  // rows x cols: excluded?
};

// The contract, checked on one result without looking at any other backend. score(r, j) is the
// exact (or reference) score; tol is how far a reported value may be from it.
template <class T, class Score>
void check_contract(const topk_result<T>& res, index_t rows, index_t k, index_t cols,
                    const exclusion* ex, Score score, double tol) {
  REQUIRE(res.rows == rows);
  REQUIRE(res.k == k);
  REQUIRE(res.values.size() == static_cast<std::size_t>(rows * k));
  REQUIRE(res.indices.size() == static_cast<std::size_t>(rows * k));
  for (index_t r = 0; r < rows; ++r) {
    std::set<index_t> seen;
    index_t selectable = 0;
    for (index_t j = 0; j < cols; ++j) {
      if (!std::isnan(score(r, j)) && !(ex != nullptr && ex->excludes(r, j))) ++selectable;
    }
    const index_t filled = std::min(k, selectable);
    for (index_t e = 0; e < k; ++e) {
      const index_t id = res.index(r, e);
      const T v = res.value(r, e);
      if (e >= filled) {
        CHECK_ELEM(id == -1);
        CHECK_ELEM(v == -std::numeric_limits<T>::infinity());
        continue;
      }
      CHECK_ELEM((id >= 0 && id < cols));
      if (id < 0 || id >= cols) return;
      CHECK_ELEM(seen.insert(id).second);  // never a duplicate
      CHECK_ELEM(!std::isnan(v));
      if (ex != nullptr) CHECK_ELEM(!ex->excludes(r, id));
      const double exact = static_cast<double>(score(r, id));
      CHECK_ELEM((v == exact || std::abs(static_cast<double>(v) - exact) <= tol));
      if (e > 0) {  // best first; exact ties by increasing index
        const T prev = res.value(r, e - 1);
        CHECK_ELEM(prev >= v);
        if (tol == 0 && prev == v) CHECK_ELEM(res.index(r, e - 1) < id);
      }
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("topk: backend matches reference", "[select][backend]", float, double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  const std::vector<index_t> row_counts{0, 1, 3, 17};
  const std::vector<index_t> col_counts{0, 1, 7, 8, 15, 16, 17, 33, 100, 1000, 4099};
  std::uint64_t seed = 1;
  for (index_t rows : row_counts) {
    for (index_t cols : col_counts) {
      for (fill kind : {fill::uniform, fill::ties, fill::nan_and_inf}) {
        const auto s = make_scores<T>(rows * cols, kind, ++seed);
        const matrix_view<const T> scores(s.data(), rows, cols);
        const exclusion ex(rows, cols, ++seed);
        const auto score = [&](index_t r, index_t j) { return scores(r, j); };
        for (index_t k :
             {index_t{0}, index_t{1}, index_t{5}, index_t{10}, index_t{100}, cols + 3}) {
          CAPTURE(test::backend_name, rows, cols, static_cast<int>(kind), k);
          const auto ref = topk(exec::reference{}, scores, k);
          const auto got = topk(policy, scores, k);
          check_contract(got, rows, k, cols, nullptr, score, 0.0);
          // The order is total (ties go to the smaller index), so results are identical.
          CHECK(got.indices == ref.indices);
          CHECK(std::equal(got.values.begin(), got.values.end(), ref.values.begin(),
                           ref.values.end()));

          const auto ref_ex = topk(exec::reference{}, scores, k, ex.view());
          const auto got_ex = topk(policy, scores, k, ex.view());
          check_contract(got_ex, rows, k, cols, &ex, score, 0.0);
          CHECK(got_ex.indices == ref_ex.indices);
          CHECK(std::equal(got_ex.values.begin(), got_ex.values.end(), ref_ex.values.begin(),
                           ref_ex.values.end()));
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("topk: rows split across threads match the reference", "[select][backend]",
                   float, double) {
  // Enough rows and columns that the xsimd backend runs the row loop and the exclusion
  // sorting on several threads (the sizes above all fit in one chunk).
  using T = TestType;
  const auto policy = test::backend_policy();
  const index_t rows = 301, cols = 2003;
  for (fill kind : {fill::uniform, fill::ties}) {
    const auto s = make_scores<T>(rows * cols, kind, 77 + static_cast<int>(kind));
    const matrix_view<const T> scores(s.data(), rows, cols);
    const exclusion ex(rows, cols, 91);
    const auto score = [&](index_t r, index_t j) { return scores(r, j); };
    for (index_t k : {index_t{10}, index_t{100}}) {
      CAPTURE(test::backend_name, static_cast<int>(kind), k);
      const auto got = topk(policy, scores, k, ex.view());
      check_contract(got, rows, k, cols, &ex, score, 0.0);
      CHECK(got.indices == topk(exec::reference{}, scores, k, ex.view()).indices);
    }
  }
}

TEMPLATE_TEST_CASE("topk_into: backend writes strided outputs", "[select][backend]", float,
                   double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  const index_t rows = 5, cols = 300, k = 7, stride = 9;
  const auto s = make_scores<T>(rows * cols, fill::ties, 77);
  const matrix_view<const T> scores(s.data(), rows, cols);
  const exclusion ex(rows, cols, 78);
  std::vector<T> values(rows * stride, T(42));
  std::vector<index_t> indices(rows * stride, 42);
  topk_into(policy, scores, k, matrix_view<T>(values.data(), rows, k, stride),
            matrix_view<index_t>(indices.data(), rows, k, stride), ex.view());
  const auto ref = topk(exec::reference{}, scores, k, ex.view());
  for (index_t r = 0; r < rows; ++r) {
    for (index_t e = 0; e < stride; ++e) {
      CAPTURE(r, e);
      if (e < k) {
        CHECK(indices[r * stride + e] == ref.index(r, e));
        CHECK(values[r * stride + e] == ref.value(r, e));
      } else {  // untouched
        CHECK(indices[r * stride + e] == 42);
        CHECK(values[r * stride + e] == T(42));
      }
    }
  }
}

namespace {

// Factors: uniform in [-1, 1], or small integers (every score exact, so many exact ties), or
// small integers with a few NaN.
template <class T>
std::vector<T> make_factors(index_t count, fill kind, std::uint64_t seed) {
  if (kind == fill::uniform) return test::random_vector<T>(count, seed);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> small(-2, 2);
  std::vector<T> v(static_cast<std::size_t>(count));
  for (auto& x : v) x = static_cast<T>(small(rng));
  if (kind == fill::nan_and_inf && count > 0) {
    for (int i = 0; i < 3; ++i) v[rng() % v.size()] = std::numeric_limits<T>::quiet_NaN();
  }
  return v;
}

// queries . items^T in double (exact for the integer factors).
template <class T>
std::vector<double> exact_inner_products(matrix_view<const T> q, matrix_view<const T> x) {
  std::vector<double> s(static_cast<std::size_t>(q.rows() * x.rows()));
  for (index_t r = 0; r < q.rows(); ++r) {
    for (index_t j = 0; j < x.rows(); ++j) {
      double sum = 0;
      for (index_t c = 0; c < q.cols(); ++c)
        sum += static_cast<double>(q(r, c)) * static_cast<double>(x(j, c));
      s[static_cast<std::size_t>(r * x.rows() + j)] = sum;
    }
  }
  return s;
}

// Fused results against the reference. Exact inputs (integer factors) must give identical
// results. Rounded ones: values within tol position by position, every reported value within
// tol of its own score, and the index sets equal except for items within 2 tol of the k-th
// best (near-ties that rounding may resolve either way).
template <class T, class Policy>
void compare_fused(const Policy& policy, matrix_view<const T> q, matrix_view<const T> x, index_t k,
                   const exclusion* ex, bool exact, const std::vector<double>& exact_scores) {
  const index_t m = q.rows(), n = x.rows(), d = q.cols();
  const auto ref = ex ? topk_inner_product(exec::reference{}, q, x, k, ex->view())
                      : topk_inner_product(exec::reference{}, q, x, k);
  const auto got =
      ex ? topk_inner_product(policy, q, x, k, ex->view()) : topk_inner_product(policy, q, x, k);
  const auto score = [&](index_t r, index_t j) {
    return exact_scores[static_cast<std::size_t>(r * n + j)];
  };
  // |fl(dot) - dot| <= d * eps * sum |q_c x_c| <= d * eps * d (factors in [-2, 2] -> 4 d)
  const double tol = exact ? 0.0
                           : 2.0 * static_cast<double>(std::max<index_t>(d, 1)) *
                                 static_cast<double>(std::max<index_t>(d, 1)) *
                                 std::numeric_limits<T>::epsilon();
  check_contract(got, m, k, n, ex, score, tol);
  if (exact) {
    CHECK(got.indices == ref.indices);
    CHECK(std::equal(got.values.begin(), got.values.end(), ref.values.begin(), ref.values.end()));
    return;
  }
  for (index_t r = 0; r < m; ++r) {
    std::set<index_t> got_set, ref_set;
    for (index_t e = 0; e < k; ++e) {
      CHECK_ELEM((ref.index(r, e) == -1) == (got.index(r, e) == -1));
      if (ref.index(r, e) == -1) continue;
      CHECK_ELEM(std::abs(static_cast<double>(got.value(r, e)) -
                          static_cast<double>(ref.value(r, e))) <= tol);
      got_set.insert(got.index(r, e));
      ref_set.insert(ref.index(r, e));
    }
    if (ref_set.empty()) continue;
    const double kth = static_cast<double>(ref.value(r, static_cast<index_t>(ref_set.size()) - 1));
    for (index_t id : ref_set) {
      if (score(r, id) > kth + 2 * tol) CHECK_ROW(got_set.count(id) == 1);
    }
    for (index_t id : got_set) CHECK_ROW(score(r, id) >= kth - 2 * tol);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("topk_inner_product: backend matches reference", "[select][backend]", float,
                   double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  std::uint64_t seed = 1000;
  for (index_t d : {0, 1, 3, 8, 17, 64}) {
    for (index_t n : {0, 1, 15, 16, 17, 100, 1001}) {
      for (index_t m : {1, 5, 7, 13, 67}) {
        // Each shape gets uniform factors and, in turn, exact ties or NaN.
        const fill other = (d + n + m) % 2 == 0 ? fill::ties : fill::nan_and_inf;
        for (fill kind : {fill::uniform, other}) {
          const auto qv = make_factors<T>(m * d, kind, ++seed);
          const auto xv = make_factors<T>(n * d, kind, ++seed);
          const matrix_view<const T> q(qv.data(), m, d);
          const matrix_view<const T> x(xv.data(), n, d);
          const exclusion ex(m, n, ++seed);
          const bool exact = kind != fill::uniform;
          const auto exact_scores = exact_inner_products(q, x);
          for (index_t k : {index_t{0}, index_t{1}, index_t{10}, n + 3}) {
            if (k == n + 3 && n > 100) continue;  // k > n: covered by the smaller n
            CAPTURE(test::backend_name, d, n, m, static_cast<int>(kind), k);
            compare_fused<T>(policy, q, x, k, nullptr, exact, exact_scores);
            compare_fused<T>(policy, q, x, k, &ex, exact, exact_scores);
          }
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("topk_inner_product: many item blocks, split queries or split items",
                   "[select][backend]", float, double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  const index_t n = 6007, d = 17;
  const auto xv = make_factors<T>(n * d, fill::ties, 5);
  const matrix_view<const T> x(xv.data(), n, d);
  // m = 1: one query, items split; 3: one panel, items split; 40: panels split; 200: panels
  // handed out in chunks.
  for (index_t m : {1, 3, 40, 200}) {
    const auto qv = make_factors<T>(m * d, fill::ties, 6 + m);
    const matrix_view<const T> q(qv.data(), m, d);
    const exclusion ex(m, n, 7 + m);
    const auto exact_scores = exact_inner_products(q, x);
    for (index_t k : {1, 100}) {
      if (m == 200 && k == 1) continue;
      CAPTURE(test::backend_name, m, k);
      compare_fused<T>(policy, q, x, k, nullptr, true, exact_scores);
      compare_fused<T>(policy, q, x, k, &ex, true, exact_scores);
    }
  }
  // Strided inputs and outputs; the padding between rows is NaN and must never be read.
  const index_t n2 = 1003, item_stride = d + 2;
  std::vector<T> xs(n2 * item_stride, std::numeric_limits<T>::quiet_NaN());
  for (index_t j = 0; j < n2; ++j) std::copy_n(xv.begin() + j * d, d, xs.begin() + j * item_stride);
  const matrix_view<const T> x_strided(xs.data(), n2, d, item_stride);
  for (index_t m : {1, 19}) {
    CAPTURE(test::backend_name, m);
    const index_t stride = d + 3;
    std::vector<T> qs(m * stride, std::numeric_limits<T>::quiet_NaN());
    const auto qv = make_factors<T>(m * d, fill::ties, 99);
    for (index_t r = 0; r < m; ++r) std::copy_n(qv.begin() + r * d, d, qs.begin() + r * stride);
    std::vector<T> values(m * 12, T(42));
    std::vector<index_t> indices(m * 12, 42);
    topk_inner_product_into(policy, matrix_view<const T>(qs.data(), m, d, stride), x_strided, 10,
                            matrix_view<T>(values.data(), m, 10, 12),
                            matrix_view<index_t>(indices.data(), m, 10, 12));
    const auto ref = topk_inner_product(exec::reference{}, matrix_view<const T>(qv.data(), m, d),
                                        matrix_view<const T>(xv.data(), n2, d), 10);
    for (index_t r = 0; r < m; ++r) {
      for (index_t e = 0; e < 12; ++e) {
        CAPTURE(r, e);
        CHECK(indices[r * 12 + e] == (e < 10 ? ref.index(r, e) : 42));
        CHECK(values[r * 12 + e] == (e < 10 ? ref.value(r, e) : T(42)));
      }
    }
  }
}

#if defined(RECFUSE_TEST_BACKEND_XSIMD)
TEMPLATE_TEST_CASE("topk_inner_product: xsimd results do not depend on the thread count",
                   "[select][backend]", float, double) {
  using T = TestType;
  const index_t n = 6007, d = 19;
  auto xv = test::random_vector<T>(n * d, 3);
  const auto q0 = test::random_vector<T>(d, 4);
  // Items around the middle, where a split between threads falls, score highest for query 0.
  for (index_t j = n / 2 - 15; j < n / 2 + 15; ++j) {
    for (index_t c = 0; c < d; ++c)
      xv[j * d + c] = q0[c] * T(1 + 0.01 * (j % 7)) + xv[j * d + c] / 64;
  }
  const matrix_view<const T> x(xv.data(), n, d);
  for (index_t m : {1, 2, 40, 200}) {
    CAPTURE(m);
    auto qv = test::random_vector<T>(m * d, 4 + m);
    std::copy(q0.begin(), q0.end(), qv.begin());
    const matrix_view<const T> q(qv.data(), m, d);
    const auto one = topk_inner_product(exec::xsimd{1}, q, x, 20);
    for (int threads : {2, 3}) {
      CAPTURE(threads);
      const auto many = topk_inner_product(exec::xsimd{threads}, q, x, 20);
      CHECK(many.indices == one.indices);
      CHECK(
          std::equal(many.values.begin(), many.values.end(), one.values.begin(), one.values.end()));
    }
  }
}
#endif

#if defined(RECFUSE_TEST_BACKEND_KOKKOS)
namespace {

// The Kokkos kernels keep each row's queue in per-thread scratch when a team's k-entry queues
// fit in level-0 scratch (32 KiB on the host spaces: k up to 2047 for double) and in the
// output row otherwise. Runs the row loop with the given scratch limit (0: output-row heaps;
// kokkos_backend::detail::scratch_limit_of_space: the space's choice) into a topk_result.
template <class T>
topk_result<T> kokkos_topk_with_limit(matrix_view<const T> scores, index_t k, const exclusion* ex,
                                      std::size_t limit) {
  topk_result<T> r;
  r.rows = scores.rows();
  r.k = k;
  r.values.assign(static_cast<std::size_t>(r.rows * k), T(42));
  r.indices.assign(static_cast<std::size_t>(r.rows * k), 42);
  const auto pattern = ex != nullptr ? ex->view() : csr_pattern_view<std::int32_t>{};
  kokkos_backend::detail::topk_over_rows(
      "recfuse::topk", test::backend_policy(), scores.rows(), scores.cols(), k,
      recfuse::detail::matrix_scores<T>{scores.data(), scores.stride()},
      ex != nullptr ? &pattern : nullptr, matrix_view<T>(r.values.data(), r.rows, k),
      matrix_view<index_t>(r.indices.data(), r.rows, k), limit);
  return r;
}

}  // namespace

TEMPLATE_TEST_CASE("topk: kokkos scratch queues and output-row heaps match the reference",
                   "[select][backend]", float, double) {
  using T = TestType;
  std::uint64_t seed = 500;
  for (index_t rows : {1, 13}) {
    for (index_t cols : {17, 2500}) {
      for (fill kind : {fill::uniform, fill::ties, fill::nan_and_inf}) {
        const auto s = make_scores<T>(rows * cols, kind, ++seed);
        const matrix_view<const T> scores(s.data(), rows, cols);
        const exclusion ex(rows, cols, ++seed);
        const auto score = [&](index_t r, index_t j) { return scores(r, j); };
        // Around the host spaces' scratch limit, k == cols, and more than the candidates.
        for (index_t k : {index_t{1}, index_t{13}, index_t{2047}, index_t{2049}, cols, cols + 7}) {
          CAPTURE(rows, cols, static_cast<int>(kind), k);
          const auto ref = topk(exec::reference{}, scores, k, ex.view());
          for (std::size_t limit :
               {std::size_t{0}, kokkos_backend::detail::scratch_limit_of_space}) {
            CAPTURE(limit);
            const auto got = kokkos_topk_with_limit(scores, k, &ex, limit);
            check_contract(got, rows, k, cols, &ex, score, 0.0);
            CHECK(got.indices == ref.indices);
            CHECK(std::equal(got.values.begin(), got.values.end(), ref.values.begin(),
                             ref.values.end()));
            const auto plain = kokkos_topk_with_limit(scores, k, nullptr, limit);
            CHECK(plain.indices == topk(exec::reference{}, scores, k).indices);
          }
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("topk_inner_product: kokkos, k beyond scratch, k = n, rows fully excluded",
                   "[select][backend]", float, double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  const index_t n = 3001, d = 9, m = 11;
  const auto qv = make_factors<T>(m * d, fill::ties, 31);
  const auto xv = make_factors<T>(n * d, fill::nan_and_inf, 32);
  const matrix_view<const T> q(qv.data(), m, d);
  const matrix_view<const T> x(xv.data(), n, d);
  const auto exact_scores = exact_inner_products(q, x);
  // Row 0 excludes every item, row 1 all but six (k > the candidates left), the rest at random;
  // each row's ids in decreasing order.
  exclusion ex(m, n, 33);
  {
    std::vector<index_t> offsets{0};
    std::vector<std::int32_t> ids;
    for (index_t r = 0; r < m; ++r) {
      for (index_t j = n - 1; j >= 0; --j) {
        const bool drop = r == 0 || (r == 1 ? j % 600 != 0 : ex.excludes(r, j));
        if (drop) ids.push_back(static_cast<std::int32_t>(j));
        ex.flags[static_cast<std::size_t>(r * n + j)] = drop ? 1 : 0;
      }
      offsets.push_back(static_cast<index_t>(ids.size()));
    }
    ex.offsets = offsets;
    ex.ids = ids;
  }
  for (index_t k : {index_t{10}, index_t{2048}, index_t{2900}, n, n + 5}) {
    CAPTURE(k);
    compare_fused<T>(policy, q, x, k, nullptr, true, exact_scores);
    compare_fused<T>(policy, q, x, k, &ex, true, exact_scores);  // checks the padding too
    const auto got = topk_inner_product(policy, q, x, k, ex.view());
    CHECK(got.index(0, 0) == -1);
    CHECK(got.index(1, 0) != -1);
    CHECK(got.index(1, 6) == -1);
  }
}
#endif

TEMPLATE_TEST_CASE("topk: backend rejects bad input", "[select][backend][errors]", float, double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  const std::vector<T> s(6, T(1));
  const matrix_view<const T> scores(s.data(), 2, 3);
  CHECK_THROWS_AS(topk(policy, scores, -1), value_error);
  const exclusion wrong(3, 3, 1);
  CHECK_THROWS_AS(topk(policy, scores, 1, wrong.view()), shape_error);
  CHECK_THROWS_WITH(topk_inner_product(policy, scores, matrix_view<const T>(s.data(), 3, 2), 1),
                    Catch::StartsWith("recfuse::topk_inner_product:"));
}
