// Validated fits on the reference: split_per_user's rule on a hand-checkable set, the
// validated fits' iterates against the plain fits (bit for bit), early stopping on a set that
// overfits, the best iterate restored, reproducibility, every error path, and (ml100k) the
// early-stopped SGD's test RMSE on MovieLens 100K u1.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "recfuse/factorize/validation.hpp"
#include "recfuse/io/ratings.hpp"
#include "test_support.hpp"

using namespace recfuse;

namespace {

const exec::reference ref;

// Random ratings in [1, 5] on about `density` of a users x items grid (portable generator).
template <class T>
interactions<T> noisy_grid(index_t users, index_t items, double density, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  interactions<T> d;
  d.users = users;
  d.items = items;
  for (index_t u = 0; u < users; ++u) {
    for (index_t i = 0; i < items; ++i) {
      if (detail::bmf::uniform01(g) < density) {
        d.user.push_back(static_cast<std::int32_t>(u));
        d.item.push_back(static_cast<std::int32_t>(i));
        d.value.push_back(static_cast<T>(1.0 + std::floor(5.0 * detail::bmf::uniform01(g))));
      }
    }
  }
  return d;
}

// Ratings 1..5 of a rank-2 pattern plus uniform noise of width `noise`, rounded and clipped, on
// about `density` of the grid.
template <class T>
interactions<T> signal_noise(index_t users, index_t items, double density, double noise,
                             std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::vector<double> p(static_cast<std::size_t>(users * 2)),
      q(static_cast<std::size_t>(items * 2));
  for (auto& x : p) x = 2 * detail::bmf::uniform01(g) - 1;
  for (auto& x : q) x = 2 * detail::bmf::uniform01(g) - 1;
  interactions<T> d;
  d.users = users;
  d.items = items;
  for (index_t u = 0; u < users; ++u) {
    for (index_t i = 0; i < items; ++i) {
      if (detail::bmf::uniform01(g) >= density) continue;
      double r = 3 + 1.5 * (p[u * 2] * q[i * 2] + p[u * 2 + 1] * q[i * 2 + 1]) +
                 noise * (detail::bmf::uniform01(g) - 0.5);
      r = std::min(5.0, std::max(1.0, std::round(r)));
      d.user.push_back(static_cast<std::int32_t>(u));
      d.item.push_back(static_cast<std::int32_t>(i));
      d.value.push_back(static_cast<T>(r));
    }
  }
  return d;
}

template <class M>
bool same_factors(const M& a, const M& b) {
  return a.users == b.users && a.items == b.items && a.factors == b.factors &&
         a.user_factors == b.user_factors && a.item_factors == b.item_factors;
}

template <class T>
bool same_model(const biased_mf_model<T>& a, const biased_mf_model<T>& b) {
  return same_factors(a, b) && a.user_bias == b.user_bias && a.item_bias == b.item_bias &&
         a.global_mean == b.global_mean && a.min_rating == b.min_rating &&
         a.max_rating == b.max_rating;
}

template <class T>
double validation_rmse(const biased_mf_model<T>& m, const interactions<T>& v) {
  std::vector<T> out(v.value.size());
  predict(ref, m, {v.user.data(), v.size()}, {v.item.data(), v.size()}, {out.data(), v.size()});
  return rmse(ref, out, v.value);
}

// ndcg@k over all users (evaluate_ranking skips those without a validation item), train items
// excluded: the same number the validated fit computes on its gathered users.
template <class T>
double validation_ndcg(const implicit_mf_model<T>& m, const interactions<T>& train,
                       const interactions<T>& v, index_t k) {
  const auto seen = to_csr(train.view());
  const auto liked = to_csr(v.view());
  const auto top = topk_inner_product(ref, m.user_matrix(), m.item_matrix(), k, seen.pattern());
  return evaluate_ranking(ref, top.indices_view(), liked.pattern(), k).ndcg;
}

std::filesystem::path ml100k() {
  return std::filesystem::path(__FILE__).parent_path() / ".." / ".." / ".." / "shared" / "data" /
         "ml-100k";
}

}  // namespace

TEST_CASE("split_per_user: counts, order and the pinned draw", "[validation][split]") {
  // user 0: 4 entries, user 1: 1, user 2: 2, user 3: none, user 4: 10. Value = entry index.
  interactions<double> d;
  d.users = 5;
  d.items = 10;
  const std::vector<std::int32_t> users{4, 0, 2, 4, 0, 1, 4, 4, 0, 4, 2, 4, 4, 0, 4, 4, 4};
  for (std::size_t e = 0; e < users.size(); ++e) {
    d.user.push_back(users[e]);
    d.item.push_back(static_cast<std::int32_t>(e % 10));
    d.value.push_back(static_cast<double>(e));
  }
  SECTION("fraction 0.25: max(1, round(f n)), at most n - 1") {
    const auto s = split_per_user(d.view(), 0.25, 7);
    // user 0: round(1) = 1; user 1 (n = 1): 0; user 2: round(0.5) = 1 (half away from zero,
    // and at most n - 1 = 1); user 4: round(2.5) = 3.
    std::vector<int> count(5, 0);
    for (const auto u : s.validation.user) ++count[u];
    CHECK(count == std::vector<int>{1, 0, 1, 0, 3});
    CHECK(s.train.size() + s.validation.size() == d.size());
    CHECK(s.train.users == 5);
    CHECK(s.train.items == 10);
    CHECK(s.validation.users == 5);
    CHECK(s.validation.items == 10);
    // Both parts keep the input order, and together hold every entry once.
    CHECK(std::is_sorted(s.train.value.begin(), s.train.value.end()));
    CHECK(std::is_sorted(s.validation.value.begin(), s.validation.value.end()));
    std::vector<double> all = s.train.value;
    all.insert(all.end(), s.validation.value.begin(), s.validation.value.end());
    std::sort(all.begin(), all.end());
    CHECK(all == d.value);
    for (index_t e = 0; e < s.validation.size(); ++e) {
      const auto j = static_cast<std::size_t>(s.validation.value[e]);
      CHECK(s.validation.user[e] == d.user[j]);
      CHECK(s.validation.item[e] == d.item[j]);
    }
    // The same seed gives the same split.
    const auto again = split_per_user(d.view(), 0.25, 7);
    CHECK(again.validation.value == s.validation.value);
    CHECK(again.train.value == s.train.value);
  }
  SECTION("fraction 0.9 leaves every user with 2+ entries one training entry") {
    const auto s = split_per_user(d.view(), 0.9, 0);
    std::vector<int> count(5, 0);
    for (const auto u : s.train.user) ++count[u];
    CHECK(count == std::vector<int>{1, 1, 1, 0, 1});
  }
  SECTION("the draw is pinned (portable mt19937_64 words, Fisher-Yates per user)") {
    // Pins the stream: a change here changes every documented validation curve.
    const auto s = split_per_user(d.view(), 0.25, 0);
    CAPTURE(s.validation.value);
    const auto other = split_per_user(d.view(), 0.25, 1);
    CHECK(s.validation.value == std::vector<double>{2, 4, 6, 7, 15});
    CHECK(other.validation.value != s.validation.value);
  }
}

TEMPLATE_TEST_CASE("validated fits without stopping equal the plain fits bit for bit",
                   "[validation]", float, double) {
  using T = TestType;
  const auto d = noisy_grid<T>(23, 17, 0.4, 5);
  const auto s = split_per_user(d.view(), 0.2, 3);
  validation<T> carve;
  carve.fraction = 0.2;
  carve.seed = 3;
  carve.stopping.patience = 0;
  carve.stopping.restore_best = false;
  validation<T> given;
  given.data = s.validation.view();
  given.stopping = carve.stopping;

  SECTION("SGD") {
    sgd_options o;
    o.factors = 5;
    o.epochs = 7;
    o.blocks = 3;
    o.learning_rate = 0.03;
    o.learning_rate_decay = 0.9;
    const auto plain = fit_biased_sgd(ref, s.train.view(), o);
    const auto a = fit_biased_sgd(ref, d.view(), o, carve);
    const auto b = fit_biased_sgd(ref, s.train.view(), o, given);
    CHECK(same_model(a.model, plain));
    CHECK(same_model(b.model, plain));
    CHECK(a.report.curve == b.report.curve);
    CHECK(a.report.iterations_run == 7);
    CHECK(a.report.curve.size() == 7);
    CHECK(a.report.metric == "rmse");
    CHECK_FALSE(a.report.higher_is_better);
    CHECK(a.report.train_size == s.train.size());
    CHECK(a.report.validation_size == s.validation.size());
    CHECK(a.report.curve.back() == validation_rmse(plain, s.validation));
    // Every prefix: a plain fit of e epochs is the validated fit's e-th iterate.
    for (int e : {0, 1, 4}) {
      o.epochs = e;
      CAPTURE(e);
      const auto prefix = fit_biased_sgd(ref, s.train.view(), o);
      if (e == 0) {
        CHECK(a.report.initial_value == validation_rmse(prefix, s.validation));
      } else {
        CHECK(a.report.curve[static_cast<std::size_t>(e - 1)] ==
              validation_rmse(prefix, s.validation));
      }
    }
  }
  SECTION("ALS") {
    als_options o;
    o.factors = 4;
    o.iterations = 5;
    const auto plain = fit_biased_als(ref, s.train.view(), o);
    const auto a = fit_biased_als(ref, d.view(), o, carve);
    const auto b = fit_biased_als(ref, s.train.view(), o, given);
    CHECK(same_model(a.model, plain));
    CHECK(same_model(b.model, plain));
    CHECK(a.report.curve.size() == 5);
    CHECK(a.report.curve.back() == validation_rmse(plain, s.validation));
  }
  SECTION("implicit ALS, both solvers") {
    for (const auto solver : {implicit_solver::conjugate_gradient, implicit_solver::cholesky}) {
      implicit_als_options o;
      o.factors = 4;
      o.iterations = 4;
      o.regularization = 1;
      o.solver = solver;
      CAPTURE(static_cast<int>(solver));
      const auto plain = fit_implicit_als(ref, s.train.view(), o);
      carve.k = 3;
      given.k = 3;
      const auto a = fit_implicit_als(ref, d.view(), o, carve);
      const auto b = fit_implicit_als(ref, s.train.view(), o, given);
      CHECK(same_factors(a.model, plain));
      CHECK(same_factors(b.model, plain));
      CHECK(a.report.metric == "ndcg@3");
      CHECK(a.report.higher_is_better);
      REQUIRE(a.report.curve.size() == 4);
      CHECK(a.report.curve.back() ==
            Approx(validation_ndcg(plain, s.train, s.validation, 3)).epsilon(1e-12));
    }
  }
}

TEMPLATE_TEST_CASE("early stopping on a set that overfits; the best iterate is restored",
                   "[validation]", float, double) {
  using T = TestType;
  // A rank-2 signal in noise, 16 factors, no regularisation, a constant rate: the validation
  // RMSE falls for about 20 epochs, then rises as the factors fit the noise.
  const auto d = signal_noise<T>(40, 40, 0.7, 1.0, 11);
  sgd_options o;
  o.factors = 16;
  o.epochs = 200;
  o.learning_rate = 0.02;
  o.learning_rate_decay = 1.0;
  o.reg_bias = 0;
  o.reg_factor = 0;
  o.init_scale = 0.3;
  o.blocks = 2;
  validation<T> v;
  v.fraction = 0.2;
  v.seed = 1;
  v.stopping.patience = 4;
  const auto s = split_per_user(d.view(), 0.2, 1);

  const auto a = fit_biased_sgd(ref, d.view(), o, v);
  const auto& r = a.report;
  CAPTURE(r.curve);
  REQUIRE(r.stopped_early);
  CHECK(r.iterations_run < 200);
  CHECK(r.best_iteration >= 1);
  CHECK(r.iterations_run == r.best_iteration + 4);  // patience evaluations after the best
  CHECK(r.curve.size() == static_cast<std::size_t>(r.iterations_run));
  // min_delta 0: the best is the curve's minimum, the first one on ties.
  const auto min_it = std::min_element(r.curve.begin(), r.curve.end());
  CHECK(*min_it == r.best_value);
  CHECK(min_it - r.curve.begin() + 1 == r.best_iteration);
  CHECK(r.best_value < r.initial_value);
  // The curve did rise: the last value is worse than the best.
  CHECK(r.curve.back() > r.best_value);
  // The returned model is the best iterate: its RMSE, and the plain fit of best_iteration epochs.
  CHECK(validation_rmse(a.model, s.validation) == r.best_value);
  sgd_options at_best = o;
  at_best.epochs = r.best_iteration;
  CHECK(same_model(a.model, fit_biased_sgd(ref, s.train.view(), at_best)));

  SECTION("restore_best = false returns the last iterate") {
    v.stopping.restore_best = false;
    const auto last = fit_biased_sgd(ref, d.view(), o, v);
    CHECK(last.report.curve == r.curve);
    CHECK(last.report.best_iteration == r.best_iteration);
    CHECK(validation_rmse(last.model, s.validation) == r.curve.back());
  }
  SECTION("patience 0 runs every epoch and still returns the best") {
    v.stopping.patience = 0;
    o.epochs = r.iterations_run + 10;
    const auto all = fit_biased_sgd(ref, d.view(), o, v);
    CHECK_FALSE(all.report.stopped_early);
    CHECK(all.report.iterations_run == o.epochs);
    CHECK(std::equal(r.curve.begin(), r.curve.end(), all.report.curve.begin()));
    CHECK(validation_rmse(all.model, s.validation) == all.report.best_value);
  }
  SECTION("a huge min_delta stops after patience epochs at the initial model") {
    v.stopping.min_delta = 100;
    const auto none = fit_biased_sgd(ref, d.view(), o, v);
    CHECK(none.report.best_iteration == 0);
    CHECK(none.report.iterations_run == 4);
    CHECK(none.report.best_value == none.report.initial_value);
    sgd_options zero = o;
    zero.epochs = 0;
    CHECK(same_model(none.model, fit_biased_sgd(ref, s.train.view(), zero)));
  }
  SECTION("reproducible; another split seed gives another curve") {
    const auto b = fit_biased_sgd(ref, d.view(), o, v);
    CHECK(b.report.curve == r.curve);
    CHECK(same_model(b.model, a.model));
    v.seed = 2;
    CHECK(fit_biased_sgd(ref, d.view(), o, v).report.curve != r.curve);
  }
}

TEST_CASE("validated ALS and implicit ALS keep their best iterate", "[validation]") {
  const auto d = noisy_grid<double>(25, 20, 0.5, 21);
  const auto s = split_per_user(d.view(), 0.25, 4);
  validation<double> v;
  v.data = s.validation.view();
  v.stopping.patience = 0;
  SECTION("ALS without regularisation overfits the noise") {
    als_options o;
    o.factors = 6;
    o.iterations = 8;
    o.reg_bias = 0;
    o.reg_factor = 1e-4;
    const auto a = fit_biased_als(ref, s.train.view(), o, v);
    const auto& c = a.report.curve;
    CAPTURE(c);
    const auto best = std::min_element(c.begin(), c.end());
    if (a.report.best_value < a.report.initial_value) {
      CHECK(*best == a.report.best_value);
      CHECK(best - c.begin() + 1 == a.report.best_iteration);
    } else {
      CHECK(a.report.best_iteration == 0);
    }
    CHECK(validation_rmse(a.model, s.validation) == a.report.best_value);
  }
  SECTION("implicit ALS: ndcg, higher is better") {
    implicit_als_options o;
    o.factors = 4;
    o.iterations = 6;
    o.regularization = 0.5;
    v.k = 5;
    const auto a = fit_implicit_als(ref, s.train.view(), o, v);
    const auto& c = a.report.curve;
    CAPTURE(c);
    CHECK(a.report.metric == "ndcg@5");
    const double best = std::max(a.report.initial_value, *std::max_element(c.begin(), c.end()));
    CHECK(a.report.best_value == best);
    CHECK(validation_ndcg(a.model, s.train, s.validation, 5) ==
          Approx(a.report.best_value).epsilon(1e-12));
  }
}

TEST_CASE("validated fits: zero iterations and tiny sets", "[validation]") {
  interactions<float> d;
  d.users = 2;
  d.items = 3;
  d.user = {0, 0, 1, 1, 1};
  d.item = {0, 1, 0, 1, 2};
  d.value = {5, 3, 4, 2, 1};
  validation<float> v;
  v.fraction = 0.5;  // user 0: 1 of 2; user 1: round(1.5) = 2 of 3
  sgd_options o;
  o.factors = 2;
  o.epochs = 0;
  const auto a = fit_biased_sgd(ref, d.view(), o, v);
  CHECK(a.report.curve.empty());
  CHECK(a.report.iterations_run == 0);
  CHECK(a.report.best_iteration == 0);
  CHECK(a.report.best_value == a.report.initial_value);
  CHECK(a.report.train_size == 2);
  CHECK(a.report.validation_size == 3);
  const auto s = split_per_user(d.view(), 0.5, 0);
  CHECK(same_model(a.model, fit_biased_sgd(ref, s.train.view(), o)));
  // The initial model predicts mu (biases 0, factors ~0.05^2) clipped to the train range.
  CHECK(a.report.initial_value == Approx(validation_rmse(a.model, s.validation)));
}

TEST_CASE("validated fits: errors name the function and the value", "[validation][errors]") {
  using Catch::Matchers::Contains;
  const auto d = noisy_grid<float>(6, 5, 0.7, 2);
  sgd_options o;
  o.factors = 2;
  o.epochs = 2;
  validation<float> v;
  auto sgd = [&] { return fit_biased_sgd(ref, d.view(), o, v); };

  for (const double f : {0.0, 1.0, -0.5, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    CAPTURE(f);
    v.fraction = f;
    REQUIRE_THROWS_MATCHES(
        sgd(), value_error,
        test::what_is(Contains("recfuse::fit_biased_sgd") && Contains("validation.fraction is") &&
                      Contains("0 < fraction < 1")));
    REQUIRE_THROWS_MATCHES(split_per_user(d.view(), f, 0), value_error,
                           test::what_is(Contains("recfuse::split_per_user: fraction is")));
  }
  v.fraction = 0.2;
  v.stopping.patience = -1;
  REQUIRE_THROWS_MATCHES(sgd(), value_error, test::what_is(Contains("patience is -1")));
  v.stopping.patience = 1;
  v.stopping.min_delta = std::numeric_limits<double>::infinity();
  REQUIRE_THROWS_MATCHES(sgd(), value_error, test::what_is(Contains("min_delta is inf")));
  v.stopping.min_delta = -1;
  REQUIRE_THROWS_MATCHES(sgd(), value_error, test::what_is(Contains("min_delta is -1")));
  v.stopping.min_delta = 0;

  // An explicit set: not with a fraction; the same users and items; ids in range; finite.
  auto given = d;
  v.data = given.view();
  REQUIRE_THROWS_MATCHES(sgd(), value_error,
                         test::what_is(Contains("validation.fraction is 0.2 but validation.data "
                                                "is given")));
  v.fraction = 0;
  CHECK_NOTHROW(sgd());
  given.users = 7;
  v.data = given.view();
  REQUIRE_THROWS_MATCHES(
      sgd(), shape_error,
      test::what_is(Contains("recfuse::fit_biased_sgd") &&
                    Contains("validation.data.users is 7 but train.users is 6")));
  given.users = 6;
  given.item[1] = 5;
  v.data = given.view();
  REQUIRE_THROWS_MATCHES(
      sgd(), index_error,
      test::what_is(Contains("recfuse::fit_biased_sgd") && Contains("validation.data")));
  given.item[1] = 0;
  given.value[2] = std::numeric_limits<float>::quiet_NaN();
  v.data = given.view();
  REQUIRE_THROWS_MATCHES(sgd(), value_error,
                         test::what_is(Contains("recfuse::fit_biased_sgd") &&
                                       Contains("validation.data") && Contains("nan")));
  REQUIRE_THROWS_MATCHES(fit_biased_als(ref, d.view(), als_options{}, v), value_error,
                         test::what_is(Contains("recfuse::fit_biased_als")));

  // A carve of a set where every user has one entry is empty.
  interactions<float> single;
  single.users = 3;
  single.items = 3;
  single.user = {0, 1, 2};
  single.item = {0, 1, 2};
  single.value = {1, 2, 3};
  validation<float> c;
  c.fraction = 0.5;
  REQUIRE_THROWS_MATCHES(fit_biased_sgd(ref, single.view(), o, c), value_error,
                         test::what_is(Contains("carves an empty validation set")));

  // Implicit ALS: k >= 1, values >= 0, and something to rank against.
  implicit_als_options io;
  io.factors = 2;
  io.iterations = 1;
  c.k = 0;
  REQUIRE_THROWS_MATCHES(fit_implicit_als(ref, d.view(), io, c), value_error,
                         test::what_is(Contains("recfuse::fit_implicit_als: validation.k is 0")));
  c.k = 10;
  c.fraction = 0;
  auto zeros = d;
  std::fill(zeros.value.begin(), zeros.value.end(), 0.0f);
  c.data = zeros.view();
  REQUIRE_THROWS_MATCHES(fit_implicit_als(ref, d.view(), io, c), value_error,
                         test::what_is(Contains("no entry of value > 0")));
  zeros.value[0] = -1;
  c.data = zeros.view();
  REQUIRE_THROWS_MATCHES(fit_implicit_als(ref, d.view(), io, c), value_error,
                         test::what_is(Contains("validation.data entry 0") && Contains("-1")));
  // The plain fit's own checks still come first, with the same messages.
  o.epochs = -1;
  v.data = {};
  v.fraction = 0.2;
  REQUIRE_THROWS_MATCHES(sgd(), value_error, test::what_is(Contains("options.epochs is -1")));
}

TEST_CASE("validated SGD on MovieLens 100K u1: early-stopped test RMSE", "[validation][ml100k]") {
  const auto dir = ml100k();
  if (!std::filesystem::exists(dir / "u1.base")) {
    WARN("MovieLens 100K not found at " << dir.string() << "; skipped");
    return;
  }
  io::id_map users, items;
  auto train = io::load_ratings(dir / "u1.base", users, items);
  auto test = io::load_ratings(dir / "u1.test", users, items);
  train.users = test.users = users.size();
  train.items = test.items = items.size();
  validation<float> v;
  v.fraction = 0.1;
  const auto a = fit_biased_sgd(ref, train.view(), sgd_options{}, v);
  CAPTURE(a.report.curve);
  CHECK(a.report.train_size + a.report.validation_size == 80000);
  const double test_rmse = validation_rmse(a.model, test);
  CAPTURE(test_rmse, a.report.best_iteration);
  // Measured on the reference: MEASURED_TEST_RMSE (best epoch MEASURED_BEST of 50).
  CHECK(test_rmse <= 0.930);
  CHECK(a.report.best_value < 0.93);
}

// The documented validation curve (docs/validation.md):
//   build/<dir>/tests/recfuse_tests_reference "[.curve]" -s
TEST_CASE("validation curve of default SGD on MovieLens 100K u1.base", "[.curve]") {
  const auto dir = ml100k();
  if (!std::filesystem::exists(dir / "u1.base")) {
    WARN("MovieLens 100K not found at " << dir.string() << "; skipped");
    return;
  }
  io::id_map users, items;
  const auto train = io::load_ratings(dir / "u1.base", users, items);
  validation<float> v;
  v.fraction = 0.1;
  v.seed = 0;
  v.stopping.patience = 0;
  const auto a = fit_biased_sgd(ref, train.view(), sgd_options{}, v);
  std::printf("| epoch | validation RMSE |\n|---:|---:|\n| 0 | %.4f |\n", a.report.initial_value);
  for (std::size_t e = 0; e < a.report.curve.size(); ++e) {
    std::printf("| %zu | %.4f |\n", e + 1, a.report.curve[e]);
  }
  std::printf("best epoch %d, RMSE %.4f; train %lld, validation %lld ratings\n",
              a.report.best_iteration, a.report.best_value,
              static_cast<long long>(a.report.train_size),
              static_cast<long long>(a.report.validation_size));
  CHECK(a.report.curve.size() == 50);
}
