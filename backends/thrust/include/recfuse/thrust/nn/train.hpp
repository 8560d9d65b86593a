// recfuse Thrust backend: the kernels of MLP training (recfuse/nn/train.hpp).
//
// - first_non_finite_kernel: a thrust::transform_reduce over the indices, the minimum index of
//   a NaN or infinite value (n standing for "none"), so the first one as the reference finds it.
// - adam_step_kernel: elementwise, one thrust::for_each running the reference's per-element
//   update (reference_backend::adam_update_element, in double, rounded to T once), so the
//   results are the reference's.
// Views are in the policy's memory space (host for cpp/omp/tbb, device for cuda).
#pragma once

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/transform_reduce.h>

#include "recfuse/core/config.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/nn/train.hpp"
#include "recfuse/reference/nn/train.hpp"
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

// One element of the Adam update: the reference's adam_update_element (the constants are
// copied into the functor, so a device kernel reads no host memory).
template <class T>
struct adam_update {
  T* param;
  const T* grad;
  T* m;
  T* v;
  nn::adam_step_constants c;
  double step_size;
  RECFUSE_HOST_DEVICE void operator()(index_t i) const {
    reference_backend::adam_update_element(param[i], grad[i], m[i], v[i], c, step_size);
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
  ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(param.size()),
                     detail::adam_update<T>{param.data(), grad.data(), m.data(), v.data(), c,
                                            c.learning_rate / c.bias_correction1});
}

}  // namespace recfuse::thrust_backend
