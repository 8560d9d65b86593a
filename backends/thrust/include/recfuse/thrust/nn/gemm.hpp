// recfuse Thrust backend: the dense matrix product (recfuse::gemm), and the tiled GEMM loop that
// the fused dense-layer kernels (recfuse/thrust/nn/mlp.hpp) run with their own epilogue.
//
// One thrust::for_each over the tiles of c: each functor call computes a tile_rows x tile_cols
// block of c (4 x 4; edge tiles are smaller), the inner dimension in order, each entry summed
// in double as the reference does, so the sum of every entry is the reference's (up to FMA
// contraction, which nvcc applies by default). The epilogue then writes the entry: plain gemm
// applies alpha and beta (beta == 0 never reads c, as the reference), the dense layers add the
// bias and the activation. No cuBLAS: the same generic code runs on every Thrust system, CUDA
// included. Views are in the policy's memory space (host for cpp/omp/tbb, device for cuda).
#pragma once

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include "recfuse/core/config.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/nn/gemm.hpp"
#include "recfuse/reference/nn/detail/gemm_parts.hpp"
#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend {
namespace detail {

inline constexpr index_t gemm_tile_rows = 4;
inline constexpr index_t gemm_tile_cols = 4;

// The operands and the epilogues are shared with the Kokkos GEMM
// (recfuse/reference/nn/detail/gemm_parts.hpp).
using ::recfuse::detail::dense_backward_input_epilogue;
using ::recfuse::detail::dense_forward_epilogue;
using ::recfuse::detail::gemm_operands;
using ::recfuse::detail::gemm_scale_epilogue;
using ::recfuse::detail::make_gemm_operands;

// Computes one tile of op(a) op(b) and hands each entry's double sum to the epilogue.
template <class T, class Epilogue>
struct gemm_tile {
  gemm_operands<T> o;
  Epilogue ep;
  index_t tiles_n;
  RECFUSE_HOST_DEVICE void operator()(index_t t) const {
    const index_t i0 = (t / tiles_n) * gemm_tile_rows, j0 = (t % tiles_n) * gemm_tile_cols;
    const index_t rows = o.m - i0 < gemm_tile_rows ? o.m - i0 : gemm_tile_rows;
    const index_t cols = o.n - j0 < gemm_tile_cols ? o.n - j0 : gemm_tile_cols;
    double acc[gemm_tile_rows][gemm_tile_cols] = {};
    if (rows == gemm_tile_rows && cols == gemm_tile_cols) {  // full tile: fixed trip counts
      for (index_t p = 0; p < o.inner; ++p) {
        double x[gemm_tile_rows], y[gemm_tile_cols];
        for (index_t r = 0; r < gemm_tile_rows; ++r) x[r] = o.a[(i0 + r) * o.a_row + p * o.a_col];
        for (index_t s = 0; s < gemm_tile_cols; ++s) y[s] = o.b[p * o.b_row + (j0 + s) * o.b_col];
        for (index_t r = 0; r < gemm_tile_rows; ++r) {
          for (index_t s = 0; s < gemm_tile_cols; ++s) acc[r][s] += x[r] * y[s];
        }
      }
    } else {
      for (index_t p = 0; p < o.inner; ++p) {
        for (index_t r = 0; r < rows; ++r) {
          const double x = o.a[(i0 + r) * o.a_row + p * o.a_col];
          for (index_t s = 0; s < cols; ++s) acc[r][s] += x * o.b[p * o.b_row + (j0 + s) * o.b_col];
        }
      }
    }
    for (index_t r = 0; r < rows; ++r) {
      for (index_t s = 0; s < cols; ++s) ep(i0 + r, j0 + s, acc[r][s]);
    }
  }
};

// Runs the tiled product over all of c (m x n) with the given epilogue.
template <class System, class T, class Epilogue>
void gemm_run(const policy<System>& p, const gemm_operands<T>& o, const Epilogue& ep) {
  if (o.m == 0 || o.n == 0) return;
  const index_t tiles_m = (o.m + gemm_tile_rows - 1) / gemm_tile_rows;
  const index_t tiles_n = (o.n + gemm_tile_cols - 1) / gemm_tile_cols;
  ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(tiles_m * tiles_n),
                     gemm_tile<T, Epilogue>{o, ep, tiles_n});
}

}  // namespace detail

template <class System, class T>
void gemm_kernel(const policy<System>& p, bool trans_a, bool trans_b, T alpha,
                 matrix_view<const T, typename policy<System>::memory_space> a,
                 matrix_view<const T, typename policy<System>::memory_space> b, T beta,
                 matrix_view<T, typename policy<System>::memory_space> c) {
  const index_t inner = trans_a ? a.rows() : a.cols();
  const auto o = detail::make_gemm_operands(trans_a, trans_b, a.data(), a.stride(), b.data(),
                                            b.stride(), c.rows(), c.cols(), inner);
  detail::gemm_run(p, o,
                   detail::gemm_scale_epilogue<T>{c.data(), c.stride(), static_cast<double>(alpha),
                                                  static_cast<double>(beta), beta != T(0)});
}

}  // namespace recfuse::thrust_backend
