// recfuse Kokkos backend: adapters from Kokkos::View to views.
//
//   Kokkos::View<T*, ...>   (rank 1, unit stride)            -> vector_view<T, S>
//   Kokkos::View<T**, ...>  (rank 2, rows of unit stride)    -> matrix_view<T, S>
//
// S is host_memory when the View's memory space is accessible from the host (HostSpace,
// CudaHostPinnedSpace, CudaUVMSpace) and device_memory otherwise (CudaSpace, HIPSpace). A
// LayoutRight rank-2 View is row-major and always accepted (its padded row stride is kept); a
// LayoutLeft or LayoutStride View is accepted when its rows happen to be unit-stride (one
// column, or a transposed subview), otherwise as_matrix throws shape_error. No data is copied.
#pragma once

#include <type_traits>

#include <Kokkos_Core.hpp>

#include "recfuse/core/adapt.hpp"
#include "recfuse/kokkos/policy.hpp"

namespace recfuse {
namespace kokkos_backend {

// Where a View's memory lives, as a recfuse memory space.
template <class KokkosMemorySpace>
using view_memory_space_of = std::conditional_t<
    Kokkos::SpaceAccessibility<Kokkos::DefaultHostExecutionSpace, KokkosMemorySpace>::accessible,
    host_memory, device_memory>;

}  // namespace kokkos_backend

template <class DataType, class... Properties>
struct adapter<Kokkos::View<DataType, Properties...>> {
  using view_type = Kokkos::View<DataType, Properties...>;
  // const T for View<const T*>; a View's constness is shallow, like a pointer's.
  using element_type = std::remove_pointer_t<typename view_type::pointer_type>;
  using space = kokkos_backend::view_memory_space_of<typename view_type::memory_space>;
  static constexpr int rank = static_cast<int>(view_type::rank);

  static vector_view<element_type, space> vector(const view_type& v) requires(rank == 1) {
    const auto n = static_cast<index_t>(v.extent(0));
    const auto stride = static_cast<index_t>(v.stride(0));
    if (n > 1 && stride != 1) {
      detail::throw_error<shape_error>("recfuse::as_vector", "a Kokkos::View \"", v.label(),
                                       "\" with stride ", stride, " is not contiguous");
    }
    return {v.data(), n};
  }

  static matrix_view<element_type, space> matrix(const view_type& v) requires(rank == 2) {
    const auto rows = static_cast<index_t>(v.extent(0));
    const auto cols = static_cast<index_t>(v.extent(1));
    const auto col_stride = static_cast<index_t>(v.stride(1));
    const auto row_stride = rows > 1 ? static_cast<index_t>(v.stride(0)) : cols;
    if ((cols > 1 && col_stride != 1) || row_stride < cols) {
      detail::throw_error<shape_error>("recfuse::as_matrix", "a Kokkos::View \"", v.label(),
                                       "\" needs row-major rows of unit stride, got strides (",
                                       v.stride(0), ", ", v.stride(1), ")");
    }
    return {v.data(), rows, cols, row_stride};
  }
};

}  // namespace recfuse
