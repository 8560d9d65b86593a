// recfuse xsimd backend: the kernels of MLP training (recfuse/nn/train.hpp).
//
// first_non_finite_kernel and adam_step_kernel work in T batches (Adam's scalars come in double
// and are rounded to T once per step); Adam's elements are split over threads in fixed chunks.
#pragma once

#include "recfuse/xsimd/detail/xsimd.hpp"

#include <algorithm>
#include <cmath>

#include "recfuse/core/config.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/nn/train.hpp"
#include "recfuse/reference/nn/train.hpp"
#include "recfuse/xsimd/detail/parallel.hpp"
#include "recfuse/xsimd/nn/mlp.hpp"
#include "recfuse/xsimd/policy.hpp"

namespace recfuse::xsimd_backend {
namespace detail {

// Parameters a thread gets at least in Adam (compute-bound: a square root and a division each).
inline constexpr index_t adam_min_chunk = index_t{1} << 13;

}  // namespace detail

template <class T>
index_t first_non_finite_kernel(const policy&, vector_view<const T> v) {
  using batch = ::xsimd::batch<T>;
  constexpr auto lanes = static_cast<index_t>(batch::size);
  constexpr index_t block = 16 * lanes;
  const index_t n = v.size();
  index_t i = 0;
  for (; i + block <= n; i += block) {
    batch s(T(0));
    for (index_t j = 0; j < block; j += lanes) {
      const batch x = batch::load_unaligned(v.data() + i + j);
      s += x - x;  // NaN exactly when some x was NaN or infinite
    }
    if (::xsimd::any(::xsimd::isnan(s))) break;
  }
  for (; i < n; ++i) {
    if (!std::isfinite(v[i])) return i;
  }
  return -1;
}

template <class T>
void adam_step_kernel(const policy& p, vector_view<T> param, vector_view<const T> grad,
                      vector_view<T> m, vector_view<T> v, const nn::adam_step_constants& c) {
  using batch = ::xsimd::batch<T>;
  constexpr auto lanes = static_cast<index_t>(batch::size);
  const T b1 = static_cast<T>(c.beta1), one_b1 = static_cast<T>(1.0 - c.beta1);
  const T b2 = static_cast<T>(c.beta2), one_b2 = static_cast<T>(1.0 - c.beta2);
  const T wd = static_cast<T>(c.weight_decay), eps = static_cast<T>(c.epsilon);
  const T step = static_cast<T>(c.learning_rate / c.bias_correction1);
  const T inv_bc2 = static_cast<T>(1.0 / c.bias_correction2_sqrt);
  const index_t n = param.size();
  auto scalar = [&](index_t i) {
    const T g = grad[i] + wd * param[i];
    const T mi = b1 * m[i] + one_b1 * g;
    const T vi = b2 * v[i] + one_b2 * (g * g);
    m[i] = mi;
    v[i] = vi;
    param[i] -= step * mi / (std::sqrt(vi) * inv_bc2 + eps);
  };
  const index_t groups = n / lanes;
  const int chunks = static_cast<int>(std::min<index_t>(
      detail::chunk_count(p, n, detail::adam_min_chunk), std::max<index_t>(1, groups)));
  detail::for_chunks(chunks, groups, [&](int, index_t g0, index_t g1) {
    const batch vb1(b1), vob1(one_b1), vb2(b2), vob2(one_b2), vwd(wd), veps(eps), vstep(step),
        vinv(inv_bc2);
    for (index_t g = g0; g < g1; ++g) {
      const index_t i = g * lanes;
      const batch pv = batch::load_unaligned(param.data() + i);
      const batch gv = batch::load_unaligned(grad.data() + i) + vwd * pv;
      const batch mv = vb1 * batch::load_unaligned(m.data() + i) + vob1 * gv;
      const batch vv = vb2 * batch::load_unaligned(v.data() + i) + vob2 * (gv * gv);
      mv.store_unaligned(m.data() + i);
      vv.store_unaligned(v.data() + i);
      (pv - vstep * mv / (::xsimd::sqrt(vv) * vinv + veps)).store_unaligned(param.data() + i);
    }
  });
  for (index_t i = groups * lanes; i < n; ++i) scalar(i);
}

}  // namespace recfuse::xsimd_backend
