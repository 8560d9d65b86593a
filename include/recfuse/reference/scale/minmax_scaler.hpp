// recfuse: the serial reference kernel of the min-max scaler (recfuse/scale/minmax_scaler.hpp);
// its transform is scaler_transform_kernel (reference/scale/standard_scaler.hpp).
//
//   minmax_scaler_fit_kernel(policy, x, min, max)   per-column min and max (NaN min for a column
//                                                   that holds NaN or infinity)
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/reference/scale/standard_scaler.hpp"

namespace recfuse::reference_backend {
namespace detail {

// One value v into a column's running (lo, hi), as the fit scans it: lo becomes NaN at NaN or
// infinity and stays NaN (hi is then meaningless); otherwise the earlier of equal values stays,
// as with std::min / std::max. Device-callable (the Kokkos fit runs it).
RECFUSE_HOST_DEVICE inline void min_max_step(double& lo, double& hi, double v) {
  if (!(v - v == 0.0)) {  // !std::isfinite(v)
    lo = v - v;           // NaN
  } else if (lo == lo) {  // !std::isnan(lo)
    lo = v < lo ? v : lo;
    hi = hi < v ? v : hi;
  }
}

}  // namespace detail

template <class T>
void minmax_scaler_fit_kernel(const policy&, matrix_view<const T> x, vector_view<double> lo,
                              vector_view<double> hi) {
  RECFUSE_ASSERT(x.rows() >= 1 && x.cols() >= 1);  // the contract every backend keeps
  const index_t cols = x.cols();
  for (index_t j = 0; j < cols; ++j) lo[j] = hi[j] = static_cast<double>(x(0, j));
  for (index_t i = 0; i < x.rows(); ++i) {
    const T* r = x.row(i);
    for (index_t j = 0; j < cols; ++j) {
      detail::min_max_step(lo[j], hi[j], static_cast<double>(r[j]));
    }
  }
}

}  // namespace recfuse::reference_backend
