// The xsimd policy's native_kernels agree with the xsimd column of docs/backends.md's table
// (tests/support/native_table.hpp), and RECFUSE_CHECK_NATIVE reads them.
#include <catch2/catch.hpp>

#include <iterator>
#include <string>

#include "native_table.hpp"
#include "recfuse/xsimd/policy.hpp"

TEST_CASE("dispatch: xsimd native_kernels match docs/backends.md", "[xsimd][dispatch]") {
  using recfuse::exec::xsimd;
  STATIC_REQUIRE(std::size(recfuse::test::native_table) >= 30);
  CHECK(std::string(recfuse::test::native_mismatch<xsimd>(&recfuse::test::native_row::xsimd)) ==
        "");
  STATIC_REQUIRE(recfuse::detail::claims_native<xsimd>("rmse_kernel"));
  STATIC_REQUIRE(!recfuse::detail::claims_native<xsimd>("explain_factorization_kernel"));
  STATIC_REQUIRE(!recfuse::detail::claims_native<recfuse::exec::reference>("rmse_kernel"));
}
