// recfuse::gemm on the backend against the reference: shapes around the register tile and the
// cache blocks, every transpose combination, strides, alpha and beta, beta == 0 over NaN, and
// the same bits for 1 and 2 threads.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "backend.hpp"
#include "recfuse/nn/gemm.hpp"
#if defined(RECFUSE_TEST_BACKEND_XSIMD)
#include "recfuse/xsimd/nn/gemm.hpp"
#endif
#include "test_support.hpp"

using namespace recfuse;

namespace {

struct gemm_case {
  index_t m, n, k;
};

// Stored operands for one case: op(a) is m x k, op(b) is k x n, each with 3 padding columns.
template <class T>
struct operands {
  index_t m, n, k;
  bool ta, tb;
  std::vector<T> a, b;
  index_t a_rows, a_cols, b_rows, b_cols;
  operands(gemm_case s, bool ta_, bool tb_, std::uint64_t seed)
      : m(s.m), n(s.n), k(s.k), ta(ta_), tb(tb_) {
    a_rows = ta ? k : m;
    a_cols = ta ? m : k;
    b_rows = tb ? n : k;
    b_cols = tb ? k : n;
    a = test::random_vector<T>(a_rows * (a_cols + 3) + 1, seed);
    b = test::random_vector<T>(b_rows * (b_cols + 3) + 1, seed + 1);
  }
  matrix_view<const T> av() const { return {a.data(), a_rows, a_cols, a_cols + 3}; }
  matrix_view<const T> bv() const { return {b.data(), b_rows, b_cols, b_cols + 3}; }
  matrix_view<const T> abs_av(std::vector<T>& s) const {
    s = a;
    for (auto& x : s) x = std::abs(x);
    return {s.data(), a_rows, a_cols, a_cols + 3};
  }
  matrix_view<const T> abs_bv(std::vector<T>& s) const {
    s = b;
    for (auto& x : s) x = std::abs(x);
    return {s.data(), b_rows, b_cols, b_cols + 3};
  }
  op opa() const { return ta ? op::transpose : op::none; }
  op opb() const { return tb ? op::transpose : op::none; }
};

template <class T>
void check_case(gemm_case s, bool ta, bool tb, T alpha, T beta, std::uint64_t seed) {
  CAPTURE(s.m, s.n, s.k, ta, tb, alpha, beta);
  const operands<T> o(s, ta, tb, seed);
  const index_t ldc = s.n + 2;
  const auto c0 = test::random_vector<T>(s.m * ldc, seed + 2);
  std::vector<T> expected = c0, got = c0;
  if (beta == T(0)) {  // NaN in c must not leak through beta == 0
    for (auto& x : got) x = std::numeric_limits<T>::quiet_NaN();
  }
  gemm(reference_backend::policy{}, o.opa(), o.opb(), alpha, o.av(), o.bv(), beta,
       matrix_view<T>(expected.data(), s.m, s.n, ldc));
  gemm(test::backend_policy(), o.opa(), o.opb(), alpha, o.av(), o.bv(), beta,
       matrix_view<T>(got.data(), s.m, s.n, ldc));
  // error bound: a few eps(T) * k * (|alpha| |a| |b| + |beta| |c|), entry by entry
  std::vector<T> sa, sb, bound(static_cast<std::size_t>(s.m * ldc), T(0));
  gemm(reference_backend::policy{}, o.opa(), o.opb(), std::abs(alpha), o.abs_av(sa), o.abs_bv(sb),
       T(0), matrix_view<T>(bound.data(), s.m, s.n, ldc));
  const double eps = std::numeric_limits<T>::epsilon();
  for (index_t i = 0; i < s.m; ++i) {
    for (index_t j = 0; j < ldc; ++j) {
      const auto e = static_cast<std::size_t>(i * ldc + j);
      if (j >= s.n) {
        CHECK((beta == T(0) ? std::isnan(got[e]) : got[e] == c0[e]));  // padding untouched
        continue;
      }
      const double tol = 2.0 * eps * (static_cast<double>(s.k) + 2) *
                             (bound[e] + std::abs(static_cast<double>(beta) * c0[e])) +
                         4 * std::numeric_limits<T>::min();
      if (!(std::abs(static_cast<double>(got[e]) - expected[e]) <= tol)) {
        CAPTURE(i, j, got[e], expected[e], tol);
        FAIL_CHECK("entry differs from the reference");
        return;
      }
    }
  }
}

const std::vector<gemm_case> shapes = {
    {1, 1, 1},      {2, 3, 4},     {5, 15, 7},    {6, 16, 8},    {7, 17, 9},
    {12, 32, 1},    {13, 33, 3},   {1, 1000, 37}, {1000, 1, 37}, {3, 50, 20},
    {50, 3, 20},    {4, 4, 300},   {5, 5, 300},   {11, 9, 257},  {121, 31, 5},
    {37, 129, 513}, {64, 256, 64}, {2, 300, 260}, {300, 2, 260}, {300, 257, 129}};

}  // namespace

TEMPLATE_TEST_CASE("gemm backend: matches the reference", "[gemm][backend]", float, double) {
  using T = TestType;
  std::uint64_t seed = 100;
  for (const auto& s : shapes) {
    for (int combo = 0; combo < 4; ++combo) {
      check_case<T>(s, combo & 1, combo & 2, T(1), T(0), ++seed);
    }
    check_case<T>(s, false, true, T(2), T(0.5), ++seed);
    check_case<T>(s, true, false, T(-1), T(1), ++seed);
  }
}

TEMPLATE_TEST_CASE("gemm backend: empty shapes and inner dimension 0", "[gemm][backend]", float,
                   double) {
  using T = TestType;
  std::vector<T> a(20, T(1)), b(20, T(1)), c = {1, 2, 3, 4};
  const auto p = test::backend_policy();
  gemm(p, op::none, op::none, T(1), matrix_view<const T>(a.data(), 2, 0),
       matrix_view<const T>(b.data(), 0, 2), T(2), matrix_view<T>(c.data(), 2, 2));
  CHECK(c == std::vector<T>{2, 4, 6, 8});
  gemm(p, op::none, op::none, T(1), matrix_view<const T>(a.data(), 2, 0),
       matrix_view<const T>(b.data(), 0, 2), T(0), matrix_view<T>(c.data(), 2, 2));
  CHECK(c == std::vector<T>{0, 0, 0, 0});
  gemm(p, op::none, op::none, T(1), matrix_view<const T>(a.data(), 0, 3),
       matrix_view<const T>(b.data(), 3, 5), T(0), matrix_view<T>(c.data(), 0, 5));
  gemm(p, op::none, op::none, T(1), matrix_view<const T>(a.data(), 4, 3),
       matrix_view<const T>(b.data(), 3, 0), T(0), matrix_view<T>(c.data(), 4, 0));
}

#if defined(RECFUSE_TEST_BACKEND_XSIMD)
TEMPLATE_TEST_CASE("gemm backend: 1 and 2 threads give the same bits", "[gemm][backend]", float,
                   double) {
  using T = TestType;
  const std::vector<gemm_case> big = {{300, 257, 129}, {257, 300, 700}, {4096, 1, 128},
                                      {1, 4096, 128},  {1, 4099, 131},  {4099, 3, 131},
                                      {3, 4096, 300},  {1000, 64, 64}};
  std::uint64_t seed = 7;
  for (const auto& s : big) {
    for (int combo = 0; combo < 4; ++combo) {
      CAPTURE(s.m, s.n, s.k, combo);
      const operands<T> o(s, combo & 1, combo & 2, ++seed);
      std::vector<T> c1(static_cast<std::size_t>(s.m * s.n)), c2(c1.size());
      gemm(recfuse::exec::xsimd{1}, o.opa(), o.opb(), T(1), o.av(), o.bv(), T(0),
           matrix_view<T>(c1.data(), s.m, s.n));
      gemm(recfuse::exec::xsimd{2}, o.opa(), o.opb(), T(1), o.av(), o.bv(), T(0),
           matrix_view<T>(c2.data(), s.m, s.n));
      CHECK(c1 == c2);
    }
  }
}
#endif
