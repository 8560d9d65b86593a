// The Kokkos policy's native_kernels agree with the Kokkos column of docs/backends.md's table.
#include <catch2/catch.hpp>

#include <string>

#include "native_table.hpp"
#include "recfuse/kokkos/policy.hpp"

TEST_CASE("dispatch: Kokkos native_kernels match docs/backends.md", "[kokkos][dispatch]") {
  using policy = recfuse::exec::kokkos<Kokkos::DefaultHostExecutionSpace>;
  CHECK(std::string(recfuse::test::native_mismatch<policy>(&recfuse::test::native_row::kokkos)) ==
        "");
}
