// Device execution spaces (Cuda, HIP, SYCL), at compile time: for every device space the Kokkos
// in use was built with, the policy works on device memory, a View in the space's memory adapts to
// device views, and the kernels take device views and refuse host ones. The checks are
// static_asserts, instantiated for each device space KOKKOS_ENABLE_* names; the test case records
// which spaces were checked. Kokkos 4.6.01 does not build with this machine's CUDA 13 toolkit
// (docs/backends.md, "Kokkos"), so here the list is empty and only the host spaces are checked.
#include <catch2/catch.hpp>

#include <string>
#include <type_traits>

#include "recfuse/kokkos/all.hpp"

using namespace recfuse;

namespace {

template <class Policy, class T, class Space>
concept has_error_kernels = requires(const Policy& p, vector_view<const T, Space> v) {
  rmse_kernel(p, v, v);
  mae_kernel(p, v, v);
};

template <class ExecSpace>
constexpr bool device_space_checked() {
  using policy = exec::kokkos<ExecSpace>;
  using memory = typename ExecSpace::memory_space;
  static_assert(std::is_same_v<typename policy::memory_space, device_memory>,
                "a device execution space's policy works on device memory");
  static_assert(std::is_same_v<vector_view_of<Kokkos::View<float*, memory>>,
                               vector_view<float, device_memory>>);
  static_assert(std::is_same_v<matrix_view_of<Kokkos::View<double**, Kokkos::LayoutRight, memory>>,
                               matrix_view<double, device_memory>>);
  static_assert(has_error_kernels<policy, float, device_memory>);
  static_assert(!has_error_kernels<policy, float, host_memory>,
                "a device space's kernels must not take host views");
  return true;
}

template <class ExecSpace>
constexpr bool host_space_checked() {
  using policy = exec::kokkos<ExecSpace>;
  static_assert(std::is_same_v<typename policy::memory_space, host_memory>);
  static_assert(has_error_kernels<policy, double, host_memory>);
  static_assert(!has_error_kernels<policy, double, device_memory>,
                "a host space's kernels must not take device views");
  return true;
}

}  // namespace

TEST_CASE("kokkos: the execution spaces this Kokkos has, checked at compile time",
          "[kokkos][spaces]") {
  std::string host, device;
#if defined(KOKKOS_ENABLE_SERIAL)
  STATIC_REQUIRE(host_space_checked<Kokkos::Serial>());
  host += " Serial";
#endif
#if defined(KOKKOS_ENABLE_OPENMP)
  STATIC_REQUIRE(host_space_checked<Kokkos::OpenMP>());
  host += " OpenMP";
#endif
#if defined(KOKKOS_ENABLE_THREADS)
  STATIC_REQUIRE(host_space_checked<Kokkos::Threads>());
  host += " Threads";
#endif
#if defined(KOKKOS_ENABLE_CUDA)
  STATIC_REQUIRE(device_space_checked<Kokkos::Cuda>());
  device += " Cuda";
#endif
#if defined(KOKKOS_ENABLE_HIP)
  STATIC_REQUIRE(device_space_checked<Kokkos::HIP>());
  device += " HIP";
#endif
#if defined(KOKKOS_ENABLE_SYCL)
  STATIC_REQUIRE(device_space_checked<Kokkos::SYCL>());
  device += " SYCL";
#endif
  CHECK_FALSE(host.empty());
  INFO("host spaces checked:" << host);
  INFO("device spaces checked:" << (device.empty() ? std::string(" none in this Kokkos") : device));
  SUCCEED();
}
