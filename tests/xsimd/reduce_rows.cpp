// detail::reduce_rows, the transposing reduction the fused top-k and implicit ALS's CG groups
// end with: lane i of the result is the sum of row i. Every row is distinct (row i, lane j holds
// 64 i + j + 1, all sums exact in float), so a lane permutation, the fault of xsimd's AVX-512
// float haddp (rows 2, 3, 10, 11 swapped with 4, 5, 12, 13), cannot pass. Compiled once per
// instruction-set level, so the SSE2, AVX2 and AVX-512 paths each meet it where the CPU runs them.
#include <catch2/catch.hpp>

#include <cstddef>
#include <string>

#include "recfuse/xsimd/detail/reduce_rows.hpp"

TEMPLATE_TEST_CASE("xsimd reduce_rows: lane i is the sum of row i", "[xsimd][reduce_rows]", float,
                   double) {
  using batch = ::xsimd::batch<TestType>;
  constexpr std::size_t n = batch::size;
  CAPTURE(n, std::string(::xsimd::default_arch::name()));
  alignas(64) TestType values[n];
  batch rows[n];
  double want[n];
  for (std::size_t i = 0; i < n; ++i) {
    want[i] = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
      values[j] = static_cast<TestType>(64 * i + j + 1);
      want[i] += static_cast<double>(values[j]);
    }
    rows[i] = batch::load_aligned(values);
  }
  alignas(64) TestType got[n];
  recfuse::xsimd_backend::detail::reduce_rows(rows).store_aligned(got);
  for (std::size_t i = 0; i < n; ++i) {
    CAPTURE(i);
    CHECK(static_cast<double>(got[i]) == want[i]);
  }
}
