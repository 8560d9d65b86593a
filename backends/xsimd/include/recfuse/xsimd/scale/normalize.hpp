// recfuse xsimd backend: the kernel of normalize_rows (recfuse/scale/normalize.hpp).
//
// - normalize_rows_kernel: per block of rows, sums of squares in T batches, 1 / sqrt of them in
//   batches, then a scale pass; rows whose sum overflowed or came out tiny are redone in double,
//   so any finite input is safe.
#pragma once

#include "recfuse/xsimd/detail/xsimd.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

#include "recfuse/reference/scale/normalize.hpp"
#include "recfuse/scale/normalize.hpp"
#include "recfuse/xsimd/scale/detail/columns.hpp"

namespace recfuse::xsimd_backend {
namespace detail {

// Sum of the squares of x[0 .. n), in T batches.
template <class T>
T sum_of_squares(const T* x, index_t n) {
  using batch = ::xsimd::batch<T>;
  constexpr auto lanes = static_cast<index_t>(batch::size);
  index_t j = 0;
  T sum(0);
  auto sq = [x](batch s, index_t at) {
    const batch b = batch::load_unaligned(x + at);
    return ::xsimd::fma(b, b, s);
  };
  batch s0(T(0));
  if (n >= 8 * lanes) {
    // Eight chains: enough FMAs in flight (latency x pipes) for rows that sit in cache.
    batch s1(T(0)), s2(T(0)), s3(T(0)), s4(T(0)), s5(T(0)), s6(T(0)), s7(T(0));
    for (; j + 8 * lanes <= n; j += 8 * lanes) {
      s0 = sq(s0, j);
      s1 = sq(s1, j + lanes);
      s2 = sq(s2, j + 2 * lanes);
      s3 = sq(s3, j + 3 * lanes);
      s4 = sq(s4, j + 4 * lanes);
      s5 = sq(s5, j + 5 * lanes);
      s6 = sq(s6, j + 6 * lanes);
      s7 = sq(s7, j + 7 * lanes);
    }
    s0 = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
  }
  if (n >= lanes) {  // short rows skip the chains and their sum
    for (; j + lanes <= n; j += lanes) s0 = sq(s0, j);
    sum = ::xsimd::reduce_add(s0);
  }
  for (; j < n; ++j) sum += x[j] * x[j];
  return sum;
}

// The rows the T sum of squares cannot serve (zero, tiny or overflowing sums, NaN, infinity):
// the reference's norm and division in double.
template <class T>
void unit_l2_row_in_double(const T* x, T* y, index_t n) {
  double scale = 1.0;
  const double root = ::recfuse::reference_backend::detail::row_norm(x, n, scale);
  if (root == 0.0) {  // zero rows stay zero
    if (y != x) std::copy(x, x + n, y);
    return;
  }
  for (index_t j = 0; j < n; ++j) y[j] = static_cast<T>(static_cast<double>(x[j]) / scale / root);
}

// y_i = x_i / ||x_i||_2 for n rows of `cols` (x and y may be the same memory), a block of rows at
// a time: the block's sums of squares first, then their 1 / sqrt in batches, then the scale
// pass, so the per-row latencies (horizontal add, square root, division) overlap across rows
// and narrow rows do not pay them one after another. The block stays in L1 for the scale pass.
template <class T>
void unit_l2_rows(const T* x, index_t xs, T* y, index_t ys, index_t n, index_t cols) {
  using batch = ::xsimd::batch<T>;
  constexpr auto lanes = static_cast<index_t>(batch::size);
  constexpr index_t max_block = 64;  // a multiple of every batch size
  // Below tiny, squares may have lost bits to underflow; above max, the sum overflowed.
  constexpr T tiny = std::is_same_v<T, float> ? T(0x1p-60) : T(0x1p-600);
  constexpr T huge = std::numeric_limits<T>::max();
  const index_t block =
      std::clamp<index_t>(index_t{16384} / (cols * static_cast<index_t>(sizeof(T))), 1, max_block);
  T sums[max_block];
  T inv[max_block];
  for (index_t r0 = 0; r0 < n; r0 += block) {
    const index_t m = std::min(block, n - r0);
    for (index_t r = 0; r < m; ++r) sums[r] = sum_of_squares(x + (r0 + r) * xs, cols);
    const index_t padded = (m + lanes - 1) / lanes * lanes;
    std::fill(sums + m, sums + padded, T(1));
    for (index_t r = 0; r < padded; r += lanes) {
      (batch(T(1)) / ::xsimd::sqrt(batch::load_unaligned(sums + r))).store_unaligned(inv + r);
    }
    for (index_t r = 0; r < m; ++r) {
      const T* xr = x + (r0 + r) * xs;
      T* yr = y + (r0 + r) * ys;
      if (!(sums[r] >= tiny && sums[r] <= huge)) {
        unit_l2_row_in_double(xr, yr, cols);
        continue;
      }
      const batch f(inv[r]);
      index_t j = 0;
      for (; j + lanes <= cols; j += lanes)
        (batch::load_unaligned(xr + j) * f).store_unaligned(yr + j);
      for (; j < cols; ++j) yr[j] = xr[j] * inv[r];
    }
  }
}

}  // namespace detail

template <class T>
void normalize_rows_kernel(const policy& p, matrix_view<const T> in, matrix_view<T> out) {
  const index_t rows = in.rows();
  const index_t cols = in.cols();
  if (rows == 0 || cols == 0) return;
  const int chunks =
      detail::chunk_count(p, rows, std::max<index_t>(1, detail::scale_min_chunk / cols));
  detail::for_chunks(chunks, rows, [&](int, index_t b, index_t e) {
    detail::unit_l2_rows(in.row(b), in.stride(), out.row(b), out.stride(), e - b, cols);
  });
}

}  // namespace recfuse::xsimd_backend
