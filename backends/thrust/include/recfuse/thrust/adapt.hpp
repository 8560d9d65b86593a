// recfuse Thrust backend: adapters from Thrust containers to views.
//
//   thrust::host_vector<T>    -> vector_view<T, host_memory>
//   thrust::device_vector<T>  -> vector_view<T, S>, S the memory of the vector's system:
//                                device_memory for CUDA, host_memory when THRUST_DEVICE_SYSTEM
//                                is OMP, TBB or CPP (then the "device" is the CPU)
//
//   thrust_backend::device_vector_view(ptr, n)          -> vector_view<T, device_memory>
//   thrust_backend::device_matrix_view(ptr, r, c[, s])  -> matrix_view<T, device_memory>
//                                (raw device pointers: cudaMalloc'd buffers, another library's
//                                tensors such as torch's data_ptr())
//
// No data is copied: a device_vector on the GPU gives a device view, which only a CUDA policy
// accepts; copy to a host_vector yourself to evaluate on the host.
#pragma once

#include <thrust/device_vector.h>
#include <thrust/host_vector.h>
#include <thrust/iterator/iterator_traits.h>
#include <thrust/memory.h>

#include "recfuse/core/adapt.hpp"
#include "recfuse/thrust/policy.hpp"

namespace recfuse {

template <class T, class Alloc>
struct adapter<::thrust::host_vector<T, Alloc>> {
  static vector_view<T> vector(::thrust::host_vector<T, Alloc>& v) {
    return {::thrust::raw_pointer_cast(v.data()), static_cast<index_t>(v.size())};
  }
  static vector_view<const T> vector(const ::thrust::host_vector<T, Alloc>& v) {
    return {::thrust::raw_pointer_cast(v.data()), static_cast<index_t>(v.size())};
  }
};

template <class T, class Alloc>
struct adapter<::thrust::device_vector<T, Alloc>> {
  using container = ::thrust::device_vector<T, Alloc>;
  using space = thrust_backend::memory_space_of<
      typename ::thrust::iterator_system<typename container::iterator>::type>;

  static vector_view<T, space> vector(container& v) {
    return {::thrust::raw_pointer_cast(v.data()), static_cast<index_t>(v.size())};
  }
  static vector_view<const T, space> vector(const container& v) {
    return {::thrust::raw_pointer_cast(v.data()), static_cast<index_t>(v.size())};
  }
};

namespace thrust_backend {

// Raw device pointers as device views: only a device policy (CUDA) accepts them.
template <class T>
constexpr vector_view<T, device_memory> device_vector_view(T* data, index_t size) {
  return {data, size};
}
template <class T>
constexpr matrix_view<T, device_memory> device_matrix_view(T* data, index_t rows, index_t cols) {
  return {data, rows, cols};
}
template <class T>
constexpr matrix_view<T, device_memory> device_matrix_view(T* data, index_t rows, index_t cols,
                                                           index_t stride) {
  return {data, rows, cols, stride};
}

}  // namespace thrust_backend
}  // namespace recfuse
