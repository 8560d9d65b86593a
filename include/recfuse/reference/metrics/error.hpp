// recfuse: serial reference kernels for the error metrics (the oracle the backends are tested
// against). Double accumulation, one pass, in index order.
#pragma once

#include <cmath>

#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"

namespace recfuse::reference_backend {

template <class T>
double rmse_kernel(const policy&, vector_view<const T> a, vector_view<const T> b) {
  double sum = 0.0;
  for (index_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    sum += d * d;
  }
  return sum;
}

template <class T>
double mae_kernel(const policy&, vector_view<const T> a, vector_view<const T> b) {
  double sum = 0.0;
  for (index_t i = 0; i < a.size(); ++i) {
    sum += std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
  }
  return sum;
}

}  // namespace recfuse::reference_backend
