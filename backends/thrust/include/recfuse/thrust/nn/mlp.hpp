// recfuse Thrust backend: the kernels of the MLP scorer (recfuse/nn/mlp.hpp).
//
// - dense_forward_kernel: y = act(x w^T + b) as one tiled GEMM (thrust/nn/gemm.hpp) whose
//   epilogue rounds the double sum to T, adds the bias and applies the activation in T, as the
//   reference does in its second pass: one pass over y.
// - dense_backward_input_kernel: (delta w) * act'(y) as one tiled GEMM whose epilogue applies
//   the activation's derivative to the sum rounded to T.
// - activation_backward_kernel: elementwise, one thrust::for_each over the entries.
// - column_sums_kernel (bias gradients): one thrust::for_each over the columns, each summed down
//   its rows in double, in row order (the reference's sum exactly).
// The activations are the shared host/device nn::activate and nn::activation_backprop
// (recfuse/nn/activation.hpp), the functions the reference calls.
// Views are in the policy's memory space (host for cpp/omp/tbb, device for cuda).
#pragma once

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include "recfuse/core/config.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/nn/activation.hpp"
#include "recfuse/nn/mlp.hpp"
#include "recfuse/thrust/nn/gemm.hpp"
#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend {
namespace detail {

template <class T>
struct activation_backward_entry {
  const T* y;
  index_t ldy;
  const T* grad;
  index_t ldg;
  T* delta;
  index_t ldd;
  index_t cols;
  nn::activation act;
  RECFUSE_HOST_DEVICE void operator()(index_t e) const {
    const index_t i = e / cols, j = e % cols;
    delta[i * ldd + j] = nn::activation_backprop(act, y[i * ldy + j], grad[i * ldg + j]);
  }
};

template <class T>
struct column_sum {
  const T* a;
  index_t lda, rows;
  T* out;
  RECFUSE_HOST_DEVICE void operator()(index_t j) const {
    double s = 0.0;
    for (index_t i = 0; i < rows; ++i) s += a[i * lda + j];
    out[j] = static_cast<T>(s);
  }
};

}  // namespace detail

template <class System, class T>
void dense_forward_kernel(const policy<System>& p,
                          matrix_view<const T, typename policy<System>::memory_space> x,
                          matrix_view<const T, typename policy<System>::memory_space> w,
                          vector_view<const T, typename policy<System>::memory_space> b,
                          nn::activation act,
                          matrix_view<T, typename policy<System>::memory_space> y) {
  const auto o = detail::make_gemm_operands(false, true, x.data(), x.stride(), w.data(), w.stride(),
                                            y.rows(), y.cols(), x.cols());
  detail::gemm_run(p, o, detail::dense_forward_epilogue<T>{y.data(), y.stride(), b.data(), act});
}

template <class System, class T>
void dense_backward_input_kernel(const policy<System>& p,
                                 matrix_view<const T, typename policy<System>::memory_space> delta,
                                 matrix_view<const T, typename policy<System>::memory_space> w,
                                 nn::activation act,
                                 matrix_view<const T, typename policy<System>::memory_space> y,
                                 matrix_view<T, typename policy<System>::memory_space> out) {
  const auto o = detail::make_gemm_operands(false, false, delta.data(), delta.stride(), w.data(),
                                            w.stride(), out.rows(), out.cols(), delta.cols());
  detail::gemm_run(p, o,
                   detail::dense_backward_input_epilogue<T>{out.data(), out.stride(), y.data(),
                                                            y.stride(), act});
}

// delta may be grad itself: each entry is read, then written, by one functor call.
template <class System, class T>
void activation_backward_kernel(const policy<System>& p, nn::activation act,
                                matrix_view<const T, typename policy<System>::memory_space> y,
                                matrix_view<const T, typename policy<System>::memory_space> grad,
                                matrix_view<T, typename policy<System>::memory_space> delta) {
  const index_t rows = y.rows(), cols = y.cols();
  if (rows == 0 || cols == 0) return;
  ::thrust::for_each(
      p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
      ::thrust::counting_iterator<index_t>(rows * cols),
      detail::activation_backward_entry<T>{y.data(), y.stride(), grad.data(), grad.stride(),
                                           delta.data(), delta.stride(), cols, act});
}

template <class System, class T>
void column_sums_kernel(const policy<System>& p,
                        matrix_view<const T, typename policy<System>::memory_space> a,
                        vector_view<T, typename policy<System>::memory_space> out) {
  if (a.cols() == 0) return;
  ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(a.cols()),
                     detail::column_sum<T>{a.data(), a.stride(), a.rows(), out.data()});
}

}  // namespace recfuse::thrust_backend
