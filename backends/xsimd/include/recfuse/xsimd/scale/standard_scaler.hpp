// recfuse xsimd backend: the scale kernels (standard_scaler, minmax_scaler, normalize_rows).
//
// All of them are bandwidth-bound streams over the matrix, split into contiguous chunks of rows,
// one per thread (detail::for_chunks), so results are reproducible for a given thread count.
//
// A contiguous matrix is walked as "pass rows" of a width that is a multiple of both cols and
// the batch size (position q of a pass row is column q % cols), so narrow matrices (1, 3, 7
// columns) run in full batches with per-position parameters loaded from L1 instead of scalar
// tails; rows of a strided matrix are walked one by one, their last partial batch through a
// small buffer so every element goes through the same batch arithmetic.
//
// - affine_columns (transform / inverse_transform): out = fma(x, mul, add) with per-column
//   factors rounded to T once per call.
// - column_moments (fit): per chunk, blocks of 64 rows; each block's deviations from a centre
//   (the mean of the chunk's rows before it; the block's own mean for the first block) summed
//   and squared in T batches, the block's mean and m2 (corrected two-pass) in double, merged into
//   the chunk's running mean and m2 by Chan's update; chunks are merged the same way in chunk
//   order. The error is a few eps(T) times the m2 itself, whatever the data's offset, length or
//   outliers. A chunk whose T sums overflowed is redone in double by the reference, so only NaN
//   or infinity in the data gives a non-finite result.
// - column_min_max (fit): ::xsimd::min / max batches, plus a batch sum of x - x that turns NaN
//   when a NaN or infinity went by (min / max alone may skip NaN).
// - scale_rows_to_unit_l2: per block of rows, sums of squares in T batches, 1 / sqrt of them in
//   batches, then a scale pass; rows whose sum overflowed or came out tiny are redone in double,
//   so any finite input is safe.
#pragma once

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

#include "recfuse/reference/scale.hpp"
#include "recfuse/scale/minmax_scaler.hpp"
#include "recfuse/scale/normalize.hpp"
#include "recfuse/scale/standard_scaler.hpp"
#include "recfuse/xsimd/detail/parallel.hpp"

namespace recfuse::simd {
namespace detail {

// Elements a chunk gets at least before a second thread joins in.
inline constexpr index_t scale_min_chunk = index_t{1} << 15;
// Columns of accumulators kept at once by the fit kernels (2-3 arrays of them stay in L1).
inline constexpr index_t scale_column_block = 1024;

// How a pass sees the matrix: `rows` pass rows of `width` elements (position q is column
// q % cols), then, for a contiguous matrix, `left` more matrix rows as one shorter pass row.
struct scale_layout {
  index_t width;
  index_t group;  // matrix rows per pass row
  index_t rows;
  index_t left;
};

template <class T>
scale_layout make_scale_layout(index_t rows, index_t cols, bool contiguous) {
  constexpr auto lanes = static_cast<index_t>(::xsimd::batch<T>::size);
  if (contiguous) {
    const index_t period = std::lcm(cols, lanes);
    if (period <= 4096) {
      // About 1,024 elements per pass row (but at least 4 pass rows when the matrix allows):
      // the fit kernels interleave 4 pass rows, and the hardware prefetcher needs each of
      // those streams to run for a few KB; narrow rows would cut them short.
      const index_t repeat = std::min(1024 / period, rows * cols / (4 * period));
      const index_t width = period * std::max<index_t>(1, repeat);
      const index_t group = width / cols;
      return {width, group, rows / group, rows % group};
    }
  }
  return {cols, 1, rows, 0};
}

template <class T>
constexpr index_t round_up_to_batch(index_t n) {
  constexpr auto lanes = static_cast<index_t>(::xsimd::batch<T>::size);
  return (n + lanes - 1) / lanes * lanes;
}

// Writes the per-column values of v, rounded to T, over the `width` positions of a pass row
// (width is a multiple of cols): one conversion per column, then copies.
template <class T>
void fill_pattern(T* out, const double* v, index_t cols, index_t width) {
  for (index_t j = 0; j < cols; ++j) out[j] = static_cast<T>(v[j]);
  for (index_t q = cols; q < width; q += cols) std::copy(out, out + cols, out + q);
}

// y = fma(x, mul, add) over n pass rows of `width`; x and y may be the same memory.
template <class T>
void affine_rows(const T* x, index_t xs, T* y, index_t ys, index_t n, index_t width, const T* mul,
                 const T* add) {
  using batch = ::xsimd::batch<T>;
  constexpr auto lanes = static_cast<index_t>(batch::size);
  const index_t full = width / lanes * lanes;
  auto at = [](const T* p, index_t j) { return batch::load_unaligned(p + j); };
  for (index_t r = 0; r < n; ++r) {
    const T* xr = x + r * xs;
    T* yr = y + r * ys;
    index_t j = 0;
    for (; j + 4 * lanes <= full; j += 4 * lanes) {
      const batch y0 = ::xsimd::fma(at(xr, j), at(mul, j), at(add, j));
      const batch y1 = ::xsimd::fma(at(xr, j + lanes), at(mul, j + lanes), at(add, j + lanes));
      const batch y2 =
          ::xsimd::fma(at(xr, j + 2 * lanes), at(mul, j + 2 * lanes), at(add, j + 2 * lanes));
      const batch y3 =
          ::xsimd::fma(at(xr, j + 3 * lanes), at(mul, j + 3 * lanes), at(add, j + 3 * lanes));
      y0.store_unaligned(yr + j);
      y1.store_unaligned(yr + j + lanes);
      y2.store_unaligned(yr + j + 2 * lanes);
      y3.store_unaligned(yr + j + 3 * lanes);
    }
    for (; j < full; j += lanes)
      ::xsimd::fma(at(xr, j), at(mul, j), at(add, j)).store_unaligned(yr + j);
    if (j < width) {
      T buf[lanes] = {};
      std::copy(xr + j, xr + width, buf);
      ::xsimd::fma(batch::load_unaligned(buf), at(mul, j), at(add, j)).store_unaligned(buf);
      std::copy(buf, buf + (width - j), yr + j);
    }
  }
}

// Mean and m2 per column of n pass rows of `width` (a multiple of cols), i.e. n * width / cols
// samples, a block of at most 64 rows at a time: sums of d = x - c and of d^2 in T batches, where
// c is, per position, the mean of the rows before the block (rounded to T), and for the first
// block the block's own mean (the sum of x - the block's first row, in T: a first pass over it).
// In double, the block's mean c + sum d / nb and m2 sum d^2 - (sum d)^2 / nb (the corrected
// two-pass formula) are merged into the position's running mean and m2 by Chan's update.
// Rounding: each block's T sums err by a few eps(T) times its sum of d^2, which is its own m2
// plus nb (c - its mean)^2, Chan's between-blocks term (up to a factor 2: the rows before are at
// least as many as the block's). So the error is a few eps(T) times the m2 of the whole, however
// far the data sit from zero, and a lone outlier (first row or not) costs nothing but its own
// rounding. A constant column gives exactly its value and m2 = 0. Positions of the same column
// are merged at the end, in order.
template <class T>
void moments_rows(const T* x, index_t stride, index_t n, index_t width, index_t cols, double* mean,
                  double* m2) {
  using batch = ::xsimd::batch<T>;
  constexpr auto lanes = static_cast<index_t>(batch::size);
  constexpr index_t row_block = 64;
  const index_t padded = round_up_to_batch<T>(std::min(width, scale_column_block));
  // Per position of the column block, zero padded to whole batches: the shift c, the sums of
  // d = x - c (first of x - the first row) and of d^2.
  std::vector<T> work(static_cast<std::size_t>(3 * padded), T(0));
  T* const cs = work.data();
  T* const a1 = cs + padded;
  T* const a2 = a1 + padded;
  std::vector<double> pmean(static_cast<std::size_t>(width), 0.0),
      pm2(static_cast<std::size_t>(width), 0.0);
  for (index_t c0 = 0; c0 < width; c0 += scale_column_block) {
    const index_t c1 = std::min(width, c0 + scale_column_block);
    const index_t full = c0 + (c1 - c0) / lanes * lanes;
    std::fill(work.begin(), work.end(), T(0));  // the padding stays 0: 0 - 0 in a partial batch
    // Position j's entries are at cs + (j - c0) and so on; xj points at x's position j.
    auto sum_d = [&](const T* xj, index_t j) {
      T* p = a1 + (j - c0);
      const batch d = batch::load_unaligned(xj) - batch::load_unaligned(cs + (j - c0));
      (batch::load_unaligned(p) + d).store_unaligned(p);
    };
    auto sums = [&](const T* xj, index_t j) {
      T* p1 = a1 + (j - c0);
      T* p2 = a2 + (j - c0);
      const batch d = batch::load_unaligned(xj) - batch::load_unaligned(cs + (j - c0));
      (batch::load_unaligned(p1) + d).store_unaligned(p1);
      ::xsimd::fma(d, d, batch::load_unaligned(p2)).store_unaligned(p2);
    };
    // Rows [r0, r1) of the row's last partial batch, through a zero-padded buffer.
    auto tail = [&](index_t r0, index_t r1, auto&& f) {
      for (index_t r = r0; r < r1; ++r) {
        T buf[lanes] = {};
        std::copy(x + r * stride + full, x + r * stride + c1, buf);
        f(buf, full);
      }
    };
    for (index_t r0 = 0; r0 < n; r0 += row_block) {
      const index_t r1 = std::min(n, r0 + row_block);
      const index_t nb = r1 - r0;
      std::fill(a1, a1 + padded, T(0));
      std::fill(a2, a2 + padded, T(0));
      if (r0 == 0) {  // c = the first row + the mean of x - the first row
        std::copy(x + c0, x + c1, cs);
        index_t r = 1;
        for (; r + 4 <= r1; r += 4) {
          const T* x0 = x + r * stride;
          const T* x1 = x0 + stride;
          const T* x2 = x1 + stride;
          const T* x3 = x2 + stride;
          for (index_t j = c0; j < full; j += lanes) {
            const batch f = batch::load_unaligned(cs + (j - c0));
            const batch d0 = batch::load_unaligned(x0 + j) - f;
            const batch d1 = batch::load_unaligned(x1 + j) - f;
            const batch d2 = batch::load_unaligned(x2 + j) - f;
            const batch d3 = batch::load_unaligned(x3 + j) - f;
            T* p = a1 + (j - c0);
            (batch::load_unaligned(p) + ((d0 + d1) + (d2 + d3))).store_unaligned(p);
          }
        }
        for (; r < r1; ++r) {
          for (index_t j = c0; j < full; j += lanes) sum_d(x + r * stride + j, j);
        }
        if (full < c1) tail(1, r1, sum_d);
        const batch inv(T(1) / static_cast<T>(nb));
        for (index_t j = 0; j < padded; j += lanes) {
          ::xsimd::fma(batch::load_unaligned(a1 + j), inv, batch::load_unaligned(cs + j))
              .store_unaligned(cs + j);
        }
        std::fill(a1, a1 + padded, T(0));
      } else {  // c = the running mean
        for (index_t q = c0; q < c1; ++q)
          cs[q - c0] = static_cast<T>(pmean[static_cast<std::size_t>(q)]);
      }
      index_t r = r0;
      for (; r + 4 <= r1; r += 4) {
        const T* x0 = x + r * stride;
        const T* x1 = x0 + stride;
        const T* x2 = x1 + stride;
        const T* x3 = x2 + stride;
        for (index_t j = c0; j < full; j += lanes) {
          const batch c = batch::load_unaligned(cs + (j - c0));
          const batch d0 = batch::load_unaligned(x0 + j) - c;
          const batch d1 = batch::load_unaligned(x1 + j) - c;
          const batch d2 = batch::load_unaligned(x2 + j) - c;
          const batch d3 = batch::load_unaligned(x3 + j) - c;
          T* p1 = a1 + (j - c0);
          T* p2 = a2 + (j - c0);
          (batch::load_unaligned(p1) + ((d0 + d1) + (d2 + d3))).store_unaligned(p1);
          batch q = batch::load_unaligned(p2);
          q = ::xsimd::fma(d0, d0, q);
          q = ::xsimd::fma(d1, d1, q);
          q = ::xsimd::fma(d2, d2, q);
          q = ::xsimd::fma(d3, d3, q);
          q.store_unaligned(p2);
        }
      }
      for (; r < r1; ++r) {
        for (index_t j = c0; j < full; j += lanes) sums(x + r * stride + j, j);
      }
      if (full < c1) tail(r0, r1, sums);
      // Chan's update of each position's running (r0, mean, m2) with the block's (nb, mean, m2).
      const double n_b = static_cast<double>(nb);
      const double inv_b = 1.0 / n_b;
      const double w = n_b / static_cast<double>(r1);
      const double naw = static_cast<double>(r0) * w;
      for (index_t q = c0; q < c1; ++q) {
        const double s = static_cast<double>(a1[q - c0]);
        double vb = static_cast<double>(a2[q - c0]) - s * s * inv_b;
        vb = vb < 0.0 ? 0.0 : vb;  // keeps NaN
        const auto k = static_cast<std::size_t>(q);
        const double delta = (static_cast<double>(cs[q - c0]) + s * inv_b) - pmean[k];
        pmean[k] += delta * w;
        pm2[k] += vb + delta * delta * naw;
      }
    }
  }
  // Positions q = j, j + cols, ... hold column j's samples, n of them each.
  std::copy(pmean.begin(), pmean.begin() + cols, mean);
  std::copy(pm2.begin(), pm2.begin() + cols, m2);
  const auto count = static_cast<double>(n);
  for (index_t q = cols, j = 0; q < width; ++q) {  // j = q % cols
    const auto k = static_cast<std::size_t>(q);
    ::recfuse::detail::chan_merge(static_cast<double>(q / cols) * count, mean[j], m2[j], count,
                                  pmean[k], pm2[k]);
    if (++j == cols) j = 0;
  }
  bool finite = true;
  for (index_t j = 0; j < cols; ++j)
    finite = finite && std::isfinite(mean[j]) && std::isfinite(m2[j]);
  if (!finite) {  // T sums overflowed, or NaN / infinity in x: redo in double
    const matrix_view<const T> rows = width == cols
                                          ? matrix_view<const T>(x, n, cols, stride)
                                          : matrix_view<const T>(x, n * (width / cols), cols, cols);
    ::recfuse::reference::detail::moments(rows, mean, m2);
  }
}

// Min and max per column of n pass rows; a column that saw NaN or infinity gets lo = NaN.
template <class T>
void min_max_rows(const T* x, index_t stride, index_t n, index_t width, index_t cols, double* lo,
                  double* hi) {
  using batch = ::xsimd::batch<T>;
  constexpr auto lanes = static_cast<index_t>(batch::size);
  const auto block =
      static_cast<std::size_t>(round_up_to_batch<T>(std::min(width, scale_column_block)));
  std::vector<T> amin(block), amax(block), abad(block);
  std::vector<char> bad(static_cast<std::size_t>(cols), 0);
  std::fill(lo, lo + cols, std::numeric_limits<double>::infinity());
  std::fill(hi, hi + cols, -std::numeric_limits<double>::infinity());
  for (index_t c0 = 0; c0 < width; c0 += scale_column_block) {
    const index_t c1 = std::min(width, c0 + scale_column_block);
    const index_t full = c0 + (c1 - c0) / lanes * lanes;
    // Accumulators of position j are at mn + (j - c0) and so on.
    T* mn = amin.data();
    T* mx = amax.data();
    T* nf = abad.data();
    std::fill(abad.begin(), abad.end(), T(0));
    std::copy(x + c0, x + c1, mn);
    std::copy(x + c0, x + c1, mx);
    index_t r = 0;
    for (; r + 4 <= n; r += 4) {
      const T* x0 = x + r * stride;
      const T* x1 = x0 + stride;
      const T* x2 = x1 + stride;
      const T* x3 = x2 + stride;
      for (index_t j = c0; j < full; j += lanes) {
        const batch v0 = batch::load_unaligned(x0 + j), v1 = batch::load_unaligned(x1 + j);
        const batch v2 = batch::load_unaligned(x2 + j), v3 = batch::load_unaligned(x3 + j);
        const batch lo4 = ::xsimd::min(::xsimd::min(v0, v1), ::xsimd::min(v2, v3));
        const batch hi4 = ::xsimd::max(::xsimd::max(v0, v1), ::xsimd::max(v2, v3));
        const batch nf4 = ((v0 - v0) + (v1 - v1)) + ((v2 - v2) + (v3 - v3));
        T* pn = mn + (j - c0);
        T* px = mx + (j - c0);
        T* pf = nf + (j - c0);
        ::xsimd::min(batch::load_unaligned(pn), lo4).store_unaligned(pn);
        ::xsimd::max(batch::load_unaligned(px), hi4).store_unaligned(px);
        (batch::load_unaligned(pf) + nf4).store_unaligned(pf);
      }
    }
    for (; r < n; ++r) {
      const T* xr = x + r * stride;
      for (index_t j = c0; j < full; j += lanes) {
        const batch v = batch::load_unaligned(xr + j);
        T* pn = mn + (j - c0);
        T* px = mx + (j - c0);
        T* pf = nf + (j - c0);
        ::xsimd::min(batch::load_unaligned(pn), v).store_unaligned(pn);
        ::xsimd::max(batch::load_unaligned(px), v).store_unaligned(px);
        (batch::load_unaligned(pf) + (v - v)).store_unaligned(pf);
      }
    }
    for (r = 0; r < n && full < c1; ++r) {  // the row's last partial batch, scalar
      const T* xr = x + r * stride;
      for (index_t q = full; q < c1; ++q) {
        mn[q - c0] = std::min(mn[q - c0], xr[q]);
        mx[q - c0] = std::max(mx[q - c0], xr[q]);
        nf[q - c0] += xr[q] - xr[q];
      }
    }
    for (index_t q = c0, j = c0 % cols; q < c1; ++q) {  // j = q % cols
      if (nf[q - c0] != T(0)) bad[static_cast<std::size_t>(j)] = 1;
      lo[j] = std::min(lo[j], static_cast<double>(mn[q - c0]));
      hi[j] = std::max(hi[j], static_cast<double>(mx[q - c0]));
      if (++j == cols) j = 0;
    }
  }
  for (index_t j = 0; j < cols; ++j) {
    if (bad[static_cast<std::size_t>(j)]) lo[j] = std::numeric_limits<double>::quiet_NaN();
  }
}

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
    sum = ::xsimd::hadd(s0);
  }
  for (; j < n; ++j) sum += x[j] * x[j];
  return sum;
}

// The rows the T sum of squares cannot serve (zero, tiny or overflowing sums, NaN, infinity):
// the reference's norm and division in double.
template <class T>
void unit_l2_row_in_double(const T* x, T* y, index_t n) {
  double scale = 1.0;
  const double root = ::recfuse::reference::detail::row_norm(x, n, scale);
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
void affine_columns(const policy& p, matrix_view<const T> in, matrix_view<T> out,
                    vector_view<const double> mul, vector_view<const double> add) {
  const index_t rows = in.rows();
  const index_t cols = in.cols();
  if (rows == 0 || cols == 0) return;
  const bool flat = in.contiguous() && out.contiguous();
  const auto lay = detail::make_scale_layout<T>(rows, cols, flat);
  // mul and add over a pass row, each padded with zeros to whole batches.
  const index_t padded = detail::round_up_to_batch<T>(lay.width);
  std::vector<T> pattern(static_cast<std::size_t>(2 * padded), T(0));
  T* const m = pattern.data();
  T* const a = pattern.data() + padded;
  detail::fill_pattern(m, mul.data(), cols, lay.width);
  detail::fill_pattern(a, add.data(), cols, lay.width);
  const index_t xs = flat ? lay.width : in.stride();
  const index_t ys = flat ? lay.width : out.stride();
  if (lay.rows > 0) {
    const int chunks =
        detail::chunk_count(p, lay.rows, std::max<index_t>(1, detail::scale_min_chunk / lay.width));
    detail::for_chunks(chunks, lay.rows, [&](int, index_t b, index_t e) {
      detail::affine_rows(in.data() + b * xs, xs, out.data() + b * ys, ys, e - b, lay.width, m, a);
    });
  }
  if (lay.left > 0) {
    detail::affine_rows(in.data() + lay.rows * xs, 0, out.data() + lay.rows * ys, 0, 1,
                        lay.left * cols, m, a);
  }
}

namespace detail {

// Runs a per-column fit kernel over x in parts: one part per thread chunk of pass rows, and a
// last part for the rows left over by the layout. rows_fn(first, stride, pass_rows, width,
// out_a, out_b) fills the part's two per-column arrays; returns the parts' arrays (parts x cols,
// row-major) and each part's number of matrix rows, for the caller to merge in part order.
struct column_parts {
  std::vector<double> a, b, rows;
  std::size_t count = 0;
};

template <class T, class RowsFn>
column_parts fit_parts(const policy& p, matrix_view<const T> x, RowsFn rows_fn) {
  const index_t cols = x.cols();
  const bool flat = x.contiguous();
  const auto lay = make_scale_layout<T>(x.rows(), cols, flat);
  const index_t stride = flat ? lay.width : x.stride();
  const int chunks =
      lay.rows == 0 ? 0
                    : chunk_count(p, lay.rows, std::max<index_t>(1, scale_min_chunk / lay.width));
  const auto cs = static_cast<std::size_t>(cols);
  column_parts parts;
  parts.count = static_cast<std::size_t>(chunks) + (lay.left > 0 ? 1 : 0);
  parts.a.resize(parts.count * cs);
  parts.b.resize(parts.count * cs);
  parts.rows.resize(parts.count);
  if (chunks > 0) {
    for_chunks(chunks, lay.rows, [&](int c, index_t b, index_t e) {
      const auto at = static_cast<std::size_t>(c) * cs;
      rows_fn(x.data() + b * stride, stride, e - b, lay.width, &parts.a[at], &parts.b[at]);
      parts.rows[static_cast<std::size_t>(c)] = static_cast<double>((e - b) * lay.group);
    });
  }
  if (lay.left > 0) {
    const auto at = static_cast<std::size_t>(chunks) * cs;
    rows_fn(x.data() + lay.rows * stride, 0, 1, lay.left * cols, &parts.a[at], &parts.b[at]);
    parts.rows[static_cast<std::size_t>(chunks)] = static_cast<double>(lay.left);
  }
  return parts;
}

}  // namespace detail

template <class T>
void column_moments(const policy& p, matrix_view<const T> x, vector_view<double> mean,
                    vector_view<double> m2) {
  const index_t cols = x.cols();
  const auto cs = static_cast<std::size_t>(cols);
  const auto parts = detail::fit_parts(
      p, x, [&](const T* first, index_t stride, index_t n, index_t width, double* a, double* b) {
        detail::moments_rows(first, stride, n, width, cols, a, b);
      });
  std::copy(parts.a.begin(), parts.a.begin() + cols, mean.data());
  std::copy(parts.b.begin(), parts.b.begin() + cols, m2.data());
  double n = parts.rows[0];
  for (std::size_t c = 1; c < parts.count; ++c) {
    for (std::size_t j = 0; j < cs; ++j) {
      ::recfuse::detail::chan_merge(n, mean.data()[j], m2.data()[j], parts.rows[c],
                                    parts.a[c * cs + j], parts.b[c * cs + j]);
    }
    n += parts.rows[c];
  }
}

template <class T>
void column_min_max(const policy& p, matrix_view<const T> x, vector_view<double> lo,
                    vector_view<double> hi) {
  const index_t cols = x.cols();
  const auto cs = static_cast<std::size_t>(cols);
  const auto parts = detail::fit_parts(
      p, x, [&](const T* first, index_t stride, index_t n, index_t width, double* a, double* b) {
        detail::min_max_rows(first, stride, n, width, cols, a, b);
      });
  for (std::size_t j = 0; j < cs; ++j) {
    double l = parts.a[j], h = parts.b[j];
    for (std::size_t c = 1; c < parts.count; ++c) {
      const double pl = parts.a[c * cs + j];
      l = std::isnan(l) || std::isnan(pl) ? pl + l : std::min(l, pl);  // NaN sticks
      h = std::max(h, parts.b[c * cs + j]);
    }
    lo[static_cast<index_t>(j)] = l;
    hi[static_cast<index_t>(j)] = h;
  }
}

template <class T>
void scale_rows_to_unit_l2(const policy& p, matrix_view<const T> in, matrix_view<T> out) {
  const index_t rows = in.rows();
  const index_t cols = in.cols();
  if (rows == 0 || cols == 0) return;
  const int chunks =
      detail::chunk_count(p, rows, std::max<index_t>(1, detail::scale_min_chunk / cols));
  detail::for_chunks(chunks, rows, [&](int, index_t b, index_t e) {
    detail::unit_l2_rows(in.row(b), in.stride(), out.row(b), out.stride(), e - b, cols);
  });
}

}  // namespace recfuse::simd
