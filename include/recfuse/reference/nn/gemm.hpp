// recfuse: the serial reference GEMM, the oracle for every backend's matrix product.
//
//   gemm_kernel(policy, trans_a, trans_b, alpha, a, b, beta, c)
//     c = alpha * op(a) * op(b) + beta * c, op(x) = x or x^T
//
// Each entry is accumulated in double over the inner dimension in order, then scaled and
// rounded to T once. beta == 0 overwrites c without reading it (NaN in c does not propagate),
// as BLAS does. The public front end (recfuse/nn/gemm.hpp) has checked the shapes.
#pragma once

#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"

namespace recfuse::reference_backend {

template <class T>
void gemm_kernel(const policy&, bool trans_a, bool trans_b, T alpha, matrix_view<const T> a,
                 matrix_view<const T> b, T beta, matrix_view<T> c) {
  const index_t m = c.rows(), n = c.cols();
  const index_t inner = trans_a ? a.rows() : a.cols();
  for (index_t i = 0; i < m; ++i) {
    for (index_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (index_t p = 0; p < inner; ++p) {
        const double x = trans_a ? a(p, i) : a(i, p);
        const double y = trans_b ? b(j, p) : b(p, j);
        acc += x * y;
      }
      const double prior = beta == T(0) ? 0.0 : static_cast<double>(beta) * c(i, j);
      c(i, j) = static_cast<T>(static_cast<double>(alpha) * acc + prior);
    }
  }
}

}  // namespace recfuse::reference_backend
