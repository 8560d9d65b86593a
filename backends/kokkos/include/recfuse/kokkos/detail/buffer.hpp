// recfuse Kokkos backend: scratch memory a kernel allocates for itself, in the memory space of the
// policy's execution space (never the caller's data: kernels work on the caller's memory through
// the views they are given and copy nothing behind the caller's back).
#pragma once

#include <string>

#include <Kokkos_Core.hpp>

#include "recfuse/core/config.hpp"
#include "recfuse/kokkos/policy.hpp"

namespace recfuse::kokkos_backend::detail {

template <class ExecSpace, class T>
using buffer = Kokkos::View<T*, typename ExecSpace::memory_space>;

// n zero-initialised elements, initialised on the policy's instance (so ordered before the
// kernels the caller then launches on it).
template <class T, class ExecSpace>
buffer<ExecSpace, T> make_buffer(const policy<ExecSpace>& p, const char* label, index_t n) {
  return buffer<ExecSpace, T>(Kokkos::view_alloc(p.instance, std::string(label)),
                              static_cast<std::size_t>(n));
}

// As make_buffer, uninitialised: for scratch every element of which is written before it is read.
template <class T, class ExecSpace>
buffer<ExecSpace, T> make_uninitialized_buffer(const policy<ExecSpace>& p, const char* label,
                                               index_t n) {
  return buffer<ExecSpace, T>(
      Kokkos::view_alloc(p.instance, std::string(label), Kokkos::WithoutInitializing),
      static_cast<std::size_t>(n));
}

}  // namespace recfuse::kokkos_backend::detail
