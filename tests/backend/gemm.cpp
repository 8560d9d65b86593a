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
#elif defined(RECFUSE_TEST_BACKEND_KOKKOS)
#include "recfuse/kokkos/nn/gemm.hpp"
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

#if defined(RECFUSE_TEST_BACKEND_KOKKOS)
// The Kokkos GEMM's tile sizes depend on the space (host: 6 x 2-register micro-tiles, device:
// 4 x 4 in 32 x 32 tiles). Run the device tiling and a tiny one (many tiles, kc blocks and edge
// panels) on this host space, with one thread per team and (OpenMP) two, against the reference;
// each entry is summed by one thread in a fixed order, so a tiling gives the same bits whatever
// the team size (and thread count: the ctest _1thread rerun).
TEMPLATE_TEST_CASE("gemm backend: Kokkos tilings and team sizes", "[gemm][backend][kokkos]", float,
                   double) {
  using T = TestType;
  using space = RECFUSE_TEST_KOKKOS_SPACE;
  namespace kd = recfuse::kokkos_backend::detail;
  using tiny = kd::gemm_tiling<2, 3, 4, 6, 5, 1>;
  const auto p = test::backend_policy();
  const int wide = space().concurrency() >= 2 ? 2 : 1;
  const std::vector<gemm_case> cases = {{1, 1, 1},   {7, 13, 11},   {33, 31, 65},
                                        {3, 70, 40}, {64, 64, 200}, {100, 1, 33}};
  std::uint64_t seed = 900;
  for (const auto& s : cases) {
    for (int combo = 0; combo < 4; ++combo) {
      CAPTURE(s.m, s.n, s.k, combo);
      const operands<T> o(s, combo & 1, combo & 2, ++seed);
      const auto av = o.av();
      const auto bv = o.bv();
      const auto ops = kd::make_gemm_operands(o.ta, o.tb, av.data(), av.stride(), bv.data(),
                                              bv.stride(), s.m, s.n, s.k);
      std::vector<T> want(static_cast<std::size_t>(s.m * s.n));
      gemm(recfuse::exec::kokkos<space>{}, o.opa(), o.opb(), T(1), av, bv, T(0),
           matrix_view<T>(want.data(), s.m, s.n));
      std::vector<T> ref(want.size());
      gemm(reference_backend::policy{}, o.opa(), o.opb(), T(1), av, bv, T(0),
           matrix_view<T>(ref.data(), s.m, s.n));
      const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-12;  // |a|, |b| <= 1, k <= 200
      for (std::size_t e = 0; e < ref.size(); ++e) {
        if (!(std::abs(static_cast<double>(want[e]) - ref[e]) <= tol * (s.k + 1))) {
          CAPTURE(e, want[e], ref[e]);
          FAIL_CHECK("entry differs from the reference");
          break;
        }
      }
      std::vector<T> first_dev, first_tiny;  // team size 1
      for (int team : {1, wide}) {
        CAPTURE(team);
        std::vector<T> got_dev(want.size(), T(99)), got_tiny(want.size(), T(99));
        kd::gemm_run_tiled<kd::device_gemm_tiling<T>>(
            p, ops, kd::gemm_scale_epilogue<T>{got_dev.data(), s.n, 1.0, 0.0, false}, team);
        kd::gemm_run_tiled<tiny>(
            p, ops, kd::gemm_scale_epilogue<T>{got_tiny.data(), s.n, 1.0, 0.0, false}, team);
        p.instance.fence();
        for (std::size_t e = 0; e < ref.size(); ++e) {
          if (!(std::abs(static_cast<double>(got_dev[e]) - ref[e]) <= tol * (s.k + 1) &&
                std::abs(static_cast<double>(got_tiny[e]) - ref[e]) <= tol * (s.k + 1))) {
            CAPTURE(e, got_dev[e], got_tiny[e], ref[e]);
            FAIL_CHECK("entry differs from the reference");
            break;
          }
        }
        if (team == 1) {
          first_dev = got_dev;
          first_tiny = got_tiny;
        } else {
          CHECK(got_dev == first_dev);
          CHECK(got_tiny == first_tiny);
        }
      }
      // The host tiling with the smallest tiles and kc blocks (as many threads would shrink it
      // to, and smaller) gives the default's bits: tile sizes never change a result.
      using host = kd::host_gemm_tiling<T>;
      using small = kd::gemm_tiling<host::mr, host::nr, 4 * host::mr, 2 * host::nr, 7, 1>;
      std::vector<T> got_small(want.size(), T(99));
      kd::gemm_run_tiled<small>(p, ops,
                                kd::gemm_scale_epilogue<T>{got_small.data(), s.n, 1.0, 0.0, false});
      p.instance.fence();
      CHECK(got_small == want);
    }
  }
}
#endif
