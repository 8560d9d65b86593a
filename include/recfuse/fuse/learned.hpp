// recfuse: learned fusion -- an MLP over several scorers' outputs and side features, with
// per-group explanations by integrated gradients.
//
//   recfuse::fuse::learned_fusion<float> fusion({{"mf", 1}, {"graph", 1}, {"user", 25}});
//   fusion.fit(cpu, inputs, ratings);                // inputs: n x 27, columns group by group
//   fusion.predict(cpu, inputs, out);                // out: n
//   fusion.explain(cpu, inputs, contributions, base); // contributions: n x 3, base: n
//
// Inputs are named column blocks (groups), in order: inputs.cols() must be the sum of the
// group widths. The network is nn::mlp with widths {sum, hidden..., 1}, relu on the hidden
// layers and an identity output (regression, trained with mse); fit with
// train_options.loss_kind = nn::loss::bce switches the output to sigmoid (targets in [0, 1]).
// hidden = {} gives a linear model.
//
// - fit starts from a freshly initialised network (the constructor's seed), so fitting twice on
//   the same data with the same options gives the same model on a given backend. It
//   standardises the inputs internally: per-column mean and population standard deviation
//   computed in double (a constant column gets scale 1), kept in input_mean() and input_scale()
//   and applied by predict and explain (z = (x - mean) / scale, in double, rounded to T).
// - predict: out[i] = f(inputs row i). NaN in the inputs propagates to its row.
// - explain: integrated gradients (Sundararajan, Taly and Yan 2017) from the baseline input
//   x0 = the training mean (z = 0) to each row x, with m = 32 midpoint steps:
//     attr_j = (x_j - x0_j) * (1/m) sum_{k<m} df/dx_j(x0 + (k + 1/2)/m (x - x0)),
//   computed in the standardised space (the same numbers: the scaling is per column), summed
//   over each group's columns into contributions(i, g); baseline[i] = f(x0). Completeness:
//   baseline[i] + sum_g contributions(i, g) = f(row i) up to the midpoint rule's error
//   (O(1/m^2) where f is smooth; relu kinks add O(1/m)); exact, up to rounding, for a linear
//   model (hidden = {}). Gradients come from nn::backward's grad_input; sums are in double.
// - set_state installs a trained network and standardisation (for persistence); the network
//   must have inputs() == the groups' total width and one output.
// - fit with val_inputs, val_targets validates on them after each epoch (standardised with the
//   training rows' mean and scale): the report's curve, early stopping and restore_best as
//   nn::train's; their errors as for inputs and targets, naming val_inputs / val_targets. With
//   train_options.validation_fraction > 0, fit holds out the rows nn::split_rows draws, the same
//   way.
//
// Errors (messages start with "recfuse::fuse::learned_fusion" and the member's name): no group,
// a group width < 1, a hidden width < 1 (value_error); inputs.cols() unlike the groups' total
// width, targets / out / baseline not of inputs.rows() elements, contributions not
// rows x groups (shape_error); fit on 0 rows, NaN or infinity in fit's inputs or targets or in
// explain's inputs, a target outside [0, 1] with loss::bce, predict or explain before fit
// (value_error); nn::train's own option checks.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/nn/activation.hpp"
#include "recfuse/nn/mlp.hpp"
#include "recfuse/nn/train.hpp"

namespace recfuse::fuse {

template <class T = float>
class learned_fusion {
  static_assert(std::is_floating_point_v<T>,
                "recfuse::fuse::learned_fusion: T must be float or "
                "double");

 public:
  using value_type = T;
  // Midpoint steps of the integrated-gradients path.
  static constexpr index_t integration_steps = 32;

  learned_fusion(std::vector<std::pair<std::string, index_t>> groups,
                 std::vector<index_t> hidden = {32, 16}, std::uint64_t seed = 0)
      : groups_(std::move(groups)), hidden_(std::move(hidden)), seed_(seed) {
    constexpr const char* fn = "recfuse::fuse::learned_fusion";
    if (groups_.empty()) ::recfuse::detail::throw_error<value_error>(fn, "no input group given");
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      if (groups_[g].second < 1) {
        ::recfuse::detail::throw_error<value_error>(fn, "group ", g, " (\"", groups_[g].first,
                                                    "\") has width ", groups_[g].second,
                                                    " (need >= 1)");
      }
      inputs_ += groups_[g].second;
    }
    for (std::size_t l = 0; l < hidden_.size(); ++l) {
      if (hidden_[l] < 1) {
        ::recfuse::detail::throw_error<value_error>(fn, "hidden[", l, "] is ", hidden_[l],
                                                    " (need >= 1)");
      }
    }
    net_ = make_network(nn::activation::identity);
  }

  // The groups' total width: inputs.cols() of every call.
  index_t inputs() const { return inputs_; }
  bool fitted() const { return fitted_; }
  const nn::mlp<T>& model() const { return net_; }
  const std::vector<std::pair<std::string, index_t>>& groups() const { return groups_; }
  const std::vector<index_t>& hidden() const { return hidden_; }
  std::uint64_t seed() const { return seed_; }
  // The standardisation fit computed (empty before fit): z = (x - mean) / scale per column.
  // The mean is also the explanation baseline.
  const std::vector<double>& input_mean() const { return mean_; }
  const std::vector<double>& input_scale() const { return scale_; }

  // Installs a trained network and its standardisation (as saved from model(), input_mean()
  // and input_scale()).
  void set_state(nn::mlp<T> model, std::vector<double> mean, std::vector<double> scale) {
    constexpr const char* fn = "recfuse::fuse::learned_fusion::set_state";
    ::recfuse::detail::check_same(fn, "model.inputs()", model.inputs(), "the groups' width",
                                  inputs_);
    ::recfuse::detail::check_same(fn, "model.outputs()", model.outputs(), "1", 1);
    ::recfuse::detail::check_same(fn, "mean.size()", static_cast<index_t>(mean.size()),
                                  "the groups' width", inputs_);
    ::recfuse::detail::check_same(fn, "scale.size()", static_cast<index_t>(scale.size()),
                                  "the groups' width", inputs_);
    for (std::size_t j = 0; j < mean.size(); ++j) {
      if (!std::isfinite(mean[j]) || !std::isfinite(scale[j]) || !(scale[j] > 0.0)) {
        ::recfuse::detail::throw_error<value_error>(fn, "column ", j, " has mean ", mean[j],
                                                    " and scale ", scale[j],
                                                    " (need finite values, scale > 0)");
      }
    }
    hidden_.assign(model.widths().begin() + 1, model.widths().end() - 1);
    net_ = std::move(model);
    mean_ = std::move(mean);
    scale_ = std::move(scale);
    fitted_ = true;
  }

  // Fits on inputs and targets. With options.validation_fraction > 0 the rows
  // nn::split_rows(rows, validation_fraction, validation_seed) holds out are the validation set,
  // as for the overload below (they take no part in the standardisation).
  template <class Policy>
  nn::train_report fit(const Policy& policy, matrix_view<const T> inputs,
                       vector_view<const T> targets, const nn::train_options& options = {}) {
    constexpr const char* fn = "recfuse::fuse::learned_fusion::fit";
    if (options.validation_fraction == 0.0) {
      return fit_impl(fn, policy, inputs, targets, nullptr, nullptr, options);
    }
    check_inputs(fn, inputs);
    ::recfuse::detail::check_vector(fn, "targets", targets);
    ::recfuse::detail::check_same(fn, "targets.size()", targets.size(), "inputs.rows()",
                                  inputs.rows());
    // Checked here so that errors name the rows as the caller numbers them.
    check_finite(fn, inputs);
    check_targets(fn, "targets", targets, options.loss_kind == nn::loss::bce);
    const nn::row_split split = nn::detail::split_rows(
        fn, inputs.rows(), options.validation_fraction, options.validation_seed);
    const matrix_view<const T> y(targets.data(), targets.size(), 1);
    const auto xt = nn::detail::gather_rows(inputs, split.train),
               yt = nn::detail::gather_rows(y, split.train);
    const auto xv = nn::detail::gather_rows(inputs, split.validation),
               yv = nn::detail::gather_rows(y, split.validation);
    nn::train_options o = options;
    o.validation_fraction = 0.0;
    const vector_view<const T> tv(yv.data.data(), yv.rows);
    const matrix_view<const T> vv = xv.view();
    return fit_impl(fn, policy, xt.view(), vector_view<const T>(yt.data.data(), yt.rows), &vv, &tv,
                    o);
  }

  // Fits on inputs and targets and validates on val_inputs and val_targets (standardised with
  // the training rows' mean and scale) after each epoch: the report's validation curve, early
  // stopping and restore_best as nn::train's.
  template <class Policy>
  nn::train_report fit(const Policy& policy, matrix_view<const T> inputs,
                       vector_view<const T> targets, matrix_view<const T> val_inputs,
                       vector_view<const T> val_targets, const nn::train_options& options = {}) {
    return fit_impl("recfuse::fuse::learned_fusion::fit", policy, inputs, targets, &val_inputs,
                    &val_targets, options);
  }

  template <class Policy>
  void predict(const Policy& policy, matrix_view<const T> inputs, vector_view<T> out) const {
    constexpr const char* fn = "recfuse::fuse::learned_fusion::predict";
    check_fitted(fn);
    check_inputs(fn, inputs);
    ::recfuse::detail::check_vector(fn, "out", out);
    ::recfuse::detail::check_same(fn, "out.size()", out.size(), "inputs.rows()", inputs.rows());
    if (inputs.rows() == 0) return;
    std::vector<T> z;
    standardise(inputs, z);
    nn::forward(policy, net_, matrix_view<const T>(z.data(), inputs.rows(), inputs_),
                matrix_view<T>(out.data(), out.size(), 1));
  }

  template <class Policy>
  void explain(const Policy& policy, matrix_view<const T> inputs, matrix_view<T> contributions,
               vector_view<T> baseline) const {
    constexpr const char* fn = "recfuse::fuse::learned_fusion::explain";
    check_fitted(fn);
    check_inputs(fn, inputs);
    ::recfuse::detail::check_matrix(fn, "contributions", contributions);
    ::recfuse::detail::check_vector(fn, "baseline", baseline);
    const index_t n = inputs.rows();
    const auto groups = static_cast<index_t>(groups_.size());
    if (contributions.rows() != n || contributions.cols() != groups) {
      ::recfuse::detail::throw_error<shape_error>(fn, "contributions is ", contributions.rows(),
                                                  " x ", contributions.cols(), " but needs ", n,
                                                  " x ", groups, " (inputs.rows() x groups)");
    }
    ::recfuse::detail::check_same(fn, "baseline.size()", baseline.size(), "inputs.rows()", n);
    check_finite(fn, inputs);
    if (n == 0) return;
    constexpr index_t m = integration_steps;
    // f(x0): the network at z = 0.
    std::vector<T> zero(static_cast<std::size_t>(inputs_), T(0));
    T base = 0;
    nn::forward(policy, net_, matrix_view<const T>(zero.data(), 1, inputs_),
                matrix_view<T>(&base, 1, 1));
    std::vector<T> z;
    standardise(inputs, z);
    // Rows per batch: block rows x m path points through forward_train and backward at once.
    const index_t block = std::max<index_t>(1, std::min<index_t>(n, 4096 / m));
    std::vector<T> path(static_cast<std::size_t>(block * m * inputs_));
    std::vector<T> grad_in(path.size());
    std::vector<T> ones(static_cast<std::size_t>(block * m), T(1));
    std::vector<T> grad_params(static_cast<std::size_t>(net_.parameter_count()));
    std::vector<double> avg(static_cast<std::size_t>(inputs_));
    nn::mlp_workspace<T> ws;
    for (index_t b = 0; b < n; b += block) {
      const index_t rows = std::min(block, n - b);
      const index_t points = rows * m;
      for (index_t r = 0; r < rows; ++r) {
        const T* zr = z.data() + (b + r) * inputs_;
        for (index_t k = 0; k < m; ++k) {
          const double t = (static_cast<double>(k) + 0.5) / static_cast<double>(m);
          T* p = path.data() + (r * m + k) * inputs_;
          for (index_t j = 0; j < inputs_; ++j) p[j] = static_cast<T>(t * zr[j]);
        }
      }
      const matrix_view<const T> pv(path.data(), points, inputs_);
      nn::forward_train(policy, net_, pv, ws);
      nn::backward(policy, net_, ws, matrix_view<const T>(ones.data(), points, 1),
                   vector_view<T>(grad_params.data(), net_.parameter_count()),
                   matrix_view<T>(grad_in.data(), points, inputs_));
      for (index_t r = 0; r < rows; ++r) {
        for (auto& a : avg) a = 0.0;
        for (index_t k = 0; k < m; ++k) {
          const T* g = grad_in.data() + (r * m + k) * inputs_;
          for (index_t j = 0; j < inputs_; ++j) avg[j] += static_cast<double>(g[j]);
        }
        const T* zr = z.data() + (b + r) * inputs_;
        index_t col = 0;
        for (index_t g = 0; g < groups; ++g) {
          double s = 0.0;
          for (index_t j = 0; j < groups_[g].second; ++j, ++col) {
            s += static_cast<double>(zr[col]) * avg[col] / static_cast<double>(m);
          }
          contributions(b + r, g) = static_cast<T>(s);
        }
        baseline[b + r] = base;
      }
    }
  }

 private:
  template <class Policy>
  nn::train_report fit_impl(const char* fn, const Policy& policy, matrix_view<const T> inputs,
                            vector_view<const T> targets, const matrix_view<const T>* val_inputs,
                            const vector_view<const T>* val_targets,
                            const nn::train_options& options) {
    check_inputs(fn, inputs);
    ::recfuse::detail::check_vector(fn, "targets", targets);
    ::recfuse::detail::check_same(fn, "targets.size()", targets.size(), "inputs.rows()",
                                  inputs.rows());
    if (val_inputs != nullptr) {
      check_inputs(fn, *val_inputs, "val_inputs");
      ::recfuse::detail::check_vector(fn, "val_targets", *val_targets);
      ::recfuse::detail::check_same(fn, "val_targets.size()", val_targets->size(),
                                    "val_inputs.rows()", val_inputs->rows());
      if (val_inputs->rows() == 0) {
        ::recfuse::detail::throw_error<value_error>(fn, "val_inputs has 0 rows");
      }
    }
    const index_t n = inputs.rows();
    if (n == 0) ::recfuse::detail::throw_error<value_error>(fn, "inputs has 0 rows");
    const bool bce = options.loss_kind == nn::loss::bce;
    check_finite(fn, inputs);
    check_targets(fn, "targets", targets, bce);
    if (val_inputs != nullptr) {
      check_finite(fn, *val_inputs, "val_inputs");
      check_targets(fn, "val_targets", *val_targets, bce);
    }
    // Per-column mean and population standard deviation, two-pass in double.
    std::vector<double> mean(static_cast<std::size_t>(inputs_), 0.0),
        scale(static_cast<std::size_t>(inputs_), 0.0);
    for (index_t i = 0; i < n; ++i) {
      for (index_t j = 0; j < inputs_; ++j) mean[j] += static_cast<double>(inputs(i, j));
    }
    for (auto& m : mean) m /= static_cast<double>(n);
    for (index_t i = 0; i < n; ++i) {
      for (index_t j = 0; j < inputs_; ++j) {
        const double d = static_cast<double>(inputs(i, j)) - mean[j];
        scale[j] += d * d;
      }
    }
    for (auto& s : scale) {
      s = std::sqrt(s / static_cast<double>(n));
      if (!(s > 0.0) || !std::isfinite(s)) s = 1.0;
    }
    mean_ = std::move(mean);
    scale_ = std::move(scale);
    fitted_ = false;
    std::vector<T> z;
    standardise(inputs, z);
    net_ = make_network(options.loss_kind == nn::loss::bce ? nn::activation::sigmoid
                                                           : nn::activation::identity);
    const matrix_view<const T> zv(z.data(), n, inputs_);
    const matrix_view<const T> yv(targets.data(), n, 1);
    nn::train_report report;
    if (val_inputs == nullptr) {
      report = nn::train(policy, net_, zv, yv, options);
    } else {
      std::vector<T> zval;
      standardise(*val_inputs, zval);
      report = nn::train(
          policy, net_, zv, yv, matrix_view<const T>(zval.data(), val_inputs->rows(), inputs_),
          matrix_view<const T>(val_targets->data(), val_targets->size(), 1), options);
    }
    fitted_ = true;
    return report;
  }

  static void check_targets(const char* fn, const char* name, vector_view<const T> targets,
                            bool bce) {
    for (index_t i = 0; i < targets.size(); ++i) {
      if (!std::isfinite(targets[i])) {
        ::recfuse::detail::throw_error<value_error>(fn, name, "[", i, "] is ", targets[i]);
      }
      if (bce && !(targets[i] >= T(0) && targets[i] <= T(1))) {
        ::recfuse::detail::throw_error<value_error>(fn, name, "[", i, "] is ", targets[i],
                                                    "; loss::bce needs targets in [0, 1]");
      }
    }
  }

  nn::mlp<T> make_network(nn::activation output) const {
    std::vector<index_t> widths;
    widths.push_back(inputs_);
    widths.insert(widths.end(), hidden_.begin(), hidden_.end());
    widths.push_back(1);
    std::vector<nn::activation> acts(hidden_.size(), nn::activation::relu);
    acts.push_back(output);
    return nn::mlp<T>(std::move(widths), std::move(acts), seed_);
  }

  void check_fitted(const char* fn) const {
    if (!fitted_) {
      ::recfuse::detail::throw_error<value_error>(fn, "the model is not fitted (call fit first)");
    }
  }

  void check_inputs(const char* fn, matrix_view<const T> inputs,
                    const char* name = "inputs") const {
    ::recfuse::detail::check_matrix(fn, name, inputs);
    if (inputs.cols() != inputs_) {
      ::recfuse::detail::throw_error<shape_error>(
          fn, name, " has ", inputs.cols(), " columns but the groups' widths sum to ", inputs_);
    }
  }

  static void check_finite(const char* fn, matrix_view<const T> inputs,
                           const char* name = "inputs") {
    for (index_t i = 0; i < inputs.rows(); ++i) {
      for (index_t j = 0; j < inputs.cols(); ++j) {
        if (!std::isfinite(inputs(i, j))) {
          ::recfuse::detail::throw_error<value_error>(fn, name, "(", i, ", ", j, ") is ",
                                                      inputs(i, j));
        }
      }
    }
  }

  void standardise(matrix_view<const T> inputs, std::vector<T>& z) const {
    z.resize(static_cast<std::size_t>(inputs.rows() * inputs_));
    for (index_t i = 0; i < inputs.rows(); ++i) {
      for (index_t j = 0; j < inputs_; ++j) {
        z[i * inputs_ + j] =
            static_cast<T>((static_cast<double>(inputs(i, j)) - mean_[j]) / scale_[j]);
      }
    }
  }

  std::vector<std::pair<std::string, index_t>> groups_;
  std::vector<index_t> hidden_;
  std::uint64_t seed_ = 0;
  index_t inputs_ = 0;
  nn::mlp<T> net_;
  std::vector<double> mean_, scale_;
  bool fitted_ = false;
};

}  // namespace recfuse::fuse
