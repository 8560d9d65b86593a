// recfuse Thrust backend: the min-max scaler's kernel (recfuse/scale/minmax_scaler.hpp); its
// transform is the shared scaler_transform_kernel (thrust/scale/standard_scaler.hpp). Generic
// Thrust code for every system; the views' memory space is the policy's.
//
// - minmax_scaler_fit_kernel (fit, partial_fit's batch): one thrust::for_each item per (block of
//   rows, column) (detail::row_blocks) takes the block's min and max of its column with the
//   reference's step (reference_backend::detail::min_max_step, device-callable: NaN min once a
//   NaN or infinity went by); a second for_each over columns merges the blocks in order through
//   the same step. Min and max are exact: the reference's results, bit for bit.
#pragma once

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include "recfuse/core/errors.hpp"
#include "recfuse/reference/scale/minmax_scaler.hpp"
#include "recfuse/scale/minmax_scaler.hpp"
#include "recfuse/thrust/detail/buffer.hpp"
#include "recfuse/thrust/policy.hpp"
#include "recfuse/thrust/scale/detail/columns.hpp"
#include "recfuse/thrust/scale/standard_scaler.hpp"

namespace recfuse::thrust_backend {
namespace detail {

// Min and max of column k % cols over the rows of block k / cols, written at k, by the
// reference's step (reference_backend::detail::min_max_step, shared and device-callable); lo is
// NaN when the block holds NaN or infinity in that column.
template <class T>
struct block_min_max {
  const T* x;
  index_t stride;
  index_t rows;
  index_t cols;
  index_t rows_per_block;
  double* lo;
  double* hi;

  RECFUSE_HOST_DEVICE void operator()(index_t k) const {
    const index_t b = k / cols;
    const index_t j = k - b * cols;
    const index_t begin = block_begin(b, rows_per_block);
    const index_t end = block_end(b, rows_per_block, rows);
    const T* column = x + j;
    double l = static_cast<double>(column[begin * stride]);
    double h = l;
    for (index_t i = begin; i < end; ++i) {
      ::recfuse::reference_backend::detail::min_max_step(l, h,
                                                         static_cast<double>(column[i * stride]));
    }
    lo[k] = l;
    hi[k] = h;
  }
};

// Column j's blocks (at b * cols + j) merged in block order, each block's min then max through
// min_max_step: the sequential scan's result (a NaN block min makes the column's min NaN; the
// earlier of equal values stays).
struct merge_min_max {
  const double* block_lo;
  const double* block_hi;
  index_t cols;
  index_t blocks;
  double* lo;
  double* hi;

  RECFUSE_HOST_DEVICE void operator()(index_t j) const {
    double l = block_lo[j], h = block_hi[j];
    for (index_t b = 1; b < blocks; ++b) {
      ::recfuse::reference_backend::detail::min_max_step(l, h, block_lo[b * cols + j]);
      ::recfuse::reference_backend::detail::min_max_step(l, h, block_hi[b * cols + j]);
    }
    lo[j] = l;
    hi[j] = h;
  }
};

}  // namespace detail

template <class System, class T>
void minmax_scaler_fit_kernel(const policy<System>& p,
                              matrix_view<const T, typename policy<System>::memory_space> x,
                              vector_view<double, typename policy<System>::memory_space> lo,
                              vector_view<double, typename policy<System>::memory_space> hi) {
  RECFUSE_ASSERT(x.rows() >= 1 && x.cols() >= 1);  // the contract every backend keeps
  const auto blocks = detail::row_blocks::of(x.rows(), x.cols());
  const ::thrust::counting_iterator<index_t> first(0);
  if (blocks.count == 1) {  // one block per column: straight into lo and hi
    ::thrust::for_each(p.thrust_policy(), first, first + blocks.items(),
                       detail::block_min_max<T>{x.data(), x.stride(), x.rows(), x.cols(),
                                                blocks.rows_per_block, lo.data(), hi.data()});
    return;
  }
  detail::buffer<System, double> scratch(static_cast<std::size_t>(2 * blocks.items()));
  double* const block_lo = detail::raw(scratch);
  double* const block_hi = block_lo + blocks.items();
  ::thrust::for_each(p.thrust_policy(), first, first + blocks.items(),
                     detail::block_min_max<T>{x.data(), x.stride(), x.rows(), x.cols(),
                                              blocks.rows_per_block, block_lo, block_hi});
  ::thrust::for_each(
      p.thrust_policy(), first, first + x.cols(),
      detail::merge_min_max{block_lo, block_hi, x.cols(), blocks.count, lo.data(), hi.data()});
}

}  // namespace recfuse::thrust_backend
