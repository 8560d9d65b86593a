// recfuse: min-max scaling of feature columns to a range [lo, hi], fitted in one go or streamed.
//
//   recfuse::minmax_scaler<float> scaler(-1.0, 1.0);        // default range [0, 1]
//   scaler.fit(recfuse::exec::xsimd{}, x);                  // or partial_fit batch by batch
//   scaler.transform(policy, x, out);                       // out may be x itself (in-place)
//   scaler.inverse_transform(policy, out, x_again);
//
// Semantics (as scikit-learn's MinMaxScaler, clip = false):
// - data_min() and data_max() are the column minimum and maximum of every row seen so far
//   (partial_fit takes the min / max with each new batch); data_range() = data_max - data_min.
// - scale() = (hi - lo) / data_range and offset() = lo - data_min * scale() (scikit-learn's
//   scale_ and min_), where a range below 10 double epsilons counts as 1, so a constant column
//   maps to lo. transform: out = x * scale + offset; inverse_transform: out = (x - offset) / scale,
//   computed as x * (1 / scale) + (-offset / scale). Both maps are x * mul + add with per-column
//   factors kept in double: the reference evaluates x * mul + add in double and rounds the result
//   to T; the xsimd backend rounds the factors to T once per call and evaluates an fma in T, so the
//   two agree to about eps(T) * (|x * mul| + |add|). Values outside the fitted range map outside
//   [lo, hi] (no clipping).
// - NaN and infinity: fit and partial_fit reject them with value_error naming the function and
//   the first offending entry; transform and inverse_transform propagate them unchecked.
// Errors: lo >= hi, or a non-finite bound, is a value_error at construction. The rest is as for
// standard_scaler: fit on 0 rows or 0 columns and use before fit are value_errors, a column count
// that differs from features() or an out shaped unlike in is a shape_error, a 0-row partial_fit
// after a fit is a no-op, and a call that throws leaves the scaler unchanged. Host data only, as
// standard_scaler (GPU code calls thrust_backend::minmax_scaler_fit_kernel on device views).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "recfuse/core/adapt.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/reference/scale/minmax_scaler.hpp"
#include "recfuse/scale/detail/checks.hpp"

namespace recfuse {

template <class T>
class minmax_scaler {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "recfuse::minmax_scaler<T>: T, the data's element type, must be float or double");

 public:
  using value_type = T;

  explicit minmax_scaler(double lo = 0.0, double hi = 1.0) : lo_(lo), hi_(hi) {
    if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi)) {
      detail::throw_error<value_error>("recfuse::minmax_scaler", "feature range [", lo, ", ", hi,
                                       "] needs finite lo < hi");
    }
  }

  template <class Policy, matrix_like X>
  minmax_scaler& fit(const Policy& policy, const X& x) {
    return update(policy, as_const(as_matrix(x)), "recfuse::minmax_scaler::fit", true);
  }

  template <class Policy, matrix_like X>
  minmax_scaler& partial_fit(const Policy& policy, const X& x) {
    return update(policy, as_const(as_matrix(x)), "recfuse::minmax_scaler::partial_fit", false);
  }

  template <class Policy, matrix_like X, matrix_like Y>
  void transform(const Policy& policy, const X& in, Y&& out) const {
    apply(policy, as_const(as_matrix(in)), detail::scale_out_view(std::forward<Y>(out)),
          "recfuse::minmax_scaler::transform", scale_, offset_);
  }

  template <class Policy, matrix_like X, matrix_like Y>
  void inverse_transform(const Policy& policy, const X& in, Y&& out) const {
    apply(policy, as_const(as_matrix(in)), detail::scale_out_view(std::forward<Y>(out)),
          "recfuse::minmax_scaler::inverse_transform", inverse_mul_, inverse_add_);
  }

  double feature_min() const { return lo_; }
  double feature_max() const { return hi_; }
  index_t features() const { return static_cast<index_t>(data_min_.size()); }
  index_t samples_seen() const { return samples_; }
  const std::vector<double>& data_min() const { return data_min_; }
  const std::vector<double>& data_max() const { return data_max_; }
  const std::vector<double>& data_range() const { return data_range_; }
  const std::vector<double>& scale() const { return scale_; }
  const std::vector<double>& offset() const { return offset_; }

 private:
  template <class Policy, class V>
  minmax_scaler& update(const Policy& policy, const V& x, const char* fn, bool reset) {
    static_assert(std::is_same_v<typename V::value_type, T>,
                  "recfuse::minmax_scaler<T>::fit / partial_fit: x must hold T");
    const index_t seen = reset ? 0 : samples_;
    if (!detail::check_fit_batch(fn, x, seen, features())) return *this;

    const auto cols = static_cast<std::size_t>(x.cols());
    std::vector<double> lo(cols), hi(cols);
    const vector_view<double> lo_v(lo.data(), x.cols()), hi_v(hi.data(), x.cols());
    if constexpr (requires { minmax_scaler_fit_kernel(policy, x, lo_v, hi_v); }) {
      RECFUSE_CHECK_NATIVE(minmax_scaler_fit_kernel, policy, x, lo_v, hi_v);
      minmax_scaler_fit_kernel(policy, x, lo_v, hi_v);
    } else {
      RECFUSE_NO_KERNEL("recfuse::minmax_scaler::fit", Policy);
    }
    for (std::size_t j = 0; j < cols; ++j) {
      if (!std::isfinite(lo[j]) || !std::isfinite(hi[j])) {
        detail::throw_non_finite_entry(fn, x, "a column's minimum or maximum is not finite");
      }
      if (seen > 0) {
        lo[j] = std::min(lo[j], data_min_[j]);
        hi[j] = std::max(hi[j], data_max_[j]);
      }
    }
    samples_ = seen + x.rows();
    data_min_ = std::move(lo);
    data_max_ = std::move(hi);
    derive();
    return *this;
  }

  void derive() {
    const std::size_t cols = data_min_.size();
    data_range_.resize(cols);
    scale_.resize(cols);
    offset_.resize(cols);
    inverse_mul_.resize(cols);
    inverse_add_.resize(cols);
    constexpr double tiny = 10 * std::numeric_limits<double>::epsilon();
    for (std::size_t j = 0; j < cols; ++j) {
      data_range_[j] = data_max_[j] - data_min_[j];
      const double range = data_range_[j] < tiny ? 1.0 : data_range_[j];
      scale_[j] = (hi_ - lo_) / range;
      offset_[j] = lo_ - data_min_[j] * scale_[j];
      inverse_mul_[j] = 1.0 / scale_[j];
      inverse_add_[j] = -offset_[j] / scale_[j];
    }
  }

  template <class Policy, class In, class Out>
  void apply(const Policy& policy, const In& in, const Out& out, const char* fn,
             const std::vector<double>& mul, const std::vector<double>& add) const {
    detail::check_scale_in_out<T>(fn, in, out);
    if (samples_ == 0)
      detail::throw_error<value_error>(fn, "the scaler is not fitted; call fit first");
    if (in.cols() != features()) {
      detail::throw_error<shape_error>(fn, "in has ", in.cols(),
                                       " columns but the scaler was fitted on ", features(),
                                       " features");
    }
    const vector_view<const double> mul_v(mul.data(), features()), add_v(add.data(), features());
    if constexpr (requires { scaler_transform_kernel(policy, in, out, mul_v, add_v); }) {
      RECFUSE_CHECK_NATIVE(scaler_transform_kernel, policy, in, out, mul_v, add_v);
      scaler_transform_kernel(policy, in, out, mul_v, add_v);
    } else {
      RECFUSE_NO_KERNEL("recfuse::minmax_scaler::transform", Policy);
    }
  }

  double lo_;
  double hi_;
  index_t samples_ = 0;
  std::vector<double> data_min_, data_max_, data_range_, scale_, offset_;
  std::vector<double> inverse_mul_, inverse_add_;  // inverse_transform's x * mul + add
};

}  // namespace recfuse
