// The backend a backend-test executable is compiled for. Each test body in tests/backend/ is
// compiled once per enabled backend (tests/CMakeLists.txt), and compares that backend's
// results with the reference's on random inputs.
#pragma once

#if defined(RECFUSE_TEST_BACKEND_XSIMD)
#include "recfuse/xsimd/all.hpp"
namespace recfuse::test {
inline recfuse::exec::xsimd backend_policy() { return recfuse::exec::xsimd{2}; }
inline constexpr const char* backend_name = "xsimd";
}  // namespace recfuse::test
#elif defined(RECFUSE_TEST_BACKEND_THRUST)
#include "recfuse/thrust/all.hpp"
namespace recfuse::test {
inline auto backend_policy() { return recfuse::exec::thrust<RECFUSE_TEST_THRUST_SYSTEM>{}; }
inline constexpr const char* backend_name = "thrust";
}  // namespace recfuse::test
#elif defined(RECFUSE_TEST_BACKEND_KOKKOS)
#include "recfuse/kokkos/all.hpp"
namespace recfuse::test {
// RECFUSE_TEST_KOKKOS_SPACE: Kokkos::Serial or Kokkos::OpenMP (tests/backends.cmake).
inline auto backend_policy() { return recfuse::exec::kokkos<RECFUSE_TEST_KOKKOS_SPACE>{}; }
inline constexpr const char* backend_name = "kokkos";
}  // namespace recfuse::test
#else
#error "define RECFUSE_TEST_BACKEND_XSIMD, _THRUST or _KOKKOS"
#endif
