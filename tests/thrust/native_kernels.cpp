// The Thrust policy's native_kernels agree with the Thrust column of docs/backends.md's table.
#include <catch2/catch.hpp>

#include <string>

#include "native_table.hpp"
#include "recfuse/thrust/policy.hpp"

TEST_CASE("dispatch: Thrust native_kernels match docs/backends.md", "[thrust][dispatch]") {
  using policy = recfuse::exec::thrust<RECFUSE_TEST_THRUST_SYSTEM>;
  CHECK(std::string(recfuse::test::native_mismatch<policy>(&recfuse::test::native_row::thrust)) ==
        "");
}
