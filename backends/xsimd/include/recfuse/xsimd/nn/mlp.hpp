// recfuse xsimd backend: the kernels of the MLP scorer (recfuse/nn/mlp.hpp).
//
// - dense_forward_kernel: y = act(x w^T + b) as one blocked GEMM (xsimd/gemm.hpp) whose store
//   adds the bias and applies the activation, so each layer is a single pass over its output;
//   batches of at most 4 rows take the dot-product path (no packing).
// - dense_backward_input_kernel: (delta w) * act'(y) as one GEMM whose store multiplies by the
//   activation's derivative (backprop into the previous layer in one pass).
// - activation_backward_kernel: delta = grad * act'(y) in T batches, rows split over threads.
// - column_sums_kernel (bias gradients): fixed blocks of 256 rows summed in T batches, block
//   sums added in block order, so the thread count never changes the result.
#pragma once

#include "recfuse/xsimd/detail/xsimd.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/nn/activation.hpp"
#include "recfuse/nn/mlp.hpp"
#include "recfuse/reference/nn/mlp.hpp"
#include "recfuse/xsimd/detail/parallel.hpp"
#include "recfuse/xsimd/nn/gemm.hpp"
#include "recfuse/xsimd/policy.hpp"

namespace recfuse::xsimd_backend {
namespace detail {

// Elements a thread gets at least in the elementwise kernels.
inline constexpr index_t nn_min_chunk = index_t{1} << 15;
// Rows per block of column_sums (the fixed partition of the sum).
inline constexpr index_t column_sum_block = 256;

// out[j] = sum of a(i, j) over rows [r0, r1), in row order; rows are read whole (a streaming
// pass), out stays in L1.
template <class T>
void column_sums_rows(matrix_view<const T> a, index_t r0, index_t r1, T* out) {
  using batch = ::xsimd::batch<T>;
  constexpr auto lanes = static_cast<index_t>(batch::size);
  const index_t n = a.cols();
  if (n < lanes) {  // narrow: one column at a time (the same sums, in the same order)
    for (index_t j = 0; j < n; ++j) {
      T s = T(0);
      for (index_t i = r0; i < r1; ++i) s += a(i, j);
      out[j] = s;
    }
    return;
  }
  std::fill(out, out + n, T(0));
  for (index_t i = r0; i < r1; ++i) {
    const T* row = a.row(i);
    index_t j = 0;
    for (; j + lanes <= n; j += lanes) {
      (batch::load_unaligned(out + j) + batch::load_unaligned(row + j)).store_unaligned(out + j);
    }
    for (; j < n; ++j) out[j] += row[j];
  }
}

}  // namespace detail

template <class T>
void dense_forward_kernel(const policy& p, matrix_view<const T> x, matrix_view<const T> w,
                          vector_view<const T> b, nn::activation act, matrix_view<T> y) {
  if (y.rows() == 0 || y.cols() == 0) return;
  detail::gemm_epilogue<T> ep;
  ep.bias = b.data();
  ep.act = act;
  detail::gemm_run(p, false, true, x, w, y, ep);
}

template <class T>
void dense_backward_input_kernel(const policy& p, matrix_view<const T> delta,
                                 matrix_view<const T> w, nn::activation act, matrix_view<const T> y,
                                 matrix_view<T> out) {
  if (out.rows() == 0 || out.cols() == 0) return;
  detail::gemm_epilogue<T> ep;
  ep.dact_y = y.data();
  ep.dact_ldy = y.stride();
  ep.dact = act;
  detail::gemm_run(p, false, false, delta, w, out, ep);
}

template <class T>
void activation_backward_kernel(const policy& p, nn::activation act, matrix_view<const T> y,
                                matrix_view<const T> grad, matrix_view<T> delta) {
  using batch = ::xsimd::batch<T>;
  constexpr auto lanes = static_cast<index_t>(batch::size);
  const index_t rows = y.rows(), cols = y.cols();
  const int chunks = static_cast<int>(std::min<index_t>(
      detail::chunk_count(p, rows * cols, detail::nn_min_chunk), std::max<index_t>(1, rows)));
  detail::for_chunks(chunks, rows, [&](int, index_t r0, index_t r1) {
    for (index_t i = r0; i < r1; ++i) {
      const T* yr = y.row(i);
      const T* gr = grad.row(i);
      T* dr = delta.row(i);
      index_t j = 0;
      if (act == nn::activation::relu) {
        for (; j + lanes <= cols; j += lanes) {
          const batch yv = batch::load_unaligned(yr + j);
          const batch gv = batch::load_unaligned(gr + j);
          ::xsimd::select(yv > batch(T(0)), gv, batch(T(0))).store_unaligned(dr + j);
        }
        for (; j < cols; ++j) dr[j] = yr[j] > T(0) ? gr[j] : T(0);
      } else if (act == nn::activation::sigmoid) {
        for (; j + lanes <= cols; j += lanes) {
          const batch yv = batch::load_unaligned(yr + j);
          const batch d = yv * (batch(T(1)) - yv);
          (batch::load_unaligned(gr + j) * d).store_unaligned(dr + j);
        }
        for (; j < cols; ++j) {
          const T d = yr[j] * (T(1) - yr[j]);
          dr[j] = gr[j] * d;
        }
      } else {
        for (; j < cols; ++j) dr[j] = gr[j];
      }
    }
  });
}

template <class T>
void column_sums_kernel(const policy& p, matrix_view<const T> a, vector_view<T> out) {
  const index_t rows = a.rows(), cols = a.cols();
  if (cols == 0) return;
  const index_t blocks = (rows + detail::column_sum_block - 1) / detail::column_sum_block;
  if (blocks <= 1) {
    detail::column_sums_rows(a, 0, rows, out.data());
    return;
  }
  thread_local std::vector<T> partial;
  ::recfuse::nn::detail::reserve_buffer(partial, blocks * cols);
  T* part = partial.data();
  const int chunks = static_cast<int>(
      std::min<index_t>(detail::chunk_count(p, rows * cols, detail::nn_min_chunk), blocks));
  detail::for_chunks(chunks, blocks, [&](int, index_t b0, index_t b1) {
    for (index_t blk = b0; blk < b1; ++blk) {
      const index_t r0 = blk * detail::column_sum_block;
      detail::column_sums_rows(a, r0, std::min(rows, r0 + detail::column_sum_block),
                               part + blk * cols);
    }
  });
  std::copy(part, part + cols, out.data());
  for (index_t blk = 1; blk < blocks; ++blk) {
    const T* src = part + blk * cols;
    for (index_t j = 0; j < cols; ++j) out[j] += src[j];
  }
}

}  // namespace recfuse::xsimd_backend
