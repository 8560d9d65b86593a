// recfuse xsimd backend: the column layout and drivers the scale kernels share
// (scale/standard_scaler.hpp, scale/minmax_scaler.hpp, scale/normalize.hpp).
//
// All of them are bandwidth-bound streams over the matrix, split into contiguous chunks of rows,
// one per thread (detail::for_chunks), so results are reproducible for a given thread count.
//
// A contiguous matrix is walked as "pass rows" of a width that is a multiple of both cols and
// the batch size (position q of a pass row is column q % cols), so narrow matrices (1, 3, 7
// columns) run in full batches with per-position parameters loaded from L1 instead of scalar
// tails; rows of a strided matrix are walked one by one, their last partial batch through a
// small buffer so every element goes through the same batch arithmetic.
#pragma once

#include "recfuse/xsimd/detail/xsimd.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

#include "recfuse/core/views.hpp"
#include "recfuse/xsimd/detail/parallel.hpp"
#include "recfuse/xsimd/policy.hpp"

namespace recfuse::xsimd_backend {
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

}  // namespace recfuse::xsimd_backend
