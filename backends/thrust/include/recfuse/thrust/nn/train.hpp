// recfuse Thrust backend: the kernels of MLP training (recfuse/nn/train.hpp).
//
// - first_non_finite_kernel: a thrust::transform_reduce over the indices, the minimum index of
//   a NaN or infinite value (n standing for "none"), so the first one as the reference finds it.
// - adam_step_kernel: elementwise, one thrust::for_each; each element updated in double and
//   rounded to T once, the reference's formula, so the results are the reference's.
// Views are in the policy's memory space (host for cpp/omp/tbb, device for cuda).
#pragma once

#include <cmath>

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/transform_reduce.h>

#include "recfuse/core/config.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/nn/train.hpp"
#include "recfuse/thrust/nn/mlp.hpp"
#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend {
namespace detail {

// i where v[i] is NaN or infinite (x - x is NaN exactly then), else n.
template <class T>
struct non_finite_index {
  const T* v;
  index_t n;
  RECFUSE_HOST_DEVICE index_t operator()(index_t i) const {
    const T x = v[i];
    return x - x == T(0) ? n : i;
  }
};

struct index_min {
  RECFUSE_HOST_DEVICE index_t operator()(index_t a, index_t b) const { return a < b ? a : b; }
};

template <class T>
struct adam_update {
  T* param;
  const T* grad;
  T* m;
  T* v;
  double beta1, beta2, epsilon, weight_decay, step_size, bias_correction2_sqrt;
  RECFUSE_HOST_DEVICE void operator()(index_t i) const {
    const double g = static_cast<double>(grad[i]) + weight_decay * param[i];
    const double mi = beta1 * m[i] + (1.0 - beta1) * g;
    const double vi = beta2 * v[i] + (1.0 - beta2) * g * g;
    m[i] = static_cast<T>(mi);
    v[i] = static_cast<T>(vi);
    const double denom = ::sqrt(vi) / bias_correction2_sqrt + epsilon;
    param[i] = static_cast<T>(param[i] - step_size * mi / denom);
  }
};

}  // namespace detail

template <class System, class T>
index_t first_non_finite_kernel(const policy<System>& p,
                                vector_view<const T, typename policy<System>::memory_space> v) {
  const index_t n = v.size();
  if (n == 0) return -1;
  const index_t first =
      ::thrust::transform_reduce(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                                 ::thrust::counting_iterator<index_t>(n),
                                 detail::non_finite_index<T>{v.data(), n}, n, detail::index_min{});
  return first == n ? -1 : first;
}

template <class System, class T>
void adam_step_kernel(const policy<System>& p,
                      vector_view<T, typename policy<System>::memory_space> param,
                      vector_view<const T, typename policy<System>::memory_space> grad,
                      vector_view<T, typename policy<System>::memory_space> m,
                      vector_view<T, typename policy<System>::memory_space> v,
                      const nn::adam_step_constants& c) {
  if (param.size() == 0) return;
  ::thrust::for_each(
      p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
      ::thrust::counting_iterator<index_t>(param.size()),
      detail::adam_update<T>{param.data(), grad.data(), m.data(), v.data(), c.beta1, c.beta2,
                             c.epsilon, c.weight_decay, c.learning_rate / c.bias_correction1,
                             c.bias_correction2_sqrt});
}

}  // namespace recfuse::thrust_backend
