// recfuse Kokkos backend: the kernels of the MLP scorer (recfuse/nn/mlp.hpp).
//
// - dense_forward_kernel: y = act(x w^T + b) as one tiled GEMM (kokkos/nn/gemm.hpp) whose
//   epilogue takes the sum (in T), adds the bias and applies the activation in T, as the
//   reference does in its second pass: one pass over y.
// - dense_backward_input_kernel: (delta w) * act'(y) as one tiled GEMM whose epilogue applies
//   the activation's derivative to the sum.
// - activation_backward_kernel: elementwise, one parallel_for over the entries.
// - column_sums_kernel (bias gradients): one parallel_for over blocks of columns (16 on host
//   spaces, so each row's read is contiguous; 1 on device spaces), each column summed down its
//   rows in double, in row order: the reference's sum exactly.
// The activations are the reference's (nn::activate, nn::activation_backprop, host/device).
// The GEMM sums are in T in a fixed order (see gemm.hpp), the column sums in row order: no
// result depends on the thread count.
#pragma once

#include <Kokkos_Core.hpp>

#include "recfuse/core/config.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/kokkos/detail/range.hpp"
#include "recfuse/kokkos/nn/gemm.hpp"
#include "recfuse/kokkos/policy.hpp"
#include "recfuse/nn/activation.hpp"
#include "recfuse/nn/mlp.hpp"

namespace recfuse::kokkos_backend {
namespace detail {

// Columns per work item of column_sums_kernel.
template <class ExecSpace>
inline constexpr index_t column_block =
    Kokkos::SpaceAccessibility<ExecSpace, Kokkos::HostSpace>::accessible ? 16 : 1;

}  // namespace detail

template <class ExecSpace, class T>
void dense_forward_kernel(const policy<ExecSpace>& p,
                          matrix_view<const T, typename policy<ExecSpace>::memory_space> x,
                          matrix_view<const T, typename policy<ExecSpace>::memory_space> w,
                          vector_view<const T, typename policy<ExecSpace>::memory_space> b,
                          nn::activation act,
                          matrix_view<T, typename policy<ExecSpace>::memory_space> y) {
  const auto o = detail::make_gemm_operands(false, true, x.data(), x.stride(), w.data(), w.stride(),
                                            y.rows(), y.cols(), x.cols());
  detail::gemm_run(p, o, detail::dense_forward_epilogue<T>{y.data(), y.stride(), b.data(), act});
  p.instance.fence();
}

template <class ExecSpace, class T>
void dense_backward_input_kernel(
    const policy<ExecSpace>& p,
    matrix_view<const T, typename policy<ExecSpace>::memory_space> delta,
    matrix_view<const T, typename policy<ExecSpace>::memory_space> w, nn::activation act,
    matrix_view<const T, typename policy<ExecSpace>::memory_space> y,
    matrix_view<T, typename policy<ExecSpace>::memory_space> out) {
  const auto o = detail::make_gemm_operands(false, false, delta.data(), delta.stride(), w.data(),
                                            w.stride(), out.rows(), out.cols(), delta.cols());
  detail::gemm_run(p, o,
                   detail::dense_backward_input_epilogue<T>{out.data(), out.stride(), y.data(),
                                                            y.stride(), act});
  p.instance.fence();
}

// delta may be grad itself: each entry is read, then written, by one iteration.
template <class ExecSpace, class T>
void activation_backward_kernel(const policy<ExecSpace>& p, nn::activation act,
                                matrix_view<const T, typename policy<ExecSpace>::memory_space> y,
                                matrix_view<const T, typename policy<ExecSpace>::memory_space> grad,
                                matrix_view<T, typename policy<ExecSpace>::memory_space> delta) {
  const index_t cols = y.cols();
  if (y.rows() == 0 || cols == 0) return;
  const T* yp = y.data();
  const T* gp = grad.data();
  T* dp = delta.data();
  const index_t ldy = y.stride(), ldg = grad.stride(), ldd = delta.stride();
  Kokkos::parallel_for(
      "recfuse::activation_backward_kernel", detail::index_range(p, y.rows() * cols),
      KOKKOS_LAMBDA(index_t e) {
        const index_t i = e / cols, j = e % cols;
        dp[i * ldd + j] = nn::activation_backprop(act, yp[i * ldy + j], gp[i * ldg + j]);
      });
  p.instance.fence();
}

template <class ExecSpace, class T>
void column_sums_kernel(const policy<ExecSpace>& p,
                        matrix_view<const T, typename policy<ExecSpace>::memory_space> a,
                        vector_view<T, typename policy<ExecSpace>::memory_space> out) {
  constexpr index_t cb = detail::column_block<ExecSpace>;
  const index_t rows = a.rows(), cols = a.cols(), lda = a.stride();
  if (cols == 0) return;
  const T* ap = a.data();
  T* o = out.data();
  Kokkos::parallel_for(
      "recfuse::column_sums_kernel", detail::index_range(p, (cols + cb - 1) / cb),
      KOKKOS_LAMBDA(index_t blk) {
        const index_t j0 = blk * cb;
        const index_t w = cols - j0 < cb ? cols - j0 : cb;
        double s[cb] = {};
        for (index_t i = 0; i < rows; ++i) {
          const T* row = ap + i * lda + j0;
          for (index_t c = 0; c < w; ++c) s[c] += static_cast<double>(row[c]);
        }
        for (index_t c = 0; c < w; ++c) o[j0 + c] = static_cast<T>(s[c]);
      });
  p.instance.fence();
}

}  // namespace recfuse::kokkos_backend
