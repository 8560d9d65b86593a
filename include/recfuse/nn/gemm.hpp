// recfuse: dense matrix product, the building block of the MLP scorer and the graph layer.
//
//   recfuse::gemm(policy, recfuse::op::none, recfuse::op::transpose, 1.0f, x, w, 0.0f, y);
//     // y = x * w^T, as torch.nn.Linear computes x @ weight.T
//
// c = alpha * op(a) * op(b) + beta * c with op(x) = x (op::none) or x^T (op::transpose).
// a, b, c are row-major views (any stride >= cols) of the same float or double type; c must not
// overlap a or b. beta == 0 overwrites c without reading it, so NaN or garbage in c does not
// propagate (BLAS convention); NaN in a or b propagates. Empty shapes are fine: an inner
// dimension of 0 gives c = beta * c.
//
// Backends: the reference accumulates each entry in double (the oracle); xsimd runs a blocked,
// multithreaded micro-kernel in T with FMA, so results differ from the reference by rounding
// (relative error about inner * epsilon(T) in the worst case). The thread count never changes
// the result on xsimd. Thrust tiles c (4 x 4 entries per functor call) and sums each entry in
// double as the reference does, on every Thrust system (no cuBLAS).
//
// Device data: with exec::thrust<thrust::cuda::tag>, a, b and c are device views
// (matrix_view<T, device_memory>); only shapes, strides and null pointers are checked, as for
// host views (nothing here reads the elements).
//
// Errors (messages start with "recfuse::gemm: "): inner dimensions that differ, or c not
// rows(op(a)) x cols(op(b)) (shape_error); a view with negative extents, stride < cols or a null
// pointer with data expected (shape_error / value_error).
#pragma once

#include <type_traits>

#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/reference/nn/gemm.hpp"

namespace recfuse {

enum class op : bool { none = false, transpose = true };

template <class Policy, class T, class Space>
void gemm(const Policy& policy, op op_a, op op_b, T alpha, matrix_view<const T, Space> a,
          matrix_view<const T, Space> b, T beta, matrix_view<T, Space> c) {
  constexpr const char* fn = "recfuse::gemm";
  static_assert(std::is_floating_point_v<T>, "recfuse::gemm: elements must be float or double");
  detail::check_matrix(fn, "a", a);
  detail::check_matrix(fn, "b", b);
  detail::check_matrix(fn, "c", c);
  const bool ta = op_a == op::transpose, tb = op_b == op::transpose;
  const index_t m = ta ? a.cols() : a.rows(), ka = ta ? a.rows() : a.cols();
  const index_t kb = tb ? b.cols() : b.rows(), n = tb ? b.rows() : b.cols();
  detail::check_same(fn, "inner dimension of op(a)", ka, "inner dimension of op(b)", kb);
  detail::check_same(fn, "c.rows()", c.rows(), "rows of op(a)", m);
  detail::check_same(fn, "c.cols()", c.cols(), "columns of op(b)", n);
  if (m == 0 || n == 0) return;
  if constexpr (requires { gemm_kernel(policy, ta, tb, alpha, a, b, beta, c); }) {
    RECFUSE_CHECK_NATIVE(gemm_kernel, policy, ta, tb, alpha, a, b, beta, c);
    gemm_kernel(policy, ta, tb, alpha, a, b, beta, c);
  } else {
    RECFUSE_NO_KERNEL("recfuse::gemm", Policy);
  }
}

// Deduces T from non-const views: gemm(policy, op::none, op::none, 1.0f, a, b, 0.0f, c).
template <class Policy, class T, class Space>
void gemm(const Policy& policy, op op_a, op op_b, T alpha, matrix_view<T, Space> a,
          matrix_view<T, Space> b, T beta, matrix_view<T, Space> c) requires(!std::is_const_v<T>) {
  gemm(policy, op_a, op_b, alpha, matrix_view<const T, Space>(a), matrix_view<const T, Space>(b),
       beta, c);
}

}  // namespace recfuse
