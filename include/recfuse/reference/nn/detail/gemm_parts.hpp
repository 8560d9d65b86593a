// recfuse: the pieces of a tiled GEMM that do not depend on how a backend tiles it, for the
// parallel backends' kernels (the Thrust and Kokkos gemm and dense-layer kernels run these; the
// reference multiplies with plain loops, recfuse/reference/nn/gemm.hpp):
//
// - gemm_operands: op(a) and op(b) as raw pointers with a row and a column step each, so a
//   transposed operand is read in place.
// - the epilogues, which write one entry of the result from its sum `acc` (a double on Thrust,
//   a T on Kokkos, whose sums are in T as xsimd's are):
//   gemm_scale_epilogue       c = alpha * acc + beta * c in double, rounded to T once, as the
//                             reference does; c is not read when beta == 0;
//   dense_forward_epilogue    y = act(T(acc) + bias[j]), as the reference's second pass;
//   dense_backward_input_epilogue  out = T(acc) * act'(y), through nn::activation_backprop.
// Everything here runs on the host and on a GPU: raw pointers, no allocation, no exceptions.
#pragma once

#include "recfuse/core/config.hpp"
#include "recfuse/nn/activation.hpp"

namespace recfuse::detail {

// Element (i, p) of op(a) is a[i * a_row + p * a_col]; element (p, j) of op(b) is
// b[p * b_row + j * b_col]; op(a) is m x inner, op(b) inner x n.
template <class T>
struct gemm_operands {
  const T* a;
  index_t a_row, a_col;
  const T* b;
  index_t b_row, b_col;
  index_t m, n, inner;
};

template <class T>
RECFUSE_HOST_DEVICE gemm_operands<T> make_gemm_operands(bool trans_a, bool trans_b, const T* a,
                                                        index_t lda, const T* b, index_t ldb,
                                                        index_t m, index_t n, index_t inner) {
  return {a,
          trans_a ? index_t{1} : lda,
          trans_a ? lda : index_t{1},
          b,
          trans_b ? index_t{1} : ldb,
          trans_b ? ldb : index_t{1},
          m,
          n,
          inner};
}

// c(i, j) = alpha * acc + beta * c(i, j) in double, rounded to T once.
template <class T>
struct gemm_scale_epilogue {
  T* c;
  index_t ldc;
  double alpha, beta;
  bool read_c;  // false when beta == 0: c is overwritten unread
  template <class Acc>
  RECFUSE_HOST_DEVICE void operator()(index_t i, index_t j, Acc acc) const {
    T& out = c[i * ldc + j];
    const double prior = read_c ? beta * static_cast<double>(out) : 0.0;
    out = static_cast<T>(alpha * static_cast<double>(acc) + prior);
  }
};

// y(i, j) = act(T(acc) + bias[j]).
template <class T>
struct dense_forward_epilogue {
  T* y;
  index_t ldy;
  const T* bias;
  nn::activation act;
  template <class Acc>
  RECFUSE_HOST_DEVICE void operator()(index_t i, index_t j, Acc acc) const {
    y[i * ldy + j] = nn::activate(act, static_cast<T>(static_cast<T>(acc) + bias[j]));
  }
};

// out(i, j) = T(acc) * act'(y(i, j)).
template <class T>
struct dense_backward_input_epilogue {
  T* out;
  index_t ldo;
  const T* y;
  index_t ldy;
  nn::activation act;
  template <class Acc>
  RECFUSE_HOST_DEVICE void operator()(index_t i, index_t j, Acc acc) const {
    out[i * ldo + j] = nn::activation_backprop(act, y[i * ldy + j], static_cast<T>(acc));
  }
};

}  // namespace recfuse::detail
