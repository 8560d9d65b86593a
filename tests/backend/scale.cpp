// standard_scaler, minmax_scaler and normalize_rows on a backend against the reference, on
// random matrices of many shapes (odd widths around the batch size, narrow and wide, strided).
//
// Transforms are compared with a tolerance scaled by the size of the terms the affine map adds
// (|x * mul| + |add|), not by the result alone: (x - mean) / scale loses float digits to
// cancellation when the mean is far from zero in units of the scale, on any backend.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "backend.hpp"
#include "recfuse/scale/minmax_scaler.hpp"
#include "recfuse/scale/normalize.hpp"
#include "recfuse/scale/standard_scaler.hpp"
#include "test_support.hpp"

using namespace recfuse;

namespace {

const std::vector<index_t> scale_rows = {0, 1, 2, 17, 1000};
const std::vector<index_t> scale_cols = {1, 3, 7, 8, 15, 16, 17, 33, 100};

// A rows x cols matrix at the given row stride (padding holds a sentinel), columns centred at
// different offsets so means and ranges differ.
template <class T>
std::vector<T> random_matrix(index_t rows, index_t cols, index_t stride, std::uint64_t seed) {
  std::vector<T> m(static_cast<std::size_t>(rows * stride), T(-777));
  const auto u = test::random_vector<T>(rows * cols, seed, -2.0, 2.0);
  for (index_t i = 0; i < rows; ++i) {
    for (index_t j = 0; j < cols; ++j) {
      m[static_cast<std::size_t>(i * stride + j)] =
          u[static_cast<std::size_t>(i * cols + j)] + static_cast<T>(j % 5);
    }
  }
  return m;
}

template <class T>
void check_vectors(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (std::size_t j = 0; j < got.size(); ++j) {
    CAPTURE(j, got[j], want[j]);
    CHECK(test::close(got[j], want[j], tol));
  }
}

// got vs want over a rows x cols view at `stride`; magnitude(i, j) bounds the terms summed.
template <class T, class Magnitude>
void check_matrix_close(const std::vector<T>& got, const std::vector<T>& want, index_t rows,
                        index_t cols, index_t stride, double tol, Magnitude&& magnitude) {
  int failures = 0;
  for (index_t i = 0; i < rows && failures < 5; ++i) {
    for (index_t j = 0; j < cols; ++j) {
      const auto k = static_cast<std::size_t>(i * stride + j);
      const double a = got[k], b = want[k];
      const double scale = std::max({1.0, std::abs(a), std::abs(b), magnitude(i, j)});
      if (!(std::abs(a - b) <= tol * scale)) {
        ++failures;
        CAPTURE(i, j, a, b, magnitude(i, j));
        CHECK(std::abs(a - b) <= tol * scale);
      }
    }
  }
  CHECK(failures == 0);
}

}  // namespace

TEMPLATE_TEST_CASE("standard_scaler: backend matches reference", "[scale][backend]", float,
                   double) {
  const auto policy = test::backend_policy();
  const double tol = test::tolerance<TestType>();
  for (index_t cols : scale_cols) {
    for (index_t rows : scale_rows) {
      CAPTURE(rows, cols, test::backend_name);
      const auto x = random_matrix<TestType>(rows, cols, cols, 1000 * rows + cols);
      const matrix_view<const TestType> xv(x.data(), rows, cols);
      standard_scaler<TestType> ref, got;
      if (rows == 0) {
        CHECK_THROWS_AS(got.fit(policy, xv), value_error);
        // Transforming 0 rows works.
        const auto other = random_matrix<TestType>(3, cols, cols, 5);
        got.fit(policy, matrix_view<const TestType>(other.data(), 3, cols));
        std::vector<TestType> none;
        got.transform(policy, xv, matrix_view<TestType>(none.data(), 0, cols));
        got.inverse_transform(policy, xv, matrix_view<TestType>(none.data(), 0, cols));
        continue;
      }
      ref.fit(exec::reference{}, xv);
      got.fit(policy, xv);
      CHECK(got.samples_seen() == rows);
      check_vectors<TestType>(got.mean(), ref.mean(), tol);
      check_vectors<TestType>(got.variance(), ref.variance(), tol);
      check_vectors<TestType>(got.scale(), ref.scale(), tol);

      // The same fitted scaler applied by both backends.
      std::vector<TestType> want(x.size()), out(x.size());
      ref.transform(exec::reference{}, xv, matrix_view<TestType>(want.data(), rows, cols));
      ref.transform(policy, xv, matrix_view<TestType>(out.data(), rows, cols));
      check_matrix_close(out, want, rows, cols, cols, tol, [&](index_t i, index_t j) {
        return (std::abs(static_cast<double>(x[i * cols + j])) + std::abs(ref.mean()[j])) /
               ref.scale()[j];
      });

      std::vector<TestType> back_want(x.size()), back(x.size());
      ref.inverse_transform(exec::reference{}, matrix_view<const TestType>(want.data(), rows, cols),
                            matrix_view<TestType>(back_want.data(), rows, cols));
      ref.inverse_transform(policy, matrix_view<const TestType>(want.data(), rows, cols),
                            matrix_view<TestType>(back.data(), rows, cols));
      check_matrix_close(back, back_want, rows, cols, cols, tol, [&](index_t i, index_t j) {
        return std::abs(static_cast<double>(want[i * cols + j])) * ref.scale()[j] +
               std::abs(ref.mean()[j]);
      });
      // ... which is x again.
      check_matrix_close(back, x, rows, cols, cols, 10 * tol, [&](index_t i, index_t j) {
        return (std::abs(static_cast<double>(x[i * cols + j])) + std::abs(ref.mean()[j]));
      });

      // In place gives exactly what out of place gives.
      std::vector<TestType> in_place = x;
      ref.transform(policy, matrix_view<const TestType>(in_place.data(), rows, cols),
                    matrix_view<TestType>(in_place.data(), rows, cols));
      CHECK(in_place == out);

      // Same thread count, same data: the same bits.
      standard_scaler<TestType> again;
      again.fit(policy, xv);
      CHECK(again.mean() == got.mean());
      CHECK(again.variance() == got.variance());
    }
  }
}

TEMPLATE_TEST_CASE("standard_scaler: with_mean / with_std off on the backend", "[scale][backend]",
                   float, double) {
  const auto policy = test::backend_policy();
  const index_t rows = 100, cols = 13;
  const auto x = random_matrix<TestType>(rows, cols, cols, 77);
  const matrix_view<const TestType> xv(x.data(), rows, cols);
  for (const auto& [with_mean, with_std] :
       {std::pair{false, true}, std::pair{true, false}, std::pair{false, false}}) {
    CAPTURE(with_mean, with_std);
    standard_scaler<TestType> s(with_mean, with_std);
    s.fit(exec::reference{}, xv);
    std::vector<TestType> want(x.size()), out(x.size());
    s.transform(exec::reference{}, xv, matrix_view<TestType>(want.data(), rows, cols));
    s.transform(policy, xv, matrix_view<TestType>(out.data(), rows, cols));
    check_matrix_close(
        out, want, rows, cols, cols, test::tolerance<TestType>(), [&](index_t i, index_t j) {
          return (std::abs(static_cast<double>(x[i * cols + j])) + std::abs(s.mean()[j])) /
                 s.scale()[j];
        });
    if (!with_mean && !with_std) CHECK(out == x);
  }
}

TEMPLATE_TEST_CASE("standard_scaler: partial_fit in batches on the backend", "[scale][backend]",
                   float, double) {
  const auto policy = test::backend_policy();
  const double tol = test::tolerance<TestType>();
  for (index_t cols : {index_t{1}, index_t{7}, index_t{33}}) {
    const index_t rows = 2000;
    CAPTURE(cols);
    const auto x = random_matrix<TestType>(rows, cols, cols, 31 + cols);
    standard_scaler<TestType> whole, streamed;
    whole.fit(exec::reference{}, matrix_view<const TestType>(x.data(), rows, cols));
    std::mt19937_64 rng(cols);
    std::uniform_int_distribution<index_t> size(1, 300);
    for (index_t begin = 0; begin < rows;) {
      const index_t n = std::min(rows - begin, size(rng));
      streamed.partial_fit(policy, matrix_view<const TestType>(x.data() + begin * cols, n, cols));
      begin += n;
    }
    CHECK(streamed.samples_seen() == rows);
    check_vectors<TestType>(streamed.mean(), whole.mean(), tol);
    check_vectors<TestType>(streamed.variance(), whole.variance(), tol);
  }
}

TEMPLATE_TEST_CASE("minmax_scaler: backend matches reference", "[scale][backend]", float, double) {
  const auto policy = test::backend_policy();
  const double tol = test::tolerance<TestType>();
  for (index_t cols : scale_cols) {
    for (index_t rows : scale_rows) {
      CAPTURE(rows, cols, test::backend_name);
      const auto x = random_matrix<TestType>(rows, cols, cols, 7000 * rows + cols);
      const matrix_view<const TestType> xv(x.data(), rows, cols);
      minmax_scaler<TestType> ref(-1.0, 2.0), got(-1.0, 2.0);
      if (rows == 0) {
        CHECK_THROWS_AS(got.fit(policy, xv), value_error);
        continue;
      }
      ref.fit(exec::reference{}, xv);
      got.fit(policy, xv);
      CHECK(got.data_min() == ref.data_min());  // min and max are exact
      CHECK(got.data_max() == ref.data_max());

      std::vector<TestType> want(x.size()), out(x.size());
      ref.transform(exec::reference{}, xv, matrix_view<TestType>(want.data(), rows, cols));
      ref.transform(policy, xv, matrix_view<TestType>(out.data(), rows, cols));
      check_matrix_close(out, want, rows, cols, cols, tol, [&](index_t i, index_t j) {
        return std::abs(static_cast<double>(x[i * cols + j])) * ref.scale()[j] +
               std::abs(ref.offset()[j]);
      });
      std::vector<TestType> back_want(x.size()), back(x.size());
      ref.inverse_transform(exec::reference{}, matrix_view<const TestType>(want.data(), rows, cols),
                            matrix_view<TestType>(back_want.data(), rows, cols));
      ref.inverse_transform(policy, matrix_view<const TestType>(want.data(), rows, cols),
                            matrix_view<TestType>(back.data(), rows, cols));
      check_matrix_close(back, back_want, rows, cols, cols, tol, [&](index_t i, index_t j) {
        return (std::abs(static_cast<double>(want[i * cols + j])) + std::abs(ref.offset()[j])) /
               ref.scale()[j];
      });
      std::vector<TestType> in_place = x;
      ref.transform(policy, matrix_view<const TestType>(in_place.data(), rows, cols),
                    matrix_view<TestType>(in_place.data(), rows, cols));
      CHECK(in_place == out);

      // Two batches give the min / max of all.
      minmax_scaler<TestType> streamed;
      const index_t half = (rows + 1) / 2;  // the second batch of 1 row is empty: a no-op
      streamed.partial_fit(policy, matrix_view<const TestType>(x.data(), half, cols));
      streamed.partial_fit(policy,
                           matrix_view<const TestType>(x.data() + half * cols, rows - half, cols));
      CHECK(streamed.samples_seen() == rows);
      CHECK(streamed.data_min() == ref.data_min());
      CHECK(streamed.data_max() == ref.data_max());
    }
  }
}

TEMPLATE_TEST_CASE("normalize_rows: backend matches reference", "[scale][backend]", float, double) {
  const auto policy = test::backend_policy();
  const double tol = test::tolerance<TestType>();
  for (index_t cols : scale_cols) {
    for (index_t rows : scale_rows) {
      CAPTURE(rows, cols, test::backend_name);
      auto x = random_matrix<TestType>(rows, cols, cols, 300 * rows + cols);
      if (rows > 1) std::fill(x.begin() + cols, x.begin() + 2 * cols, TestType(0));  // a zero row
      const matrix_view<const TestType> xv(x.data(), rows, cols);
      std::vector<TestType> want(x.size()), out(x.size(), TestType(5));
      normalize_rows(exec::reference{}, xv, matrix_view<TestType>(want.data(), rows, cols));
      normalize_rows(policy, xv, matrix_view<TestType>(out.data(), rows, cols));
      check_matrix_close(out, want, rows, cols, cols, tol, [](index_t, index_t) { return 0.0; });
      if (rows > 1)
        CHECK(std::all_of(out.begin() + cols, out.begin() + 2 * cols,
                          [](TestType v) { return v == 0; }));
      std::vector<TestType> in_place = x;
      normalize_rows(policy, matrix_view<const TestType>(in_place.data(), rows, cols),
                     matrix_view<TestType>(in_place.data(), rows, cols));
      CHECK(in_place == out);
    }
  }
}

TEMPLATE_TEST_CASE("normalize_rows: extreme rows on the backend", "[scale][backend]", float,
                   double) {
  const auto policy = test::backend_policy();
  const auto nan = std::numeric_limits<TestType>::quiet_NaN();
  const auto inf = std::numeric_limits<TestType>::infinity();
  const TestType big = std::is_same_v<TestType, float> ? TestType(1e30) : TestType(1e200);
  const TestType small = std::is_same_v<TestType, float> ? TestType(0x1p-147) : TestType(0x1p-1070);
  const TestType tiny = std::is_same_v<TestType, float> ? TestType(1e-25) : TestType(1e-200);
  const index_t cols = 19;  // two full batches and a tail on AVX2 floats
  std::vector<TestType> x(static_cast<std::size_t>(6 * cols), TestType(0));
  auto row = [&](index_t i) { return x.begin() + i * cols; };
  std::fill(row(0), row(1), big);    // squares overflow T
  std::fill(row(1), row(2), small);  // squares underflow to zero
  std::fill(row(2), row(3), tiny);   // squares are subnormal
  x[3 * cols + 4] = nan;             // NaN: the row becomes NaN
  x[4 * cols + 17] = inf;            // infinity: NaN there, 0 elsewhere
  x[5 * cols + 18] = TestType(-2);   // one non-zero in the tail
  const matrix_view<const TestType> xv(x.data(), 6, cols);
  std::vector<TestType> want(x.size()), out(x.size());
  normalize_rows(exec::reference{}, xv, matrix_view<TestType>(want.data(), 6, cols));
  normalize_rows(policy, xv, matrix_view<TestType>(out.data(), 6, cols));
  for (std::size_t k = 0; k < x.size(); ++k) {
    CAPTURE(k / cols, k % cols, out[k], want[k]);
    if (std::isnan(want[k])) {
      CHECK(std::isnan(out[k]));
    } else {
      CHECK(test::close(out[k], want[k], test::tolerance<TestType>()));
    }
  }
  CHECK(want[0] == Approx(1 / std::sqrt(19.0)));
  CHECK(want[cols] == Approx(1 / std::sqrt(19.0)));
  CHECK(want[2 * cols] == Approx(1 / std::sqrt(19.0)));
  CHECK(std::isnan(want[3 * cols]));
  CHECK(std::isnan(want[4 * cols + 17]));
  CHECK(want[4 * cols] == 0);
  CHECK(want[5 * cols + 18] == -1);
}

TEMPLATE_TEST_CASE("scale: strided views on the backend", "[scale][backend]", float, double) {
  const auto policy = test::backend_policy();
  const double tol = test::tolerance<TestType>();
  // Narrow, around the batch width, and wide enough for several column blocks.
  for (const auto& [rows, cols, stride] : {std::tuple<index_t, index_t, index_t>{1000, 3, 5},
                                           {1000, 17, 21},
                                           {3000, 40, 41},
                                           {70, 2500, 2503}}) {
    CAPTURE(rows, cols, stride);
    const auto x = random_matrix<TestType>(rows, cols, stride, rows + cols);
    const matrix_view<const TestType> xv(x.data(), rows, cols, stride);

    standard_scaler<TestType> ref, got;
    ref.fit(exec::reference{}, xv);
    got.fit(policy, xv);
    check_vectors<TestType>(got.mean(), ref.mean(), tol);
    check_vectors<TestType>(got.variance(), ref.variance(), tol);
    minmax_scaler<TestType> ref_mm, got_mm;
    ref_mm.fit(exec::reference{}, xv);
    got_mm.fit(policy, xv);
    CHECK(got_mm.data_min() == ref_mm.data_min());
    CHECK(got_mm.data_max() == ref_mm.data_max());

    // Strided in, strided out: the padding of out is left alone.
    std::vector<TestType> want(x.size(), TestType(-1)), out(x.size(), TestType(-1));
    ref.transform(exec::reference{}, xv, matrix_view<TestType>(want.data(), rows, cols, stride));
    ref.transform(policy, xv, matrix_view<TestType>(out.data(), rows, cols, stride));
    check_matrix_close(out, want, rows, cols, stride, tol, [&](index_t i, index_t j) {
      return (std::abs(static_cast<double>(x[i * stride + j])) + std::abs(ref.mean()[j])) /
             ref.scale()[j];
    });
    bool padding_kept = true;
    for (index_t i = 0; i < rows; ++i) {
      for (index_t j = cols; j < stride; ++j)
        padding_kept = padding_kept && out[i * stride + j] == TestType(-1);
    }
    CHECK(padding_kept);

    // Strided in, contiguous out.
    std::vector<TestType> dense(static_cast<std::size_t>(rows * cols));
    ref.transform(policy, xv, matrix_view<TestType>(dense.data(), rows, cols));
    bool same = true;
    for (index_t i = 0; i < rows; ++i) {
      for (index_t j = 0; j < cols; ++j) same = same && dense[i * cols + j] == out[i * stride + j];
    }
    CHECK(same);

    std::vector<TestType> n_want(x.size()), n_out(x.size());
    normalize_rows(exec::reference{}, xv, matrix_view<TestType>(n_want.data(), rows, cols, stride));
    normalize_rows(policy, xv, matrix_view<TestType>(n_out.data(), rows, cols, stride));
    check_matrix_close(n_out, n_want, rows, cols, stride, tol,
                       [](index_t, index_t) { return 0.0; });
  }
}

TEMPLATE_TEST_CASE("scale: large contiguous inputs split across threads", "[scale][backend]", float,
                   double) {
  const auto policy = test::backend_policy();
  const double tol = test::tolerance<TestType>();
  // Several chunks, pass rows of several matrix rows with leftovers; a width whose period is too
  // long for pass rows; far-from-zero data (mean 1e4, std ~1).
  for (const auto& [rows, cols] :
       {std::pair<index_t, index_t>{3001, 33}, {100001, 1}, {401, 1021}}) {
    CAPTURE(rows, cols);
    auto x = random_matrix<TestType>(rows, cols, cols, rows * cols);
    for (auto& v : x) v += TestType(1e4);
    const matrix_view<const TestType> xv(x.data(), rows, cols);
    standard_scaler<TestType> ref, got;
    ref.fit(exec::reference{}, xv);
    got.fit(policy, xv);
    check_vectors<TestType>(got.mean(), ref.mean(), tol);
    check_vectors<TestType>(got.variance(), ref.variance(), 10 * tol);
    minmax_scaler<TestType> ref_mm, got_mm;
    ref_mm.fit(exec::reference{}, xv);
    got_mm.fit(policy, xv);
    CHECK(got_mm.data_min() == ref_mm.data_min());
    CHECK(got_mm.data_max() == ref_mm.data_max());
    std::vector<TestType> want(x.size()), out(x.size());
    ref.transform(exec::reference{}, xv, matrix_view<TestType>(want.data(), rows, cols));
    ref.transform(policy, xv, matrix_view<TestType>(out.data(), rows, cols));
    check_matrix_close(out, want, rows, cols, cols, tol, [&](index_t i, index_t j) {
      return (std::abs(static_cast<double>(x[i * cols + j])) + std::abs(ref.mean()[j])) /
             ref.scale()[j];
    });
  }
}

TEMPLATE_TEST_CASE("scale: float-overflowing but finite data fits on the backend",
                   "[scale][backend]", float, double) {
  // Squares of 1e20 overflow float; the statistics are kept in double and must come out finite.
  const auto policy = test::backend_policy();
  const index_t rows = 500, cols = 9;
  auto x = random_matrix<TestType>(rows, cols, cols, 99);
  for (auto& v : x) v *= TestType(1e20);
  const matrix_view<const TestType> xv(x.data(), rows, cols);
  standard_scaler<TestType> ref, got;
  ref.fit(exec::reference{}, xv);
  got.fit(policy, xv);
  for (index_t j = 0; j < cols; ++j) {
    CAPTURE(j);
    CHECK(std::isfinite(got.variance()[j]));
    CHECK(got.mean()[j] == Approx(ref.mean()[j])
                               .epsilon(test::tolerance<TestType>())
                               .margin(1e20 * test::tolerance<TestType>()));
    CHECK(got.variance()[j] == Approx(ref.variance()[j]).epsilon(test::tolerance<TestType>()));
  }
}

TEMPLATE_TEST_CASE("scale: the backend rejects NaN and infinity in fit like the reference",
                   "[scale][backend]", float, double) {
  const auto policy = test::backend_policy();
  const index_t rows = 1000, cols = 17;
  const auto clean = random_matrix<TestType>(rows, cols, cols, 3);
  for (const auto& [i, j] :
       {std::pair<index_t, index_t>{0, 0}, {0, 16}, {3, 1}, {517, 8}, {999, 16}, {999, 0}}) {
    for (const TestType bad :
         {std::numeric_limits<TestType>::quiet_NaN(), std::numeric_limits<TestType>::infinity(),
          -std::numeric_limits<TestType>::infinity()}) {
      CAPTURE(i, j, bad);
      auto x = clean;
      x[static_cast<std::size_t>(i * cols + j)] = bad;
      const matrix_view<const TestType> xv(x.data(), rows, cols);
      const std::string where = "x[" + std::to_string(i) + "][" + std::to_string(j) + "] is ";
      standard_scaler<TestType> s;
      CHECK_THROWS_WITH(s.fit(policy, xv),
                        Catch::StartsWith("recfuse::standard_scaler::fit: " + where));
      CHECK(s.samples_seen() == 0);
      minmax_scaler<TestType> m;
      CHECK_THROWS_WITH(m.fit(policy, xv),
                        Catch::StartsWith("recfuse::minmax_scaler::fit: " + where));
      m.fit(policy, matrix_view<const TestType>(clean.data(), rows, cols));
      CHECK_THROWS_WITH(m.partial_fit(policy, xv),
                        Catch::StartsWith("recfuse::minmax_scaler::partial_fit: " + where));
      CHECK(m.samples_seen() == rows);
    }
  }
}

namespace {

// The policies a fit is checked under: 1, 2 and 3 threads where the backend takes a thread count
// (the xsimd policy), otherwise the backend's own policy.
template <class P>
std::vector<P> thread_counts(const P& policy) {
  if constexpr (requires(P p) { p.threads = 1; }) {
    std::vector<P> all(3, policy);
    for (int t = 0; t < 3; ++t) all[static_cast<std::size_t>(t)].threads = t + 1;
    return all;
  } else {
    return {policy};
  }
}

// rows x cols of N(0, 1) samples (column j centred at j - 3) at row stride `stride`.
template <class T>
std::vector<T> normal_matrix(index_t rows, index_t cols, index_t stride, std::uint64_t seed) {
  std::vector<T> m(static_cast<std::size_t>(rows * stride), T(-777));
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> dist(0.0, 1.0);
  for (index_t i = 0; i < rows; ++i) {
    for (index_t j = 0; j < cols; ++j)
      m[static_cast<std::size_t>(i * stride + j)] = static_cast<T>(dist(rng) + double(j - 3));
  }
  return m;
}

// Fits x on every thread count of the backend and compares mean and variance with the
// reference's to test::tolerance<T>() relative (1e-5 float, 1e-12 double).
template <class T>
void check_fit_against_reference(const matrix_view<const T>& xv) {
  standard_scaler<T> ref;
  ref.fit(exec::reference{}, xv);
  const double tol = test::tolerance<T>();
  for (const auto& policy : thread_counts(test::backend_policy())) {
    int threads = 0;  // 0: the backend's own policy
#if defined(RECFUSE_TEST_BACKEND_XSIMD)
    // Only the xsimd policy has a thread count (a requires-expression on a non-dependent type
    // would be a hard error on the other backends).
    threads = policy.threads;
#endif
    CAPTURE(threads);
    standard_scaler<T> got;
    got.fit(policy, xv);
    check_vectors<T>(got.mean(), ref.mean(), tol);
    check_vectors<T>(got.variance(), ref.variance(), tol);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("standard_scaler: an outlier in the first row on the backend",
                   "[scale][backend]", float, double) {
  // A first row far out in units of the columns' spread must not cost accuracy on long inputs
  // (a kernel that shifts by the first row and subtracts (sum d)^2 / n loses digits with n).
  const index_t rows = 200000;
  for (const auto& [cols, stride] :
       {std::pair<index_t, index_t>{8, 8}, std::pair<index_t, index_t>{5, 7}}) {
    auto x = normal_matrix<TestType>(rows, cols, stride, 11 + cols);
    for (const double outlier : {1e5, 1e3}) {
      CAPTURE(outlier, cols, stride);
      for (index_t j = 0; j < cols; ++j) {  // column 1 keeps its normal first row
        if (j != 1)
          x[static_cast<std::size_t>(j)] = static_cast<TestType>(j % 2 ? -outlier : outlier);
      }
      check_fit_against_reference(matrix_view<const TestType>(x.data(), rows, cols, stride));
    }
  }
}

TEMPLATE_TEST_CASE("standard_scaler: outliers where the chunks of rows begin on the backend",
                   "[scale][backend]", float, double) {
  // The xsimd backend splits the rows into one contiguous chunk per thread, each with statistics
  // of its own: chunk c of t begins at row rows * c / t for a strided matrix (one matrix row per
  // pass row) and at the same rows for a contiguous one here (8 columns: pass rows of 128 matrix
  // rows on every batch size, and rows is a multiple of 128 * 6). An outlier row sits exactly
  // where the chunks of 2 (then 3) threads begin; on other backends they are just outliers.
  // Fits run on 1, 2 and 3 threads.
  const index_t rows = 128 * 6 * 250, cols = 8;
  for (const index_t stride : {cols, cols + 1}) {
    auto x = normal_matrix<TestType>(rows, cols, stride, 23 + stride);
    for (const int parts : {2, 3}) {
      for (const double outlier : {1e5, 1e3}) {
        CAPTURE(parts, outlier, stride);
        auto y = x;
        for (int c = 1; c < parts; ++c) {
          const index_t begin = rows * c / parts;
          for (index_t j = 0; j < cols; ++j)
            y[static_cast<std::size_t>(begin * stride + j)] =
                static_cast<TestType>(j % 2 ? -outlier : outlier);
        }
        check_fit_against_reference(matrix_view<const TestType>(y.data(), rows, cols, stride));
      }
    }
  }
}

TEMPLATE_TEST_CASE("scale: a band of huge rows in long data fits on the backend",
                   "[scale][backend]", float, double) {
  // Rows 9000-9099 at 1e19 * (1 + j) (float: in column 0 each square is finite but a block's sum
  // of 64 of them overflows float, from column 1 on the squares overflow too; the backend must
  // redo the chunk in double) or 1e150 * (1 + j) (double), the rest N(0, 1); contiguous (pass rows
  // of 200 matrix rows) and strided (one row per pass row: a block of 64 big rows).
  const index_t rows = 20000, cols = 5;
  const double big = std::is_same_v<TestType, float> ? 1e19 : 1e150;
  for (const index_t stride : {cols, cols + 1}) {
    CAPTURE(stride);
    auto x = normal_matrix<TestType>(rows, cols, stride, 3);
    for (index_t i = 9000; i < 9100; ++i) {
      for (index_t j = 0; j < cols; ++j)
        x[static_cast<std::size_t>(i * stride + j)] += static_cast<TestType>(big * double(1 + j));
    }
    const matrix_view<const TestType> xv(x.data(), rows, cols, stride);
    check_fit_against_reference(xv);
    standard_scaler<TestType> got;
    got.fit(test::backend_policy(), xv);
    for (index_t j = 0; j < cols; ++j) CHECK(std::isfinite(got.variance()[j]));
  }
}

#if defined(RECFUSE_TEST_BACKEND_KOKKOS)
// What the Kokkos kernels' headers promise beyond the shared tolerances. The fit is a
// parallel_reduce over blocks of 64 or more rows joined by Chan's merge: one block gives the
// reference's bits; with more, the merge order follows the thread count (Serial and one OpenMP
// thread merge in row order, two threads join their halves), which changes only the rounding of
// the merges in double: a few double epsilons relative, far below test::tolerance<float>(), so
// 1e-13 here for both types. The transform, normalize_rows (the reference's own row routine, one
// row per work item) and the min-max fit are independent of the thread count and exact.
TEMPLATE_TEST_CASE("scale: Kokkos fits and transforms against the reference's bits",
                   "[scale][backend][kokkos]", float, double) {
  const auto policy = test::backend_policy();
  for (const auto& [rows, cols, stride] : {std::tuple<index_t, index_t, index_t>{1, 1, 1},
                                           {17, 7, 9},
                                           {64, 300, 300},
                                           {65, 5, 5},
                                           {1000, 33, 33},
                                           {5001, 257, 260},
                                           {130, 4100, 4103}}) {
    CAPTURE(rows, cols, stride);
    auto x = random_matrix<TestType>(rows, cols, stride, 41 * rows + cols);
    for (auto& v : x) v += TestType(100);  // far from zero: the merges' rounding shows
    const matrix_view<const TestType> xv(x.data(), rows, cols, stride);
    standard_scaler<TestType> ref, got;
    ref.fit(exec::reference{}, xv);
    got.fit(policy, xv);
    if (rows <= 64) {  // one block
      CHECK(got.mean() == ref.mean());
      CHECK(got.variance() == ref.variance());
    } else {
      check_vectors<TestType>(got.mean(), ref.mean(), 1e-13);
      check_vectors<TestType>(got.variance(), ref.variance(), 1e-13);
    }
#if defined(KOKKOS_ENABLE_SERIAL)
    // Serial merges the blocks in row order, as one thread does.
    standard_scaler<TestType> serial;
    serial.fit(exec::kokkos<Kokkos::Serial>{}, xv);
    check_vectors<TestType>(got.mean(), serial.mean(), 1e-13);
    check_vectors<TestType>(got.variance(), serial.variance(), 1e-13);
#endif
    minmax_scaler<TestType> ref_mm, got_mm;
    ref_mm.fit(exec::reference{}, xv);
    got_mm.fit(policy, xv);
    CHECK(got_mm.data_min() == ref_mm.data_min());
    CHECK(got_mm.data_max() == ref_mm.data_max());

    std::vector<TestType> want(x.size(), TestType(-1)), out(x.size(), TestType(-1));
    ref.transform(exec::reference{}, xv, matrix_view<TestType>(want.data(), rows, cols, stride));
    ref.transform(policy, xv, matrix_view<TestType>(out.data(), rows, cols, stride));
    CHECK(out == want);  // padding included: left alone by both
    std::vector<TestType> n_want(x.size(), TestType(-1)), n_out(x.size(), TestType(-1));
    normalize_rows(exec::reference{}, xv, matrix_view<TestType>(n_want.data(), rows, cols, stride));
    normalize_rows(policy, xv, matrix_view<TestType>(n_out.data(), rows, cols, stride));
    CHECK(n_out == n_want);
  }
}

TEMPLATE_TEST_CASE("scale: Kokkos min-max fit keeps the reference's NaN rule in every block",
                   "[scale][backend][kokkos]", float, double) {
  // A non-finite value in any block (first, middle, last row; first, middle, last tile of
  // columns) makes that column's minimum NaN after the join, whichever thread saw it.
  const auto policy = test::backend_policy();
  const index_t rows = 3000, cols = 600;
  const auto clean = random_matrix<TestType>(rows, cols, cols, 8);
  const auto inf = std::numeric_limits<TestType>::infinity();
  for (const auto& [i, j] :
       {std::pair<index_t, index_t>{0, 0}, {1500, 300}, {2999, 599}, {63, 255}, {64, 256}}) {
    CAPTURE(i, j);
    auto x = clean;
    x[static_cast<std::size_t>(i * cols + j)] = inf;
    std::vector<double> lo(static_cast<std::size_t>(cols)), hi(lo.size()), want_lo(lo.size()),
        want_hi(lo.size());
    const matrix_view<const TestType> xv(x.data(), rows, cols);
    minmax_scaler_fit_kernel(policy, xv, vector_view<double>(lo.data(), cols),
                             vector_view<double>(hi.data(), cols));
    minmax_scaler_fit_kernel(exec::reference{}, xv, vector_view<double>(want_lo.data(), cols),
                             vector_view<double>(want_hi.data(), cols));
    for (index_t c = 0; c < cols; ++c) {
      CAPTURE(c);
      const auto k = static_cast<std::size_t>(c);
      if (c == j) {
        CHECK(std::isnan(lo[k]));
        CHECK(std::isnan(want_lo[k]));
      } else {
        CHECK(lo[k] == want_lo[k]);
        CHECK(hi[k] == want_hi[k]);
      }
    }
  }
}
#endif
