// recfuse Kokkos backend: the standard scaler's kernels (recfuse/scale/standard_scaler.hpp), and
// the per-column affine transform both scalers share. Generic over the execution space; the
// views' memory space is the policy's. partial_fit runs the fit kernel on its batch and merges
// the batch into what was seen on the host (the public code's Chan merge), as on every backend.
//
// - standard_scaler_fit_kernel (fit, partial_fit's batch): per tile of columns
//   (detail::column_tiles), one Kokkos::parallel_reduce over blocks of rows whose value is an
//   array of per-column (count, mean, m2) and whose join is Chan, Golub and LeVeque's merge
//   (recfuse::detail::chan_merge): a custom reduction. Each work item computes its block's
//   moments as the reference does for a whole matrix (reference_backend::detail::moments: shift
//   by the block's first row, corrected two-pass, in double, row by row) into scratch of the
//   thread running it (Kokkos::Experimental::UniqueToken: 3 doubles per column and thread), then
//   merges them into the thread's running value. With one block (rows <= 64) the result is the
//   reference's, bit for bit. Otherwise it depends on the order of the merges, so on the thread
//   count: Serial and one OpenMP thread merge the blocks in row order; more threads merge their
//   partial results as Kokkos joins them. The difference is rounding, a few double epsilons of m2
//   relative; the same thread count and data give the same bits (static schedule).
// - scaler_transform_kernel (transform / inverse_transform of both scalers): a 2-D
//   Kokkos::MDRangePolicy over (row, column), out = x * mul + add in double rounded to T once,
//   as the reference: the reference's bits whatever the thread count (a device compiler may
//   contract it into an fma: one double rounding less).
#pragma once

#include <algorithm>

#include <Kokkos_Core.hpp>

#include "recfuse/core/errors.hpp"
#include "recfuse/kokkos/detail/buffer.hpp"
#include "recfuse/kokkos/detail/range.hpp"
#include "recfuse/kokkos/policy.hpp"
#include "recfuse/kokkos/scale/detail/column_tiles.hpp"
#include "recfuse/reference/scale/standard_scaler.hpp"
#include "recfuse/scale/detail/checks.hpp"
#include "recfuse/scale/standard_scaler.hpp"

namespace recfuse::kokkos_backend {
namespace detail {

// A column's statistics over some rows: n rows, their mean and m2 (n == 0: nothing seen yet).
struct column_moments {
  double n, mean, m2;
};

// a absorbs b (b's rows follow a's).
KOKKOS_INLINE_FUNCTION void merge_moments(column_moments& a, const column_moments& b) {
  if (b.n == 0.0) return;
  if (a.n == 0.0) {  // Chan's update would compute 0 * delta^2, NaN where delta^2 overflows
    a = b;
    return;
  }
  ::recfuse::detail::chan_merge(a.n, a.mean, a.m2, b.n, b.mean, b.m2);
  a.n += b.n;
}

// The fit of columns [0, value_count) of x as a Kokkos reduction over blocks of rows: the
// reduction value is column_moments[value_count], joined by Chan's merge.
template <class ExecSpace, class T>
struct moments_reduction {
  using value_type = column_moments[];
  unsigned value_count;  // columns in the tile
  const T* x;            // the tile's first column
  index_t stride;
  column_tiles tiles;
  // A block's moments go to the scratch of the thread running it: 3 * value_count doubles per
  // token value.
  Kokkos::Experimental::UniqueToken<ExecSpace> token;
  double* scratch;

  KOKKOS_INLINE_FUNCTION void operator()(index_t b, column_moments* acc) const {
    const index_t begin = tiles.begin(b);
    const index_t n = tiles.end(b) - begin;
    const auto width = static_cast<index_t>(value_count);
    const auto t = token.acquire();
    double* mean = scratch + 3 * width * static_cast<index_t>(t);
    double* m2 = mean + width;
    ::recfuse::reference_backend::detail::moments(x + begin * stride, stride, n, width, mean, m2,
                                                  m2 + width);
    for (index_t j = 0; j < width; ++j)
      merge_moments(acc[j], column_moments{static_cast<double>(n), mean[j], m2[j]});
    token.release(t);
  }

  KOKKOS_INLINE_FUNCTION void init(column_moments* v) const {
    for (unsigned j = 0; j < value_count; ++j) v[j] = column_moments{0.0, 0.0, 0.0};
  }

  KOKKOS_INLINE_FUNCTION void join(column_moments* dst, const column_moments* src) const {
    for (unsigned j = 0; j < value_count; ++j) merge_moments(dst[j], src[j]);
  }
};

}  // namespace detail

template <class ExecSpace, class T>
void standard_scaler_fit_kernel(const policy<ExecSpace>& p,
                                matrix_view<const T, typename policy<ExecSpace>::memory_space> x,
                                vector_view<double, typename policy<ExecSpace>::memory_space> mean,
                                vector_view<double, typename policy<ExecSpace>::memory_space> m2) {
  RECFUSE_ASSERT(x.rows() >= 1 && x.cols() >= 1);  // the contract every backend keeps
  const index_t cols = x.cols();
  const auto tiles = detail::column_tiles::of(p, x.rows(), cols);
  const Kokkos::Experimental::UniqueToken<ExecSpace> token(p.instance);
  auto scratch = detail::make_uninitialized_buffer<double>(
      p, "recfuse::standard_scaler_fit scratch",
      3 * tiles.width * static_cast<index_t>(token.size()));
  auto result = detail::make_uninitialized_buffer<detail::column_moments>(
      p, "recfuse::standard_scaler_fit result", tiles.width);
  double* const mean_out = mean.data();
  double* const m2_out = m2.data();
  const detail::column_moments* const r = result.data();
  for (index_t j0 = 0; j0 < cols; j0 += tiles.width) {
    const index_t width = std::min(tiles.width, cols - j0);
    Kokkos::parallel_reduce(
        "recfuse::standard_scaler_fit_kernel", detail::index_range(p, tiles.blocks),
        detail::moments_reduction<ExecSpace, T>{static_cast<unsigned>(width), x.data() + j0,
                                                x.stride(), tiles, token, scratch.data()},
        Kokkos::subview(result, Kokkos::make_pair(index_t{0}, width)));
    Kokkos::parallel_for(
        "recfuse::standard_scaler_fit_kernel (store)", detail::index_range(p, width),
        KOKKOS_LAMBDA(index_t j) {
          mean_out[j0 + j] = r[j].mean;
          m2_out[j0 + j] = r[j].m2;
        });
  }
  p.instance.fence();
}

template <class ExecSpace, class T>
void scaler_transform_kernel(
    const policy<ExecSpace>& p, matrix_view<const T, typename policy<ExecSpace>::memory_space> in,
    matrix_view<T, typename policy<ExecSpace>::memory_space> out,
    vector_view<const double, typename policy<ExecSpace>::memory_space> mul,
    vector_view<const double, typename policy<ExecSpace>::memory_space> add) {
  if (in.rows() == 0 || in.cols() == 0) return;
  const T* const x = in.data();
  const index_t xs = in.stride();
  T* const y = out.data();
  const index_t ys = out.stride();
  const double* const m = mul.data();
  const double* const a = add.data();
  Kokkos::parallel_for(
      "recfuse::scaler_transform_kernel",
      Kokkos::MDRangePolicy<ExecSpace,
                            Kokkos::Rank<2, Kokkos::Iterate::Right, Kokkos::Iterate::Right>,
                            Kokkos::IndexType<index_t>>(p.instance, {0, 0}, {in.rows(), in.cols()}),
      KOKKOS_LAMBDA(index_t i, index_t j) {
        y[i * ys + j] = static_cast<T>(static_cast<double>(x[i * xs + j]) * m[j] + a[j]);
      });
  p.instance.fence();
}

}  // namespace recfuse::kokkos_backend
