// recfuse Kokkos backend: error-metric kernels, one Kokkos::parallel_reduce over the index range
// on the policy's execution-space instance, differences and sum in double whatever the element
// type (as the reference does). The lambda indexes the views' raw pointers, so any contiguous
// memory the space can access works, whether or not it came from a Kokkos::View.
#pragma once

#include <Kokkos_Core.hpp>

#include "recfuse/kokkos/detail/range.hpp"
#include "recfuse/kokkos/policy.hpp"
#include "recfuse/metrics/error.hpp"

namespace recfuse::kokkos_backend {

template <class ExecSpace, class T>
double rmse_kernel(const policy<ExecSpace>& p,
                   vector_view<const T, typename policy<ExecSpace>::memory_space> a,
                   vector_view<const T, typename policy<ExecSpace>::memory_space> b) {
  const T* x = a.data();
  const T* y = b.data();
  double sum = 0.0;
  // Reducing into a host scalar waits for the kernel, so `sum` is ready on return.
  Kokkos::parallel_reduce(
      "recfuse::rmse_kernel", detail::index_range(p, a.size()),
      KOKKOS_LAMBDA(index_t i, double& acc) {
        const double d = static_cast<double>(x[i]) - static_cast<double>(y[i]);
        acc += d * d;
      },
      sum);
  return sum;
}

template <class ExecSpace, class T>
double mae_kernel(const policy<ExecSpace>& p,
                  vector_view<const T, typename policy<ExecSpace>::memory_space> a,
                  vector_view<const T, typename policy<ExecSpace>::memory_space> b) {
  const T* x = a.data();
  const T* y = b.data();
  double sum = 0.0;
  Kokkos::parallel_reduce(
      "recfuse::mae_kernel", detail::index_range(p, a.size()),
      KOKKOS_LAMBDA(index_t i, double& acc) {
        const double d = static_cast<double>(x[i]) - static_cast<double>(y[i]);
        acc += d < 0.0 ? -d : d;  // NaN passes through, as with std::abs
      },
      sum);
  return sum;
}

}  // namespace recfuse::kokkos_backend
