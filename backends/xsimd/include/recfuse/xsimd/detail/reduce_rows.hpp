// recfuse xsimd backend: the sums of N batches at once, N the batch width.
//
//   batch s = xsimd_backend::detail::reduce_rows(acc);   // s.get(i) == reduce_add(acc[i]), i < N
//
// The transposing reduction at the end of a group of dot products (the fused top-k's single-query
// worker, implicit ALS's conjugate-gradient groups). recfuse owns it instead of calling
// xsimd::haddp: on avx512f, xsimd's float haddp (8.1 to 14.3 at least) returns the sums of rows
// 2, 3, 10, 11 in lanes 4, 5, 12, 13 and the reverse, because its last step pairs the wrong
// 128-bit lanes, and it needs AVX512DQ besides. The AVX-512 paths below use AVX512F instructions
// only; AVX/AVX2 use the 256-bit horizontal adds; every other architecture sums each batch.
// Every lane's sum is formed in a fixed order for a given architecture, so results do not depend
// on the caller's thread count.
#pragma once

#include <cstddef>
#include <type_traits>

#include "recfuse/xsimd/detail/xsimd.hpp"

namespace recfuse::xsimd_backend::detail {

template <class T, class A>
::xsimd::batch<T, A> reduce_rows(const ::xsimd::batch<T, A>* rows) {
  using batch = ::xsimd::batch<T, A>;
  constexpr std::size_t n = batch::size;
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of_v<::xsimd::avx512f, A> && std::is_same_v<T, float>) {
    static_assert(n == 16);
    // 1. rows (2i, 2i+1) -> per 128-bit lane: [a0+a2, b0+b2, a1+a3, b1+b3]
    __m512 pair[8];
    for (int i = 0; i < 8; ++i) {
      const __m512 a = rows[2 * i], b = rows[2 * i + 1];
      pair[i] = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    }
    // 2. pairs (2i, 2i+1) -> per 128-bit lane L: the lane-L partial sums of rows 4i .. 4i+3
    __m512 quad[4];
    for (int i = 0; i < 4; ++i) {
      const __m512 a = pair[2 * i], b = pair[2 * i + 1];
      quad[i] = _mm512_add_ps(_mm512_shuffle_ps(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
                              _mm512_shuffle_ps(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
    }
    // 3. add the four 128-bit lanes of each quad: lanes (0+1, 2+3), then (01 + 23), so that
    //    128-bit lane g of the result holds rows 4g .. 4g+3
    const auto fold = [](__m512 a, __m512 b) {
      return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                           _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
    };
    return batch(fold(fold(quad[0], quad[1]), fold(quad[2], quad[3])));
  } else if constexpr (std::is_base_of_v<::xsimd::avx512f, A> && std::is_same_v<T, double>) {
    static_assert(n == 8);
    // 1. rows (2i, 2i+1) -> per 128-bit lane L: [a_L0 + a_L1, b_L0 + b_L1]
    __m512d pair[4];
    for (int i = 0; i < 4; ++i) {
      const __m512d a = rows[2 * i], b = rows[2 * i + 1];
      pair[i] = _mm512_add_pd(_mm512_unpacklo_pd(a, b), _mm512_unpackhi_pd(a, b));
    }
    // 2. and 3. add the four 128-bit lanes: 128-bit lane g of the result holds rows 2g, 2g+1
    const auto fold = [](__m512d a, __m512d b) {
      return _mm512_add_pd(_mm512_shuffle_f64x2(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                           _mm512_shuffle_f64x2(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
    };
    return batch(fold(fold(pair[0], pair[1]), fold(pair[2], pair[3])));
  } else
#endif
#if XSIMD_WITH_AVX
      if constexpr (std::is_base_of_v<::xsimd::avx, A> && std::is_same_v<T, float>) {
    static_assert(n == 8);
    // hadd works per 128-bit lane: after two rounds, lane L of h01 holds the lane-L partial sums
    // of rows 0..3, of h47 those of rows 4..7; then add the two lanes.
    const __m256 h01 =
        _mm256_hadd_ps(_mm256_hadd_ps(rows[0], rows[1]), _mm256_hadd_ps(rows[2], rows[3]));
    const __m256 h47 =
        _mm256_hadd_ps(_mm256_hadd_ps(rows[4], rows[5]), _mm256_hadd_ps(rows[6], rows[7]));
    return batch(_mm256_add_ps(_mm256_permute2f128_ps(h01, h47, 0x20),
                               _mm256_permute2f128_ps(h01, h47, 0x31)));
  } else if constexpr (std::is_base_of_v<::xsimd::avx, A> && std::is_same_v<T, double>) {
    static_assert(n == 4);
    const __m256d h01 = _mm256_hadd_pd(rows[0], rows[1]);  // [r0 lo, r1 lo | r0 hi, r1 hi]
    const __m256d h23 = _mm256_hadd_pd(rows[2], rows[3]);
    return batch(_mm256_add_pd(_mm256_permute2f128_pd(h01, h23, 0x20),
                               _mm256_permute2f128_pd(h01, h23, 0x31)));
  } else
#endif
  {
    alignas(64) T sums[n];
    for (std::size_t i = 0; i < n; ++i) sums[i] = ::xsimd::reduce_add(rows[i]);
    return batch::load_aligned(sums);
  }
}

}  // namespace recfuse::xsimd_backend::detail
