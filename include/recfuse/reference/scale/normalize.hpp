// recfuse: the serial reference kernel of normalize_rows (recfuse/scale/normalize.hpp).
//
//   normalize_rows_kernel(policy, in, out)   out row = in row / ||in row||_2 (zero rows stay zero)
#pragma once

#include <math.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"

namespace recfuse::reference_backend {
namespace detail {

// ||x||_2 of n elements as scale * root, with scale a power of two (1 unless rescaling was
// needed), so x / scale / root stays accurate even where the norm itself would be subnormal.
// Float input cannot overflow or underflow a double sum of squares; double input that does is
// rescaled by a power of two at least its largest magnitude. NaN in x gives a NaN root.
// Device-callable (the Kokkos kernel runs it): the global <math.h> functions, NaN and infinity
// tested by comparisons.
template <class T>
RECFUSE_HOST_DEVICE double row_norm(const T* x, index_t n, double& scale) {
  scale = 1.0;
  double s = 0.0;
  for (index_t j = 0; j < n; ++j) s += static_cast<double>(x[j]) * static_cast<double>(x[j]);
  if constexpr (std::is_same_v<T, float>) {
    return ::sqrt(s);
  } else {
    // NaN, or finite (s - s == 0) and not tiny
    if (s != s || (s - s == 0.0 && s >= 0x1p-600)) return ::sqrt(s);
    double big = 0.0;  // no NaN here: s would be NaN
    for (index_t j = 0; j < n; ++j) {
      const double a = ::fabs(static_cast<double>(x[j]));
      big = big < a ? a : big;  // std::max(big, a)
    }
    if (big == 0.0 || !(big - big == 0.0)) return big;  // zero, or infinity
    int exponent = 0;
    ::frexp(big, &exponent);  // big < 2^exponent
    scale = ::ldexp(1.0, exponent);
    double t = 0.0;
    for (index_t j = 0; j < n; ++j) {
      const double y = static_cast<double>(x[j]) / scale;  // exact: scale is a power of two
      t += y * y;
    }
    return ::sqrt(t);
  }
}

// Row x of n elements divided by its L2 norm into y (zero rows stay zero; NaN propagates; y may
// be x). Device-callable, like row_norm.
template <class T>
RECFUSE_HOST_DEVICE void normalize_row(const T* x, T* y, index_t n) {
  double scale = 1.0;
  double root = row_norm(x, n, scale);
  if (root == 0.0) root = 1.0;  // zero rows stay zero
  for (index_t j = 0; j < n; ++j) y[j] = static_cast<T>(static_cast<double>(x[j]) / scale / root);
}

}  // namespace detail

template <class T>
void normalize_rows_kernel(const policy&, matrix_view<const T> in, matrix_view<T> out) {
  for (index_t i = 0; i < in.rows(); ++i) detail::normalize_row(in.row(i), out.row(i), in.cols());
}

}  // namespace recfuse::reference_backend
