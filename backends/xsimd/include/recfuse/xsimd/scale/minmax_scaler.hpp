// recfuse xsimd backend: the min-max scaler's kernel (recfuse/scale/minmax_scaler.hpp); its
// transform is the shared scaler_transform_kernel (scale/standard_scaler.hpp).
//
// - minmax_scaler_fit_kernel (fit): ::xsimd::min / max batches, plus a batch sum of x - x that
//   turns NaN when a NaN or infinity went by (min / max alone may skip NaN).
#pragma once

#include "recfuse/xsimd/detail/xsimd.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

#include "recfuse/reference/scale/minmax_scaler.hpp"
#include "recfuse/scale/minmax_scaler.hpp"
#include "recfuse/xsimd/scale/detail/columns.hpp"
#include "recfuse/xsimd/scale/standard_scaler.hpp"

namespace recfuse::xsimd_backend {
namespace detail {

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

}  // namespace detail

template <class T>
void minmax_scaler_fit_kernel(const policy& p, matrix_view<const T> x, vector_view<double> lo,
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

}  // namespace recfuse::xsimd_backend
