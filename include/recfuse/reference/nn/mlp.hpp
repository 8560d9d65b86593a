// recfuse: the serial reference kernels of the MLP scorer (recfuse/nn/mlp.hpp, nn/train.hpp).
//
//   dense_forward_kernel(policy, x, w, b, act, y)      y = act(x w^T + b)   (one dense layer)
//   activation_backward_kernel(policy, act, y, g, d)   d = g * act'(y)      (d may alias g)
//   dense_backward_input_kernel(policy, d, w, act, y, out)   out = (d w) * act'(y)
//   column_sums_kernel(policy, a, out)                 out_j = sum_i a(i, j)
//   first_non_finite_kernel(policy, v)                 index of the first NaN / inf, or -1
//   adam_kernel(policy, p, g, m, v, step)              one Adam update (PyTorch's formula)
//
// Sums are accumulated in double and rounded to T once; the public functions have checked the
// shapes. Backends override each kernel for their policy; what they lack falls back to these.
#pragma once

#include <cmath>

#include "recfuse/core/config.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/nn/activation.hpp"
#include "recfuse/reference/gemm.hpp"

namespace recfuse::nn {

// The scalars of one Adam update, computed by recfuse::nn::adam::step in double.
struct adam_step_constants {
  double learning_rate, beta1, beta2, epsilon, weight_decay;
  double bias_correction1;       // 1 - beta1^t
  double bias_correction2_sqrt;  // sqrt(1 - beta2^t)
};

}  // namespace recfuse::nn

namespace recfuse::reference {

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
      delta(i, j) = act == nn::activation::relu
                        ? (y(i, j) > T(0) ? grad(i, j) : T(0))
                        : grad(i, j) * nn::activation_derivative(act, y(i, j));
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

template <class T>
index_t first_non_finite_kernel(const policy&, vector_view<const T> v) {
  for (index_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) return i;
  }
  return -1;
}

// PyTorch's Adam (torch.optim.Adam, foreach=False), each element in double:
//   g = grad + weight_decay * param;  m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
//   param -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)
template <class T>
void adam_kernel(const policy&, vector_view<T> param, vector_view<const T> grad, vector_view<T> m,
                 vector_view<T> v, const nn::adam_step_constants& c) {
  const double step_size = c.learning_rate / c.bias_correction1;
  for (index_t i = 0; i < param.size(); ++i) {
    const double g = static_cast<double>(grad[i]) + c.weight_decay * param[i];
    const double mi = c.beta1 * m[i] + (1.0 - c.beta1) * g;
    const double vi = c.beta2 * v[i] + (1.0 - c.beta2) * g * g;
    m[i] = static_cast<T>(mi);
    v[i] = static_cast<T>(vi);
    const double denom = std::sqrt(vi) / c.bias_correction2_sqrt + c.epsilon;
    param[i] = static_cast<T>(param[i] - step_size * mi / denom);
  }
}

}  // namespace recfuse::reference
