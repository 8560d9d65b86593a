// recfuse Thrust backend: the standard scaler's kernels (recfuse/scale/standard_scaler.hpp), and
// the per-column affine transform both scalers share. Generic Thrust code for every system; the
// views' memory space is the policy's (host for cpp/omp/tbb, device for cuda).
//
// - standard_scaler_fit_kernel (fit, partial_fit's batch): one thrust::for_each item per (block of
//   rows, column) (detail::row_blocks) computes the block's mean and m2 with the reference's own
//   routine (reference_backend::detail::moments, device-callable: shift by the block's first row,
//   corrected two-pass, in double); a second for_each over columns merges the blocks in block
//   order by the shared Chan update (recfuse::detail::chan_merge, scale/detail/checks.hpp). With
//   one block per column (few rows, or many columns) the result is the reference's, bit for bit;
//   otherwise it differs by the rounding of the merges, a few double epsilons of m2.
// - scaler_transform_kernel (transform / inverse_transform of both scalers): one item per element,
//   out = x * mul + add in double rounded to T once, as the reference (under nvcc the device code
//   may contract it into an fma: one double rounding less).
#pragma once

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include "recfuse/core/errors.hpp"
#include "recfuse/reference/scale/standard_scaler.hpp"
#include "recfuse/scale/detail/checks.hpp"
#include "recfuse/scale/standard_scaler.hpp"
#include "recfuse/thrust/detail/buffer.hpp"
#include "recfuse/thrust/policy.hpp"
#include "recfuse/thrust/scale/detail/columns.hpp"

namespace recfuse::thrust_backend {
namespace detail {

// Mean and m2 of column k % cols over the rows of block k / cols, written at k: the reference's
// moments (reference_backend::detail::moments, shared and device-callable) run on the block as a
// one-column matrix.
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
    double m = 0.0, v = 0.0, sum_d = 0.0;  // locals: registers, not global memory, on a GPU
    ::recfuse::reference_backend::detail::moments(x + begin * stride + j, stride, end - begin,
                                                  index_t{1}, &m, &v, &sum_d);
    mean[k] = m;
    m2[k] = v;
  }
};

// Column j's blocks (at b * cols + j) merged in block order by Chan, Golub and LeVeque's update
// (recfuse::detail::chan_merge, shared and device-callable).
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
      ::recfuse::detail::chan_merge(n_a, mean_a, m2_a, n_b, block_mean[b * cols + j],
                                    block_m2[b * cols + j]);
      n_a += n_b;
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
