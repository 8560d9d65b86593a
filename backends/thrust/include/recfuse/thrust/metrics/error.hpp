// recfuse Thrust backend: error-metric kernels, one thrust::transform_reduce over the index
// range, differences and sum in double whatever the element type (as the reference does). Works
// on every Thrust system; the views' memory space must be the policy's (host for cpp/omp/tbb,
// device for cuda).
#pragma once

#include <thrust/iterator/counting_iterator.h>
#include <thrust/transform_reduce.h>

#include "recfuse/metrics/error.hpp"
#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend {
namespace detail {

template <class T>
struct squared_difference {
  const T* a;
  const T* b;
  RECFUSE_HOST_DEVICE double operator()(index_t i) const {
    const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    return d * d;
  }
};

template <class T>
struct absolute_difference {
  const T* a;
  const T* b;
  RECFUSE_HOST_DEVICE double operator()(index_t i) const {
    const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    return d < 0.0 ? -d : d;  // NaN passes through, as with std::abs
  }
};

struct add {
  RECFUSE_HOST_DEVICE double operator()(double x, double y) const { return x + y; }
};

template <class System, class Op>
double sum_over_indices(const policy<System>& p, index_t n, Op op) {
  return ::thrust::transform_reduce(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                                    ::thrust::counting_iterator<index_t>(n), op, 0.0, add{});
}

}  // namespace detail

template <class System, class T>
double rmse_kernel(const policy<System>& p,
                   vector_view<const T, typename policy<System>::memory_space> a,
                   vector_view<const T, typename policy<System>::memory_space> b) {
  return detail::sum_over_indices(p, a.size(), detail::squared_difference<T>{a.data(), b.data()});
}

template <class System, class T>
double mae_kernel(const policy<System>& p,
                  vector_view<const T, typename policy<System>::memory_space> a,
                  vector_view<const T, typename policy<System>::memory_space> b) {
  return detail::sum_over_indices(p, a.size(), detail::absolute_difference<T>{a.data(), b.data()});
}

}  // namespace recfuse::thrust_backend
