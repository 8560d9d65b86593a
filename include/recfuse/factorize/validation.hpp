// recfuse: validated fitting of the factorization models: a validation set (given, or carved
// out of the training data per user), the validation curve, early stopping and the best
// iterate.
//
//   recfuse::validation<float> v;
//   v.fraction = 0.1;                                  // carve 10% of each user's ratings
//   auto [model, report] = recfuse::fit_biased_sgd(cpu, train.view(), options, v);
//   report.curve[e - 1]                                // validation RMSE after epoch e
//   report.best_iteration                              // the epoch whose model is returned
//
// The validated overloads of fit_biased_sgd, fit_biased_als and fit_implicit_als take the same
// options as the plain fits plus a validation<T>, and run the same kernels one iteration (an
// SGD epoch, an ALS sweep) at a time, evaluating the model on the validation set after each:
// - explicit models (SGD, ALS): "rmse" of the clipped predictions (recfuse::predict and
//   recfuse::rmse), lower is better;
// - implicit ALS: "ndcg@k" (k = validation.k) of each validation user's top k of the items by
//   x_u . y_i, the user's training items excluded (recfuse::topk_inner_product and
//   recfuse::evaluate_ranking), averaged over the users with a validation entry of value > 0;
//   higher is better.
// SGD epoch e (0-based) runs with learning rate learning_rate * decay^e, computed by the same
// repeated multiplication as the plain fit, and the same seed, hence the same tile schedule: the
// iterates are bit for bit those of the plain fit, so with stopping.patience = 0 and
// restore_best = false the validated fit returns exactly the plain fit's model (the tests check
// this), and a plain fit with epochs (iterations) = report.best_iteration reproduces the best
// iterate exactly.
//
// Validation set. validation.data, when not empty, is used as given: its users and items must
// equal train's (shape_error), its ids be in range (index_error) and its values finite (for
// implicit ALS also >= 0; value_error). Otherwise validation.fraction (0 < fraction < 1) of the
// training data is carved out per user by split_per_user(train, fraction, seed), and the model
// is trained on the rest; giving both is an error. split_per_user: every user with n >= 2
// entries gives max(1, round(fraction * n)) of them, at most n - 1, to the validation part,
// chosen by a Fisher-Yates shuffle of the user's entries drawn from one std::mt19937_64 seeded
// with `seed` (users in increasing id order; the portable draws of detail::bmf); users with one
// entry keep it in train. Both parts keep the input's order of entries and its users / items
// counts. Duplicate (user, item) entries are separate entries and may land on both sides.
//
// Early stopping (as scikit-learn's n_iter_no_change / tol). The initial model is evaluated
// first (report.initial_value: "iteration 0"); then after iteration t = 1, 2, ... the value v_t
// is an improvement when it beats the best so far by more than min_delta (v_t < best -
// min_delta for RMSE, v_t > best + min_delta for ndcg). After `patience` evaluations in a row
// without an improvement the fit stops (stopped_early); patience 0 never stops early. A
// non-finite value (a diverged model: a non-finite prediction gives NaN) is never an
// improvement. With restore_best the model of the last improvement (report.best_iteration; 0
// for the initial model) is returned, else the last one run; best_iteration and best_value
// describe the best iterate either way. With min_delta = 0 and restore_best, best_value is the
// curve's minimum (maximum for ndcg; the first one on ties), or initial_value when no
// iteration beat it.
//
// Reproducibility: the split, the kernels and the metrics are deterministic and independent of
// the thread count, so a seed gives the same split, curve and model on any thread count.
//
// Errors (messages start with the fit's name, e.g. "recfuse::fit_biased_sgd: "): those of the
// plain fit; validation.fraction not in (0, 1) when validation.data is empty, or not 0 when it
// is given; a carve that leaves the validation part empty (no user has 2 entries); for implicit
// ALS a validation set without an entry of value > 0, or validation.k < 1; stopping.patience <
// 0, stopping.min_delta negative or not finite (value_error); validation.data of other users /
// items counts than train (shape_error); ids out of range (index_error).
//
// Policies: any policy the plain fit takes. The metrics run on the fit's policy when it is a
// host policy (include its kernels for predict, rmse, topk and evaluate_ranking too, e.g.
// recfuse/xsimd/all.hpp), and on the reference backend for a device policy, whose fit kernels
// then copy the host data to the device once per iteration (device policies are not tested
// yet; the reference and xsimd are).
//
// Complexity: the plain fit's, plus per iteration one evaluation (explicit: O(validation * k);
// implicit: O(validation users * items * k), the top-k inner products) and, with restore_best,
// a copy of the model on each improvement. The SGD tile schedule (O(ratings)) is rebuilt per
// epoch, the ALS CSR copies per sweep. See docs/validation.md; recfuse/factorize/tune.hpp picks
// regularisation on the validation split.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "recfuse/core/early_stopping.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/sparse.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/factorize/biased_mf.hpp"
#include "recfuse/factorize/implicit_als.hpp"
#include "recfuse/factorize/model.hpp"
#include "recfuse/metrics/error.hpp"
#include "recfuse/metrics/ranking.hpp"
#include "recfuse/reference/factorize/biased_mf.hpp"
#include "recfuse/select/topk.hpp"

namespace recfuse {

template <class T>
struct validation {
  interactions_view<T> data{};  // explicit validation set (users/items counts equal train's)
  double fraction = 0.0;        // when data is empty: carve this fraction out of train per user
  std::uint64_t seed = 0;       // seed of the carve
  early_stopping stopping{};
  index_t k = 10;  // implicit ALS: ndcg@k on validation items, the user's train items excluded
};

struct fit_report {
  std::string metric;  // "rmse" or "ndcg@10"
  bool higher_is_better = false;
  std::vector<double> curve;  // metric after iteration 1, 2, ... (SGD epochs, ALS sweeps)
  int best_iteration = 0;     // 1-based best iteration (0: the initial model)
  double best_value = std::numeric_limits<double>::quiet_NaN();
  double initial_value = std::numeric_limits<double>::quiet_NaN();  // the initial model's
  int iterations_run = 0;
  bool stopped_early = false;
  index_t train_size = 0, validation_size = 0;
};

template <class Model>
struct validated_model {
  Model model;
  fit_report report;
};

template <class T>
struct train_validation_split {
  interactions<T> train, validation;
};

namespace detail::val {

// The split's own stream, so that a seed shared with the model does not correlate the two.
inline constexpr std::uint64_t split_stream = 0xD1B54A32D192ED03ULL;

inline void check_fraction(const char* fn, const char* name, double fraction) {
  if (!(fraction > 0.0 && fraction < 1.0)) {
    throw_error<value_error>(fn, name, " is ", fraction, " (need 0 < fraction < 1)");
  }
}

template <class T>
train_validation_split<T> split(const interactions_view<T>& d, double fraction,
                                std::uint64_t seed) {
  // Entries grouped by user, each group in input order (a stable counting sort).
  std::vector<index_t> offsets(static_cast<std::size_t>(d.users + 1), 0);
  for (index_t e = 0; e < d.size(); ++e) ++offsets[static_cast<std::size_t>(d.user[e]) + 1];
  for (index_t u = 0; u < d.users; ++u) offsets[u + 1] += offsets[u];
  std::vector<index_t> order(static_cast<std::size_t>(d.size()));
  {
    std::vector<index_t> next(offsets.begin(), offsets.end() - 1);
    for (index_t e = 0; e < d.size(); ++e) order[next[d.user[e]]++] = e;
  }
  std::vector<char> to_validation(static_cast<std::size_t>(d.size()), 0);
  std::mt19937_64 g(seed ^ split_stream);
  for (index_t u = 0; u < d.users; ++u) {
    const index_t n = offsets[u + 1] - offsets[u];
    if (n < 2) continue;
    index_t take = static_cast<index_t>(std::llround(fraction * static_cast<double>(n)));
    take = std::min(std::max(take, index_t{1}), n - 1);
    index_t* group = order.data() + offsets[u];
    bmf::shuffle(group, n, g);
    for (index_t j = 0; j < take; ++j) to_validation[group[j]] = 1;
  }
  train_validation_split<T> s;
  s.train.users = s.validation.users = d.users;
  s.train.items = s.validation.items = d.items;
  for (index_t e = 0; e < d.size(); ++e) {
    auto& part = to_validation[e] ? s.validation : s.train;
    part.user.push_back(d.user[e]);
    part.item.push_back(d.item[e]);
    part.value.push_back(d.value[e]);
  }
  return s;
}

inline void check_stopping(const char* fn, const early_stopping& s) {
  if (s.patience < 0) {
    throw_error<value_error>(fn, "validation.stopping.patience is ", s.patience, " (need >= 0)");
  }
  if (!(s.min_delta >= 0.0) || !std::isfinite(s.min_delta)) {
    throw_error<value_error>(fn, "validation.stopping.min_delta is ", s.min_delta,
                             " (need a finite value >= 0)");
  }
}

// The train and validation data a validated fit uses: views of the caller's data, or of a
// carve held here.
template <class T>
struct prepared {
  train_validation_split<T> carve;
  interactions_view<T> train, validation;
};

// Checks the validation settings and data (train is checked by the caller) and carves when
// asked. implicit: values must be >= 0 with a finite confidence 1 + alpha * value.
template <class T>
prepared<T> prepare(const char* fn, const interactions_view<T>& train, const validation<T>& v,
                    bool implicit, double alpha) {
  check_stopping(fn, v.stopping);
  if (implicit && v.k < 1) throw_error<value_error>(fn, "validation.k is ", v.k, " (need >= 1)");
  prepared<T> p;
  if (v.data.size() > 0) {
    if (v.fraction != 0.0) {
      throw_error<value_error>(fn, "validation.fraction is ", v.fraction,
                               " but validation.data is given (", v.data.size(),
                               " entries): give one of them, or set fraction to 0");
    }
    check_same(fn, "validation.data.users", v.data.users, "train.users", train.users);
    check_same(fn, "validation.data.items", v.data.items, "train.items", train.items);
    if (implicit) {
      check_implicit_data(fn, "validation.data", v.data, alpha);
    } else {
      check_interactions(fn, "validation.data", v.data);
    }
    p.train = train;
    p.validation = v.data;
  } else {
    if (!(v.fraction > 0.0 && v.fraction < 1.0)) {
      throw_error<value_error>(fn, "validation.fraction is ", v.fraction,
                               " (need 0 < fraction < 1 when validation.data is empty)");
    }
    p.carve = split(train, v.fraction, v.seed);
    if (p.carve.validation.size() == 0) {
      throw_error<value_error>(fn, "validation.fraction = ", v.fraction,
                               " carves an empty validation set: no user of train has 2 or more "
                               "entries (give validation.data instead)");
    }
    p.train = p.carve.train.view();
    p.validation = p.carve.validation.view();
  }
  return p;
}

// The policy that evaluates: the fit's own on the host; the reference for a device policy (the
// fits take and return host data, and the metrics then run on host views).
template <class Policy>
using eval_policy = std::conditional_t<std::is_same_v<typename Policy::memory_space, host_memory>,
                                       Policy, ::recfuse::exec::reference>;

template <class Policy>
eval_policy<Policy> make_eval_policy(const Policy& p) {
  if constexpr (std::is_same_v<eval_policy<Policy>, Policy>) {
    return p;
  } else {
    return {};
  }
}

// The RMSE of the model's clipped predictions on the validation ratings; NaN when a prediction
// is not finite (a diverged model).
template <class Policy, class T>
class rmse_evaluator {
 public:
  rmse_evaluator(const Policy& policy, const interactions_view<T>& v)
      : policy_(make_eval_policy(policy)), data_(v), out_(static_cast<std::size_t>(v.size())) {}

  double operator()(const biased_mf_model<T>& m) {
    const index_t n = data_.size();
    ::recfuse::predict(policy_, m, data_.user, data_.item, vector_view<T>(out_.data(), n));
    for (const T x : out_) {
      if (!std::isfinite(x)) return std::numeric_limits<double>::quiet_NaN();
    }
    return ::recfuse::rmse(policy_, vector_view<const T>(out_.data(), n), data_.value);
  }

 private:
  eval_policy<Policy> policy_;
  interactions_view<T> data_;
  std::vector<T> out_;
};

// ndcg@k of the validation users' top k (their training items excluded) against their
// validation items of value > 0. The users, their exclusions and their relevant items are
// gathered once; each call copies the users' factors and runs topk_inner_product.
template <class Policy, class T>
class ndcg_evaluator {
 public:
  ndcg_evaluator(const char* fn, const Policy& policy, const interactions_view<T>& train,
                 const interactions_view<T>& v, index_t k)
      : policy_(make_eval_policy(policy)), k_(k) {
    std::vector<std::int32_t> row(static_cast<std::size_t>(train.users), -1);
    interactions<T> relevant;
    for (index_t e = 0; e < v.size(); ++e) {
      if (!(v.value[e] > T(0))) continue;
      const std::int32_t u = v.user[e];
      if (row[u] < 0) {
        row[u] = static_cast<std::int32_t>(users_.size());
        users_.push_back(u);
      }
      relevant.user.push_back(row[u]);
      relevant.item.push_back(v.item[e]);
      relevant.value.push_back(T(1));
    }
    if (users_.empty()) {
      throw_error<value_error>(fn, "the validation set (", v.size(),
                               " entries) has no entry of value > 0: nothing to rank against");
    }
    const auto rows = static_cast<index_t>(users_.size());
    relevant.users = rows;
    relevant.items = train.items;
    interactions<T> seen;
    seen.users = rows;
    seen.items = train.items;
    for (index_t e = 0; e < train.size(); ++e) {
      const std::int32_t r = row[train.user[e]];
      if (r < 0) continue;
      seen.user.push_back(r);
      seen.item.push_back(train.item[e]);
      seen.value.push_back(train.value[e]);
    }
    relevant_ = ::recfuse::to_csr(relevant.view());
    seen_ = ::recfuse::to_csr(seen.view());
  }

  index_t users() const { return static_cast<index_t>(users_.size()); }

  double operator()(const implicit_mf_model<T>& m) {
    const index_t f = m.factors;
    const index_t rows = users();
    queries_.resize(static_cast<std::size_t>(rows * f));
    for (index_t r = 0; r < rows; ++r) {
      const T* x = m.user_factors.data() + static_cast<index_t>(users_[r]) * f;
      std::copy(x, x + f, queries_.data() + r * f);
    }
    const auto top =
        ::recfuse::topk_inner_product(policy_, matrix_view<const T>(queries_.data(), rows, f),
                                      m.item_matrix(), k_, seen_.pattern());
    return ::recfuse::evaluate_ranking(policy_, top.indices_view(), relevant_.pattern(), k_).ndcg;
  }

 private:
  eval_policy<Policy> policy_;
  index_t k_;
  std::vector<std::int32_t> users_;  // validation users, in order of first appearance
  csr_matrix<T> relevant_, seen_;
  std::vector<T> queries_;
};

// The validated loop: evaluate the initial model, then step (iteration t, 0-based) and evaluate
// until `iterations` are run or the stopping rule fires; keep the best iterate.
template <class Model, class Step, class Eval>
validated_model<Model> run(Model model, int iterations, const early_stopping& stop, Step&& step,
                           Eval&& eval, fit_report report) {
  const bool higher = report.higher_is_better;
  const auto better = [&](double v, double best) {
    if (!std::isfinite(v)) return false;
    if (!std::isfinite(best)) return true;
    return higher ? v > best + stop.min_delta : v < best - stop.min_delta;
  };
  report.initial_value = eval(model);
  report.best_value = report.initial_value;
  report.best_iteration = 0;
  Model best;
  bool best_is_current = true;  // `best` is stale while the current model is the best one
  int since_best = 0;
  for (int t = 1; t <= iterations; ++t) {
    if (stop.restore_best && best_is_current) best = model;
    step(model, t - 1);
    const double v = eval(model);
    report.curve.push_back(v);
    report.iterations_run = t;
    if (better(v, report.best_value)) {
      report.best_value = v;
      report.best_iteration = t;
      best_is_current = true;
      since_best = 0;
    } else {
      best_is_current = false;
      ++since_best;
      if (stop.patience > 0 && since_best >= stop.patience && t < iterations) {
        report.stopped_early = true;
        break;
      }
    }
  }
  if (stop.restore_best && !best_is_current) model = std::move(best);
  return {std::move(model), std::move(report)};
}

inline fit_report make_report(std::string metric, bool higher, index_t train_size,
                              index_t validation_size) {
  fit_report r;
  r.metric = std::move(metric);
  r.higher_is_better = higher;
  r.train_size = train_size;
  r.validation_size = validation_size;
  return r;
}

}  // namespace detail::val

// Splits data per user into a train and a validation part (see the header comment). Errors:
// fraction not in (0, 1) (value_error); ids out of range (index_error); non-finite values
// (value_error). Complexity O(entries + users).
template <class T>
train_validation_split<T> split_per_user(const interactions_view<T>& data, double fraction,
                                         std::uint64_t seed) {
  constexpr const char* fn = "recfuse::split_per_user";
  detail::val::check_fraction(fn, "fraction", fraction);
  detail::check_interactions(fn, "data", data);
  return detail::val::split(data, fraction, seed);
}

// fit_biased_sgd, evaluated on the validation set after every epoch (see the header comment).
template <class Policy, class T>
validated_model<biased_mf_model<T>> fit_biased_sgd(const Policy& policy,
                                                   const interactions_view<T>& train,
                                                   const sgd_options& options,
                                                   const validation<T>& valid) {
  constexpr const char* fn = "recfuse::fit_biased_sgd";
  detail::bmf::check_options<T>(fn, options);
  detail::bmf::check_data(fn, "train", train);
  const auto data = detail::val::prepare(fn, train, valid, false, 0.0);
  auto model =
      detail::bmf::initial_model(data.train, options.factors, options.init_scale, options.seed);
  if constexpr (requires { fit_biased_sgd_kernel(policy, data.train, options, model); }) {
    RECFUSE_CHECK_NATIVE(fit_biased_sgd_kernel, policy, data.train, options, model);
    double lr = options.learning_rate;  // as the kernel decays it: one multiplication per epoch
    sgd_options one = options;
    one.epochs = 1;
    auto step = [&](biased_mf_model<T>& m, int) {
      one.learning_rate = lr;
      fit_biased_sgd_kernel(policy, data.train, one, m);
      lr *= options.learning_rate_decay;
    };
    detail::val::rmse_evaluator<Policy, T> eval(policy, data.validation);
    return detail::val::run(
        std::move(model), options.epochs, valid.stopping, step, eval,
        detail::val::make_report("rmse", false, data.train.size(), data.validation.size()));
  } else {
    RECFUSE_NO_KERNEL("recfuse::fit_biased_sgd", Policy);
  }
}

// fit_biased_als, evaluated on the validation set after every sweep (see the header comment).
template <class Policy, class T>
validated_model<biased_mf_model<T>> fit_biased_als(const Policy& policy,
                                                   const interactions_view<T>& train,
                                                   const als_options& options,
                                                   const validation<T>& valid) {
  constexpr const char* fn = "recfuse::fit_biased_als";
  detail::bmf::check_options<T>(fn, options);
  detail::bmf::check_data(fn, "train", train);
  const auto data = detail::val::prepare(fn, train, valid, false, 0.0);
  auto model =
      detail::bmf::initial_model(data.train, options.factors, options.init_scale, options.seed);
  if constexpr (requires { fit_biased_als_kernel(policy, data.train, options, model); }) {
    RECFUSE_CHECK_NATIVE(fit_biased_als_kernel, policy, data.train, options, model);
    als_options one = options;
    one.iterations = 1;
    auto step = [&](biased_mf_model<T>& m, int) {
      fit_biased_als_kernel(policy, data.train, one, m);
    };
    detail::val::rmse_evaluator<Policy, T> eval(policy, data.validation);
    return detail::val::run(
        std::move(model), options.iterations, valid.stopping, step, eval,
        detail::val::make_report("rmse", false, data.train.size(), data.validation.size()));
  } else {
    RECFUSE_NO_KERNEL("recfuse::fit_biased_als", Policy);
  }
}

// fit_implicit_als, evaluated (ndcg@k) on the validation set after every sweep (see the header
// comment).
template <class Policy, class T>
validated_model<implicit_mf_model<T>> fit_implicit_als(const Policy& policy,
                                                       const interactions_view<T>& train,
                                                       const implicit_als_options& options,
                                                       const validation<T>& valid) {
  constexpr const char* fn = "recfuse::fit_implicit_als";
  static_assert(std::is_floating_point_v<T>,
                "recfuse::fit_implicit_als: T must be float or double");
  detail::check_implicit_fit(fn, train, options);
  if constexpr (!detail::has_implicit_sweep<Policy, T>) {
    RECFUSE_NO_KERNEL("recfuse::fit_implicit_als", Policy);
  } else {
    const auto data = detail::val::prepare(fn, train, valid, true, options.alpha);
    detail::val::ndcg_evaluator<Policy, T> eval(fn, policy, data.train, data.validation, valid.k);
    implicit_mf_model<T> model;
    model.users = data.train.users;
    model.items = data.train.items;
    model.factors = options.factors;
    model.user_factors.resize(static_cast<std::size_t>(model.users * model.factors));
    model.item_factors.resize(static_cast<std::size_t>(model.items * model.factors));
    detail::implicit_init(model, options.init_scale, options.seed);
    const auto by_user = to_csr(data.train, csr_by::user);
    const auto by_item = to_csr(data.train, csr_by::item);
    std::vector<T> gram;
    // One iteration of the plain fit's loop (the same calls, so the same iterates).
    auto step = [&](implicit_mf_model<T>& m, int) {
      detail::implicit_half_sweep(fn, "user", policy, by_user, m.item_matrix(), m.user_matrix(),
                                  gram, nullptr, options);
      detail::implicit_half_sweep(fn, "item", policy, by_item, m.user_matrix(), m.item_matrix(),
                                  gram, nullptr, options);
    };
    return detail::val::run(std::move(model), options.iterations, valid.stopping, step, eval,
                            detail::val::make_report("ndcg@" + std::to_string(valid.k), true,
                                                     data.train.size(), data.validation.size()));
  }
}

}  // namespace recfuse
