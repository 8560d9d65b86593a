// recfuse: the checks and helpers the scale headers (and their backends) share: Chan's merge of
// moments, the constant-feature test, and the argument checks of fit / partial_fit / transform.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "recfuse/core/adapt.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/views.hpp"

namespace recfuse {
namespace detail {

// Chan, Golub and LeVeque's pairwise update: (n_a, mean_a, m2_a) absorbs (n_b, mean_b, m2_b),
// where m2 is the sum of squared deviations from the mean. Exact in real arithmetic, stable in
// floating point even when the batches are far apart. Device-callable: the Kokkos fit's
// reduction joins with it.
RECFUSE_HOST_DEVICE inline void chan_merge(double n_a, double& mean_a, double& m2_a, double n_b,
                                           double mean_b, double m2_b) {
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

}  // namespace recfuse
