// recfuse Thrust backend: the kernel of normalize_rows (recfuse/scale/normalize.hpp). Generic
// Thrust code for every system; the views' memory space is the policy's.
//
// - normalize_rows_kernel: one thrust::for_each item per row, which computes the row's norm as
//   the reference does (squares summed in double; double input whose sum overflowed or came out
//   below 2^-600 rescaled by a power of two at least its largest magnitude) and divides the row by
//   it. Results are the reference's, bit for bit on the CPU systems (nvcc may contract the device
//   code's sum of squares into fmas: within an ulp of T).
#pragma once

#include <cmath>
#include <type_traits>

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include "recfuse/reference/scale/normalize.hpp"
#include "recfuse/scale/normalize.hpp"
#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend {
namespace detail {

// Row i of x divided by its L2 norm into row i of y (zero rows stay zero; NaN propagates): the
// arithmetic of reference_backend::detail::row_norm and normalize_rows_kernel, with the global
// <cmath> functions a device can call.
template <class T>
struct unit_rows {
  const T* x;
  index_t x_stride;
  T* y;
  index_t y_stride;
  index_t cols;

  RECFUSE_HOST_DEVICE void operator()(index_t i) const {
    const T* r = x + i * x_stride;
    T* out = y + i * y_stride;
    double scale = 1.0;
    double s = 0.0;
    for (index_t j = 0; j < cols; ++j) s += static_cast<double>(r[j]) * static_cast<double>(r[j]);
    double root;
    if (std::is_same_v<T, float> || s != s || (s - s == 0.0 && s >= 0x1p-600)) {
      root = ::sqrt(s);  // float squares cannot overflow or underflow a double sum
    } else {
      double big = 0.0;  // no NaN here: s would be NaN
      for (index_t j = 0; j < cols; ++j) {
        const double a = ::fabs(static_cast<double>(r[j]));
        big = big < a ? a : big;
      }
      if (big == 0.0 || !(big - big == 0.0)) {
        root = big;
      } else {
        int exponent = 0;
        ::frexp(big, &exponent);  // big < 2^exponent
        scale = ::ldexp(1.0, exponent);
        double t = 0.0;
        for (index_t j = 0; j < cols; ++j) {
          const double v = static_cast<double>(r[j]) / scale;  // exact: a power of two
          t += v * v;
        }
        root = ::sqrt(t);
      }
    }
    if (root == 0.0) root = 1.0;  // zero rows stay zero
    for (index_t j = 0; j < cols; ++j)
      out[j] = static_cast<T>(static_cast<double>(r[j]) / scale / root);
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
