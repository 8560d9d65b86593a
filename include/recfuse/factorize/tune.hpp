// recfuse: picks the regularisation of a factorization fit (and implicit ALS's confidence scale)
// on a validation split, by a deterministic grid or successive halving, within a time budget.
//
//   recfuse::tune_options t;  t.time_budget_seconds = 30;
//   auto r = recfuse::tune_biased_sgd(cpu, train.view(), recfuse::sgd_options{}, t);
//   auto model = recfuse::fit_biased_sgd(cpu, train.view(), r.best);  // refit on all the data
//
// Candidates. The grid value is the factor regularisation; the bias one keeps its ratio to it:
// - SGD and biased ALS: reg_factor = g and reg_bias = g * base.reg_bias / base.reg_factor
//   (reg_bias = base.reg_bias when base.reg_factor is 0). Default reg_grid:
//   SGD {0.01, 0.02, 0.05, 0.1, 0.2}, ALS {0.03, 0.06, 0.12, 0.25, 0.5}.
// - implicit ALS: regularization = g and alpha = a for every (g, a) of reg_grid x alpha_grid.
//   Defaults: reg_grid {1, 3, 10, 30, 100}, alpha_grid {0.5, 1, 2, 5, 10}.
// Candidates are ordered reg first, then alpha, each grid in the caller's order.
//
// Validation. The explicit validation set when one is given (non-null; its data must not be
// empty, and its fraction, seed and stopping are ignored: tune_options.stopping applies; its k
// is used for implicit ALS); else one split_per_user
// carve of train (validation_fraction, seed), made once and shared by every candidate. Each
// candidate is a validated fit (recfuse/factorize/validation.hpp) of the base options with the
// candidate's regularisation, on the train part, with early stopping; its value is its
// report's best_value.
// - tune_strategy::grid: every candidate with the base's epochs (iterations).
// - tune_strategy::successive_halving: with n candidates and E = base epochs (iterations),
//   R = ceil(log2 n) + 1 rounds; round j (0-based) fits every surviving candidate from scratch
//   with max(1, E >> (R - 1 - j)) iterations (the last round E), then keeps the better half
//   (ceil(n_j / 2), ties to the earlier candidate). With E = 0 every round runs 0 iterations.
// The best trial is the one with the best value (lowest RMSE, highest ndcg; ties to the earlier
// trial); with successive halving only trials of the last round that ran compete (a cut budget
// may stop it part way). result.best is base with that trial's reg (and alpha) and epochs
// (iterations) = its best_iteration: a plain fit with it on the train part reproduces the best
// iterate bit for bit; refit on all the data as you see fit.
//
// Time budget. Candidates run one at a time in the fixed order above; the wall clock (steady
// clock, from the call's start, the carve included) is checked before each fit after the first,
// and once it reaches time_budget_seconds no further fit starts (budget_exhausted). The first
// fit always runs, so a budget of 0 runs exactly one candidate, the first. A running fit is
// never interrupted. The result is machine-independent when the budget is large enough for the
// whole list (budget_exhausted false): the trials, values and choice depend only on the data,
// options and seeds. A cut list depends on the machine's speed.
//
// Errors (messages start with the function's name, e.g. "recfuse::tune_biased_sgd: "): the base
// options' errors of the plain fit; a grid value negative or not finite; time_budget_seconds
// negative or NaN; validation_fraction not in (0, 1) when no validation set is given;
// stopping's errors (value_error); and those of the validated fit (the validation set's).
//
// Complexity: the sum of the candidate fits (successive halving: about E * n * (1 + 1/2 +
// ...) / 2^(R-1) per round, so roughly twice E times the survivors' fits).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include "recfuse/core/errors.hpp"
#include "recfuse/core/sparse.hpp"
#include "recfuse/factorize/biased_mf.hpp"
#include "recfuse/factorize/implicit_als.hpp"
#include "recfuse/factorize/model.hpp"
#include "recfuse/factorize/validation.hpp"

namespace recfuse {

enum class tune_strategy { grid, successive_halving };

struct tune_options {
  double time_budget_seconds = 60;   // no new candidate starts once spent (budget_exhausted)
  double validation_fraction = 0.1;  // used when no explicit validation set is given
  std::uint64_t seed = 0;            // seed of the carve
  tune_strategy strategy = tune_strategy::grid;
  std::vector<double> reg_grid;    // empty: the model's default grid (header comment)
  std::vector<double> alpha_grid;  // implicit ALS only; empty: the default grid
  early_stopping stopping{};
};

struct tune_trial {
  double reg = 0;  // reg_factor (SGD, ALS) or regularization (implicit ALS)
  double alpha = std::numeric_limits<double>::quiet_NaN();  // implicit ALS only, else NaN
  int best_iteration = 0;
  double value = std::numeric_limits<double>::quiet_NaN();  // the fit's best_value
  double seconds = 0;
  int max_iterations = 0;  // the epochs (iterations) the fit was allowed
  int round = 0;           // successive halving's round (0 for grid)
};

template <class Options>
struct tune_result {
  Options best;  // base with the chosen reg (and alpha), epochs/iterations = best_iteration
  double best_value = std::numeric_limits<double>::quiet_NaN();
  fit_report best_report;
  std::vector<tune_trial> trials;  // in the order run
  bool budget_exhausted = false;
};

namespace detail::tune {

inline std::vector<double> default_reg_grid(const sgd_options&) {
  return {0.01, 0.02, 0.05, 0.1, 0.2};
}
inline std::vector<double> default_reg_grid(const als_options&) {
  return {0.03, 0.06, 0.12, 0.25, 0.5};
}
inline std::vector<double> default_reg_grid(const implicit_als_options&) {
  return {1, 3, 10, 30, 100};
}
inline std::vector<double> default_alpha_grid() { return {0.5, 1, 2, 5, 10}; }

template <class T>
void check_grid(const char* fn, const char* name, const std::vector<double>& g) {
  for (std::size_t j = 0; j < g.size(); ++j) {
    if (!(g[j] >= 0.0) || !std::isfinite(g[j]) || !std::isfinite(static_cast<T>(g[j]))) {
      throw_error<value_error>(fn, "options.", name, "[", j, "] is ", g[j],
                               " (need a finite value >= 0)");
    }
  }
}

// The candidate's options (bias regularisation keeps its ratio to the factor one).
inline sgd_options with_reg(sgd_options o, double reg, double) {
  o.reg_bias = o.reg_factor > 0.0 ? reg * (o.reg_bias / o.reg_factor) : o.reg_bias;
  o.reg_factor = reg;
  return o;
}
inline als_options with_reg(als_options o, double reg, double) {
  o.reg_bias = o.reg_factor > 0.0 ? reg * (o.reg_bias / o.reg_factor) : o.reg_bias;
  o.reg_factor = reg;
  return o;
}
inline implicit_als_options with_reg(implicit_als_options o, double reg, double alpha) {
  o.regularization = reg;
  o.alpha = alpha;
  return o;
}

inline int& iterations_of(sgd_options& o) { return o.epochs; }
inline int& iterations_of(als_options& o) { return o.iterations; }
inline int& iterations_of(implicit_als_options& o) { return o.iterations; }
template <class Options>
int iterations_of(const Options& o) {
  Options copy = o;
  return iterations_of(copy);
}

// Runs the candidates (reg, alpha) with fit(options, validation) -> validated_model.
template <class T, class Options, class Fit>
tune_result<Options> run(const char* fn, const interactions_view<T>& train, const Options& base,
                         const tune_options& t, const validation<T>* explicit_validation,
                         bool implicit, Fit&& fit) {
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  if (!(t.time_budget_seconds >= 0.0)) {
    throw_error<value_error>(fn, "options.time_budget_seconds is ", t.time_budget_seconds,
                             " (need >= 0)");
  }
  val::check_stopping(fn, t.stopping);
  const auto regs = t.reg_grid.empty() ? default_reg_grid(base) : t.reg_grid;
  check_grid<T>(fn, "reg_grid", regs);
  std::vector<double> alphas{std::numeric_limits<double>::quiet_NaN()};
  if (implicit) {
    alphas = t.alpha_grid.empty() ? default_alpha_grid() : t.alpha_grid;
    check_grid<T>(fn, "alpha_grid", alphas);
  }
  struct candidate {
    double reg, alpha;
  };
  std::vector<candidate> cands;
  for (const double r : regs) {
    for (const double a : alphas) cands.push_back({r, a});
  }

  // The validation every candidate shares: the caller's set, or one carve.
  validation<T> v;
  interactions_view<T> fit_train = train;
  train_validation_split<T> carve;
  if (explicit_validation != nullptr) {
    if (explicit_validation->data.size() == 0) {
      throw_error<value_error>(fn, "the explicit validation set is empty (pass nullptr to carve ",
                               "one out of train)");
    }
    v.data = explicit_validation->data;
    v.k = explicit_validation->k;
  } else {
    if (!(t.validation_fraction > 0.0 && t.validation_fraction < 1.0)) {
      throw_error<value_error>(fn, "options.validation_fraction is ", t.validation_fraction,
                               " (need 0 < fraction < 1 when no validation set is given)");
    }
    check_interactions(fn, "train", train);
    carve = val::split(train, t.validation_fraction, t.seed);
    if (carve.validation.size() == 0) {
      throw_error<value_error>(fn, "options.validation_fraction = ", t.validation_fraction,
                               " carves an empty validation set: no user of train has 2 or more "
                               "entries (give a validation set instead)");
    }
    fit_train = carve.train.view();
    v.data = carve.validation.view();
  }
  v.stopping = t.stopping;

  const int full = iterations_of(base);
  tune_result<Options> result;
  const bool higher = implicit;
  const auto better = [&](double a, double b) {  // a strictly better than b
    if (!std::isfinite(a)) return false;
    if (!std::isfinite(b)) return true;
    return higher ? a > b : a < b;
  };
  int best_trial = -1;
  const auto try_one = [&](std::size_t c, int iterations, int round) -> bool {
    if (!result.trials.empty() && elapsed() >= t.time_budget_seconds) {
      result.budget_exhausted = true;
      return false;
    }
    Options o = with_reg(base, cands[c].reg, cands[c].alpha);
    iterations_of(o) = iterations;
    const auto t0 = std::chrono::steady_clock::now();
    auto fitted = fit(fit_train, o, v);
    tune_trial trial;
    trial.reg = cands[c].reg;
    trial.alpha = cands[c].alpha;
    trial.best_iteration = fitted.report.best_iteration;
    trial.value = fitted.report.best_value;
    trial.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    trial.max_iterations = iterations;
    trial.round = round;
    result.trials.push_back(trial);
    if (best_trial < 0 || round > result.trials[static_cast<std::size_t>(best_trial)].round ||
        better(trial.value, result.best_value)) {
      best_trial = static_cast<int>(result.trials.size()) - 1;
      result.best_value = trial.value;
      result.best_report = std::move(fitted.report);
      result.best = o;
      iterations_of(result.best) = trial.best_iteration;
    }
    return true;
  };

  if (t.strategy == tune_strategy::successive_halving && cands.size() > 1) {
    int rounds = 1;
    while ((std::size_t{1} << (rounds - 1)) < cands.size()) ++rounds;  // ceil(log2 n) + 1
    std::vector<std::size_t> alive(cands.size());
    std::iota(alive.begin(), alive.end(), std::size_t{0});
    for (int j = 0; j < rounds && !alive.empty(); ++j) {
      const int iters = full == 0 ? 0 : std::max(1, full >> (rounds - 1 - j));
      std::vector<std::pair<double, std::size_t>> scored;  // (value, position in alive)
      bool cut = false;
      for (std::size_t a = 0; a < alive.size(); ++a) {
        if (!try_one(alive[a], iters, j)) {
          cut = true;
          break;
        }
        scored.push_back({result.trials.back().value, a});
      }
      if (cut || j + 1 == rounds) break;
      std::stable_sort(scored.begin(), scored.end(),
                       [&](const auto& x, const auto& y) { return better(x.first, y.first); });
      const std::size_t keep = (alive.size() + 1) / 2;
      std::vector<std::size_t> next;
      for (std::size_t s = 0; s < keep; ++s) next.push_back(scored[s].second);
      std::sort(next.begin(), next.end());  // keep the candidates' order
      for (auto& x : next) x = alive[x];
      alive = std::move(next);
    }
  } else {
    for (std::size_t c = 0; c < cands.size(); ++c) {
      if (!try_one(c, full, 0)) break;
    }
  }
  return result;
}

}  // namespace detail::tune

// Picks reg_factor (reg_bias in proportion) for fit_biased_sgd (see the header comment).
template <class Policy, class T>
tune_result<sgd_options> tune_biased_sgd(const Policy& policy, const interactions_view<T>& train,
                                         sgd_options base, tune_options options,
                                         const validation<T>* explicit_validation = nullptr) {
  constexpr const char* fn = "recfuse::tune_biased_sgd";
  detail::bmf::check_options<T>(fn, base);
  detail::bmf::check_data(fn, "train", train);
  return detail::tune::run(
      fn, train, base, options, explicit_validation, false,
      [&](const interactions_view<T>& tr, const sgd_options& o, const validation<T>& v) {
        return fit_biased_sgd(policy, tr, o, v);
      });
}

// Picks reg_factor (reg_bias in proportion) for fit_biased_als (see the header comment).
template <class Policy, class T>
tune_result<als_options> tune_biased_als(const Policy& policy, const interactions_view<T>& train,
                                         als_options base, tune_options options,
                                         const validation<T>* explicit_validation = nullptr) {
  constexpr const char* fn = "recfuse::tune_biased_als";
  detail::bmf::check_options<T>(fn, base);
  detail::bmf::check_data(fn, "train", train);
  return detail::tune::run(
      fn, train, base, options, explicit_validation, false,
      [&](const interactions_view<T>& tr, const als_options& o, const validation<T>& v) {
        return fit_biased_als(policy, tr, o, v);
      });
}

// Picks regularization and alpha for fit_implicit_als (see the header comment).
template <class Policy, class T>
tune_result<implicit_als_options> tune_implicit_als(
    const Policy& policy, const interactions_view<T>& train, implicit_als_options base,
    tune_options options, const validation<T>* explicit_validation = nullptr) {
  constexpr const char* fn = "recfuse::tune_implicit_als";
  detail::check_implicit_options<T>(fn, base, true);
  detail::check_implicit_data(fn, "train", train, base.alpha);
  if (train.size() == 0) {
    detail::throw_error<value_error>(fn, "train is empty (", train.users, " users, ", train.items,
                                     " items, 0 interactions)");
  }
  return detail::tune::run(
      fn, train, base, options, explicit_validation, true,
      [&](const interactions_view<T>& tr, const implicit_als_options& o, const validation<T>& v) {
        return fit_implicit_als(policy, tr, o, v);
      });
}

}  // namespace recfuse
