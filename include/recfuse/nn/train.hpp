// recfuse: training the MLP scorer: losses, the Adam optimizer, mini-batch training.
//
//   recfuse::nn::train_options o;  o.epochs = 50;  o.loss_kind = recfuse::nn::loss::bce;
//   auto report = recfuse::nn::train(recfuse::exec::xsimd{}, net, x, y, o);
//
// Losses (means over all batch x outputs entries, gradients with respect to the output):
//   mse: (o - t)^2,                          gradient 2 (o - t) / count
//   bce: -(t log p + (1 - t) log(1 - p)) with p = o clamped to [1e-7, 1 - 1e-7],
//        gradient (p - t) / (p (1 - p) count)
// When the last layer's activation is sigmoid and the loss is bce, train_step backpropagates the
// combined, numerically stable gradient (o - t) / count at the last layer's pre-activation (as
// torch's BCEWithLogitsLoss does) instead of going through the clamp and the sigmoid's
// derivative. bce targets must lie in [0, 1]: loss_and_gradient, train_step and train refuse
// any other value (NaN included) with a value_error naming the entry, e.g.
// "recfuse::nn::train: y(3, 0) is 1.5; loss::bce needs targets in [0, 1]".
//
// Adam is torch.optim.Adam (defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8): weight_decay is
// added to the gradient as L2 (not AdamW), m and v are kept in T like PyTorch keeps them in the
// parameters' dtype, bias corrections 1 - beta^t are computed in double, and epsilon is added to
// sqrt(v) / sqrt(1 - beta2^t). step refuses (value_error, nothing updated) a gradient holding NaN
// or infinity, so a diverged step never corrupts the parameters.
//
// train shuffles the rows each epoch (Fisher-Yates with std::mt19937_64(seed) and recfuse's own
// integer mapping, so a seed gives the same model on every platform and thread count), walks
// mini-batches of batch_size rows (the last may be smaller), runs train_step on each with one
// Adam state for the whole call, and reports each epoch's mean loss (batch losses weighted by
// their rows, each measured before its update).
//
// Validation: train(policy, net, x, y, x_val, y_val, o), or o.validation_fraction in (0, 1),
// which holds out the rows (not users) split_rows(n, fraction, o.validation_seed) draws and
// trains on the others exactly as if they had been passed alone. After each epoch
// validation_loss gets the loss (mean over entries, loss_and_gradient's formula) of one forward
// pass over the validation rows (and initial_validation_loss of the network before training);
// o.stopping stops after `patience` epochs (0: never) without a loss below best - min_delta and,
// with restore_best, leaves the best epoch's parameters in net (bit-identical to training
// best_epoch epochs without validation; best_epoch 0 is the initial network). Extra cost per epoch:
// one forward over the validation rows and, on an improvement, one copy of the parameters. Without
// validation rows nothing changes: the results are bit-identical to train without these options.
// Errors: validation_fraction outside [0, 1) or leaving an empty side, a fraction together with
// x_val, x_val without rows, patience < 0, negative or non-finite min_delta, non-finite or
// bce-invalid validation values (value_error); x_val, y_val shaped unlike the net (shape_error).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <type_traits>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/early_stopping.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/nn/mlp.hpp"
#include "recfuse/reference/nn/mlp.hpp"
#include "recfuse/reference/nn/train.hpp"

namespace recfuse::nn {

enum class loss { mse, bce };

inline const char* loss_name(loss l) { return l == loss::mse ? "mse" : "bce"; }

namespace detail {

// True when t is a valid bce target: a probability in [0, 1] (NaN is not).
inline bool bce_target(double t) { return t >= 0.0 && t <= 1.0; }

[[noreturn]] inline void bad_bce_target(const char* fn, const char* name, index_t i, index_t j,
                                        double t) {
  ::recfuse::detail::throw_error<value_error>(fn, name, "(", i, ", ", j, ") is ", t,
                                              "; loss::bce needs targets in [0, 1]");
}

// value_error naming fn, `name`(i, j) and the value for the first target outside [0, 1].
template <class T>
void check_bce_targets(const char* fn, const char* name, matrix_view<const T> target) {
  for (index_t i = 0; i < target.rows(); ++i) {
    for (index_t j = 0; j < target.cols(); ++j) {
      if (!bce_target(static_cast<double>(target(i, j)))) {
        bad_bce_target(fn, name, i, j, static_cast<double>(target(i, j)));
      }
    }
  }
}

// loss_and_gradient without the checks (shapes agree, bce targets are in [0, 1]).
template <class T>
double loss_and_gradient_unchecked(loss kind, matrix_view<const T> output,
                                   matrix_view<const T> target, matrix_view<T> grad) {
  const index_t count = output.rows() * output.cols();
  if (count == 0) return 0.0;
  const double inv = 1.0 / static_cast<double>(count);
  double total = 0.0;
  for (index_t i = 0; i < output.rows(); ++i) {
    for (index_t j = 0; j < output.cols(); ++j) {
      const double o = output(i, j), t = target(i, j);
      if (kind == loss::mse) {
        const double d = o - t;
        total += d * d;
        grad(i, j) = static_cast<T>(2.0 * d * inv);
      } else {
        const double p = std::clamp(o, 1e-7, 1.0 - 1e-7);
        total -= t * std::log(p) + (1.0 - t) * std::log1p(-p);
        grad(i, j) = static_cast<T>((p - t) / (p * (1.0 - p)) * inv);
        if (o != o) grad(i, j) = static_cast<T>(o);  // clamp would hide NaN
      }
    }
  }
  return total * inv;
}

}  // namespace detail

// Mean loss over all entries of output vs target; grad (same shape) = d loss / d output.
// value_error (nothing written) for a bce target outside [0, 1].
template <class T>
double loss_and_gradient(loss kind, matrix_view<const std::type_identity_t<T>> output,
                         matrix_view<const std::type_identity_t<T>> target, matrix_view<T> grad) {
  constexpr const char* fn = "recfuse::nn::loss_and_gradient";
  ::recfuse::detail::check_matrix(fn, "output", output);
  ::recfuse::detail::check_matrix(fn, "target", target);
  ::recfuse::detail::check_matrix(fn, "grad", grad);
  ::recfuse::detail::check_same(fn, "target.rows()", target.rows(), "output.rows()", output.rows());
  ::recfuse::detail::check_same(fn, "target.cols()", target.cols(), "output.cols()", output.cols());
  ::recfuse::detail::check_same(fn, "grad.rows()", grad.rows(), "output.rows()", output.rows());
  ::recfuse::detail::check_same(fn, "grad.cols()", grad.cols(), "output.cols()", output.cols());
  if (kind == loss::bce) detail::check_bce_targets(fn, "target", target);
  return detail::loss_and_gradient_unchecked(kind, output, target, grad);
}

struct adam_options {
  double learning_rate = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weight_decay = 0.0;
};

template <class T>
class adam {
 public:
  explicit adam(index_t parameter_count, adam_options o = {}) : options_(o) {
    constexpr const char* fn = "recfuse::nn::adam";
    if (parameter_count < 0) {
      ::recfuse::detail::throw_error<value_error>(fn, "parameter_count is ", parameter_count);
    }
    if (!(o.learning_rate > 0.0) || !std::isfinite(o.learning_rate)) {
      ::recfuse::detail::throw_error<value_error>(fn, "learning_rate is ", o.learning_rate,
                                                  ", need a finite value > 0");
    }
    if (!(o.beta1 >= 0.0 && o.beta1 < 1.0) || !(o.beta2 >= 0.0 && o.beta2 < 1.0)) {
      ::recfuse::detail::throw_error<value_error>(fn, "beta1 = ", o.beta1, ", beta2 = ", o.beta2,
                                                  ", need both in [0, 1)");
    }
    // epsilon must be positive: a parameter whose gradient was always 0 has m = v = 0, and its
    // update would be 0 / 0.
    if (!(o.epsilon > 0.0) || !std::isfinite(o.epsilon)) {
      ::recfuse::detail::throw_error<value_error>(fn, "epsilon = ", o.epsilon,
                                                  ", need a finite value > 0");
    }
    if (!(o.weight_decay >= 0.0) || !std::isfinite(o.weight_decay)) {
      ::recfuse::detail::throw_error<value_error>(fn, "weight_decay = ", o.weight_decay,
                                                  ", need a finite value >= 0");
    }
    m_.assign(static_cast<std::size_t>(parameter_count), T(0));
    v_.assign(static_cast<std::size_t>(parameter_count), T(0));
  }

  // parameters -= the Adam update for gradients (both parameter_count long).
  template <class Policy>
  void step(const Policy& policy, vector_view<T> parameters, vector_view<const T> gradients) {
    constexpr const char* fn = "recfuse::nn::adam::step";
    ::recfuse::detail::check_vector(fn, "parameters", parameters);
    ::recfuse::detail::check_vector(fn, "gradients", gradients);
    ::recfuse::detail::check_same(fn, "parameters.size()", parameters.size(), "parameter_count",
                                  parameter_count());
    ::recfuse::detail::check_same(fn, "gradients.size()", gradients.size(), "parameter_count",
                                  parameter_count());
    index_t bad = -1;
    if constexpr (requires { first_non_finite_kernel(policy, gradients); }) {
      RECFUSE_CHECK_NATIVE(first_non_finite_kernel, policy, gradients);
      bad = first_non_finite_kernel(policy, gradients);
    } else {
      RECFUSE_NO_KERNEL("recfuse::nn::adam::step", Policy);
    }
    if (bad >= 0) {
      ::recfuse::detail::throw_error<value_error>(fn, "gradients[", bad, "] is ", gradients[bad],
                                                  "; no parameter was updated");
    }
    ++steps_;
    const auto t = static_cast<double>(steps_);
    const adam_step_constants c{options_.learning_rate,
                                options_.beta1,
                                options_.beta2,
                                options_.epsilon,
                                options_.weight_decay,
                                1.0 - std::pow(options_.beta1, t),
                                std::sqrt(1.0 - std::pow(options_.beta2, t))};
    if (parameter_count() == 0) return;
    vector_view<T> m(m_.data(), parameter_count()), v(v_.data(), parameter_count());
    if constexpr (requires { adam_step_kernel(policy, parameters, gradients, m, v, c); }) {
      RECFUSE_CHECK_NATIVE(adam_step_kernel, policy, parameters, gradients, m, v, c);
      adam_step_kernel(policy, parameters, gradients, m, v, c);
    } else {
      RECFUSE_NO_KERNEL("recfuse::nn::adam::step", Policy);
    }
  }

  index_t steps() const { return steps_; }
  index_t parameter_count() const { return static_cast<index_t>(m_.size()); }
  const adam_options& options() const { return options_; }
  // First and second moment estimates (torch's exp_avg, exp_avg_sq).
  vector_view<const T> first_moment() const { return {m_.data(), parameter_count()}; }
  vector_view<const T> second_moment() const { return {v_.data(), parameter_count()}; }
  // Back to step 0 with zero moments.
  void reset() {
    std::fill(m_.begin(), m_.end(), T(0));
    std::fill(v_.begin(), v_.end(), T(0));
    steps_ = 0;
  }

 private:
  adam_options options_;
  std::vector<T> m_, v_;
  index_t steps_ = 0;
};

// When to stop on the validation loss (used only when train has validation rows):
// recfuse::early_stopping (recfuse/core/early_stopping.hpp), with epochs as its iterations and
// the validation loss (lower is better) as its metric; the initial network is epoch 0.
using recfuse::early_stopping;

struct train_options {
  index_t epochs = 20;
  index_t batch_size = 256;
  loss loss_kind = loss::mse;
  adam_options adam{};
  std::uint64_t seed = 0;
  bool shuffle = true;
  // In [0, 1): hold out round(validation_fraction * rows) rows of x, y (rows, not users), drawn
  // by split_rows(rows, validation_fraction, validation_seed), as the validation set.
  double validation_fraction = 0.0;
  std::uint64_t validation_seed = 0;
  early_stopping stopping{};
};

struct train_report {
  std::vector<double> epoch_loss;
  // With validation rows: the validation loss after each epoch e = 1, 2, ... in
  // validation_loss[e - 1] (same loss as training, mean over all entries, one forward pass over
  // the validation rows), the initial network's, and the best epoch (0: the initial network)
  // with its loss. Empty, 0 and NaN without validation or without epochs.
  std::vector<double> validation_loss;
  double initial_validation_loss = std::numeric_limits<double>::quiet_NaN();
  index_t best_epoch = 0;
  double best_validation_loss = std::numeric_limits<double>::quiet_NaN();
  bool stopped_early = false;
};

// The rows of an n-row training set split into training and validation rows, each ascending.
struct row_split {
  std::vector<index_t> train, validation;
};

namespace detail {

// Fisher-Yates shuffle of order, driven by g (recfuse's portable integer mapping).
inline void shuffle_order(std::vector<index_t>& order, std::mt19937_64& g) {
  for (auto i = static_cast<index_t>(order.size()) - 1; i > 0; --i) {
    const auto j = static_cast<index_t>(uniform_below(g, static_cast<std::uint64_t>(i) + 1));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
}

inline void check_validation_fraction(const char* fn, double fraction) {
  if (!(fraction >= 0.0 && fraction < 1.0)) {
    ::recfuse::detail::throw_error<value_error>(fn, "validation_fraction is ", fraction,
                                                ", need a value in [0, 1)");
  }
}

template <class T>
struct matrix_copy {
  std::vector<T> data;
  index_t rows = 0, cols = 0;
  matrix_view<const T> view() const { return {data.data(), rows, cols}; }
};

// The rows of m listed in rows, copied into a contiguous matrix.
template <class T>
matrix_copy<T> gather_rows(matrix_view<const T> m, const std::vector<index_t>& rows) {
  matrix_copy<T> c{std::vector<T>(rows.size() * static_cast<std::size_t>(m.cols())),
                   static_cast<index_t>(rows.size()), m.cols()};
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::copy(m.row(rows[r]), m.row(rows[r]) + m.cols(),
              c.data.data() + static_cast<index_t>(r) * m.cols());
  }
  return c;
}

inline row_split split_rows(const char* fn, index_t n, double fraction, std::uint64_t seed) {
  check_validation_fraction(fn, fraction);
  if (n < 0) ::recfuse::detail::throw_error<value_error>(fn, "n is ", n);
  row_split split;
  const auto held = static_cast<index_t>(std::llround(fraction * static_cast<double>(n)));
  if (fraction > 0.0 && (held < 1 || held >= n)) {
    ::recfuse::detail::throw_error<value_error>(
        fn, "validation_fraction ", fraction, " of ", n, " rows holds out ", held,
        " rows; need at least 1 validation row and 1 training row");
  }
  std::vector<index_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), index_t{0});
  if (held > 0) {
    std::mt19937_64 g(seed);
    shuffle_order(order, g);
  }
  split.validation.assign(order.begin(), order.begin() + held);
  split.train.assign(order.begin() + held, order.end());
  std::sort(split.validation.begin(), split.validation.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

}  // namespace detail

// The split train makes for validation_fraction: the first round(fraction * n) rows of a
// Fisher-Yates permutation of 0..n-1 driven by std::mt19937_64(seed) are the validation rows, the
// others the training rows (both returned ascending). value_error for a fraction outside [0, 1),
// or one that leaves no validation row or no training row (fraction > 0 only). O(n log n).
inline row_split split_rows(index_t n, double fraction, std::uint64_t seed) {
  return detail::split_rows("recfuse::nn::split_rows", n, fraction, seed);
}

namespace detail {

// train_step without the checks (train has made them for the whole data).
template <class Policy, class T>
double train_step_unchecked(const Policy& policy, mlp<T>& net, adam<T>& opt, mlp_workspace<T>& ws,
                            matrix_view<const T> x, matrix_view<const T> y, loss kind) {
  const index_t batch = x.rows(), outputs = net.outputs();
  const matrix_view<const T> out = forward_train(policy, net, x, ws);
  matrix_view<T> grad(reserve_buffer(ws.grad_output_, batch * outputs), batch, outputs);
  const double value = loss_and_gradient_unchecked(kind, out, y, grad);
  const bool combined =
      kind == loss::bce && net.layer_activation(net.layers() - 1) == activation::sigmoid;
  if (combined) {
    const double inv = 1.0 / static_cast<double>(batch * outputs);
    for (index_t i = 0; i < batch; ++i) {
      for (index_t j = 0; j < outputs; ++j) {
        grad(i, j) = static_cast<T>((static_cast<double>(out(i, j)) - y(i, j)) * inv);
      }
    }
  }
  vector_view<T> gp(reserve_buffer(ws.grad_parameters_, net.parameter_count()),
                    net.parameter_count());
  backward_impl(policy, static_cast<const mlp<T>&>(net), ws, matrix_view<const T>(grad), gp,
                matrix_view<T>{}, combined);
  opt.step(policy, net.parameters(), vector_view<const T>(gp));
  return value;
}

}  // namespace detail

// One mini-batch: forward_train, loss and its gradient, backward, one Adam step. Returns the
// batch's loss (before the update).
template <class Policy, class T>
double train_step(const Policy& policy, mlp<T>& net, adam<T>& opt, mlp_workspace<T>& ws,
                  matrix_view<const std::type_identity_t<T>> x,
                  matrix_view<const std::type_identity_t<T>> y, loss kind) {
  constexpr const char* fn = "recfuse::nn::train_step";
  detail::check_forward_input(fn, net, x);
  ::recfuse::detail::check_matrix(fn, "y", y);
  ::recfuse::detail::check_same(fn, "y.rows()", y.rows(), "x.rows()", x.rows());
  ::recfuse::detail::check_same(fn, "y.cols()", y.cols(), "the mlp's outputs", net.outputs());
  ::recfuse::detail::check_same(fn, "the optimizer's parameter_count", opt.parameter_count(),
                                "the mlp's parameter_count()", net.parameter_count());
  if (x.rows() == 0) ::recfuse::detail::throw_error<value_error>(fn, "the batch has no rows");
  if (kind == loss::bce) detail::check_bce_targets(fn, "y", y);
  return detail::train_step_unchecked(policy, net, opt, ws, x, y, kind);
}

namespace detail {

// The value checks train makes on x and y (or x_val and y_val): finite, bce targets in [0, 1].
template <class T>
void check_training_values(const char* fn, const char* xname, const char* yname,
                           matrix_view<const T> x, matrix_view<const T> y, loss kind) {
  const bool bce = kind == loss::bce;
  for (index_t i = 0; i < x.rows(); ++i) {
    for (index_t j = 0; j < x.cols(); ++j) {
      if (!std::isfinite(x(i, j))) {
        ::recfuse::detail::throw_error<value_error>(fn, xname, "(", i, ", ", j, ") is ", x(i, j));
      }
    }
    for (index_t j = 0; j < y.cols(); ++j) {
      if (!std::isfinite(y(i, j))) {
        ::recfuse::detail::throw_error<value_error>(fn, yname, "(", i, ", ", j, ") is ", y(i, j));
      }
      if (bce && !bce_target(static_cast<double>(y(i, j)))) {
        bad_bce_target(fn, yname, i, j, static_cast<double>(y(i, j)));
      }
    }
  }
}

// train's checks of the training data and the options.
template <class T>
void check_train(const char* fn, const mlp<T>& net, matrix_view<const T> x, matrix_view<const T> y,
                 const train_options& o) {
  check_forward_input(fn, net, x);
  ::recfuse::detail::check_matrix(fn, "y", y);
  ::recfuse::detail::check_same(fn, "y.rows()", y.rows(), "x.rows()", x.rows());
  ::recfuse::detail::check_same(fn, "y.cols()", y.cols(), "the mlp's outputs", net.outputs());
  if (o.epochs < 0) ::recfuse::detail::throw_error<value_error>(fn, "epochs is ", o.epochs);
  if (o.batch_size < 1) {
    ::recfuse::detail::throw_error<value_error>(fn, "batch_size is ", o.batch_size, ", need >= 1");
  }
  if (!(o.adam.learning_rate > 0.0) || !std::isfinite(o.adam.learning_rate)) {
    ::recfuse::detail::throw_error<value_error>(fn, "learning_rate is ", o.adam.learning_rate,
                                                ", need a finite value > 0");
  }
  check_validation_fraction(fn, o.validation_fraction);
  if (o.stopping.patience < 0) {
    ::recfuse::detail::throw_error<value_error>(fn, "stopping.patience is ", o.stopping.patience,
                                                ", need >= 0");
  }
  if (!(o.stopping.min_delta >= 0.0) || !std::isfinite(o.stopping.min_delta)) {
    ::recfuse::detail::throw_error<value_error>(fn, "stopping.min_delta is ", o.stopping.min_delta,
                                                ", need a finite value >= 0");
  }
  check_training_values(fn, "x", "y", x, y, o.loss_kind);
}

// Mean loss of the network's outputs on x against y, one forward pass over all rows.
template <class Policy, class T>
double validation_loss(const Policy& policy, const mlp<T>& net, matrix_view<const T> x,
                       matrix_view<const T> y, loss kind, std::vector<T>& out,
                       std::vector<T>& grad) {
  const index_t rows = x.rows(), outputs = net.outputs();
  const matrix_view<T> o(reserve_buffer(out, rows * outputs), rows, outputs);
  forward(policy, net, x, o);
  const matrix_view<T> g(reserve_buffer(grad, rows * outputs), rows, outputs);
  return loss_and_gradient_unchecked(kind, matrix_view<const T>(o), y, g);
}

// The training loop, after the checks; validation when x_val has rows.
template <class Policy, class T>
train_report train_unchecked(const char* fn, const Policy& policy, mlp<T>& net,
                             matrix_view<const T> x, matrix_view<const T> y,
                             matrix_view<const T> x_val, matrix_view<const T> y_val,
                             const train_options& o) {
  train_report report;
  if (o.epochs == 0) return report;
  const index_t n = x.rows();
  if (n == 0) ::recfuse::detail::throw_error<value_error>(fn, "x has no rows to train on");
  const bool validate = x_val.rows() > 0;
  adam<T> opt(net.parameter_count(), o.adam);
  mlp_workspace<T> ws;
  std::mt19937_64 g(o.seed);
  std::vector<index_t> order(static_cast<std::size_t>(n));
  const index_t bs = std::min(o.batch_size, n);
  std::vector<T> xb(static_cast<std::size_t>(bs * x.cols())),
      yb(static_cast<std::size_t>(bs * y.cols()));
  std::vector<T> best, val_out, val_grad;
  int stale = 0;
  if (validate) {
    report.initial_validation_loss =
        validation_loss(policy, net, x_val, y_val, o.loss_kind, val_out, val_grad);
    report.best_validation_loss = report.initial_validation_loss;
    if (o.stopping.restore_best) best.assign(net.parameters().begin(), net.parameters().end());
  }
  for (index_t e = 0; e < o.epochs; ++e) {
    std::iota(order.begin(), order.end(), index_t{0});
    if (o.shuffle) shuffle_order(order, g);
    double total = 0.0;
    for (index_t b = 0; b < n; b += bs) {
      const index_t rows = std::min(bs, n - b);
      matrix_view<const T> xv, yv;
      if (o.shuffle) {
        for (index_t r = 0; r < rows; ++r) {
          const index_t src = order[static_cast<std::size_t>(b + r)];
          std::copy(x.row(src), x.row(src) + x.cols(), xb.data() + r * x.cols());
          std::copy(y.row(src), y.row(src) + y.cols(), yb.data() + r * y.cols());
        }
        xv = matrix_view<const T>(xb.data(), rows, x.cols());
        yv = matrix_view<const T>(yb.data(), rows, y.cols());
      } else {
        xv = matrix_view<const T>(x.row(b), rows, x.cols(), x.stride());
        yv = matrix_view<const T>(y.row(b), rows, y.cols(), y.stride());
      }
      total += train_step_unchecked(policy, net, opt, ws, xv, yv, o.loss_kind) *
               static_cast<double>(rows);
    }
    report.epoch_loss.push_back(total / static_cast<double>(n));
    if (!validate) continue;
    const double v = validation_loss(policy, net, x_val, y_val, o.loss_kind, val_out, val_grad);
    report.validation_loss.push_back(v);
    if (v < report.best_validation_loss - o.stopping.min_delta) {
      report.best_validation_loss = v;
      report.best_epoch = e + 1;
      stale = 0;
      if (o.stopping.restore_best) best.assign(net.parameters().begin(), net.parameters().end());
    } else if (o.stopping.patience > 0 && ++stale == o.stopping.patience) {
      report.stopped_early = e + 1 < o.epochs;
      break;
    }
  }
  if (validate && o.stopping.restore_best &&
      report.best_epoch != static_cast<index_t>(report.epoch_loss.size())) {
    std::copy(best.begin(), best.end(), net.parameters().begin());
  }
  return report;
}

}  // namespace detail

// Trains on x, y; with validation_fraction > 0, on the rows split_rows leaves for training, and
// validates (and may stop early) on the rows it holds out.
template <class Policy, class T>
train_report train(const Policy& policy, mlp<T>& net, matrix_view<const std::type_identity_t<T>> x,
                   matrix_view<const std::type_identity_t<T>> y, const train_options& o) {
  constexpr const char* fn = "recfuse::nn::train";
  detail::check_train(fn, net, x, y, o);
  if (o.validation_fraction == 0.0 || o.epochs == 0) {
    return detail::train_unchecked(fn, policy, net, x, y, matrix_view<const T>{},
                                   matrix_view<const T>{}, o);
  }
  const row_split split =
      detail::split_rows(fn, x.rows(), o.validation_fraction, o.validation_seed);
  const auto xt = detail::gather_rows(x, split.train), yt = detail::gather_rows(y, split.train);
  const auto xv = detail::gather_rows(x, split.validation),
             yv = detail::gather_rows(y, split.validation);
  return detail::train_unchecked(fn, policy, net, xt.view(), yt.view(), xv.view(), yv.view(), o);
}

// Trains on x, y and validates on x_val, y_val (at least one row) after each epoch.
template <class Policy, class T>
train_report train(const Policy& policy, mlp<T>& net, matrix_view<const std::type_identity_t<T>> x,
                   matrix_view<const std::type_identity_t<T>> y,
                   matrix_view<const std::type_identity_t<T>> x_val,
                   matrix_view<const std::type_identity_t<T>> y_val, const train_options& o) {
  constexpr const char* fn = "recfuse::nn::train";
  detail::check_train(fn, net, x, y, o);
  ::recfuse::detail::check_matrix(fn, "x_val", x_val);
  ::recfuse::detail::check_same(fn, "x_val.cols()", x_val.cols(), "the mlp's inputs", net.inputs());
  ::recfuse::detail::check_matrix(fn, "y_val", y_val);
  ::recfuse::detail::check_same(fn, "y_val.rows()", y_val.rows(), "x_val.rows()", x_val.rows());
  ::recfuse::detail::check_same(fn, "y_val.cols()", y_val.cols(), "the mlp's outputs",
                                net.outputs());
  if (o.validation_fraction != 0.0) {
    ::recfuse::detail::throw_error<value_error>(fn, "validation_fraction is ",
                                                o.validation_fraction,
                                                " but x_val and y_val are given; use one");
  }
  if (x_val.rows() == 0) ::recfuse::detail::throw_error<value_error>(fn, "x_val has no rows");
  detail::check_training_values(fn, "x_val", "y_val", x_val, y_val, o.loss_kind);
  return detail::train_unchecked(fn, policy, net, x, y, x_val, y_val, o);
}

}  // namespace recfuse::nn
