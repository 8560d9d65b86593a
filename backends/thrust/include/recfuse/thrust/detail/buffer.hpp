// recfuse Thrust backend: scratch memory in the memory a policy's algorithms dereference.
//
//   thrust_backend::detail::buffer<System, double> sums(n);   // host_vector or device_vector
//   double* raw = thrust_backend::detail::raw(sums);           // for a functor's members
//
// Host systems (cpp, omp, tbb) get a thrust::host_vector, any other system (cuda) a
// thrust::device_vector, so a kernel's temporaries live where its functors run. The kernels own
// their scratch only for the duration of one call; nothing here is visible to the caller.
#pragma once

#include <type_traits>

#include <thrust/device_vector.h>
#include <thrust/host_vector.h>

#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend::detail {

template <class System, class T>
using buffer = std::conditional_t<std::is_same_v<memory_space_of<System>, host_memory>,
                                  ::thrust::host_vector<T>, ::thrust::device_vector<T>>;

template <class Vector>
auto* raw(Vector& v) {
  return ::thrust::raw_pointer_cast(v.data());
}
template <class Vector>
const auto* raw(const Vector& v) {
  return ::thrust::raw_pointer_cast(v.data());
}

}  // namespace recfuse::thrust_backend::detail
