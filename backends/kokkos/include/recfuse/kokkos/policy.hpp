// recfuse: the Kokkos backend's policy.
//
//   Kokkos::ScopeGuard guard(argc, argv);   // Kokkos must be initialized first, finalized last
//   recfuse::exec::kokkos<Kokkos::DefaultHostExecutionSpace> host;
//   recfuse::exec::kokkos<Kokkos::DefaultExecutionSpace> dev{instance};   // e.g. a Kokkos::Cuda
//
// Space is a Kokkos execution space; the policy holds an instance of it (default-constructed
// unless one is given, e.g. a Kokkos::Cuda on a stream) and the kernels run on that instance.
// The memory the policy works on is host_memory when the space can access Kokkos::HostSpace
// (Serial, OpenMP, Threads) and device_memory otherwise (Cuda, HIP, SYCL). The policy derives
// from the reference policy: a function without a Kokkos kernel runs the reference kernel on
// host views. In this release the Kokkos kernels are rmse and mae (recfuse/kokkos/metrics/
// error.hpp), listed in native_kernels for every space: with a device space (Cuda) and host
// views, rmse and mae do not compile (RECFUSE_CHECK_NATIVE) rather than run on the host.
#pragma once

#include <string_view>
#include <type_traits>

#include <Kokkos_Core.hpp>

#include "recfuse/core/execution.hpp"

namespace recfuse::kokkos_backend {

// host_memory when code running in ExecSpace can dereference host pointers.
template <class ExecSpace>
using memory_space_of =
    std::conditional_t<Kokkos::SpaceAccessibility<ExecSpace, Kokkos::HostSpace>::accessible,
                       host_memory, device_memory>;

template <class ExecSpace>
struct policy : ::recfuse::reference_backend::policy {
  static_assert(Kokkos::is_execution_space<ExecSpace>::value,
                "recfuse::exec::kokkos<Space>: Space must be a Kokkos execution space");
  using execution_space = ExecSpace;
  using memory_space = memory_space_of<ExecSpace>;

  policy() = default;
  explicit policy(ExecSpace space) : instance(std::move(space)) {}

  ExecSpace instance{};
  // The kernels this backend implements (docs/backends.md); RECFUSE_CHECK_NATIVE stops a call
  // that would reach the reference's kernel instead of one of these.
  // One line per kernel, under its family (recfuse/kokkos/<family>/<file>.hpp).
  static constexpr std::string_view native_kernels[] = {
      // metrics
      "rmse_kernel", "mae_kernel",
      // metrics/ranking
      // scale
      // select
      // factorize/biased_mf
      // factorize/implicit_als
      // graph
      // nn
      // fuse
  };
};

}  // namespace recfuse::kokkos_backend

namespace recfuse::exec {
template <class Space>
using kokkos = ::recfuse::kokkos_backend::policy<Space>;
}  // namespace recfuse::exec
