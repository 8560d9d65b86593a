// recfuse xsimd backend: the standard scaler's kernels (recfuse/scale/standard_scaler.hpp), and
// the per-column affine transform both scalers share.
//
// - scaler_transform_kernel (transform / inverse_transform of both scalers): out = fma(x, mul, add)
//   with per-column factors rounded to T once per call.
// - standard_scaler_fit_kernel (fit): per chunk, blocks of 64 rows; each block's deviations from a
//   centre (the mean of the chunk's rows before it; the block's own mean for the first block)
//   summed and squared in T batches, the block's mean and m2 (corrected two-pass) in double,
//   merged into the chunk's running mean and m2 by Chan's update; chunks are merged the same way
//   in chunk order. The error is a few eps(T) times the m2 itself, whatever the data's offset,
//   length or outliers. A chunk whose T sums overflowed is redone in double by the reference, so
//   only NaN or infinity in the data gives a non-finite result.
#pragma once

#include "recfuse/xsimd/detail/xsimd.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

#include "recfuse/reference/scale/standard_scaler.hpp"
#include "recfuse/scale/standard_scaler.hpp"
#include "recfuse/xsimd/scale/detail/columns.hpp"

namespace recfuse::xsimd_backend {
namespace detail {

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
    ::recfuse::reference_backend::detail::moments(rows, mean, m2);
  }
}

}  // namespace detail

template <class T>
void scaler_transform_kernel(const policy& p, matrix_view<const T> in, matrix_view<T> out,
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

template <class T>
void standard_scaler_fit_kernel(const policy& p, matrix_view<const T> x, vector_view<double> mean,
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

}  // namespace recfuse::xsimd_backend
