// recfuse: execution policies and dispatch.
//
// Every public call takes a policy first. The policy's type picks the backend: kernels are
// overloads in the backend's namespace, found by argument-dependent lookup on the policy, and
// each backend's policy derives from its parent's, so a backend that lacks a kernel falls back
// to its parent the way Thrust's omp tag falls back to cpp. The serial reference is the root.
//
//   recfuse::exec::reference          serial, the oracle              (this header)
//   recfuse::exec::xsimd              xsimd batches + threads         (recfuse/xsimd/policy.hpp)
//   recfuse::exec::thrust<System>     a Thrust system (cpp/omp/tbb/cuda)
//   (recfuse/thrust/policy.hpp) recfuse::exec::kokkos<Space>      a Kokkos execution space
//   (recfuse/kokkos/policy.hpp)
//
// A kernel is viable only for views in a memory space its policy can reach (a kernel's
// parameters name the space), so handing device views to a host policy, or calling a function
// no backend implements for that policy, stops compilation at RECFUSE_NO_KERNEL with the
// function's name.
#pragma once

#include "recfuse/core/memory.hpp"

namespace recfuse {

namespace reference {

// The serial reference backend: plain loops, double accumulation, the test oracle.
struct policy {
  using memory_space = host_memory;
};

}  // namespace reference

namespace exec {
using reference = ::recfuse::reference::policy;
}  // namespace exec

namespace detail {
template <class...>
inline constexpr bool always_false = false;
}  // namespace detail

}  // namespace recfuse

// Used in the `else` branch of a dispatch: `if constexpr (requires { kernel(policy, ...); })`.
#define RECFUSE_NO_KERNEL(function, Policy)                                            \
  static_assert(::recfuse::detail::always_false<Policy>, function                      \
                ": no kernel serves this execution policy with these views; a policy " \
                "falls back to its parent backend, and device views need a device "    \
                "policy")
