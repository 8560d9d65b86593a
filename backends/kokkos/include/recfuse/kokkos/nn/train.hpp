// recfuse Kokkos backend: the kernels of MLP training (recfuse/nn/train.hpp).
//
// - first_non_finite_kernel: one parallel_reduce over the indices with a Kokkos::Min reducer,
//   the minimum index of a NaN or infinite value (n standing for "none"), so the first one as
//   the reference finds it, whatever the thread count.
// - adam_step_kernel: elementwise, one parallel_for running the reference's per-element update
//   (reference_backend::adam_update_element, in double, rounded to T once), so the results are
//   the reference's bit for bit on every thread count.
#pragma once

#include <Kokkos_Core.hpp>

#include "recfuse/core/config.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/kokkos/detail/range.hpp"
#include "recfuse/kokkos/nn/mlp.hpp"
#include "recfuse/kokkos/policy.hpp"
#include "recfuse/nn/train.hpp"
#include "recfuse/reference/nn/train.hpp"

namespace recfuse::kokkos_backend {

template <class ExecSpace, class T>
index_t first_non_finite_kernel(const policy<ExecSpace>& p,
                                vector_view<const T, typename policy<ExecSpace>::memory_space> v) {
  const index_t n = v.size();
  if (n == 0) return -1;
  const T* x = v.data();
  index_t first = n;
  // Reducing into a host scalar waits for the kernel.
  Kokkos::parallel_reduce(
      "recfuse::first_non_finite_kernel", detail::index_range(p, n),
      KOKKOS_LAMBDA(index_t i, index_t & best) {
        if (!Kokkos::isfinite(x[i]) && i < best) best = i;
      },
      Kokkos::Min<index_t>(first));
  return first >= n ? -1 : first;
}

template <class ExecSpace, class T>
void adam_step_kernel(const policy<ExecSpace>& p,
                      vector_view<T, typename policy<ExecSpace>::memory_space> param,
                      vector_view<const T, typename policy<ExecSpace>::memory_space> grad,
                      vector_view<T, typename policy<ExecSpace>::memory_space> m,
                      vector_view<T, typename policy<ExecSpace>::memory_space> v,
                      const nn::adam_step_constants& c) {
  if (param.size() == 0) return;
  T* pp = param.data();
  const T* gp = grad.data();
  T* mp = m.data();
  T* vp = v.data();
  const nn::adam_step_constants k = c;
  const double step_size = c.learning_rate / c.bias_correction1;
  Kokkos::parallel_for(
      "recfuse::adam_step_kernel", detail::index_range(p, param.size()), KOKKOS_LAMBDA(index_t i) {
        reference_backend::adam_update_element(pp[i], gp[i], mp[i], vp[i], k, step_size);
      });
  p.instance.fence();
}

}  // namespace recfuse::kokkos_backend
