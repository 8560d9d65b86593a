// recfuse: standardisation of feature columns, (x - mean) / std, fitted in one go or streamed.
//
//   recfuse::standard_scaler<float> scaler;                 // with_mean = with_std = true
//   scaler.fit(recfuse::exec::xsimd{}, x);                  // x: rows = samples, cols = features
//   scaler.partial_fit(policy, next_batch);                 // stream more rows in
//   scaler.transform(policy, x, out);                       // out may be x itself (in-place)
//   scaler.inverse_transform(policy, out, x_again);
//
// x and out: any matrix-like container (matrix_view, xtensor, ...) of T, row-major; out must be
// mutable (an rvalue matrix_view is fine) and have x's shape. The statistics are kept in double.
//
// Semantics (as scikit-learn's StandardScaler):
// - mean() and variance() are the column mean and population variance (ddof 0) of every row seen
//   so far; scale() is sqrt(variance), except that a column whose variance is zero within the
//   rounding error of its computation (scikit-learn's _is_constant_feature rule) gets scale 1,
//   so a constant column maps to 0 instead of NaN. All three are computed whatever the flags.
// - transform: out = (x - mean) / scale, computed as x * mul + add with the per-column factors
//   mul = 1 / scale and add = -mean / scale kept in double; with_mean = false drops the mean,
//   with_std = false drops the scale. inverse_transform: out = x * scale + mean. The reference
//   evaluates x * mul + add in double and rounds the result to T; the xsimd backend rounds mul
//   and add to T once per call and evaluates an fma in T. The two agree to about
//   eps(T) * (|x * mul| + |add|), a few ulps of T unless |mean| is large in units of scale.
// - partial_fit merges the statistics of each batch with those seen so far by Chan, Golub and
//   LeVeque's pairwise update, so fitting in batches gives what fitting at once gives, to
//   rounding. fit resets, then fits. A batch of 0 rows after something was seen is a no-op.
// - NaN and infinity: fit and partial_fit reject them with value_error naming the function and
//   the first offending entry ("recfuse::standard_scaler::fit: x[3][1] is nan"); transform and
//   inverse_transform do not look (no check on the hot path): NaN and infinity propagate into
//   their row's outputs.
// Errors: fit on 0 rows or 0 columns is a value_error, and so is transforming before any fit;
// a batch or an input whose column count differs from features(), or an out whose shape differs
// from in's, is a shape_error with both sizes. A call that throws leaves the scaler unchanged.
// Host data only: the statistics live in std::vectors, so with the Thrust CUDA policy the member
// functions do not compile; GPU code calls thrust_backend::standard_scaler_fit_kernel and
// scaler_transform_kernel on device views itself.
#pragma once

#include <cmath>
#include <type_traits>
#include <vector>

#include "recfuse/core/adapt.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/reference/scale/standard_scaler.hpp"
#include "recfuse/scale/detail/checks.hpp"

namespace recfuse {

template <class T>
class standard_scaler {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "recfuse::standard_scaler<T>: T, the data's element type, must be float or double");

 public:
  using value_type = T;

  explicit standard_scaler(bool with_mean = true, bool with_std = true)
      : with_mean_(with_mean), with_std_(with_std) {}

  // Forgets what was seen, then fits x.
  template <class Policy, matrix_like X>
  standard_scaler& fit(const Policy& policy, const X& x) {
    return update(policy, as_const(as_matrix(x)), "recfuse::standard_scaler::fit", true);
  }

  // Adds the rows of x to what was seen (Chan's merge of the batch statistics).
  template <class Policy, matrix_like X>
  standard_scaler& partial_fit(const Policy& policy, const X& x) {
    return update(policy, as_const(as_matrix(x)), "recfuse::standard_scaler::partial_fit", false);
  }

  template <class Policy, matrix_like X, matrix_like Y>
  void transform(const Policy& policy, const X& in, Y&& out) const {
    apply(policy, as_const(as_matrix(in)), detail::scale_out_view(std::forward<Y>(out)),
          "recfuse::standard_scaler::transform", forward_mul_, forward_add_);
  }

  template <class Policy, matrix_like X, matrix_like Y>
  void inverse_transform(const Policy& policy, const X& in, Y&& out) const {
    apply(policy, as_const(as_matrix(in)), detail::scale_out_view(std::forward<Y>(out)),
          "recfuse::standard_scaler::inverse_transform", inverse_mul_, inverse_add_);
  }

  bool with_mean() const { return with_mean_; }
  bool with_std() const { return with_std_; }
  // 0 before the first fit.
  index_t features() const { return static_cast<index_t>(mean_.size()); }
  index_t samples_seen() const { return samples_; }
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& variance() const { return variance_; }
  const std::vector<double>& scale() const { return scale_; }

 private:
  template <class Policy, class V>
  standard_scaler& update(const Policy& policy, const V& x, const char* fn, bool reset) {
    static_assert(std::is_same_v<typename V::value_type, T>,
                  "recfuse::standard_scaler<T>::fit / partial_fit: x must hold T");
    const index_t seen = reset ? 0 : samples_;
    if (!detail::check_fit_batch(fn, x, seen, features())) return *this;

    const auto cols = static_cast<std::size_t>(x.cols());
    std::vector<double> mean(cols), m2(cols);
    const vector_view<double> mean_v(mean.data(), x.cols()), m2_v(m2.data(), x.cols());
    if constexpr (requires { standard_scaler_fit_kernel(policy, x, mean_v, m2_v); }) {
      RECFUSE_CHECK_NATIVE(standard_scaler_fit_kernel, policy, x, mean_v, m2_v);
      standard_scaler_fit_kernel(policy, x, mean_v, m2_v);
    } else {
      RECFUSE_NO_KERNEL("recfuse::standard_scaler::fit", Policy);
    }
    for (std::size_t j = 0; j < cols; ++j) {
      if (!std::isfinite(mean[j]) || !std::isfinite(m2[j])) {
        detail::throw_non_finite_entry(fn, x, "the mean or variance of a column overflowed double");
      }
    }
    const auto n_b = static_cast<double>(x.rows());
    if (seen > 0) {
      const auto n_a = static_cast<double>(seen);
      for (std::size_t j = 0; j < cols; ++j) {
        double mean_a = mean_[j], m2_a = m2_[j];
        detail::chan_merge(n_a, mean_a, m2_a, n_b, mean[j], m2[j]);
        if (!std::isfinite(mean_a) || !std::isfinite(m2_a)) {
          detail::throw_error<value_error>(
              fn, "merging this batch overflowed the statistics of column ", j);
        }
        mean[j] = mean_a;
        m2[j] = m2_a;
      }
    }
    // Nothing below throws except bad_alloc: commit.
    samples_ = seen + x.rows();
    mean_ = std::move(mean);
    m2_ = std::move(m2);
    derive();
    return *this;
  }

  void derive() {
    const std::size_t cols = mean_.size();
    const auto n = static_cast<double>(samples_);
    variance_.resize(cols);
    scale_.resize(cols);
    forward_mul_.resize(cols);
    forward_add_.resize(cols);
    inverse_mul_.resize(cols);
    inverse_add_.resize(cols);
    for (std::size_t j = 0; j < cols; ++j) {
      variance_[j] = m2_[j] / n;
      scale_[j] =
          detail::is_constant_feature(variance_[j], mean_[j], n) ? 1.0 : std::sqrt(variance_[j]);
      const double s = with_std_ ? scale_[j] : 1.0;
      const double m = with_mean_ ? mean_[j] : 0.0;
      forward_mul_[j] = 1.0 / s;
      forward_add_[j] = -m / s;
      inverse_mul_[j] = s;
      inverse_add_[j] = m;
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
      RECFUSE_NO_KERNEL("recfuse::standard_scaler::transform", Policy);
    }
  }

  bool with_mean_;
  bool with_std_;
  index_t samples_ = 0;
  std::vector<double> mean_, m2_, variance_, scale_;
  // The affine map (x * mul + add) per column of transform and of inverse_transform.
  std::vector<double> forward_mul_, forward_add_, inverse_mul_, inverse_add_;
};

}  // namespace recfuse
