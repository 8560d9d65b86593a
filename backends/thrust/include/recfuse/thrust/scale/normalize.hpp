// recfuse Thrust backend: the kernel of normalize_rows (recfuse/scale/normalize.hpp). Generic
// Thrust code for every system; the views' memory space is the policy's.
//
// - normalize_rows_kernel: one thrust::for_each item per row, which runs the reference's row
//   routine (reference_backend::detail::normalize_row, device-callable: squares summed in double;
//   double input whose sum overflowed or came out below 2^-600 rescaled by a power of two at least
//   its largest magnitude) and divides the row by the norm. Results are the reference's, bit for
//   bit on the CPU systems (nvcc may contract the device code's sum of squares into fmas: within an
//   ulp of T).
#pragma once

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include "recfuse/reference/scale/normalize.hpp"
#include "recfuse/scale/normalize.hpp"
#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend {
namespace detail {

// Row i of x divided by its L2 norm into row i of y (zero rows stay zero; NaN propagates): the
// reference's row routine (reference_backend::detail::normalize_row, shared and device-callable).
template <class T>
struct unit_rows {
  const T* x;
  index_t x_stride;
  T* y;
  index_t y_stride;
  index_t cols;

  RECFUSE_HOST_DEVICE void operator()(index_t i) const {
    ::recfuse::reference_backend::detail::normalize_row(x + i * x_stride, y + i * y_stride, cols);
  }
};

}  // namespace detail

template <class System, class T>
void normalize_rows_kernel(const policy<System>& p,
                           matrix_view<const T, typename policy<System>::memory_space> in,
                           matrix_view<T, typename policy<System>::memory_space> out) {
  if (in.rows() == 0) return;
  const ::thrust::counting_iterator<index_t> first(0);
  ::thrust::for_each(
      p.thrust_policy(), first, first + in.rows(),
      detail::unit_rows<T>{in.data(), in.stride(), out.data(), out.stride(), in.cols()});
}

}  // namespace recfuse::thrust_backend
