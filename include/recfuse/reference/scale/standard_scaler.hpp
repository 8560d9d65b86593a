// recfuse: the serial reference kernels of the standard scaler (recfuse/scale/standard_scaler.hpp),
// and the per-column affine transform both scalers share; the oracle of the other backends.
//
//   standard_scaler_fit_kernel(policy, x, mean, m2)     per-column mean and sum of squared
//   deviations scaler_transform_kernel(policy, in, out, mul, add)  out(i, j) = in(i, j) * mul[j] +
//   add[j]
//                                     (here in double, rounded to T once; backends may round mul
//                                     and add to T and work in T)
// Contracts every backend keeps:
//   - standard_scaler_fit_kernel and minmax_scaler_fit_kernel get rows >= 1 and cols >= 1. A
//     column that holds NaN or infinity gets a non-finite result (the public code then looks for
//     the culprit), and a column of finite values gets finite results unless double overflows.
//   - scaler_transform_kernel and normalize_rows_kernel accept in and out pointing at the same
//     memory (in-place), never partially overlapping; they do not look for NaN (it propagates).
// Everything here is accumulated in double, in row order: the accurate, slow oracle.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"

namespace recfuse::reference_backend {
namespace detail {

// Mean and m2 of every column of the rows x cols matrix at x (row stride `stride`, rows >= 1),
// shifted by the first row so that a constant column gives exactly its value and m2 == 0, then
// corrected two-pass (Chan, Golub, LeVeque): both the mean and m2 are refined by the sum of the
// deviations from the first-pass mean. sum_d: caller scratch of cols doubles. Runs on the host
// and in the parallel backends' kernels (the Kokkos fit runs it on each block of rows).
template <class T>
RECFUSE_HOST_DEVICE void moments(const T* x, index_t stride, index_t rows, index_t cols,
                                 double* mean, double* m2, double* sum_d) {
  const T* first = x;
  for (index_t j = 0; j < cols; ++j) mean[j] = 0.0;
  for (index_t i = 0; i < rows; ++i) {
    const T* r = x + i * stride;
    for (index_t j = 0; j < cols; ++j)
      mean[j] += static_cast<double>(r[j]) - static_cast<double>(first[j]);
  }
  const double n = static_cast<double>(rows);
  for (index_t j = 0; j < cols; ++j) mean[j] = static_cast<double>(first[j]) + mean[j] / n;
  // m2 = sum d^2 - (sum d)^2 / n with d = x - mean: the second term removes the mean's rounding,
  // and mean + (sum d) / n is the mean to the rounding of the deviations (the first pass summed
  // x - first, which loses digits with n when the first row is far from the rest).
  for (index_t j = 0; j < cols; ++j) sum_d[j] = m2[j] = 0.0;
  for (index_t i = 0; i < rows; ++i) {
    const T* r = x + i * stride;
    for (index_t j = 0; j < cols; ++j) {
      const double d = static_cast<double>(r[j]) - mean[j];
      sum_d[j] += d;
      m2[j] += d * d;
    }
  }
  for (index_t j = 0; j < cols; ++j) {
    const double v = m2[j] - sum_d[j] * sum_d[j] / n;
    m2[j] = 0.0 < v ? v : 0.0;  // std::max(0.0, v), which the device cannot call
    mean[j] += sum_d[j] / n;
  }
}

template <class T>
void moments(matrix_view<const T> x, double* mean, double* m2) {
  std::vector<double> sum_d(static_cast<std::size_t>(x.cols()));
  moments(x.data(), x.stride(), x.rows(), x.cols(), mean, m2, sum_d.data());
}

}  // namespace detail

template <class T>
void standard_scaler_fit_kernel(const policy&, matrix_view<const T> x, vector_view<double> mean,
                                vector_view<double> m2) {
  RECFUSE_ASSERT(x.rows() >= 1 && x.cols() >= 1);  // the contract every backend keeps
  detail::moments(x, mean.data(), m2.data());
}

template <class T>
void scaler_transform_kernel(const policy&, matrix_view<const T> in, matrix_view<T> out,
                             vector_view<const double> mul, vector_view<const double> add) {
  for (index_t i = 0; i < in.rows(); ++i) {
    const T* x = in.row(i);
    T* y = out.row(i);
    for (index_t j = 0; j < in.cols(); ++j) {
      y[j] = static_cast<T>(static_cast<double>(x[j]) * mul[j] + add[j]);
    }
  }
}

}  // namespace recfuse::reference_backend
