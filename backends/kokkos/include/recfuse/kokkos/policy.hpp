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
// from the reference policy, but every kernel of the library has a Kokkos version
// (recfuse/kokkos/<family>/<file>.hpp, generic over the execution space), listed in
// native_kernels for every space: a call never falls back to the reference (RECFUSE_CHECK_NATIVE),
// so with a device space host views do not compile rather than run on the host. Tested on the
// Serial and OpenMP spaces of Kokkos 4.6.01; the device spaces are written for but untested
// (docs/backends.md, "Kokkos").
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
  // The kernels this backend implements (docs/backends.md): all of them, each in
  // recfuse/kokkos/<family>/<file>.hpp. RECFUSE_CHECK_NATIVE stops a call that would reach the
  // reference's kernel instead of one of these.
  static constexpr const auto& native_kernels = ::recfuse::detail::every_kernel;
};

}  // namespace recfuse::kokkos_backend

namespace recfuse::exec {
template <class Space>
using kokkos = ::recfuse::kokkos_backend::policy<Space>;
}  // namespace recfuse::exec
