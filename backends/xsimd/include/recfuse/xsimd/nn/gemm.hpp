// recfuse xsimd backend: the dense matrix product (recfuse::gemm) and the fused dense layer the
// MLP scorer runs on it.
//
// Design (GotoBLAS / BLIS): for each block of nc columns and kc inner indices, op(b) is packed
// into micro-panels of nr columns (kc x nr, contiguous), then for each block of mc rows op(a) is
// packed into micro-panels of mr rows (kc x mr), and a register-blocked micro-kernel multiplies
// one mr-row panel by one nr-column panel with mr x (nr / lanes) FMA accumulators (6 x 16
// floats or 6 x 8 doubles on AVX2). Panels are zero-padded, so edge tiles run the same
// micro-kernel; their result goes through a small buffer and only the valid part is stored.
// Pack buffers are thread-local and grow once, so repeated calls allocate nothing.
//
// The epilogue applies alpha, beta (beta == 0 never reads c) and, for the dense layer, the bias
// of each column and the activation, at the store of the last kc block: one pass over c.
//
// Threads split the rows (when m >= n) or the columns of c into chunks of whole tiles; every
// entry's inner sum runs over the same kc blocks in the same order whatever the split, so the
// result does not depend on the thread count. Small shapes skip the packing: when op(a) and
// op(b) are a row-major matrix times a transposed one (x w^T, the dense layer) and c has at
// most 4 rows or columns, each entry is a dot product of two contiguous rows; when c has at
// most 4 rows and b is not transposed, each row of c is a sum of scaled rows of b (axpy). Which
// path runs depends on the shape only.
#pragma once

#include "recfuse/xsimd/detail/xsimd.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

#include "recfuse/core/config.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/nn/activation.hpp"
#include "recfuse/nn/gemm.hpp"
#include "recfuse/xsimd/detail/parallel.hpp"
#include "recfuse/xsimd/policy.hpp"

namespace recfuse::xsimd_backend {
namespace detail {

template <class T>
struct gemm_blocking {
  using batch = ::xsimd::batch<T>;
  static constexpr index_t lanes = static_cast<index_t>(batch::size);
  static constexpr index_t mr = 6;
  static constexpr index_t nr = 2 * lanes;
  static constexpr index_t kc = std::is_same_v<T, float> ? 256 : 192;
  static constexpr index_t mc = 120;  // multiple of mr; an mc x kc block of a stays in L2
  static constexpr index_t nc = 256 * nr;
  // Up to this many columns of c per thread, a is read in place rather than packed (rows of a
  // are contiguous when a is not transposed, so the limit is higher then).
  static constexpr index_t direct_a_columns = 16 * nr;
  static constexpr index_t direct_at_columns = 4 * nr;
  // Work (multiply-adds, plus 16 per entry of c for its store) a thread gets at least before a
  // second one joins in: the blocked path repacks a or b per thread, the unpacked paths do not.
  static constexpr double min_thread_work = 1 << 19;
  static constexpr double min_thread_work_unpacked = 1 << 17;
};

// What happens to each result entry z = op(a) op(b) at its store.
template <class T>
struct gemm_epilogue {
  T alpha = T(1);
  T beta = T(0);
  const T* bias = nullptr;  // per column of c, added after the product (dense layer)
  nn::activation act = nn::activation::identity;
  // Backprop through an activation: multiply by act'(y), y shaped like c (ldy its row stride).
  const T* dact_y = nullptr;
  index_t dact_ldy = 0;
  nn::activation dact = nn::activation::identity;
};

// A thread-local, 64-byte aligned buffer that only grows.
template <class T, int Which>
T* pack_buffer(index_t n) {
  struct holder {
    T* data = nullptr;
    index_t size = 0;
    ~holder() {
      if (data) ::operator delete(data, std::align_val_t(64));
    }
  };
  thread_local holder h;
  if (h.size < n) {
    if (h.data) ::operator delete(h.data, std::align_val_t(64));
    h.data = nullptr;
    h.size = 0;
    h.data = static_cast<T*>(
        ::operator new(static_cast<std::size_t>(n) * sizeof(T), std::align_val_t(64)));
    h.size = n;
  }
  return h.data;
}

template <class T>
inline ::xsimd::batch<T> apply_activation(nn::activation act, ::xsimd::batch<T> v) {
  using batch = ::xsimd::batch<T>;
  switch (act) {
    case nn::activation::relu:
      return ::xsimd::select(v <= batch(T(0)), batch(T(0)), v);  // NaN stays NaN
    case nn::activation::sigmoid:
      return batch(T(1)) / (batch(T(1)) + ::xsimd::exp(-v));
    case nn::activation::identity:
      break;
  }
  return v;
}

// v * act'(y), act' taken from the activation's output y.
template <class T>
inline ::xsimd::batch<T> apply_derivative(nn::activation act, ::xsimd::batch<T> v,
                                          ::xsimd::batch<T> y) {
  using batch = ::xsimd::batch<T>;
  switch (act) {
    case nn::activation::relu:
      return ::xsimd::select(y > batch(T(0)), v, batch(T(0)));
    case nn::activation::sigmoid:
      return v * (y * (batch(T(1)) - y));
    case nn::activation::identity:
      break;
  }
  return v;
}

// Stores one mr x nr tile of accumulators into c (ldc) with the epilogue. first: the first kc
// block (apply beta); last: the last one (apply bias and activation, or the activation's
// derivative). bias points at the tile's first column, y at the tile's entry of dact_y.
template <class T>
inline void store_tile(const ::xsimd::batch<T> (&acc)[gemm_blocking<T>::mr][2], T* c, index_t ldc,
                       bool first, bool last, const gemm_epilogue<T>& ep, const T* bias, const T* y,
                       index_t ldy) {
  using batch = ::xsimd::batch<T>;
  constexpr index_t mr = gemm_blocking<T>::mr, lanes = gemm_blocking<T>::lanes;
  const batch alpha(ep.alpha), beta(ep.beta);
  batch b0(T(0)), b1(T(0));
  const bool with_bias = last && bias != nullptr;
  if (with_bias) {
    b0 = batch::load_unaligned(bias);
    b1 = batch::load_unaligned(bias + lanes);
  }
  const bool read_c = !first || ep.beta != T(0);
  for (index_t r = 0; r < mr; ++r) {
    T* row = c + r * ldc;
    batch v0 = acc[r][0] * alpha, v1 = acc[r][1] * alpha;
    if (read_c) {
      const batch c0 = batch::load_unaligned(row), c1 = batch::load_unaligned(row + lanes);
      if (first) {
        v0 = ::xsimd::fma(beta, c0, v0);
        v1 = ::xsimd::fma(beta, c1, v1);
      } else {
        v0 += c0;
        v1 += c1;
      }
    }
    if (last) {
      if (with_bias) {
        v0 += b0;
        v1 += b1;
      }
      v0 = apply_activation(ep.act, v0);
      v1 = apply_activation(ep.act, v1);
      if (y != nullptr) {
        v0 = apply_derivative(ep.dact, v0, batch::load_unaligned(y + r * ldy));
        v1 = apply_derivative(ep.dact, v1, batch::load_unaligned(y + r * ldy + lanes));
      }
    }
    v0.store_unaligned(row);
    v1.store_unaligned(row + lanes);
  }
}

// c[0..rows) x [0..cols) (edge tile) through a full-size buffer, with the same arithmetic.
template <class T>
inline void store_edge_tile(const ::xsimd::batch<T> (&acc)[gemm_blocking<T>::mr][2], T* c,
                            index_t ldc, index_t rows, index_t cols, bool first, bool last,
                            const gemm_epilogue<T>& ep, const T* bias, const T* y, index_t ldy) {
  constexpr index_t mr = gemm_blocking<T>::mr, nr = gemm_blocking<T>::nr;
  alignas(64) T tile[mr * nr];
  alignas(64) T tile_bias[nr];
  alignas(64) T tile_y[mr * nr];
  if (y != nullptr) {
    for (index_t r = 0; r < mr; ++r) {
      for (index_t j = 0; j < nr; ++j)
        tile_y[r * nr + j] = r < rows && j < cols ? y[r * ldy + j] : T(0);
    }
  }
  const bool read_c = !first || ep.beta != T(0);
  for (index_t r = 0; r < mr; ++r) {
    for (index_t j = 0; j < nr; ++j) {
      tile[r * nr + j] = read_c && r < rows && j < cols ? c[r * ldc + j] : T(0);
    }
  }
  for (index_t j = 0; j < nr; ++j) tile_bias[j] = bias != nullptr && j < cols ? bias[j] : T(0);
  store_tile(acc, tile, nr, first, last, ep, bias != nullptr ? tile_bias : nullptr,
             y != nullptr ? tile_y : nullptr, nr);
  for (index_t r = 0; r < rows; ++r) {
    for (index_t j = 0; j < cols; ++j) c[r * ldc + j] = tile[r * nr + j];
  }
}

// acc = a_panel (kc x mr) * b_panel (kc x nr), b packed. a: entry (r, p) at a[r * rs + p * cs];
// Packed: a is an mr-row panel (rs = 1, cs = mr, known at compile time).
template <class T, bool Packed>
inline void micro_kernel(index_t kc, const T* __restrict a, index_t rs, index_t cs,
                         const T* __restrict b, ::xsimd::batch<T> (&acc)[gemm_blocking<T>::mr][2]) {
  using batch = ::xsimd::batch<T>;
  constexpr index_t mr = gemm_blocking<T>::mr, nr = gemm_blocking<T>::nr,
                    lanes = gemm_blocking<T>::lanes;
  if constexpr (Packed) {
    rs = 1;
    cs = mr;
  }
  const T* __restrict a0p = a;
  const T* __restrict a1p = a + rs;
  const T* __restrict a2p = a + 2 * rs;
  const T* __restrict a3p = a + 3 * rs;
  const T* __restrict a4p = a + 4 * rs;
  const T* __restrict a5p = a + 5 * rs;
  batch c00(T(0)), c01(T(0)), c10(T(0)), c11(T(0)), c20(T(0)), c21(T(0));
  batch c30(T(0)), c31(T(0)), c40(T(0)), c41(T(0)), c50(T(0)), c51(T(0));
  for (index_t p = 0; p < kc; ++p) {
    const batch b0 = batch::load_aligned(b), b1 = batch::load_aligned(b + lanes);
    const index_t o = Packed ? p * mr : p * cs;
    batch x(a0p[o]);
    c00 = ::xsimd::fma(x, b0, c00);
    c01 = ::xsimd::fma(x, b1, c01);
    x = batch(a1p[o]);
    c10 = ::xsimd::fma(x, b0, c10);
    c11 = ::xsimd::fma(x, b1, c11);
    x = batch(a2p[o]);
    c20 = ::xsimd::fma(x, b0, c20);
    c21 = ::xsimd::fma(x, b1, c21);
    x = batch(a3p[o]);
    c30 = ::xsimd::fma(x, b0, c30);
    c31 = ::xsimd::fma(x, b1, c31);
    x = batch(a4p[o]);
    c40 = ::xsimd::fma(x, b0, c40);
    c41 = ::xsimd::fma(x, b1, c41);
    x = batch(a5p[o]);
    c50 = ::xsimd::fma(x, b0, c50);
    c51 = ::xsimd::fma(x, b1, c51);
    b += nr;
  }
  acc[0][0] = c00;
  acc[0][1] = c01;
  acc[1][0] = c10;
  acc[1][1] = c11;
  acc[2][0] = c20;
  acc[2][1] = c21;
  acc[3][0] = c30;
  acc[3][1] = c31;
  acc[4][0] = c40;
  acc[4][1] = c41;
  acc[5][0] = c50;
  acc[5][1] = c51;
}

// Packs rows [i0, i0 + mc) x inner [p0, p0 + kc) of op(a) into mr-row panels (zero-padded).
template <class T>
void pack_a(matrix_view<const T> a, bool ta, index_t i0, index_t mc, index_t p0, index_t kc,
            T* dst) {
  constexpr index_t mr = gemm_blocking<T>::mr;
  const index_t full = mc / mr * mr;
  if (!ta) {
    for (index_t ir = 0; ir < mc; ir += mr) {
      const index_t rows = std::min(mr, mc - ir);
      T* panel = dst + ir * kc;
      for (index_t r = 0; r < rows; ++r) {
        const T* src = a.row(i0 + ir + r) + p0;
        for (index_t p = 0; p < kc; ++p) panel[p * mr + r] = src[p];
      }
      for (index_t r = rows; r < mr; ++r) {
        for (index_t p = 0; p < kc; ++p) panel[p * mr + r] = T(0);
      }
    }
    return;
  }
  // op(a) = a^T: row p of a holds inner index p for every row of op(a); read it once, in order.
  for (index_t p = 0; p < kc; ++p) {
    const T* src = a.row(p0 + p) + i0;
    for (index_t ir = 0; ir < full; ir += mr) {
      T* d = dst + ir * kc + p * mr;
      for (index_t r = 0; r < mr; ++r) d[r] = src[ir + r];
    }
    if (full < mc) {
      T* d = dst + full * kc + p * mr;
      for (index_t r = 0; r < mr; ++r) d[r] = full + r < mc ? src[full + r] : T(0);
    }
  }
}

#if defined(__AVX__)
// d[q * ldd + r] = s[r * lds + q] for an 8 x 8 float block (AVX2 in-register transpose).
inline void transpose_8x8(const float* s, index_t lds, float* d, index_t ldd) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(s + i * lds);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  // r[0..3]: rows 0-3 -> columns {0,4}, {1,5}, {2,6}, {3,7} in the two 128-bit halves; same for
  // rows 4-7 in r[4..7].
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(d + i * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(d + (i + 4) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}

// d[q * ldd + r] = s[r * lds + q] for a 4 x 4 double block (AVX in-register transpose).
inline void transpose_4x4(const double* s, index_t lds, double* d, index_t ldd) {
  const __m256d r0 = _mm256_loadu_pd(s), r1 = _mm256_loadu_pd(s + lds),
                r2 = _mm256_loadu_pd(s + 2 * lds), r3 = _mm256_loadu_pd(s + 3 * lds);
  const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1),
                t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
  _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
  _mm256_storeu_pd(d + ldd, _mm256_permute2f128_pd(t1, t3, 0x20));
  _mm256_storeu_pd(d + 2 * ldd, _mm256_permute2f128_pd(t0, t2, 0x31));
  _mm256_storeu_pd(d + 3 * ldd, _mm256_permute2f128_pd(t1, t3, 0x31));
}
#endif

#if defined(__AVX512F__)
// d[q * ldd + r] = s[r * lds + q] for a 16 x 16 float block (AVX-512 in-register transpose).
inline void transpose_16x16(const float* s, index_t lds, float* d, index_t ldd) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(s + i * lds);
  // 4 x 4 transposes inside each 128-bit lane, as in transpose_8x8.
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  // r[4g + c], lane L (128 bits) = rows 4g..4g+3 of column 4L + c. Transpose the 4 x 4 grid of
  // 128-bit lanes: output row 4L + c = lane L of r[c], r[4 + c], r[8 + c], r[12 + c].
  for (int c = 0; c < 4; ++c) {
    // u0 = {r[c].L0, r[c].L1, r[4+c].L0, r[4+c].L1}, u1 = the same with lanes 2, 3; likewise for
    // rows 8-15.
    const __m512 u0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x44);
    const __m512 u1 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xEE);
    const __m512 u2 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x44);
    const __m512 u3 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xEE);
    _mm512_storeu_ps(d + (0 + c) * ldd, _mm512_shuffle_f32x4(u0, u2, 0x88));
    _mm512_storeu_ps(d + (4 + c) * ldd, _mm512_shuffle_f32x4(u0, u2, 0xDD));
    _mm512_storeu_ps(d + (8 + c) * ldd, _mm512_shuffle_f32x4(u1, u3, 0x88));
    _mm512_storeu_ps(d + (12 + c) * ldd, _mm512_shuffle_f32x4(u1, u3, 0xDD));
  }
}
#endif

// Transposes the columns [0, cols) x inner [0, kc) block of a transposed b (column j at
// s + j * lds, inner index p at s[j * lds + p]) into panel[p * nr + j] with in-register square
// transposes, for whole blocks only. Returns how many columns (a multiple of the block) and
// inner indices it wrote; the caller copies the rest.
template <class T, index_t nr>
inline void pack_b_transposed_blocks(const T* s, index_t lds, index_t cols, index_t kc, T* panel,
                                     index_t& j_done, index_t& p_done) {
  j_done = 0;
  p_done = 0;
  (void)s, (void)lds, (void)cols, (void)kc, (void)panel;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float> && nr % 16 == 0) {
    j_done = cols / 16 * 16;
    p_done = kc / 16 * 16;
    for (index_t p = 0; p < p_done; p += 16) {
      for (index_t j = 0; j < j_done; j += 16)
        transpose_16x16(s + j * lds + p, lds, panel + p * nr + j, nr);
    }
    return;
  }
#endif
#if defined(__AVX__)
  if constexpr (std::is_same_v<T, float> && nr % 8 == 0) {
    j_done = cols / 8 * 8;
    p_done = kc / 8 * 8;
    for (index_t p = 0; p < p_done; p += 8) {
      for (index_t j = 0; j < j_done; j += 8)
        transpose_8x8(s + j * lds + p, lds, panel + p * nr + j, nr);
    }
  } else if constexpr (std::is_same_v<T, double> && nr % 4 == 0) {
    j_done = cols / 4 * 4;
    p_done = kc / 4 * 4;
    for (index_t p = 0; p < p_done; p += 4) {
      for (index_t j = 0; j < j_done; j += 4)
        transpose_4x4(s + j * lds + p, lds, panel + p * nr + j, nr);
    }
  }
#endif
  if (j_done == 0) p_done = 0;
}

// Packs inner [p0, p0 + kc) x columns [j0, j0 + nc) of op(b) into nr-column panels.
template <class T>
void pack_b(matrix_view<const T> b, bool tb, index_t p0, index_t kc, index_t j0, index_t nc,
            T* dst) {
  using batch = ::xsimd::batch<T>;
  constexpr index_t nr = gemm_blocking<T>::nr, lanes = gemm_blocking<T>::lanes;
  static_assert(nr % lanes == 0, "nr must be a multiple of the batch width");
  const index_t full = nc / nr * nr;
  if (!tb) {
    // Row p of b holds inner index p for every column: read it once, in order. The edge panel
    // copies its whole batches too, then the tail and the zero padding.
    const index_t edge = nc - full, edge_vec = edge / lanes * lanes;
    for (index_t p = 0; p < kc; ++p) {
      const T* src = b.row(p0 + p) + j0;
      for (index_t jr = 0; jr < full; jr += nr) {
        T* d = dst + jr * kc + p * nr;
        for (index_t j = 0; j < nr; j += lanes)
          batch::load_unaligned(src + jr + j).store_aligned(d + j);
      }
      if (full < nc) {
        T* d = dst + full * kc + p * nr;
        const T* s = src + full;
        for (index_t j = 0; j < edge_vec; j += lanes)
          batch::load_unaligned(s + j).store_aligned(d + j);
        for (index_t j = edge_vec; j < edge; ++j) d[j] = s[j];
        for (index_t j = edge; j < nr; ++j) d[j] = T(0);
      }
    }
    return;
  }
  // Row j of b holds column j of op(b): transpose square blocks in registers, copy the rest.
  for (index_t jr = 0; jr < nc; jr += nr) {
    const index_t cols = std::min(nr, nc - jr);
    T* panel = dst + jr * kc;
    index_t j_done, p_done;
    pack_b_transposed_blocks<T, nr>(b.row(j0 + jr) + p0, b.stride(), cols, kc, panel, j_done,
                                    p_done);
    for (index_t j = 0; j < j_done; ++j) {
      const T* src = b.row(j0 + jr + j) + p0;
      for (index_t p = p_done; p < kc; ++p) panel[p * nr + j] = src[p];
    }
    for (index_t j = j_done; j < cols; ++j) {
      const T* src = b.row(j0 + jr + j) + p0;
      for (index_t p = 0; p < kc; ++p) panel[p * nr + j] = src[p];
    }
    for (index_t j = cols; j < nr; ++j) {
      for (index_t p = 0; p < kc; ++p) panel[p * nr + j] = T(0);
    }
  }
}

// The blocked product for rows [m0, m1) and columns [n0, n1) of c, on the calling thread.
template <class T>
void gemm_block(bool ta, bool tb, matrix_view<const T> a, matrix_view<const T> b, index_t k,
                matrix_view<T> c, index_t m0, index_t m1, index_t n0, index_t n1,
                const gemm_epilogue<T>& ep) {
  using blk = gemm_blocking<T>;
  using batch = ::xsimd::batch<T>;
  constexpr index_t mr = blk::mr, nr = blk::nr;
  const index_t kc_max = std::min(blk::kc, k);
  const index_t nc_max = std::min(blk::nc, (n1 - n0 + nr - 1) / nr * nr);
  const index_t mc_max = std::min(blk::mc, (m1 - m0 + mr - 1) / mr * mr);
  // With few column panels, packing a costs more than it saves: the micro-kernel reads a in
  // place (an mr x kc slice of it stays in L1 across the panels) and packs edge tiles only.
  const bool direct_a = n1 - n0 <= (ta ? blk::direct_at_columns : blk::direct_a_columns);
  T* bpack = pack_buffer<T, 0>(kc_max * nc_max);
  T* apack = pack_buffer<T, 1>(kc_max * (direct_a ? mr : mc_max));
  const index_t rs = ta ? 1 : a.stride(), cs = ta ? a.stride() : 1;
  batch acc[mr][2];
  for (index_t jc = n0; jc < n1; jc += blk::nc) {
    const index_t nc = std::min(blk::nc, n1 - jc);
    for (index_t pc = 0; pc < k; pc += blk::kc) {
      const index_t kc = std::min(blk::kc, k - pc);
      const bool first = pc == 0, last = pc + kc >= k;
      pack_b(b, tb, pc, kc, jc, nc, bpack);
      for (index_t ic = m0; ic < m1; ic += blk::mc) {
        const index_t mc = std::min(blk::mc, m1 - ic);
        if (!direct_a) pack_a(a, ta, ic, mc, pc, kc, apack);
        for (index_t jr = 0; jr < nc; jr += nr) {
          const index_t cols = std::min(nr, nc - jr);
          const T* bias = ep.bias != nullptr ? ep.bias + jc + jr : nullptr;
          for (index_t ir = 0; ir < mc; ir += mr) {
            const index_t rows = std::min(mr, mc - ir);
            if (!direct_a) {
              micro_kernel<T, true>(kc, apack + ir * kc, 1, mr, bpack + jr * kc, acc);
            } else if (rows == mr) {
              const T* ap = ta ? a.row(pc) + ic + ir : a.row(ic + ir) + pc;
              micro_kernel<T, false>(kc, ap, rs, cs, bpack + jr * kc, acc);
            } else {
              pack_a(a, ta, ic + ir, rows, pc, kc, apack);
              micro_kernel<T, true>(kc, apack, 1, mr, bpack + jr * kc, acc);
            }
            T* ct = c.row(ic + ir) + jc + jr;
            const T* yt =
                ep.dact_y != nullptr ? ep.dact_y + (ic + ir) * ep.dact_ldy + jc + jr : nullptr;
            if (rows == mr && cols == nr) {
              store_tile(acc, ct, c.stride(), first, last, ep, bias, yt, ep.dact_ldy);
            } else {
              store_edge_tile(acc, ct, c.stride(), rows, cols, first, last, ep, bias, yt,
                              ep.dact_ldy);
            }
          }
        }
      }
    }
  }
}

template <class T>
inline T finish_entry(T z, T prior, const gemm_epilogue<T>& ep, index_t i, index_t j) {
  T v = ep.alpha * z;
  if (ep.beta != T(0)) v += ep.beta * prior;
  if (ep.bias != nullptr) v += ep.bias[j];
  v = nn::activate(ep.act, v);
  if (ep.dact_y != nullptr) {
    const T y = ep.dact_y[i * ep.dact_ldy + j];
    if (ep.dact == nn::activation::relu) {
      v = y > T(0) ? v : T(0);
    } else if (ep.dact == nn::activation::sigmoid) {
      v = v * (y * (T(1) - y));
    }
  }
  return v;
}

// R dot products of x with rows w[0..R), each with the same per-row arithmetic (two batch
// accumulators over alternating batches, one horizontal add, then the scalar tail), so a
// result does not depend on how rows were grouped.
template <class T, int R>
inline void dot_rows(const T* x, const T* const* w, index_t k, T* out) {
  using batch = ::xsimd::batch<T>;
  constexpr index_t lanes = static_cast<index_t>(batch::size);
  batch s0[R], s1[R];
  for (int r = 0; r < R; ++r) s0[r] = s1[r] = batch(T(0));
  index_t p = 0;
  for (; p + 2 * lanes <= k; p += 2 * lanes) {
    const batch x0 = batch::load_unaligned(x + p), x1 = batch::load_unaligned(x + p + lanes);
    for (int r = 0; r < R; ++r) {
      s0[r] = ::xsimd::fma(x0, batch::load_unaligned(w[r] + p), s0[r]);
      s1[r] = ::xsimd::fma(x1, batch::load_unaligned(w[r] + p + lanes), s1[r]);
    }
  }
  if (p + lanes <= k) {
    const batch x0 = batch::load_unaligned(x + p);
    for (int r = 0; r < R; ++r) s0[r] = ::xsimd::fma(x0, batch::load_unaligned(w[r] + p), s0[r]);
    p += lanes;
  }
  for (int r = 0; r < R; ++r) {
    T s = ::xsimd::reduce_add(s0[r] + s1[r]);
    for (index_t q = p; q < k; ++q) s = std::fma(x[q], w[r][q], s);
    out[r] = s;
  }
}

// c = epilogue(a b^T) with c small in one dimension: dot products of contiguous rows.
template <class T>
void gemm_dot(const policy& pol, matrix_view<const T> a, matrix_view<const T> b, matrix_view<T> c,
              const gemm_epilogue<T>& ep) {
  const index_t m = c.rows(), n = c.cols(), k = a.cols();
  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  auto rows_of_c = [&](index_t i, index_t j0, index_t j1) {
    const T* x = a.row(i);
    T* out = c.row(i);
    index_t j = j0;
    T z[4];
    for (; j + 4 <= j1; j += 4) {
      const T* w[4] = {b.row(j), b.row(j + 1), b.row(j + 2), b.row(j + 3)};
      dot_rows<T, 4>(x, w, k, z);
      for (int r = 0; r < 4; ++r) out[j + r] = finish_entry(z[r], out[j + r], ep, i, j + r);
    }
    for (; j < j1; ++j) {
      const T* w[1] = {b.row(j)};
      dot_rows<T, 1>(x, w, k, z);
      out[j] = finish_entry(z[0], out[j], ep, i, j);
    }
  };
  const bool split_rows = m >= n;
  const index_t extent = split_rows ? m : n;
  const int chunks =
      std::max(1, static_cast<int>(std::min<double>(
                      max_threads(pol), work / gemm_blocking<T>::min_thread_work_unpacked)));
  const int used = static_cast<int>(std::min<index_t>(chunks, std::max<index_t>(1, extent / 16)));
  for_chunks(used, extent, [&](int, index_t begin, index_t end) {
    if (split_rows) {
      for (index_t i = begin; i < end; ++i) rows_of_c(i, 0, n);
    } else {
      for (index_t i = 0; i < m; ++i) rows_of_c(i, begin, end);
    }
  });
}

// c = alpha op(a) b + beta c for c with few rows and b not transposed: each row of c is a sum of
// the rows of b scaled by the entries of op(a), accumulated in order into a row buffer.
template <class T>
void gemm_axpy(const policy& pol, bool ta, matrix_view<const T> a, matrix_view<const T> b,
               matrix_view<T> c, const gemm_epilogue<T>& ep) {
  using batch = ::xsimd::batch<T>;
  constexpr index_t lanes = static_cast<index_t>(batch::size);
  const index_t m = c.rows(), n = c.cols(), k = b.rows();
  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const int chunks = std::max(
      1,
      static_cast<int>(std::min<double>(
          {static_cast<double>(max_threads(pol)), work / gemm_blocking<T>::min_thread_work_unpacked,
           static_cast<double>(std::max<index_t>(1, n / (64 * lanes)))})));
  // Column chunks of whole batches, so a column's arithmetic does not depend on the split.
  const index_t groups = (n + lanes - 1) / lanes;
  for_chunks(chunks, groups, [&](int, index_t g0, index_t g1) {
    const index_t j0 = g0 * lanes, j1 = std::min(n, g1 * lanes);
    if (j0 >= j1) return;
    const index_t width = j1 - j0;
    T* acc = pack_buffer<T, 2>(width);
    for (index_t i = 0; i < m; ++i) {
      std::fill(acc, acc + width, T(0));
      for (index_t p = 0; p < k; ++p) {
        const T sv = ta ? a(p, i) : a(i, p);
        const batch s(sv);
        const T* src = b.row(p) + j0;
        index_t j = 0;
        for (; j + lanes <= width; j += lanes) {
          ::xsimd::fma(s, batch::load_unaligned(src + j), batch::load_unaligned(acc + j))
              .store_unaligned(acc + j);
        }
        for (; j < width; ++j) acc[j] = std::fma(sv, src[j], acc[j]);
      }
      T* out = c.row(i);
      for (index_t j = 0; j < width; ++j)
        out[j0 + j] = finish_entry(acc[j], out[j0 + j], ep, i, j0 + j);
    }
  });
}

// c = epilogue(op(a) op(b)), c non-empty.
template <class T>
void gemm_run(const policy& pol, bool ta, bool tb, matrix_view<const T> a, matrix_view<const T> b,
              matrix_view<T> c, const gemm_epilogue<T>& ep) {
  using blk = gemm_blocking<T>;
  const index_t m = c.rows(), n = c.cols(), k = ta ? a.rows() : a.cols();
  if (k == 0) {
    for (index_t i = 0; i < m; ++i) {
      T* row = c.row(i);
      for (index_t j = 0; j < n; ++j) row[j] = finish_entry(T(0), row[j], ep, i, j);
    }
    return;
  }
  if (!ta && tb && (m <= 4 || n <= 4)) {
    gemm_dot(pol, a, b, c, ep);
    return;
  }
  if (!tb && m <= 4) {
    gemm_axpy(pol, ta, a, b, c, ep);
    return;
  }
  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k + 16);
  const bool split_rows = m >= n;
  const index_t unit = split_rows ? blk::mr : blk::nr;
  const index_t tiles = ((split_rows ? m : n) + unit - 1) / unit;
  const int chunks = std::max(1, static_cast<int>(std::min<double>(
                                     {static_cast<double>(max_threads(pol)),
                                      work / blk::min_thread_work, static_cast<double>(tiles)})));
  for_chunks(chunks, tiles, [&](int, index_t t0, index_t t1) {
    if (split_rows) {
      gemm_block(ta, tb, a, b, k, c, t0 * unit, std::min(m, t1 * unit), index_t{0}, n, ep);
    } else {
      gemm_block(ta, tb, a, b, k, c, index_t{0}, m, t0 * unit, std::min(n, t1 * unit), ep);
    }
  });
}

}  // namespace detail

// c = alpha op(a) op(b) + beta c; the front end recfuse::gemm has checked the shapes.
template <class T>
void gemm_kernel(const policy& pol, bool trans_a, bool trans_b, T alpha, matrix_view<const T> a,
                 matrix_view<const T> b, T beta, matrix_view<T> c) {
  if (c.rows() == 0 || c.cols() == 0) return;
  detail::gemm_epilogue<T> ep;
  ep.alpha = alpha;
  ep.beta = beta;
  detail::gemm_run(pol, trans_a, trans_b, a, b, c, ep);
}

}  // namespace recfuse::xsimd_backend
