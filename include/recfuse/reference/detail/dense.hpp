// recfuse: small dense linear algebra for the factorization solvers (k x k systems, k ~ 10..256).
// Plain loops; the xsimd backend keeps its own vectorised variants.
#pragma once

#include <cmath>

#include "recfuse/core/config.hpp"

namespace recfuse::detail {

// Solves A x = b in place for a symmetric positive-definite n x n row-major A (only the lower
// triangle is read; A is overwritten by its Cholesky factor L, b by x). Returns false, leaving
// A and b partly overwritten, when A is not positive definite. Host and device code (the Thrust
// kernels run it per row on the GPU).
template <class T>
RECFUSE_HOST_DEVICE bool cholesky_solve(T* a, T* b, index_t n) {
  for (index_t j = 0; j < n; ++j) {
    T d = a[j * n + j];
    for (index_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > T(0))) return false;
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    const T ljj = ::sqrt(d);
#else
    const T ljj = std::sqrt(d);
#endif
    a[j * n + j] = ljj;
    for (index_t i = j + 1; i < n; ++i) {
      T s = a[i * n + j];
      for (index_t k = 0; k < j; ++k) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / ljj;
    }
  }
  for (index_t i = 0; i < n; ++i) {  // L y = b
    T s = b[i];
    for (index_t k = 0; k < i; ++k) s -= a[i * n + k] * b[k];
    b[i] = s / a[i * n + i];
  }
  for (index_t i = n - 1; i >= 0; --i) {  // L^T x = y
    T s = b[i];
    for (index_t k = i + 1; k < n; ++k) s -= a[k * n + i] * b[k];
    b[i] = s / a[i * n + i];
  }
  return true;
}

}  // namespace recfuse::detail
