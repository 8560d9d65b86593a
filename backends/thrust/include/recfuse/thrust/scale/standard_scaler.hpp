// recfuse Thrust backend: the standard scaler's kernels (recfuse/scale/standard_scaler.hpp), and
// the per-column affine transform both scalers share. Generic Thrust code for every system; the
// views' memory space is the policy's (host for cpp/omp/tbb, device for cuda).
//
// - standard_scaler_fit_kernel (fit, partial_fit's batch): one thrust::for_each item per (block of
//   rows, column) (detail::row_blocks) computes the block's mean and m2 exactly as the reference
//   does for a whole column (shift by the block's first row, corrected two-pass, in double); a
//   second for_each over columns merges the blocks in block order by Chan's update. With one
//   block per column (few rows, or many columns) the result is the reference's, bit for bit;
//   otherwise it differs by the rounding of the merges, a few double epsilons of m2.
// - scaler_transform_kernel (transform / inverse_transform of both scalers): one item per element,
//   out = x * mul + add in double rounded to T once, as the reference (under nvcc the device code
//   may contract it into an fma: one double rounding less).
#pragma once

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include "recfuse/core/errors.hpp"
#include "recfuse/reference/scale/standard_scaler.hpp"
#include "recfuse/scale/standard_scaler.hpp"
#include "recfuse/thrust/detail/buffer.hpp"
#include "recfuse/thrust/policy.hpp"
#include "recfuse/thrust/scale/detail/columns.hpp"

namespace recfuse::thrust_backend {
namespace detail {

// Mean and m2 of column k % cols over the rows of block k / cols, written at k: the reference's
// moments (reference_backend::detail::moments) restricted to the block.
template <class T>
struct block_moments {
  const T* x;
  index_t stride;
  index_t rows;
  index_t cols;
  index_t rows_per_block;
  double* mean;
  double* m2;

  RECFUSE_HOST_DEVICE void operator()(index_t k) const {
    const index_t b = k / cols;
    const index_t j = k - b * cols;
    const index_t begin = block_begin(b, rows_per_block);
    const index_t end = block_end(b, rows_per_block, rows);
    const T* column = x + j;
    const double first = static_cast<double>(column[begin * stride]);
    double s = 0.0;
    for (index_t i = begin; i < end; ++i) s += static_cast<double>(column[i * stride]) - first;
    const double n = static_cast<double>(end - begin);
    const double m = first + s / n;
    double sum_d = 0.0, sum_d2 = 0.0;
    for (index_t i = begin; i < end; ++i) {
      const double d = static_cast<double>(column[i * stride]) - m;
      sum_d += d;
      sum_d2 += d * d;
    }
    const double v = sum_d2 - sum_d * sum_d / n;
    m2[k] = 0.0 < v ? v : 0.0;  // as std::max(0.0, v): NaN gives 0 (the mean is NaN then)
    mean[k] = m + sum_d / n;
  }
};

// Column j's blocks (at b * cols + j) merged in block order by Chan, Golub and LeVeque's update,
// the formula of recfuse::detail::chan_merge (which is host-only, so it is written out here).
struct merge_moments {
  const double* block_mean;
  const double* block_m2;
  index_t rows;
  index_t cols;
  index_t rows_per_block;
  index_t blocks;
  double* mean;
  double* m2;

  RECFUSE_HOST_DEVICE void operator()(index_t j) const {
    double n_a = static_cast<double>(block_end(0, rows_per_block, rows));
    double mean_a = block_mean[j], m2_a = block_m2[j];
    for (index_t b = 1; b < blocks; ++b) {
      const double n_b =
          static_cast<double>(block_end(b, rows_per_block, rows) - block_begin(b, rows_per_block));
      const double n = n_a + n_b;
      const double delta = block_mean[b * cols + j] - mean_a;
      const double w = n_b / n;
      mean_a += delta * w;
      m2_a += block_m2[b * cols + j] + delta * delta * n_a * w;
      n_a = n;
    }
    mean[j] = mean_a;
    m2[j] = m2_a;
  }
};

// out(i, j) = x(i, j) * mul[j] + add[j] for element k = i * cols + j.
template <class T>
struct affine_columns {
  const T* x;
  index_t x_stride;
  T* y;
  index_t y_stride;
  index_t cols;
  const double* mul;
  const double* add;

  RECFUSE_HOST_DEVICE void operator()(index_t k) const {
    const index_t i = k / cols;
    const index_t j = k - i * cols;
    y[i * y_stride + j] =
        static_cast<T>(static_cast<double>(x[i * x_stride + j]) * mul[j] + add[j]);
  }
};

}  // namespace detail

template <class System, class T>
void standard_scaler_fit_kernel(const policy<System>& p,
                                matrix_view<const T, typename policy<System>::memory_space> x,
                                vector_view<double, typename policy<System>::memory_space> mean,
                                vector_view<double, typename policy<System>::memory_space> m2) {
  RECFUSE_ASSERT(x.rows() >= 1 && x.cols() >= 1);  // the contract every backend keeps
  const auto blocks = detail::row_blocks::of(x.rows(), x.cols());
  const ::thrust::counting_iterator<index_t> first(0);
  if (blocks.count == 1) {  // one block per column: straight into mean and m2
    ::thrust::for_each(p.thrust_policy(), first, first + blocks.items(),
                       detail::block_moments<T>{x.data(), x.stride(), x.rows(), x.cols(),
                                                blocks.rows_per_block, mean.data(), m2.data()});
    return;
  }
  detail::buffer<System, double> scratch(static_cast<std::size_t>(2 * blocks.items()));
  double* const block_mean = detail::raw(scratch);
  double* const block_m2 = block_mean + blocks.items();
  ::thrust::for_each(p.thrust_policy(), first, first + blocks.items(),
                     detail::block_moments<T>{x.data(), x.stride(), x.rows(), x.cols(),
                                              blocks.rows_per_block, block_mean, block_m2});
  ::thrust::for_each(
      p.thrust_policy(), first, first + x.cols(),
      detail::merge_moments{block_mean, block_m2, x.rows(), x.cols(), blocks.rows_per_block,
                            blocks.count, mean.data(), m2.data()});
}

template <class System, class T>
void scaler_transform_kernel(const policy<System>& p,
                             matrix_view<const T, typename policy<System>::memory_space> in,
                             matrix_view<T, typename policy<System>::memory_space> out,
                             vector_view<const double, typename policy<System>::memory_space> mul,
                             vector_view<const double, typename policy<System>::memory_space> add) {
  const index_t n = in.rows() * in.cols();
  if (n == 0) return;
  const ::thrust::counting_iterator<index_t> first(0);
  ::thrust::for_each(p.thrust_policy(), first, first + n,
                     detail::affine_columns<T>{in.data(), in.stride(), out.data(), out.stride(),
                                               in.cols(), mul.data(), add.data()});
}

}  // namespace recfuse::thrust_backend
