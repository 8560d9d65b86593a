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

template <class T>
void minmax_scaler_fit_kernel(const policy&, matrix_view<const T> x, vector_view<double> lo,
                              vector_view<double> hi) {
  RECFUSE_ASSERT(x.rows() >= 1 && x.cols() >= 1);  // the contract every backend keeps
  const index_t cols = x.cols();
  for (index_t j = 0; j < cols; ++j) lo[j] = hi[j] = static_cast<double>(x(0, j));
  for (index_t i = 0; i < x.rows(); ++i) {
    const T* r = x.row(i);
    for (index_t j = 0; j < cols; ++j) {
      const double v = static_cast<double>(r[j]);
      if (!std::isfinite(v)) {
        lo[j] = std::numeric_limits<double>::quiet_NaN();
      } else if (!std::isnan(lo[j])) {
        lo[j] = std::min(lo[j], v);
        hi[j] = std::max(hi[j], v);
      }
    }
  }
}

}  // namespace recfuse::reference_backend
