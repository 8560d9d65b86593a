// standard_scaler, minmax_scaler and normalize_rows on the reference against hand-computed
// values, the Chan merge of partial_fit, and every error the scale API raises.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "recfuse/scale/minmax_scaler.hpp"
#include "recfuse/scale/normalize.hpp"
#include "recfuse/scale/standard_scaler.hpp"

using namespace recfuse;

// Every public class template, instantiated in full for both element types.
template class recfuse::standard_scaler<float>;
template class recfuse::standard_scaler<double>;
template class recfuse::minmax_scaler<float>;
template class recfuse::minmax_scaler<double>;

namespace {

constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();
constexpr double inf_v = std::numeric_limits<double>::infinity();

template <class T>
matrix_view<T> view(std::vector<T>& v, index_t rows, index_t cols) {
  return {v.data(), rows, cols};
}
template <class T>
matrix_view<const T> view(const std::vector<T>& v, index_t rows, index_t cols) {
  return {v.data(), rows, cols};
}

template <class T>
void check_values(const std::vector<T>& got, const std::vector<double>& want, double eps) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(static_cast<double>(got[i]) == Approx(want[i]).epsilon(eps).margin(eps));
  }
}

// A policy without kernels of its own: every call falls back to the reference.
struct plain_policy : reference_backend::policy {};

}  // namespace

// x: col 0 = 1 3 5 7 (mean 4, var 5), col 1 = 2 2 6 6 (mean 4, var 4), col 2 = 7 (constant).
TEMPLATE_TEST_CASE("standard_scaler: hand-computed", "[scale][reference]", float, double) {
  const double eps = std::is_same_v<TestType, float> ? 1e-6 : 1e-14;
  const std::vector<TestType> x{1, 2, 7, 3, 2, 7, 5, 6, 7, 7, 6, 7};
  const double a = 3 / std::sqrt(5.0), b = 1 / std::sqrt(5.0);
  std::vector<TestType> out(x.size());

  standard_scaler<TestType> s;
  CHECK(s.features() == 0);
  CHECK(s.samples_seen() == 0);
  s.fit(exec::reference{}, view(x, 4, 3));
  CHECK(s.features() == 3);
  CHECK(s.samples_seen() == 4);
  check_values(s.mean(), {4, 4, 7}, 1e-15);
  check_values(s.variance(), {5, 4, 0}, 1e-15);
  check_values(s.scale(), {std::sqrt(5.0), 2, 1}, 1e-15);  // zero variance: scale 1

  s.transform(exec::reference{}, view(x, 4, 3), view(out, 4, 3));
  check_values(out, {-a, -1, 0, -b, -1, 0, b, 1, 0, a, 1, 0}, eps);

  std::vector<TestType> back(x.size());
  s.inverse_transform(exec::reference{}, view(out, 4, 3), view(back, 4, 3));
  check_values(back, {1, 2, 7, 3, 2, 7, 5, 6, 7, 7, 6, 7}, eps);

  // In place, through an rvalue view.
  std::vector<TestType> y = x;
  s.transform(exec::reference{}, view(y, 4, 3), view(y, 4, 3));
  check_values(y, {-a, -1, 0, -b, -1, 0, b, 1, 0, a, 1, 0}, eps);

  SECTION("with_mean = false divides only") {
    standard_scaler<TestType> t(false, true);
    t.fit(exec::reference{}, view(x, 4, 3));
    check_values(t.mean(), {4, 4, 7}, 1e-15);  // still computed
    t.transform(exec::reference{}, view(x, 4, 3), view(out, 4, 3));
    check_values(out, {1 * b, 1, 7, 3 * b, 1, 7, 5 * b, 3, 7, 7 * b, 3, 7}, eps);
    t.inverse_transform(exec::reference{}, view(out, 4, 3), view(back, 4, 3));
    check_values(back, {1, 2, 7, 3, 2, 7, 5, 6, 7, 7, 6, 7}, eps);
  }
  SECTION("with_std = false centres only") {
    standard_scaler<TestType> t(true, false);
    t.fit(exec::reference{}, view(x, 4, 3));
    check_values(t.variance(), {5, 4, 0}, 1e-15);
    t.transform(exec::reference{}, view(x, 4, 3), view(out, 4, 3));
    check_values(out, {-3, -2, 0, -1, -2, 0, 1, 2, 0, 3, 2, 0}, eps);
  }
  SECTION("both off is the identity") {
    standard_scaler<TestType> t(false, false);
    t.fit(exec::reference{}, view(x, 4, 3));
    t.transform(exec::reference{}, view(x, 4, 3), view(out, 4, 3));
    check_values(out, {1, 2, 7, 3, 2, 7, 5, 6, 7, 7, 6, 7}, 0.0);
  }
  SECTION("a policy without kernels falls back to the reference, bit for bit") {
    std::vector<TestType> fallback(x.size());
    standard_scaler<TestType> t;
    t.fit(plain_policy{}, view(x, 4, 3));
    CHECK(t.mean() == s.mean());
    CHECK(t.variance() == s.variance());
    t.transform(plain_policy{}, view(x, 4, 3), view(fallback, 4, 3));
    s.transform(exec::reference{}, view(x, 4, 3), view(out, 4, 3));
    CHECK(fallback == out);
  }
}

TEST_CASE("standard_scaler: one row, and a single column", "[scale][reference]") {
  const std::vector<double> one{2.5, -1.0};
  standard_scaler<double> s;
  s.fit(exec::reference{}, view(one, 1, 2));
  check_values(s.variance(), {0, 0}, 0.0);
  check_values(s.scale(), {1, 1}, 0.0);
  std::vector<double> out(2);
  s.transform(exec::reference{}, view(one, 1, 2), view(out, 1, 2));
  check_values(out, {0, 0}, 0.0);

  const std::vector<double> col{1, 2, 3, 4};  // mean 2.5, var 1.25
  s.fit(exec::reference{}, view(col, 4, 1));
  check_values(s.mean(), {2.5}, 1e-15);
  check_values(s.variance(), {1.25}, 1e-15);
}

TEMPLATE_TEST_CASE("standard_scaler: a far-out first row costs the reference no digits",
                   "[scale][reference]", float, double) {
  // 1e8, then 2^19 copies of v = T(0.1): mean (1e8 + 2^19 v) / (2^19 + 1), and m2 = (1e8 - v)^2
  // * 2^19 / (2^19 + 1) (one point against the others). Summing x - 1e8 rounds at every step
  // (the running sum passes 5e13); the sum of the deviations from that first mean repairs it.
  const index_t n = (index_t{1} << 19) + 1;
  std::vector<TestType> x(static_cast<std::size_t>(n), TestType(0.1));
  x[0] = TestType(1e8);
  const double v = static_cast<double>(TestType(0.1)), big = static_cast<double>(TestType(1e8));
  const double m = static_cast<double>(n), others = m - 1;
  standard_scaler<TestType> s;
  s.fit(exec::reference{}, view(x, n, 1));
  CHECK(s.mean()[0] == Approx((big + others * v) / m).epsilon(1e-10));
  CHECK(s.variance()[0] == Approx((big - v) * (big - v) * others / m / m).epsilon(1e-11));
}

TEST_CASE("standard_scaler: partial_fit merges batches the Chan way", "[scale][reference]") {
  // Batches (1 2 7; 3 2 7) and (5 6 7; 7 6 7): means (2 2 7), (6 6 7); m2 (2 0 0) each.
  // delta = 4: mean = 2 + 4 * 2/4 = 4; m2 = 2 + 2 + 16 * 2 * 2 / 4 = 20 -> var 5 (col 0),
  // m2 = 0 + 0 + 16 = 16 -> var 4 (col 1).
  const std::vector<double> first{1, 2, 7, 3, 2, 7};
  const std::vector<double> second{5, 6, 7, 7, 6, 7};
  standard_scaler<double> s;
  s.partial_fit(exec::reference{}, view(first, 2, 3));
  check_values(s.mean(), {2, 2, 7}, 1e-15);
  check_values(s.variance(), {1, 0, 0}, 1e-15);
  s.partial_fit(exec::reference{}, view(second, 2, 3));
  CHECK(s.samples_seen() == 4);
  check_values(s.mean(), {4, 4, 7}, 1e-15);
  check_values(s.variance(), {5, 4, 0}, 1e-15);

  // A 0-row batch after a fit changes nothing.
  s.partial_fit(exec::reference{}, matrix_view<const double>(nullptr, 0, 3));
  CHECK(s.samples_seen() == 4);
  check_values(s.variance(), {5, 4, 0}, 1e-15);

  // fit forgets what partial_fit saw.
  s.fit(exec::reference{}, view(second, 2, 3));
  CHECK(s.samples_seen() == 2);
  check_values(s.mean(), {6, 6, 7}, 1e-15);
}

TEST_CASE("standard_scaler: batches of random sizes equal one fit", "[scale][reference]") {
  // Far from zero and narrow (mean 1e6, std ~1): naive sum-of-squares would lose every digit.
  const index_t rows = 1000, cols = 5;
  std::mt19937_64 rng(42);
  std::normal_distribution<double> dist(0.0, 1.0);
  std::vector<double> x(static_cast<std::size_t>(rows * cols));
  for (index_t i = 0; i < rows; ++i) {
    for (index_t j = 0; j < cols; ++j)
      x[static_cast<std::size_t>(i * cols + j)] = 1e6 * j + (j + 1) * dist(rng);
  }
  standard_scaler<double> whole;
  whole.fit(exec::reference{}, view(x, rows, cols));
  standard_scaler<double> streamed;
  std::uniform_int_distribution<index_t> size(1, 97);
  for (index_t begin = 0; begin < rows;) {
    const index_t n = std::min(rows - begin, size(rng));
    streamed.partial_fit(exec::reference{},
                         matrix_view<const double>(x.data() + begin * cols, n, cols));
    begin += n;
  }
  CHECK(streamed.samples_seen() == rows);
  for (index_t j = 0; j < cols; ++j) {
    CAPTURE(j);
    CHECK(streamed.mean()[j] == Approx(whole.mean()[j]).epsilon(1e-14).margin(1e-13));
    CHECK(streamed.variance()[j] == Approx(whole.variance()[j]).epsilon(1e-11));
    CHECK(whole.variance()[j] == Approx((j + 1.0) * (j + 1.0)).epsilon(0.15));  // the data's own
  }
}

TEMPLATE_TEST_CASE("minmax_scaler: hand-computed", "[scale][reference]", float, double) {
  const double eps = std::is_same_v<TestType, float> ? 1e-6 : 1e-14;
  // col 0 in [1, 5], col 1 in [-2, 2], col 2 constant 3.
  const std::vector<TestType> x{1, -2, 3, 5, 2, 3, 3, 0, 3};
  std::vector<TestType> out(x.size()), back(x.size());

  minmax_scaler<TestType> s;
  s.fit(exec::reference{}, view(x, 3, 3));
  CHECK(s.features() == 3);
  CHECK(s.samples_seen() == 3);
  check_values(s.data_min(), {1, -2, 3}, 0.0);
  check_values(s.data_max(), {5, 2, 3}, 0.0);
  check_values(s.data_range(), {4, 4, 0}, 0.0);
  check_values(s.scale(), {0.25, 0.25, 1}, 0.0);  // constant column: range taken as 1
  check_values(s.offset(), {-0.25, 0.5, -3}, 0.0);
  s.transform(exec::reference{}, view(x, 3, 3), view(out, 3, 3));
  check_values(out, {0, 0, 0, 1, 1, 0, 0.5, 0.5, 0}, eps);  // the constant column maps to lo

  minmax_scaler<TestType> r(-1.0, 1.0);
  r.fit(exec::reference{}, view(x, 3, 3));
  CHECK(r.feature_min() == -1.0);
  CHECK(r.feature_max() == 1.0);
  check_values(r.scale(), {0.5, 0.5, 2}, 0.0);
  check_values(r.offset(), {-1.5, 0, -7}, 0.0);
  r.transform(exec::reference{}, view(x, 3, 3), view(out, 3, 3));
  check_values(out, {-1, -1, -1, 1, 1, -1, 0, 0, -1}, eps);
  r.inverse_transform(exec::reference{}, view(out, 3, 3), view(back, 3, 3));
  check_values(back, {1, -2, 3, 5, 2, 3, 3, 0, 3}, eps);

  // Outside the fitted range: no clipping.
  const std::vector<TestType> wide{9, 6, 3};
  std::vector<TestType> wide_out(3);
  r.transform(exec::reference{}, view(wide, 1, 3), view(wide_out, 1, 3));
  check_values(wide_out, {3, 3, -1}, eps);

  // partial_fit widens the range batch by batch.
  minmax_scaler<TestType> p;
  p.partial_fit(exec::reference{}, view(x, 1, 3));
  check_values(p.data_range(), {0, 0, 0}, 0.0);
  p.partial_fit(exec::reference{}, matrix_view<const TestType>(x.data() + 3, 2, 3));
  CHECK(p.samples_seen() == 3);
  check_values(p.data_min(), {1, -2, 3}, 0.0);
  check_values(p.data_max(), {5, 2, 3}, 0.0);
  p.partial_fit(exec::reference{}, matrix_view<const TestType>(nullptr, 0, 3));
  CHECK(p.samples_seen() == 3);
}

TEMPLATE_TEST_CASE("normalize_rows: hand-computed", "[scale][reference]", float, double) {
  const double eps = std::is_same_v<TestType, float> ? 1e-6 : 1e-15;
  const std::vector<TestType> x{3, 0, 4, 0, 0, 0, 1, -2, 2, 0, 0, -5};
  std::vector<TestType> out(x.size());
  normalize_rows(exec::reference{}, view(x, 4, 3), view(out, 4, 3));
  check_values(out, {0.6, 0, 0.8, 0, 0, 0, 1.0 / 3, -2.0 / 3, 2.0 / 3, 0, 0, -1}, eps);

  std::vector<TestType> y = x;  // in place
  normalize_rows(exec::reference{}, view(y, 4, 3), view(y, 4, 3));
  CHECK(y == out);

  // Empty input is fine.
  normalize_rows(exec::reference{}, matrix_view<const TestType>(nullptr, 0, 3),
                 matrix_view<TestType>(nullptr, 0, 3));
  normalize_rows(exec::reference{}, matrix_view<const TestType>(nullptr, 2, 0),
                 matrix_view<TestType>(nullptr, 2, 0));

  // Magnitudes whose squares overflow or underflow T.
  const TestType big = std::is_same_v<TestType, float> ? TestType(1e30) : TestType(1e200);
  const TestType small = std::is_same_v<TestType, float> ? TestType(0x1p-147) : TestType(0x1p-1070);
  const std::vector<TestType> extreme{3 * big, 4 * big, 3 * small, 4 * small};
  std::vector<TestType> extreme_out(4);
  normalize_rows(exec::reference{}, view(extreme, 2, 2), view(extreme_out, 2, 2));
  check_values(extreme_out, {0.6, 0.8, 0.6, 0.8}, eps);
}

TEMPLATE_TEST_CASE("normalize_rows: NaN and infinity", "[scale][reference]", float, double) {
  const auto nan = static_cast<TestType>(nan_v);
  const auto inf = static_cast<TestType>(inf_v);
  const std::vector<TestType> x{nan, 1, 0, inf, 1, 0};
  std::vector<TestType> out(x.size());
  normalize_rows(exec::reference{}, view(x, 2, 3), view(out, 2, 3));
  CHECK(std::isnan(out[0]));  // a NaN row is all NaN
  CHECK(std::isnan(out[1]));
  CHECK(std::isnan(out[2]));
  CHECK(std::isnan(out[3]));  // infinity / infinity
  CHECK(out[4] == 0);
  CHECK(out[5] == 0);
}

TEST_CASE("standard_scaler: transform propagates NaN and infinity", "[scale][reference]") {
  const std::vector<double> x{1, 2, 3, 4};
  standard_scaler<double> s;
  s.fit(exec::reference{}, view(x, 2, 2));
  const std::vector<double> bad{nan_v, 2, 3, inf_v};
  std::vector<double> out(4);
  s.transform(exec::reference{}, view(bad, 2, 2), view(out, 2, 2));
  CHECK(std::isnan(out[0]));
  CHECK(out[1] == Approx(-1.0));
  CHECK(out[2] == Approx(1.0));
  CHECK(std::isinf(out[3]));
}

TEST_CASE("scale: bad input", "[scale][reference][errors]") {
  const exec::reference ref;
  const std::vector<double> x{1, 2, 3, 4, 5, 6, 7, 8, 9};  // 3 x 3
  std::vector<double> out(9);

  SECTION("NaN and infinity in fit name the function and the entry") {
    std::vector<double> bad = x;
    bad[5] = nan_v;  // x[1][2]
    standard_scaler<double> s;
    CHECK_THROWS_AS(s.fit(ref, view(bad, 3, 3)), value_error);
    CHECK_THROWS_WITH(s.fit(ref, view(bad, 3, 3)), "recfuse::standard_scaler::fit: x[1][2] is nan");
    bad[5] = 5;
    bad[1] = -inf_v;  // x[0][1]
    CHECK_THROWS_WITH(s.fit(ref, view(bad, 3, 3)),
                      "recfuse::standard_scaler::fit: x[0][1] is -inf");
    CHECK(s.samples_seen() == 0);

    s.fit(ref, view(x, 3, 3));
    bad[1] = inf_v;
    CHECK_THROWS_WITH(s.partial_fit(ref, view(bad, 3, 3)),
                      "recfuse::standard_scaler::partial_fit: x[0][1] is inf");
    CHECK(s.samples_seen() == 3);  // unchanged by the failed call
    check_values(s.mean(), {4, 5, 6}, 1e-15);

    const std::vector<float> badf{1, 2, std::numeric_limits<float>::quiet_NaN(), 4};
    minmax_scaler<float> m;
    CHECK_THROWS_AS(m.fit(ref, view(badf, 2, 2)), value_error);
    CHECK_THROWS_WITH(m.fit(ref, view(badf, 2, 2)), "recfuse::minmax_scaler::fit: x[1][0] is nan");
    m.fit(ref, view(badf, 1, 2));
    CHECK_THROWS_WITH(m.partial_fit(ref, view(badf, 2, 2)),
                      "recfuse::minmax_scaler::partial_fit: x[1][0] is nan");
    CHECK(m.samples_seen() == 1);
  }

  SECTION("finite data whose variance overflows double") {
    const std::vector<double> huge{-1e300, 1e300};
    standard_scaler<double> s;
    CHECK_THROWS_AS(s.fit(ref, view(huge, 2, 1)), value_error);
    CHECK_THROWS_WITH(
        s.fit(ref, view(huge, 2, 1)),
        Catch::Contains("recfuse::standard_scaler::fit") && Catch::Contains("overflow"));
  }

  SECTION("fit needs rows and columns") {
    standard_scaler<double> s;
    CHECK_THROWS_AS(s.fit(ref, matrix_view<const double>(nullptr, 0, 3)), value_error);
    CHECK_THROWS_WITH(
        s.fit(ref, matrix_view<const double>(nullptr, 0, 3)),
        Catch::Contains("recfuse::standard_scaler::fit") && Catch::Contains("0 rows"));
    CHECK_THROWS_WITH(
        s.partial_fit(ref, matrix_view<const double>(nullptr, 0, 3)),
        Catch::Contains("recfuse::standard_scaler::partial_fit") && Catch::Contains("0 rows"));
    CHECK_THROWS_WITH(
        s.fit(ref, matrix_view<const double>(x.data(), 3, 0)),
        Catch::Contains("recfuse::standard_scaler::fit") && Catch::Contains("0 columns"));
    minmax_scaler<double> m;
    CHECK_THROWS_WITH(m.fit(ref, matrix_view<const double>(nullptr, 0, 3)),
                      Catch::Contains("recfuse::minmax_scaler::fit") && Catch::Contains("0 rows"));
    CHECK_THROWS_AS(m.fit(ref, matrix_view<const double>(x.data(), 3, 0)), value_error);
  }

  SECTION("malformed views") {
    standard_scaler<double> s;
    CHECK_THROWS_AS(s.fit(ref, matrix_view<const double>(x.data(), 3, 3, 2)), shape_error);
    CHECK_THROWS_AS(s.fit(ref, matrix_view<const double>(nullptr, 3, 3)), value_error);
  }

  SECTION("feature counts must match across batches and at transform") {
    standard_scaler<double> s;
    s.fit(ref, view(x, 3, 3));
    CHECK_THROWS_AS(s.partial_fit(ref, view(x, 4, 2)), shape_error);
    CHECK_THROWS_WITH(s.partial_fit(ref, view(x, 4, 2)),
                      Catch::Contains("recfuse::standard_scaler::partial_fit") &&
                          Catch::Contains("2 columns") && Catch::Contains("3 features"));
    // Even a 0-row batch must have the right width.
    CHECK_THROWS_AS(s.partial_fit(ref, matrix_view<const double>(nullptr, 0, 2)), shape_error);
    CHECK_THROWS_WITH(s.transform(ref, view(x, 4, 2), view(out, 4, 2)),
                      Catch::Contains("recfuse::standard_scaler::transform") &&
                          Catch::Contains("2 columns") && Catch::Contains("3 features"));
    CHECK_THROWS_AS(s.inverse_transform(ref, view(x, 1, 9), view(out, 1, 9)), shape_error);
    // fit starts over: a new width is fine.
    s.fit(ref, view(x, 4, 2));
    CHECK(s.features() == 2);

    minmax_scaler<double> m;
    m.fit(ref, view(x, 3, 3));
    CHECK_THROWS_WITH(m.partial_fit(ref, view(x, 1, 9)),
                      Catch::Contains("recfuse::minmax_scaler::partial_fit") &&
                          Catch::Contains("9 columns") && Catch::Contains("3 features"));
    CHECK_THROWS_AS(m.transform(ref, view(x, 1, 9), view(out, 1, 9)), shape_error);
  }

  SECTION("transform before fit") {
    const standard_scaler<double> s;
    CHECK_THROWS_AS(s.transform(ref, view(x, 3, 3), view(out, 3, 3)), value_error);
    CHECK_THROWS_WITH(
        s.transform(ref, view(x, 3, 3), view(out, 3, 3)),
        Catch::Contains("recfuse::standard_scaler::transform") && Catch::Contains("not fitted"));
    CHECK_THROWS_WITH(s.inverse_transform(ref, view(x, 3, 3), view(out, 3, 3)),
                      Catch::Contains("recfuse::standard_scaler::inverse_transform") &&
                          Catch::Contains("not fitted"));
    const minmax_scaler<double> m;
    CHECK_THROWS_WITH(
        m.transform(ref, view(x, 3, 3), view(out, 3, 3)),
        Catch::Contains("recfuse::minmax_scaler::transform") && Catch::Contains("not fitted"));
  }

  SECTION("out must have in's shape") {
    standard_scaler<double> s;
    s.fit(ref, view(x, 3, 3));
    CHECK_THROWS_AS(s.transform(ref, view(x, 3, 3), view(out, 2, 3)), shape_error);
    CHECK_THROWS_WITH(s.transform(ref, view(x, 3, 3), view(out, 2, 3)),
                      Catch::Contains("recfuse::standard_scaler::transform") &&
                          Catch::Contains("out is 2 x 3") && Catch::Contains("in is 3 x 3"));
    minmax_scaler<double> m;
    m.fit(ref, view(x, 3, 3));
    CHECK_THROWS_WITH(m.inverse_transform(ref, view(x, 3, 3), view(out, 1, 9)),
                      Catch::Contains("recfuse::minmax_scaler::inverse_transform") &&
                          Catch::Contains("out is 1 x 9"));
    CHECK_THROWS_AS(normalize_rows(ref, view(x, 3, 3), view(out, 3, 2)), shape_error);
    CHECK_THROWS_WITH(normalize_rows(ref, view(x, 3, 3), view(out, 9, 1)),
                      Catch::Contains("recfuse::normalize_rows") &&
                          Catch::Contains("out is 9 x 1") && Catch::Contains("in is 3 x 3"));
  }

  SECTION("minmax range must be finite with lo < hi") {
    CHECK_THROWS_AS(minmax_scaler<double>(1.0, 1.0), value_error);
    CHECK_THROWS_WITH(minmax_scaler<float>(2.0, 1.0),
                      Catch::Contains("recfuse::minmax_scaler") && Catch::Contains("[2, 1]"));
    CHECK_THROWS_AS(minmax_scaler<double>(nan_v, 1.0), value_error);
    CHECK_THROWS_AS(minmax_scaler<double>(0.0, inf_v), value_error);
    CHECK_NOTHROW(minmax_scaler<double>(-1.0, 1.0));
  }
}
