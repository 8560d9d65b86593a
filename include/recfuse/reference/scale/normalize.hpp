// recfuse: the serial reference kernel of normalize_rows (recfuse/scale/normalize.hpp).
//
//   normalize_rows_kernel(policy, in, out)   out row = in row / ||in row||_2 (zero rows stay zero)
#pragma once

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
template <class T>
double row_norm(const T* x, index_t n, double& scale) {
  scale = 1.0;
  double s = 0.0;
  for (index_t j = 0; j < n; ++j) s += static_cast<double>(x[j]) * static_cast<double>(x[j]);
  if constexpr (std::is_same_v<T, float>) {
    return std::sqrt(s);
  } else {
    if (std::isnan(s) || (std::isfinite(s) && s >= 0x1p-600)) return std::sqrt(s);
    double big = 0.0;  // no NaN here: s would be NaN
    for (index_t j = 0; j < n; ++j) big = std::max(big, std::abs(static_cast<double>(x[j])));
    if (big == 0.0 || std::isinf(big)) return big;
    int exponent = 0;
    std::frexp(big, &exponent);  // big < 2^exponent
    scale = std::ldexp(1.0, exponent);
    double t = 0.0;
    for (index_t j = 0; j < n; ++j) {
      const double y = static_cast<double>(x[j]) / scale;  // exact: scale is a power of two
      t += y * y;
    }
    return std::sqrt(t);
  }
}

}  // namespace detail

template <class T>
void normalize_rows_kernel(const policy&, matrix_view<const T> in, matrix_view<T> out) {
  for (index_t i = 0; i < in.rows(); ++i) {
    const T* x = in.row(i);
    T* y = out.row(i);
    double scale = 1.0;
    double root = detail::row_norm(x, in.cols(), scale);
    if (root == 0.0) root = 1.0;  // zero rows stay zero
    for (index_t j = 0; j < in.cols(); ++j) {
      y[j] = static_cast<T>(static_cast<double>(x[j]) / scale / root);
    }
  }
}

}  // namespace recfuse::reference_backend
