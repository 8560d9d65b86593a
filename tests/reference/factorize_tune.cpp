// tune_* on the reference: the known best of a grid, the trials against independent validated
// fits, the chosen options reproducing the best iterate, successive halving's rounds, the time
// budget's cut, explicit validation sets, determinism and the error paths.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "recfuse/factorize/tune.hpp"
#include "test_support.hpp"

using namespace recfuse;

namespace {

const exec::reference ref;

// Dense ratings of an exact rank-2 model plus small noise: little regularisation fits it, a
// large one shrinks everything towards the mean.
interactions<double> low_rank(index_t users, index_t items, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::vector<double> p(static_cast<std::size_t>(users * 2)),
      q(static_cast<std::size_t>(items * 2));
  for (auto& x : p) x = 2 * detail::bmf::uniform01(g) - 1;
  for (auto& x : q) x = 2 * detail::bmf::uniform01(g) - 1;
  interactions<double> d;
  d.users = users;
  d.items = items;
  for (index_t u = 0; u < users; ++u) {
    for (index_t i = 0; i < items; ++i) {
      d.user.push_back(static_cast<std::int32_t>(u));
      d.item.push_back(static_cast<std::int32_t>(i));
      d.value.push_back(3 + 1.5 * (p[u * 2] * q[i * 2] + p[u * 2 + 1] * q[i * 2 + 1]) +
                        0.05 * (detail::bmf::uniform01(g) - 0.5));
    }
  }
  return d;
}

bool same_trials(const std::vector<tune_trial>& a, const std::vector<tune_trial>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t j = 0; j < a.size(); ++j) {
    const bool alpha_same =
        (std::isnan(a[j].alpha) && std::isnan(b[j].alpha)) || a[j].alpha == b[j].alpha;
    if (a[j].reg != b[j].reg || !alpha_same || a[j].best_iteration != b[j].best_iteration ||
        a[j].value != b[j].value || a[j].max_iterations != b[j].max_iterations ||
        a[j].round != b[j].round) {
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("tune_biased_als picks the regularisation a low-rank set needs", "[tune]") {
  const auto d = low_rank(30, 24, 3);
  als_options base;
  base.factors = 2;
  base.iterations = 6;
  base.reg_bias = 0.02;
  base.reg_factor = 0.04;  // reg_bias keeps half of reg_factor
  tune_options t;
  t.reg_grid = {100, 0.01, 3};
  t.validation_fraction = 0.2;
  t.seed = 5;
  t.stopping.patience = 0;
  const auto r = tune_biased_als(ref, d.view(), base, t);
  REQUIRE(r.trials.size() == 3);
  CHECK_FALSE(r.budget_exhausted);
  CAPTURE(r.trials[0].value, r.trials[1].value, r.trials[2].value);
  CHECK(r.best.reg_factor == 0.01);
  CHECK(r.best.reg_bias == Approx(0.005).epsilon(1e-15));
  CHECK(r.best_value < 0.1);       // about the noise
  CHECK(r.trials[0].value > 0.5);  // shrunk to the mean
  CHECK(r.best_value == r.trials[1].value);
  CHECK(r.best.factors == 2);
  CHECK(r.best.iterations == r.trials[1].best_iteration);
  CHECK(r.best_report.best_value == r.best_value);
  // Each trial is the validated fit of its candidate on the same carve.
  const auto s = split_per_user(d.view(), 0.2, 5);
  validation<double> v;
  v.data = s.validation.view();
  v.stopping.patience = 0;
  for (std::size_t j = 0; j < 3; ++j) {
    als_options o = base;
    o.reg_factor = t.reg_grid[j];
    o.reg_bias = t.reg_grid[j] * 0.5;
    const auto f = fit_biased_als(ref, s.train.view(), o, v);
    CHECK(r.trials[j].reg == t.reg_grid[j]);
    CHECK(std::isnan(r.trials[j].alpha));
    CHECK(r.trials[j].value == f.report.best_value);
    CHECK(r.trials[j].best_iteration == f.report.best_iteration);
    CHECK(r.trials[j].max_iterations == 6);
  }
  // The chosen options reproduce the best iterate with a plain fit on the train part.
  const auto plain = fit_biased_als(ref, s.train.view(), r.best);
  std::vector<double> out(s.validation.value.size());
  predict(ref, plain, {s.validation.user.data(), s.validation.size()},
          {s.validation.item.data(), s.validation.size()}, {out.data(), s.validation.size()});
  CHECK(rmse(ref, out, s.validation.value) == r.best_value);
}

TEST_CASE("tune_biased_sgd: grid order, explicit validation, determinism, budget", "[tune]") {
  const auto d = low_rank(20, 16, 9);
  sgd_options base;
  base.factors = 2;
  base.epochs = 12;
  base.learning_rate = 0.05;
  base.blocks = 2;
  tune_options t;
  t.reg_grid = {0.5, 0.001, 0.05};
  t.validation_fraction = 0.25;
  const auto a = tune_biased_sgd(ref, d.view(), base, t);
  REQUIRE(a.trials.size() == 3);
  const auto best =
      std::min_element(a.trials.begin(), a.trials.end(),
                       [](const auto& x, const auto& y) { return x.value < y.value; });
  CHECK(a.best.reg_factor == best->reg);
  CHECK(a.best.reg_bias == Approx(best->reg * 0.5).epsilon(1e-15));  // defaults 0.05 / 0.1
  CHECK(a.best.epochs == best->best_iteration);
  CHECK(a.best_value == best->value);
  CHECK(a.best.learning_rate == base.learning_rate);

  SECTION("the same call gives the same trials") {
    const auto b = tune_biased_sgd(ref, d.view(), base, t);
    CHECK(same_trials(a.trials, b.trials));
    CHECK(b.best.reg_factor == a.best.reg_factor);
  }
  SECTION("an explicit validation set is used as given") {
    const auto s = split_per_user(d.view(), 0.25, 0);  // the carve tune makes (seed 0)
    validation<double> v;
    v.data = s.validation.view();
    const auto b = tune_biased_sgd(ref, s.train.view(), base, t, &v);
    CHECK(same_trials(a.trials, b.trials));
  }
  SECTION("budget 0 runs exactly the first candidate") {
    t.time_budget_seconds = 0;
    const auto b = tune_biased_sgd(ref, d.view(), base, t);
    REQUIRE(b.trials.size() == 1);
    CHECK(b.budget_exhausted);
    CHECK(b.trials[0].reg == 0.5);
    CHECK(b.trials[0].value == a.trials[0].value);
    CHECK(b.best.reg_factor == 0.5);
    t.reg_grid = {0.05};
    const auto one = tune_biased_sgd(ref, d.view(), base, t);
    CHECK(one.trials.size() == 1);
    CHECK_FALSE(one.budget_exhausted);
  }
  SECTION("the default grid") {
    t.reg_grid.clear();
    base.epochs = 2;
    const auto b = tune_biased_sgd(ref, d.view(), base, t);
    REQUIRE(b.trials.size() == 5);
    CHECK(b.trials[0].reg == 0.01);
    CHECK(b.trials[4].reg == 0.2);
  }
}

TEST_CASE("tune: successive halving's rounds", "[tune]") {
  const auto d = low_rank(20, 16, 4);
  als_options base;
  base.factors = 2;
  base.iterations = 8;
  tune_options t;
  t.reg_grid = {30, 0.01, 3, 0.1, 10};  // 5 candidates: rounds of 5, 3, 2, 1 fits
  t.strategy = tune_strategy::successive_halving;
  t.stopping.patience = 0;
  const auto r = tune_biased_als(ref, d.view(), base, t);
  // R = ceil(log2 5) + 1 = 4 rounds with 8 >> 3 = 1, 2, 4 and 8 iterations.
  std::vector<int> rounds, iters;
  for (const auto& x : r.trials) {
    rounds.push_back(x.round);
    iters.push_back(x.max_iterations);
  }
  CHECK(rounds == std::vector<int>{0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 3});
  CHECK(iters == std::vector<int>{1, 1, 1, 1, 1, 2, 2, 2, 4, 4, 8});
  // Round 0 keeps the best ceil(5 / 2) = 3, in the grid's order.
  std::vector<std::pair<double, double>> first;
  for (int j = 0; j < 5; ++j) first.push_back({r.trials[j].value, r.trials[j].reg});
  std::sort(first.begin(), first.end());
  std::vector<double> kept{first[0].second, first[1].second, first[2].second};
  std::vector<double> ran{r.trials[5].reg, r.trials[6].reg, r.trials[7].reg};
  std::sort(kept.begin(), kept.end(), [&](double x, double y) {
    return std::find(t.reg_grid.begin(), t.reg_grid.end(), x) <
           std::find(t.reg_grid.begin(), t.reg_grid.end(), y);
  });
  CHECK(ran == kept);
  // The final pick is the last round's single fit, at the full 8 iterations.
  CHECK(r.best.reg_factor == r.trials.back().reg);
  CHECK(r.best_value == r.trials.back().value);

  SECTION("budget 0 stops after the first fit") {
    t.time_budget_seconds = 0;
    const auto b = tune_biased_als(ref, d.view(), base, t);
    CHECK(b.trials.size() == 1);
    CHECK(b.budget_exhausted);
  }
}

TEST_CASE("tune_implicit_als: reg x alpha grid", "[tune]") {
  // Two blocks of users, each liking its own half of the items.
  interactions<float> d;
  d.users = 16;
  d.items = 12;
  for (int u = 0; u < 16; ++u) {
    for (int i = 0; i < 12; ++i) {
      if ((u < 8) == (i < 6) && (u + i) % 3 != 0) {
        d.user.push_back(u);
        d.item.push_back(i);
        d.value.push_back(1);
      }
    }
  }
  implicit_als_options base;
  base.factors = 3;
  base.iterations = 4;
  tune_options t;
  t.reg_grid = {0.1, 1};
  t.alpha_grid = {1, 4};
  t.validation_fraction = 0.3;
  const auto r = tune_implicit_als(ref, d.view(), base, t);
  REQUIRE(r.trials.size() == 4);
  CHECK(r.trials[0].reg == 0.1);
  CHECK(r.trials[0].alpha == 1);
  CHECK(r.trials[1].alpha == 4);
  CHECK(r.trials[2].reg == 1);
  CHECK(r.best_report.metric == "ndcg@10");
  const auto best =
      std::max_element(r.trials.begin(), r.trials.end(),
                       [](const auto& x, const auto& y) { return x.value < y.value; });
  CHECK(r.best.regularization == best->reg);
  CHECK(r.best.alpha == best->alpha);
  CHECK(r.best_value == best->value);
  CHECK(r.best_value > 0.5);  // the block structure is easy to find
}

TEST_CASE("tune: errors name the function and the value", "[tune][errors]") {
  using Catch::Matchers::Contains;
  const auto d = low_rank(6, 5, 1);
  sgd_options base;
  base.factors = 2;
  base.epochs = 2;
  tune_options t;
  t.reg_grid = {0.1, -1};
  REQUIRE_THROWS_MATCHES(tune_biased_sgd(ref, d.view(), base, t), value_error,
                         test::what_is(Contains("recfuse::tune_biased_sgd: options.reg_grid[1] "
                                                "is -1")));
  t.reg_grid = {0.1};
  t.time_budget_seconds = std::numeric_limits<double>::quiet_NaN();
  REQUIRE_THROWS_MATCHES(tune_biased_sgd(ref, d.view(), base, t), value_error,
                         test::what_is(Contains("time_budget_seconds is nan")));
  t.time_budget_seconds = 1;
  t.validation_fraction = 1;
  REQUIRE_THROWS_MATCHES(
      tune_biased_als(ref, d.view(), als_options{}, t), value_error,
      test::what_is(Contains("recfuse::tune_biased_als") && Contains("validation_fraction is 1")));
  validation<double> empty;
  REQUIRE_THROWS_MATCHES(tune_biased_sgd(ref, d.view(), base, t, &empty), value_error,
                         test::what_is(Contains("explicit validation set is empty")));
  base.learning_rate = 0;
  REQUIRE_THROWS_MATCHES(
      tune_biased_sgd(ref, d.view(), base, t), value_error,
      test::what_is(Contains("recfuse::tune_biased_sgd: options.learning_rate")));
  implicit_als_options io;
  t.validation_fraction = 0.2;
  t.alpha_grid = {std::numeric_limits<double>::infinity()};
  REQUIRE_THROWS_MATCHES(
      tune_implicit_als(ref, d.view(), io, t), value_error,
      test::what_is(Contains("recfuse::tune_implicit_als: options.alpha_grid[0]")));
}
