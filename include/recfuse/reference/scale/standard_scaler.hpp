// recfuse: serial reference kernels for the scale component (standard_scaler, minmax_scaler,
// normalize_rows), the oracle the other backends are tested against, plus the few helpers the
// scale headers and backends share.
//
// Kernels (found by ADL on the policy; the public API is in recfuse/scale/*.hpp):
//   column_moments(policy, x, mean, m2)      per-column mean and sum of squared deviations
//   column_min_max(policy, x, min, max)      per-column min and max
//   affine_columns(policy, in, out, mul, add) out(i, j) = in(i, j) * mul[j] + add[j]
//                                             (here in double, rounded to T once; backends may
//                                             round mul and add to T and work in T)
//   scale_rows_to_unit_l2(policy, in, out)    out row = in row / ||in row||_2
// Contracts every backend keeps:
//   - column_moments and column_min_max get rows >= 1 and cols >= 1. A column that holds NaN or
//     infinity gets a non-finite result (the public code then looks for the culprit), and a
//     column of finite values gets finite results unless double itself overflows.
//   - affine_columns and scale_rows_to_unit_l2 accept in and out pointing at the same memory
//     (in-place), never partially overlapping; they do not look for NaN (it propagates).
// Everything here is accumulated in double, in row order: the accurate, slow oracle.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "recfuse/core/adapt.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"

namespace recfuse {
namespace detail {

// Chan, Golub and LeVeque's pairwise update: (n_a, mean_a, m2_a) absorbs (n_b, mean_b, m2_b),
// where m2 is the sum of squared deviations from the mean. Exact in real arithmetic, stable in
// floating point even when the batches are far apart.
inline void chan_merge(double n_a, double& mean_a, double& m2_a, double n_b, double mean_b,
                       double m2_b) {
  const double n = n_a + n_b;
  const double delta = mean_b - mean_a;
  const double w = n_b / n;
  mean_a += delta * w;
  m2_a += m2_b + delta * delta * n_a * w;
}

// scikit-learn's _is_constant_feature: a variance within the error bound of the two-pass
// algorithm is numerically zero, so the column is treated as constant (scale 1).
inline bool is_constant_feature(double variance, double mean, double n) {
  constexpr double eps = std::numeric_limits<double>::epsilon();
  const double bound = n * eps * variance + (n * mean * eps) * (n * mean * eps);
  return variance <= bound;
}

// The mutable view a scale function writes to. `out` must not be const: the message below is
// what a caller sees when it passes a const container or a view of const elements.
template <class Y>
auto scale_out_view(Y&& out) {
  auto view = as_matrix(std::forward<Y>(out));
  static_assert(!std::is_const_v<typename decltype(view)::element_type>,
                "recfuse scale (transform, inverse_transform, normalize_rows): `out` must be a "
                "mutable matrix; got a const container or a matrix_view of const elements");
  return view;
}

// in and out of a transform: same element type as the data the function works on, same shape.
template <class T, class In, class Out>
void check_scale_in_out(const char* function, const In& in, const Out& out) {
  static_assert(
      std::is_same_v<typename In::value_type, T> && std::is_same_v<typename Out::value_type, T>,
      "recfuse scale: `in` and `out` must hold the same element type (a scaler's T)");
  static_assert(std::is_same_v<typename In::memory_space, typename Out::memory_space>,
                "recfuse scale: `in` and `out` must live in the same memory space");
  check_matrix(function, "in", in);
  check_matrix(function, "out", out);
  if (in.rows() != out.rows() || in.cols() != out.cols()) {
    throw_error<shape_error>(function, "out is ", out.rows(), " x ", out.cols(), " but in is ",
                             in.rows(), " x ", in.cols());
  }
}

// Called only when a statistic came out non-finite: names the first NaN or infinity in x
// ("recfuse::standard_scaler::fit: x[3][1] is nan"), or says that the statistic overflowed.
// Checks a fit / partial_fit batch against what the scaler has seen (seen samples of
// `features` columns). Returns false when the batch is empty after a fit: nothing to merge.
template <class M>
bool check_fit_batch(const char* function, const M& x, index_t seen, index_t features) {
  check_matrix(function, "x", x);
  if (seen > 0 && x.cols() != features) {
    throw_error<shape_error>(function, "x has ", x.cols(), " columns but the scaler was fitted on ",
                             features, " features");
  }
  if (x.rows() == 0) {
    if (seen > 0) return false;
    throw_error<value_error>(function, "x has 0 rows; fitting needs at least one sample");
  }
  if (x.cols() == 0) {
    throw_error<value_error>(function, "x has 0 columns; fitting needs at least one feature");
  }
  return true;
}

template <class M>
[[noreturn]] void throw_non_finite_entry(const char* function, const M& x, const char* overflow) {
  if constexpr (std::is_same_v<typename M::memory_space, host_memory>) {
    for (index_t i = 0; i < x.rows(); ++i) {
      for (index_t j = 0; j < x.cols(); ++j) {
        if (!std::isfinite(x(i, j)))
          throw_error<value_error>(function, "x[", i, "][", j, "] is ", x(i, j));
      }
    }
  }
  throw_error<value_error>(function, overflow);
}

}  // namespace detail

namespace reference {
namespace detail {

// Mean and m2 of every column of x (rows >= 1), shifted by the first row so that a constant
// column gives exactly its value and m2 == 0, then corrected two-pass (Chan, Golub, LeVeque):
// both the mean and m2 are refined by the sum of the deviations from the first-pass mean.
template <class T>
void moments(matrix_view<const T> x, double* mean, double* m2) {
  const index_t rows = x.rows();
  const index_t cols = x.cols();
  const T* first = x.row(0);
  for (index_t j = 0; j < cols; ++j) mean[j] = 0.0;
  for (index_t i = 0; i < rows; ++i) {
    const T* r = x.row(i);
    for (index_t j = 0; j < cols; ++j)
      mean[j] += static_cast<double>(r[j]) - static_cast<double>(first[j]);
  }
  const double n = static_cast<double>(rows);
  for (index_t j = 0; j < cols; ++j) mean[j] = static_cast<double>(first[j]) + mean[j] / n;
  // m2 = sum d^2 - (sum d)^2 / n with d = x - mean: the second term removes the mean's rounding,
  // and mean + (sum d) / n is the mean to the rounding of the deviations (the first pass summed
  // x - first, which loses digits with n when the first row is far from the rest).
  std::vector<double> sum_d(static_cast<std::size_t>(cols), 0.0);
  for (index_t j = 0; j < cols; ++j) m2[j] = 0.0;
  for (index_t i = 0; i < rows; ++i) {
    const T* r = x.row(i);
    for (index_t j = 0; j < cols; ++j) {
      const double d = static_cast<double>(r[j]) - mean[j];
      sum_d[j] += d;
      m2[j] += d * d;
    }
  }
  for (index_t j = 0; j < cols; ++j) {
    m2[j] = std::max(0.0, m2[j] - sum_d[j] * sum_d[j] / n);
    mean[j] += sum_d[j] / n;
  }
}

// ||x||_2 of n elements as scale * root, with scale a power of two (1 unless rescaling was
// needed), so x / scale / root stays accurate even where the norm itself would be subnormal.
// Float input cannot overflow or underflow a double sum of squares; double input that does is
// rescaled by a power of two at least its largest magnitude. NaN in x gives a NaN root.
template <class T>
double row_norm(const T* x, index_t n, double& scale) {
  scale = 1.0;
  double s = 0.0;
  for (index_t j = 0; j < n; ++j) s += static_cast<double>(x[j]) * static_cast<double>(x[j]);
  if constexpr (std::is_same_v<T, float>) {
    return std::sqrt(s);
  } else {
    if (std::isnan(s) || (std::isfinite(s) && s >= 0x1p-600)) return std::sqrt(s);
    double big = 0.0;  // no NaN here: s would be NaN
    for (index_t j = 0; j < n; ++j) big = std::max(big, std::abs(static_cast<double>(x[j])));
    if (big == 0.0 || std::isinf(big)) return big;
    int exponent = 0;
    std::frexp(big, &exponent);  // big < 2^exponent
    scale = std::ldexp(1.0, exponent);
    double t = 0.0;
    for (index_t j = 0; j < n; ++j) {
      const double y = static_cast<double>(x[j]) / scale;  // exact: scale is a power of two
      t += y * y;
    }
    return std::sqrt(t);
  }
}

}  // namespace detail

template <class T>
void column_moments(const policy&, matrix_view<const T> x, vector_view<double> mean,
                    vector_view<double> m2) {
  detail::moments(x, mean.data(), m2.data());
}

template <class T>
void column_min_max(const policy&, matrix_view<const T> x, vector_view<double> lo,
                    vector_view<double> hi) {
  const index_t cols = x.cols();
  for (index_t j = 0; j < cols; ++j) lo[j] = hi[j] = static_cast<double>(x(0, j));
  for (index_t i = 0; i < x.rows(); ++i) {
    const T* r = x.row(i);
    for (index_t j = 0; j < cols; ++j) {
      const double v = static_cast<double>(r[j]);
      if (!std::isfinite(v)) {
        lo[j] = std::numeric_limits<double>::quiet_NaN();
      } else if (!std::isnan(lo[j])) {
        lo[j] = std::min(lo[j], v);
        hi[j] = std::max(hi[j], v);
      }
    }
  }
}

template <class T>
void affine_columns(const policy&, matrix_view<const T> in, matrix_view<T> out,
                    vector_view<const double> mul, vector_view<const double> add) {
  for (index_t i = 0; i < in.rows(); ++i) {
    const T* x = in.row(i);
    T* y = out.row(i);
    for (index_t j = 0; j < in.cols(); ++j) {
      y[j] = static_cast<T>(static_cast<double>(x[j]) * mul[j] + add[j]);
    }
  }
}

template <class T>
void scale_rows_to_unit_l2(const policy&, matrix_view<const T> in, matrix_view<T> out) {
  for (index_t i = 0; i < in.rows(); ++i) {
    const T* x = in.row(i);
    T* y = out.row(i);
    double scale = 1.0;
    double root = detail::row_norm(x, in.cols(), scale);
    if (root == 0.0) root = 1.0;  // zero rows stay zero
    for (index_t j = 0; j < in.cols(); ++j) {
      y[j] = static_cast<T>(static_cast<double>(x[j]) / scale / root);
    }
  }
}

}  // namespace reference
}  // namespace recfuse
