// recfuse::gemm on the reference backend against hand-computed products: every transpose
// combination, alpha and beta, beta == 0 ignoring NaN in c, strides, empty shapes, errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "recfuse/nn/gemm.hpp"
#include "test_support.hpp"

using namespace recfuse;

namespace {

constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();

}  // namespace

TEMPLATE_TEST_CASE("gemm reference: 2x3 times 3x2 in every transpose combination", "[gemm]", float,
                   double) {
  using T = TestType;
  const std::vector<T> a = {1, 2, 3, 4, 5, 6};         // 2 x 3
  const std::vector<T> at = {1, 4, 2, 5, 3, 6};        // its transpose, 3 x 2
  const std::vector<T> b = {7, 8, 9, 10, 11, 12};      // 3 x 2
  const std::vector<T> bt = {7, 9, 11, 8, 10, 12};     // its transpose, 2 x 3
  const std::vector<T> expected = {58, 64, 139, 154};  // a * b
  const reference_backend::policy p;
  for (int combo = 0; combo < 4; ++combo) {
    CAPTURE(combo);
    const bool ta = combo & 1, tb = combo & 2;
    std::vector<T> c(4, T(-1));
    gemm(p, ta ? op::transpose : op::none, tb ? op::transpose : op::none, T(1),
         ta ? test::cmat(at, 3, 2) : test::cmat(a, 2, 3),
         tb ? test::cmat(bt, 2, 3) : test::cmat(b, 3, 2), T(0), matrix_view<T>(c.data(), 2, 2));
    CHECK(c == expected);
  }
}

TEMPLATE_TEST_CASE("gemm reference: alpha, beta and strides", "[gemm]", float, double) {
  using T = TestType;
  const std::vector<T> a = {1, 2, 3, 4, 5, 6};
  const std::vector<T> b = {7, 8, 9, 10, 11, 12};
  const reference_backend::policy p;
  SECTION("c = 2 a b + 0.5 c, c with row stride 3") {
    std::vector<T> c = {1, 2, 100, 3, 4, 100};
    gemm(p, op::none, op::none, T(2), test::cmat(a, 2, 3), test::cmat(b, 3, 2), T(0.5),
         matrix_view<T>(c.data(), 2, 2, 3));
    CHECK(c == std::vector<T>{116.5, 129, 100, 279.5, 310, 100});
  }
  SECTION("beta == 0 does not read c: NaN there does not propagate") {
    std::vector<T> c(4, static_cast<T>(nan_v));
    gemm(p, op::none, op::none, T(1), test::cmat(a, 2, 3), test::cmat(b, 3, 2), T(0),
         matrix_view<T>(c.data(), 2, 2));
    CHECK(c == std::vector<T>{58, 64, 139, 154});
  }
  SECTION("NaN in a propagates to its row") {
    std::vector<T> an = a;
    an[1] = static_cast<T>(nan_v);
    std::vector<T> c(4, T(0));
    gemm(p, op::none, op::none, T(1), test::cmat(an, 2, 3), test::cmat(b, 3, 2), T(0),
         matrix_view<T>(c.data(), 2, 2));
    CHECK(std::isnan(c[0]));
    CHECK(std::isnan(c[1]));
    CHECK(c[2] == T(139));
  }
  SECTION("a strided sub-block of a: its first 2 columns") {
    std::vector<T> c(4, T(0));
    const std::vector<T> b2 = {7, 8, 9, 10};
    gemm(p, op::none, op::none, T(1), matrix_view<const T>(a.data(), 2, 2, 3), test::cmat(b2, 2, 2),
         T(0), matrix_view<T>(c.data(), 2, 2));
    CHECK(c == std::vector<T>{25, 28, 73, 82});
  }
  SECTION("inner dimension 0: c = beta c") {
    std::vector<T> c = {1, 2, 3, 4};
    gemm(p, op::none, op::none, T(1), matrix_view<const T>(a.data(), 2, 0),
         matrix_view<const T>(b.data(), 0, 2), T(3), matrix_view<T>(c.data(), 2, 2));
    CHECK(c == std::vector<T>{3, 6, 9, 12});
  }
  SECTION("empty c") {
    std::vector<T> c;
    gemm(p, op::none, op::none, T(1), matrix_view<const T>(a.data(), 0, 3), test::cmat(b, 3, 2),
         T(0), matrix_view<T>(c.data(), 0, 2));
  }
}

TEST_CASE("gemm reference: errors name recfuse::gemm", "[gemm]") {
  const std::vector<float> a(6, 1.0f), b(6, 1.0f);
  std::vector<float> c(9, 0.0f);
  const reference_backend::policy p;
  CHECK_THROWS_MATCHES(
      gemm(p, op::none, op::none, 1.0f, test::cmat(a, 2, 3), test::cmat(b, 2, 3), 0.0f,
           matrix_view<float>(c.data(), 2, 3)),
      shape_error,
      test::what_is(Catch::Contains("recfuse::gemm") && Catch::Contains("inner dimension")));
  CHECK_THROWS_AS(gemm(p, op::none, op::none, 1.0f, test::cmat(a, 2, 3), test::cmat(b, 3, 2), 0.0f,
                       matrix_view<float>(c.data(), 3, 2)),
                  shape_error);
  CHECK_THROWS_AS(gemm(p, op::none, op::none, 1.0f, test::cmat(a, 2, 3), test::cmat(b, 3, 2), 0.0f,
                       matrix_view<float>(c.data(), 2, 3)),
                  shape_error);
  CHECK_THROWS_AS(gemm(p, op::none, op::none, 1.0f, matrix_view<const float>(a.data(), 2, 3, 2),
                       test::cmat(b, 3, 2), 0.0f, matrix_view<float>(c.data(), 2, 2)),
                  shape_error);
}
