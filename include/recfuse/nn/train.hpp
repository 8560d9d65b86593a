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
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <type_traits>
#include <vector>

#include "recfuse/core/config.hpp"
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

struct train_options {
  index_t epochs = 20;
  index_t batch_size = 256;
  loss loss_kind = loss::mse;
  adam_options adam{};
  std::uint64_t seed = 0;
  bool shuffle = true;
};

struct train_report {
  std::vector<double> epoch_loss;
};

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

template <class Policy, class T>
train_report train(const Policy& policy, mlp<T>& net, matrix_view<const std::type_identity_t<T>> x,
                   matrix_view<const std::type_identity_t<T>> y, const train_options& o) {
  constexpr const char* fn = "recfuse::nn::train";
  detail::check_forward_input(fn, net, x);
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
  const index_t n = x.rows();
  const bool bce = o.loss_kind == loss::bce;
  for (index_t i = 0; i < n; ++i) {
    for (index_t j = 0; j < x.cols(); ++j) {
      if (!std::isfinite(x(i, j))) {
        ::recfuse::detail::throw_error<value_error>(fn, "x(", i, ", ", j, ") is ", x(i, j));
      }
    }
    for (index_t j = 0; j < y.cols(); ++j) {
      if (!std::isfinite(y(i, j))) {
        ::recfuse::detail::throw_error<value_error>(fn, "y(", i, ", ", j, ") is ", y(i, j));
      }
      if (bce && !detail::bce_target(static_cast<double>(y(i, j)))) {
        detail::bad_bce_target(fn, "y", i, j, static_cast<double>(y(i, j)));
      }
    }
  }
  train_report report;
  if (o.epochs == 0) return report;
  if (n == 0) ::recfuse::detail::throw_error<value_error>(fn, "x has no rows to train on");
  adam<T> opt(net.parameter_count(), o.adam);
  mlp_workspace<T> ws;
  std::mt19937_64 g(o.seed);
  std::vector<index_t> order(static_cast<std::size_t>(n));
  const index_t bs = std::min(o.batch_size, n);
  std::vector<T> xb(static_cast<std::size_t>(bs * x.cols())),
      yb(static_cast<std::size_t>(bs * y.cols()));
  for (index_t e = 0; e < o.epochs; ++e) {
    std::iota(order.begin(), order.end(), index_t{0});
    if (o.shuffle) {
      for (index_t i = n - 1; i > 0; --i) {
        const auto j =
            static_cast<index_t>(detail::uniform_below(g, static_cast<std::uint64_t>(i) + 1));
        std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
      }
    }
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
      total += detail::train_step_unchecked(policy, net, opt, ws, xv, yv, o.loss_kind) *
               static_cast<double>(rows);
    }
    report.epoch_loss.push_back(total / static_cast<double>(n));
  }
  return report;
}

}  // namespace recfuse::nn
