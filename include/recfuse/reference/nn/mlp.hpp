// recfuse: the serial reference kernels of the MLP scorer (recfuse/nn/mlp.hpp).
//
//   dense_forward_kernel(policy, x, w, b, act, y)      y = act(x w^T + b)   (one dense layer)
//   activation_backward_kernel(policy, act, y, g, d)   d = g * act'(y)      (d may alias g)
//   dense_backward_input_kernel(policy, d, w, act, y, out)   out = (d w) * act'(y)
//   column_sums_kernel(policy, a, out)                 out_j = sum_i a(i, j)
//
// Sums are accumulated in double and rounded to T once; the public functions have checked the
// shapes. Backends override each kernel for their policy; what they lack falls back to these.
#pragma once

#include <cmath>

#include "recfuse/core/config.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/nn/activation.hpp"
#include "recfuse/reference/nn/gemm.hpp"

namespace recfuse::reference_backend {

// y (batch x out) = act(x (batch x in) * w^T (w: out x in) + b).
template <class T>
void dense_forward_kernel(const policy& p, matrix_view<const T> x, matrix_view<const T> w,
                          vector_view<const T> b, nn::activation act, matrix_view<T> y) {
  gemm_kernel(p, false, true, T(1), x, w, T(0), y);
  for (index_t i = 0; i < y.rows(); ++i) {
    T* row = y.row(i);
    for (index_t j = 0; j < y.cols(); ++j) row[j] = nn::activate(act, row[j] + b[j]);
  }
}

// delta = grad * act'(y), elementwise; delta may be grad itself. relu selects (grad where
// y > 0, else 0) as PyTorch's threshold_backward does, so it passes no NaN from where it is flat.
template <class T>
void activation_backward_kernel(const policy&, nn::activation act, matrix_view<const T> y,
                                matrix_view<const T> grad, matrix_view<T> delta) {
  for (index_t i = 0; i < y.rows(); ++i) {
    for (index_t j = 0; j < y.cols(); ++j) {
      delta(i, j) = nn::activation_backprop(act, y(i, j), grad(i, j));
    }
  }
}

// out = (delta w) * act'(y): backprop through a dense layer (w: out x in) into the previous
// layer's pre-activation (y: that layer's output, batch x in).
template <class T>
void dense_backward_input_kernel(const policy& p, matrix_view<const T> delta,
                                 matrix_view<const T> w, nn::activation act, matrix_view<const T> y,
                                 matrix_view<T> out) {
  gemm_kernel(p, false, false, T(1), delta, w, T(0), out);
  activation_backward_kernel(p, act, y, matrix_view<const T>(out), out);
}

template <class T>
void column_sums_kernel(const policy&, matrix_view<const T> a, vector_view<T> out) {
  for (index_t j = 0; j < a.cols(); ++j) {
    double s = 0.0;
    for (index_t i = 0; i < a.rows(); ++i) s += a(i, j);
    out[j] = static_cast<T>(s);
  }
}

}  // namespace recfuse::reference_backend
