// recfuse: rating-prediction errors, RMSE and MAE.
//
//   double e = recfuse::rmse(recfuse::exec::xsimd{}, predictions, truth);
//
// predictions and truth: any vector-like container (std::vector, std::span, xtensor, a
// vector_view, and with the backend headers thrust::device_vector and Kokkos::View) of the same
// floating-point type and length. Empty input is an error (the mean of nothing is undefined),
// and so is NaN or infinity in either input: the message names the first offending index when
// the data is on the host. The sum is accumulated in double on every backend.
#pragma once

#include <cmath>
#include <concepts>
#include <type_traits>

#include "recfuse/core/adapt.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/reference/metrics/error.hpp"

namespace recfuse {
namespace detail {

template <class A, class B>
void check_error_inputs(const char* function, const A& pred, const B& truth) {
  using TA = typename A::value_type;
  using TB = typename B::value_type;
  static_assert(std::is_same_v<TA, TB>,
                "recfuse error metrics: predictions and truth must have the same element type");
  static_assert(std::is_floating_point_v<TA>,
                "recfuse error metrics: elements must be float or double");
  static_assert(std::is_same_v<typename A::memory_space, typename B::memory_space>,
                "recfuse error metrics: predictions and truth must live in the same memory space");
  check_vector(function, "predictions", pred);
  check_vector(function, "truth", truth);
  check_same(function, "predictions.size()", pred.size(), "truth.size()", truth.size());
  if (pred.size() == 0) throw_error<value_error>(function, "empty input (0 predictions)");
}

// Called only when a sum came out non-finite: finds the first culprit on the host.
template <class V>
[[noreturn]] void throw_non_finite(const char* function, const V& pred, const V& truth) {
  if constexpr (std::is_same_v<typename V::memory_space, host_memory>) {
    for (index_t i = 0; i < pred.size(); ++i) {
      if (!std::isfinite(pred[i]))
        throw_error<value_error>(function, "predictions[", i, "] is ", pred[i]);
      if (!std::isfinite(truth[i]))
        throw_error<value_error>(function, "truth[", i, "] is ", truth[i]);
    }
  }
  throw_error<value_error>(function, "the input holds NaN or infinity (or the error overflowed)");
}

}  // namespace detail

template <class Policy, vector_like P, vector_like T>
double rmse(const Policy& policy, const P& predictions, const T& truth) {
  constexpr const char* fn = "recfuse::rmse";
  const auto p = as_const(as_vector(predictions));
  const auto t = as_const(as_vector(truth));
  detail::check_error_inputs(fn, p, t);
  if constexpr (requires { rmse_kernel(policy, p, t); }) {
    RECFUSE_CHECK_NATIVE(rmse_kernel, policy, p, t);
    const double sum = rmse_kernel(policy, p, t);
    if (!std::isfinite(sum)) detail::throw_non_finite(fn, p, t);
    return std::sqrt(sum / static_cast<double>(p.size()));
  } else {
    RECFUSE_NO_KERNEL("recfuse::rmse", Policy);
  }
}

template <class Policy, vector_like P, vector_like T>
double mae(const Policy& policy, const P& predictions, const T& truth) {
  constexpr const char* fn = "recfuse::mae";
  const auto p = as_const(as_vector(predictions));
  const auto t = as_const(as_vector(truth));
  detail::check_error_inputs(fn, p, t);
  if constexpr (requires { mae_kernel(policy, p, t); }) {
    RECFUSE_CHECK_NATIVE(mae_kernel, policy, p, t);
    const double sum = mae_kernel(policy, p, t);
    if (!std::isfinite(sum)) detail::throw_non_finite(fn, p, t);
    return sum / static_cast<double>(p.size());
  } else {
    RECFUSE_NO_KERNEL("recfuse::mae", Policy);
  }
}

}  // namespace recfuse
