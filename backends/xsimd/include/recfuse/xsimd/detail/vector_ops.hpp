// recfuse xsimd backend: level-1 vector helpers the factorization kernels share
// (factorize/biased_mf.hpp, factorize/implicit_als.hpp).
//
//   T s = xsimd_backend::detail::dot(a, b, k);     // sum_j a[j] b[j]
//   xsimd_backend::detail::axpy(c, y, out, k);     // out[j] += c y[j]
//
// Unaligned T batches with FMA, then a scalar tail; the summation order depends on k and the
// batch width only, so a result is the same on every call and thread.
#pragma once

#include "recfuse/xsimd/detail/xsimd.hpp"

#include "recfuse/core/config.hpp"

namespace recfuse::xsimd_backend::detail {

// sum_j a[j] b[j] over k elements: two FMA chains over whole batches (a third step for an odd
// batch), one horizontal add, then the scalar tail.
template <class T>
inline T dot(const T* a, const T* b, index_t k) {
  using batch = ::xsimd::batch<T>;
  constexpr index_t w = static_cast<index_t>(batch::size);
  index_t j = 0;
  T s = T(0);
  if (k >= w) {
    batch s0(T(0)), s1(T(0));
    for (; j + 2 * w <= k; j += 2 * w) {
      s0 = ::xsimd::fma(batch::load_unaligned(a + j), batch::load_unaligned(b + j), s0);
      s1 = ::xsimd::fma(batch::load_unaligned(a + j + w), batch::load_unaligned(b + j + w), s1);
    }
    if (j + w <= k) {
      s0 = ::xsimd::fma(batch::load_unaligned(a + j), batch::load_unaligned(b + j), s0);
      j += w;
    }
    s = ::xsimd::reduce_add(s0 + s1);
  }
  for (; j < k; ++j) s += a[j] * b[j];
  return s;
}

// out[j] += c y[j] over k elements (batches with FMA, then the scalar tail).
template <class T>
inline void axpy(T c, const T* y, T* out, index_t k) {
  using batch = ::xsimd::batch<T>;
  constexpr index_t w = static_cast<index_t>(batch::size);
  const batch cb(c);
  index_t j = 0;
  for (; j + w <= k; j += w) {
    ::xsimd::fma(cb, batch::load_unaligned(y + j), batch::load_unaligned(out + j))
        .store_unaligned(out + j);
  }
  for (; j < k; ++j) out[j] += c * y[j];
}

}  // namespace recfuse::xsimd_backend::detail
