// recfuse Kokkos backend: the min-max scaler's kernel (recfuse/scale/minmax_scaler.hpp); its
// transform is the shared scaler_transform_kernel (kokkos/scale/standard_scaler.hpp). Generic
// over the execution space; the views' memory space is the policy's.
//
// - minmax_scaler_fit_kernel (fit, partial_fit's batch): per tile of columns
//   (detail::column_tiles), one Kokkos::parallel_reduce over blocks of rows whose value is an
//   array of per-column (min, max): each work item steps its rows into the thread's running value
//   row by row with the reference's rule (reference_backend::detail::min_max_step: NaN min once a
//   NaN or infinity went by), and the join merges two columns' (min, max) by the same rule. Min
//   and max are exact, so the result is the reference's whatever the thread count; with Serial
//   and OpenMP, which join partial results in row order, even the sign of a zero minimum is (the
//   earlier of equal values stays).
#pragma once

#include <algorithm>
#include <limits>

#include <Kokkos_Core.hpp>

#include "recfuse/core/errors.hpp"
#include "recfuse/kokkos/detail/buffer.hpp"
#include "recfuse/kokkos/detail/range.hpp"
#include "recfuse/kokkos/policy.hpp"
#include "recfuse/kokkos/scale/detail/column_tiles.hpp"
#include "recfuse/kokkos/scale/standard_scaler.hpp"
#include "recfuse/reference/scale/minmax_scaler.hpp"
#include "recfuse/scale/minmax_scaler.hpp"

namespace recfuse::kokkos_backend {
namespace detail {

// The fit of columns [0, width) of x as a Kokkos reduction over blocks of rows. The value is
// double[2 * width]: the columns' minima, then their maxima (hi < lo, +inf and -inf, before any
// row), so the row loop runs over contiguous minima and maxima and vectorises.
template <class T>
struct range_reduction {
  using value_type = double[];
  unsigned value_count;  // 2 * width
  const T* x;            // the tile's first column
  index_t stride;
  column_tiles tiles;
  double inf;  // made on the host

  KOKKOS_INLINE_FUNCTION void operator()(index_t b, double* lo) const {
    const auto width = static_cast<index_t>(value_count / 2);
    double* hi = lo + width;
    for (index_t i = tiles.begin(b); i < tiles.end(b); ++i) {
      const T* r = x + i * stride;
      for (index_t j = 0; j < width; ++j)
        ::recfuse::reference_backend::detail::min_max_step(lo[j], hi[j], static_cast<double>(r[j]));
    }
  }

  KOKKOS_INLINE_FUNCTION void init(double* lo) const {
    const unsigned width = value_count / 2;
    for (unsigned j = 0; j < width; ++j) {
      lo[j] = inf;
      lo[width + j] = -inf;
    }
  }

  // dst absorbs src (src's rows follow dst's).
  KOKKOS_INLINE_FUNCTION void join(double* lo, const double* src_lo) const {
    const unsigned width = value_count / 2;
    double* hi = lo + width;
    const double* src_hi = src_lo + width;
    for (unsigned j = 0; j < width; ++j) {
      if (src_hi[j] < src_lo[j]) continue;  // src saw no row
      if (hi[j] < lo[j]) {                  // dst saw no row
        lo[j] = src_lo[j];
        hi[j] = src_hi[j];
        continue;
      }
      // src's minimum, then its maximum, as values of later rows: NaN in src_lo makes lo NaN.
      ::recfuse::reference_backend::detail::min_max_step(lo[j], hi[j], src_lo[j]);
      ::recfuse::reference_backend::detail::min_max_step(lo[j], hi[j], src_hi[j]);
    }
  }
};

}  // namespace detail

template <class ExecSpace, class T>
void minmax_scaler_fit_kernel(const policy<ExecSpace>& p,
                              matrix_view<const T, typename policy<ExecSpace>::memory_space> x,
                              vector_view<double, typename policy<ExecSpace>::memory_space> lo,
                              vector_view<double, typename policy<ExecSpace>::memory_space> hi) {
  RECFUSE_ASSERT(x.rows() >= 1 && x.cols() >= 1);  // the contract every backend keeps
  const index_t cols = x.cols();
  const auto tiles = detail::column_tiles::of(p, x.rows(), cols);
  auto result = detail::make_uninitialized_buffer<double>(p, "recfuse::minmax_scaler_fit result",
                                                          2 * tiles.width);
  double* const lo_out = lo.data();
  double* const hi_out = hi.data();
  const double* const r = result.data();
  for (index_t j0 = 0; j0 < cols; j0 += tiles.width) {
    const index_t width = std::min(tiles.width, cols - j0);
    Kokkos::parallel_reduce(
        "recfuse::minmax_scaler_fit_kernel", detail::index_range(p, tiles.blocks),
        detail::range_reduction<T>{static_cast<unsigned>(2 * width), x.data() + j0, x.stride(),
                                   tiles, std::numeric_limits<double>::infinity()},
        Kokkos::subview(result, Kokkos::make_pair(index_t{0}, 2 * width)));
    Kokkos::parallel_for(
        "recfuse::minmax_scaler_fit_kernel (store)", detail::index_range(p, width),
        KOKKOS_LAMBDA(index_t j) {
          lo_out[j0 + j] = r[j];
          hi_out[j0 + j] = r[width + j];
        });
  }
  p.instance.fence();
}

}  // namespace recfuse::kokkos_backend
