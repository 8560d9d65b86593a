// recfuse: the serial reference kernels of MLP training (recfuse/nn/train.hpp).
//
//   first_non_finite_kernel(policy, v)           index of the first NaN / inf, or -1
//   adam_step_kernel(policy, p, g, m, v, step)   one Adam update (PyTorch's formula)
//
// Each element is updated in double and rounded to T once. Backends override each kernel for
// their policy; what they lack falls back to these.
#pragma once

#include <cmath>

#include "recfuse/core/config.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"

namespace recfuse::nn {

// The scalars of one Adam update, computed by recfuse::nn::adam::step in double.
struct adam_step_constants {
  double learning_rate, beta1, beta2, epsilon, weight_decay;
  double bias_correction1;       // 1 - beta1^t
  double bias_correction2_sqrt;  // sqrt(1 - beta2^t)
};

}  // namespace recfuse::nn

namespace recfuse::reference_backend {

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
// One element of that update (step_size = lr / bc1); the device backends' kernels call it too.
template <class T>
RECFUSE_HOST_DEVICE inline void adam_update_element(T& param, T grad, T& m, T& v,
                                                    const nn::adam_step_constants& c,
                                                    double step_size) {
  const double g = static_cast<double>(grad) + c.weight_decay * param;
  const double mi = c.beta1 * m + (1.0 - c.beta1) * g;
  const double vi = c.beta2 * v + (1.0 - c.beta2) * g * g;
  m = static_cast<T>(mi);
  v = static_cast<T>(vi);
  const double denom = ::sqrt(vi) / c.bias_correction2_sqrt + c.epsilon;  // std::sqrt's function
  param = static_cast<T>(param - step_size * mi / denom);
}

template <class T>
void adam_step_kernel(const policy&, vector_view<T> param, vector_view<const T> grad,
                      vector_view<T> m, vector_view<T> v, const nn::adam_step_constants& c) {
  const double step_size = c.learning_rate / c.bias_correction1;
  for (index_t i = 0; i < param.size(); ++i) {
    adam_update_element(param[i], grad[i], m[i], v[i], c, step_size);
  }
}

}  // namespace recfuse::reference_backend
