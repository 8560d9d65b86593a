// Explicit biased MF on the reference: SGD and ALS steps against hand-computed values, the SGD
// step against a finite-difference gradient, ALS's monotone objective, predict's fallbacks,
// and every error path of the public functions.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "recfuse/factorize/biased_mf.hpp"
#include "test_support.hpp"

using namespace recfuse;

namespace {

template <class T>
interactions<T> make_data(index_t users, index_t items, std::vector<std::int32_t> u,
                          std::vector<std::int32_t> i, std::vector<T> v) {
  interactions<T> d;
  d.users = users;
  d.items = items;
  d.user = std::move(u);
  d.item = std::move(i);
  d.value = std::move(v);
  return d;
}

// Random ratings in [1, 5] on about `density` of a users x items grid (portable generator).
template <class T>
interactions<T> rating_grid(index_t users, index_t items, double density, std::uint64_t seed) {
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

// The ALS objective: sum of squared errors (unclipped) + weighted-lambda penalties.
template <class T>
double als_objective(const biased_mf_model<T>& m, const interactions_view<T>& d, double rb,
                     double rf) {
  std::vector<double> nu(static_cast<std::size_t>(m.users)), ni(static_cast<std::size_t>(m.items));
  double loss = 0;
  for (index_t e = 0; e < d.size(); ++e) {
    const index_t u = d.user[e], i = d.item[e];
    double pred = static_cast<double>(m.global_mean) + m.user_bias[u] + m.item_bias[i];
    for (index_t f = 0; f < m.factors; ++f) {
      pred += static_cast<double>(m.user_factors[u * m.factors + f]) *
              m.item_factors[i * m.factors + f];
    }
    loss += (d.value[e] - pred) * (d.value[e] - pred);
    nu[u] += 1;
    ni[i] += 1;
  }
  for (index_t u = 0; u < m.users; ++u) {
    double sq = 0;
    for (index_t f = 0; f < m.factors; ++f) {
      sq += static_cast<double>(m.user_factors[u * m.factors + f]) *
            m.user_factors[u * m.factors + f];
    }
    loss += nu[u] * (rb * m.user_bias[u] * m.user_bias[u] + rf * sq);
  }
  for (index_t i = 0; i < m.items; ++i) {
    double sq = 0;
    for (index_t f = 0; f < m.factors; ++f) {
      sq += static_cast<double>(m.item_factors[i * m.factors + f]) *
            m.item_factors[i * m.factors + f];
    }
    loss += ni[i] * (rb * m.item_bias[i] * m.item_bias[i] + rf * sq);
  }
  return loss;
}

vector_view<const std::int32_t> ids(const std::vector<std::int32_t>& v) {
  return {v.data(), static_cast<index_t>(v.size())};
}
using test::cview;
using test::mview;

}  // namespace

TEMPLATE_TEST_CASE("biased_sgd_update: one step by hand", "[factorize][reference]", float, double) {
  using T = TestType;
  // p = (1, 2), q = (0.5, -1), b_u = 0.1, b_i = -0.2, mu = 3, r = 4, lr = 0.1,
  // reg_bias = 0.5, reg_factor = 0.25.
  // p.q = 0.5 - 2 = -1.5; prediction 3 + 0.1 - 0.2 - 1.5 = 1.4; e = 2.6
  // b_u = 0.1 + 0.1 (2.6 - 0.5 * 0.1) = 0.355;   b_i = -0.2 + 0.1 (2.6 + 0.5 * 0.2) = 0.07
  // p0 = 1 + 0.1 (2.6 * 0.5 - 0.25 * 1) = 1.105;  p1 = 2 + 0.1 (2.6 * -1 - 0.25 * 2) = 1.69
  // q0 = 0.5 + 0.1 (2.6 * 1 - 0.25 * 0.5) = 0.7475; q1 = -1 + 0.1 (2.6 * 2 + 0.25) = -0.455
  T p[2] = {1, 2}, q[2] = {T(0.5), -1};
  T bu = T(0.1), bi = T(-0.2);
  reference_backend::biased_sgd_update(p, q, bu, bi, T(3), T(4), T(0.1), T(0.5), T(0.25),
                                       index_t{2});
  const double eps = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  CHECK(bu == Approx(0.355).epsilon(eps));
  CHECK(bi == Approx(0.07).epsilon(eps));
  CHECK(p[0] == Approx(1.105).epsilon(eps));
  CHECK(p[1] == Approx(1.69).epsilon(eps));
  CHECK(q[0] == Approx(0.7475).epsilon(eps));
  CHECK(q[1] == Approx(-0.455).epsilon(eps));
}

TEMPLATE_TEST_CASE("fit_biased_sgd: biases by hand over two epochs", "[factorize][reference]",
                   float, double) {
  using T = TestType;
  // Ratings (0, 0) = 4 and (1, 1) = 2: mu = 3, range [2, 4]. init_scale 0 keeps the factors 0
  // (their gradient e q is 0), and the two ratings share no parameter, so order is irrelevant.
  // Epoch 1, lr 0.1: e = +-1 -> b_u0 = b_i0 = 0.1, b_u1 = b_i1 = -0.1.
  // Epoch 2, lr 0.1 * 0.5: e0 = 4 - 3.2 = 0.8, b_u0 = 0.1 + 0.05 (0.8 - 0.5 * 0.1) = 0.1375;
  // e1 = 2 - 2.8 = -0.8, b_u1 = -0.1 + 0.05 (-0.8 + 0.05) = -0.1375; items the same.
  const auto d = make_data<T>(2, 2, {0, 1}, {0, 1}, {4, 2});
  sgd_options o;
  o.factors = 2;
  o.epochs = 2;
  o.learning_rate = 0.1;
  o.learning_rate_decay = 0.5;
  o.reg_bias = 0.5;
  o.reg_factor = 0.3;
  o.init_scale = 0;
  o.blocks = 2;
  const auto m = fit_biased_sgd(exec::reference{}, d.view(), o);
  CHECK(m.users == 2);
  CHECK(m.items == 2);
  CHECK(m.factors == 2);
  CHECK(m.global_mean == T(3));
  CHECK(m.min_rating == T(2));
  CHECK(m.max_rating == T(4));
  const double eps = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  CHECK(m.user_bias[0] == Approx(0.1375).epsilon(eps));
  CHECK(m.item_bias[0] == Approx(0.1375).epsilon(eps));
  CHECK(m.user_bias[1] == Approx(-0.1375).epsilon(eps));
  CHECK(m.item_bias[1] == Approx(-0.1375).epsilon(eps));
  for (T f : m.user_factors) CHECK(f == T(0));
  for (T f : m.item_factors) CHECK(f == T(0));

  // predict: (0, 0) = 3.275; (0, 1) = 3; user 5 and item -1 unseen: mu + the known bias.
  const std::vector<std::int32_t> pu = {0, 0, 5, 0, -1, 7};
  const std::vector<std::int32_t> pi = {0, 1, 0, -1, -1, 9};
  std::vector<T> out(6);
  predict(exec::reference{}, m, ids(pu), ids(pi), mview(out));
  CHECK(out[0] == Approx(3.275).epsilon(eps));
  CHECK(out[1] == Approx(3.0).epsilon(eps));
  CHECK(out[2] == Approx(3.1375).epsilon(eps));
  CHECK(out[3] == Approx(3.1375).epsilon(eps));
  CHECK(out[4] == T(3));
  CHECK(out[5] == T(3));
}

TEST_CASE("fit_biased_sgd: initial model and epoch 0", "[factorize][reference]") {
  const auto d = rating_grid<double>(30, 20, 0.3, 5);
  sgd_options o;
  o.factors = 5;
  o.epochs = 0;
  o.init_scale = 0.2;
  const auto m = fit_biased_sgd(exec::reference{}, d.view(), o);
  double mean = 0, lo = 9, hi = 0;
  for (double v : d.value) mean += v, lo = std::min(lo, v), hi = std::max(hi, v);
  mean /= static_cast<double>(d.value.size());
  CHECK(m.global_mean == Approx(mean).epsilon(1e-14));
  CHECK(m.min_rating == lo);
  CHECK(m.max_rating == hi);
  for (double b : m.user_bias) CHECK(b == 0);
  // Factors ~ 0.2 * N(0, 1): the sample sd of 250 numbers is within 20% of 0.2.
  double sq = 0;
  for (double f : m.item_factors) sq += f * f;
  CHECK(std::sqrt(sq / static_cast<double>(m.item_factors.size())) == Approx(0.2).epsilon(0.2));
  // SGD and ALS start from the same factors for one seed.
  als_options a;
  a.factors = 5;
  a.iterations = 0;
  a.init_scale = 0.2;
  const auto ma = fit_biased_als(exec::reference{}, d.view(), a);
  CHECK(ma.user_factors == m.user_factors);
  CHECK(ma.item_factors == m.item_factors);
  // Another seed, other factors.
  o.seed = 43;
  CHECK(fit_biased_sgd(exec::reference{}, d.view(), o).user_factors != m.user_factors);
}

TEST_CASE("fit_biased_sgd: one step is -lr times the finite-difference gradient",
          "[factorize][reference]") {
  // One rating, one epoch, one block: the fit makes exactly one update from the initial model
  // (= the epochs 0 fit). The per-rating loss is
  //   L = 0.5 e^2 + 0.5 reg_bias (b_u^2 + b_i^2) + 0.5 reg_factor (|p|^2 + |q|^2),
  // e = r - (mu + b_u + b_i + p.q); its gradient by central differences must equal
  // -(after - before) / lr in every parameter. The rating's user and item are 1 and 2 of a
  // 3 x 3 model, so the untouched rows must not move.
  const index_t k = 4;
  const auto d = make_data<double>(3, 3, {1}, {2}, {4.5});
  sgd_options o;
  o.factors = k;
  o.epochs = 0;
  o.blocks = 1;
  o.init_scale = 0.7;
  o.learning_rate = 0.05;
  o.reg_bias = 0.3;
  o.reg_factor = 0.2;
  const auto before = fit_biased_sgd(exec::reference{}, d.view(), o);
  o.epochs = 1;
  const auto after = fit_biased_sgd(exec::reference{}, d.view(), o);

  // theta = [b_u, b_i, p (k), q (k)]
  std::vector<double> theta = {before.user_bias[1], before.item_bias[2]};
  for (index_t f = 0; f < k; ++f) theta.push_back(before.user_factors[k + f]);
  for (index_t f = 0; f < k; ++f) theta.push_back(before.item_factors[2 * k + f]);
  std::vector<double> moved = {after.user_bias[1], after.item_bias[2]};
  for (index_t f = 0; f < k; ++f) moved.push_back(after.user_factors[k + f]);
  for (index_t f = 0; f < k; ++f) moved.push_back(after.item_factors[2 * k + f]);
  const double mu = before.global_mean;
  auto loss = [&](const std::vector<double>& t) {
    double dot = 0, pp = 0, qq = 0;
    for (index_t f = 0; f < k; ++f) {
      dot += t[2 + f] * t[2 + k + f];
      pp += t[2 + f] * t[2 + f];
      qq += t[2 + k + f] * t[2 + k + f];
    }
    const double e = 4.5 - (mu + t[0] + t[1] + dot);
    return 0.5 * e * e + 0.5 * o.reg_bias * (t[0] * t[0] + t[1] * t[1]) +
           0.5 * o.reg_factor * (pp + qq);
  };
  const double h = 1e-5;
  for (std::size_t j = 0; j < theta.size(); ++j) {
    auto tp = theta, tm = theta;
    tp[j] += h;
    tm[j] -= h;
    const double grad = (loss(tp) - loss(tm)) / (2 * h);
    CAPTURE(j, grad);
    CHECK(moved[j] - theta[j] == Approx(-o.learning_rate * grad).margin(1e-10));
  }
  CHECK(std::abs(moved[0] - theta[0]) > 1e-3);  // the step is not trivially 0
  for (index_t f = 0; f < k; ++f) {
    CHECK(after.user_factors[f] == before.user_factors[f]);          // user 0
    CHECK(after.item_factors[k + f] == before.item_factors[k + f]);  // item 1
  }
}

TEMPLATE_TEST_CASE("fold_in_user and refit: one ALS user step by hand, k = 1",
                   "[factorize][reference]", float, double) {
  using T = TestType;
  // mu = 3; item 0: q = 1, b = 0.5; item 1: q = -1, b = 0. The user rated item 0 -> 4 and
  // item 1 -> 2: targets r - mu - b_i = 0.5 and -1, features [1, q] = [1, 1] and [1, -1].
  // n = 2, reg_bias = reg_factor = 0.5 -> penalty 1 on each unknown:
  //   [[2 + 1, 0], [0, 2 + 1]] [b, p] = [0.5 - 1, 0.5 + 1] -> b = -1/6, p = 1/2.
  biased_mf_model<T> m;
  m.users = 2;
  m.items = 2;
  m.factors = 1;
  m.global_mean = 3;
  m.min_rating = 1;
  m.max_rating = 5;
  m.user_bias = {T(0.25), T(-0.75)};
  m.item_bias = {T(0.5), T(0)};
  m.user_factors = {T(7), T(8)};
  m.item_factors = {T(1), T(-1)};
  als_options o;
  o.reg_bias = 0.5;
  o.reg_factor = 0.5;
  const std::vector<std::int32_t> items = {0, 1};
  const std::vector<T> ratings = {4, 2};
  std::vector<T> p(1);
  const T b = fold_in_user(exec::reference{}, m, ids(items), cview(ratings), mview(p), o);
  const double eps = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  CHECK(b == Approx(-1.0 / 6).epsilon(eps));
  CHECK(p[0] == Approx(0.5).epsilon(eps));

  // refit_users on data where user 1 has these ratings: the same numbers, user 0 untouched.
  const auto d = make_data<T>(2, 2, {1, 1}, {0, 1}, {4, 2});
  const std::vector<std::int32_t> who = {1, 1};  // duplicates are fine
  refit_users(exec::reference{}, m, d.view(), ids(who), o);
  CHECK(m.user_bias[1] == b);
  CHECK(m.user_factors[1] == p[0]);
  CHECK(m.user_bias[0] == T(0.25));
  CHECK(m.user_factors[0] == T(7));
  CHECK(m.item_bias == std::vector<T>{T(0.5), T(0)});

  // The empty list gives zeros; so does refit of a user without ratings.
  std::vector<T> p0 = {T(9)};
  const std::vector<std::int32_t> none;
  const std::vector<T> no_ratings;
  CHECK(fold_in_user(exec::reference{}, m, ids(none), cview(no_ratings), mview(p0), o) == T(0));
  CHECK(p0[0] == T(0));
  const std::vector<std::int32_t> zero = {0};
  refit_users(exec::reference{}, m, d.view(), ids(zero), o);
  CHECK(m.user_bias[0] == T(0));
  CHECK(m.user_factors[0] == T(0));

  // refit_items: item 0 against users with p = (0, 1/2), b = (0, -1/6) from the one rating
  // (user 1, 4): target 4 - 3 - (-1/6) = 7/6, features [1, 1/2]; n = 1, penalty 0.5 each:
  //   [[1.5, 0.5], [0.5, 0.75]] [b, q] = [7/6, 7/12] -> det 0.875, b = (7/8 - 7/24) / 0.875
  //   = 2/3, q = (7/8 - 7/12) / 0.875 = 1/3.
  const std::vector<std::int32_t> item0 = {0};
  refit_items(exec::reference{}, m, d.view(), ids(item0), o);
  CHECK(m.item_bias[0] == Approx(2.0 / 3).epsilon(eps));
  CHECK(m.item_factors[0] == Approx(1.0 / 3).epsilon(eps));
  CHECK(m.item_bias[1] == T(0));
  CHECK(m.item_factors[1] == T(-1));
}

TEST_CASE("fit_biased_als: every half step lowers the regularised objective",
          "[factorize][reference]") {
  const auto d = rating_grid<double>(60, 45, 0.25, 9);
  als_options o;
  o.factors = 4;
  o.iterations = 0;
  o.reg_bias = 0.03;
  o.reg_factor = 0.08;
  o.init_scale = 0.3;
  auto m = fit_biased_als(exec::reference{}, d.view(), o);
  std::vector<std::int32_t> all_users(60), all_items(45);
  for (int j = 0; j < 60; ++j) all_users[j] = j;
  for (int j = 0; j < 45; ++j) all_items[j] = j;
  double last = als_objective(m, d.view(), o.reg_bias, o.reg_factor);
  for (int sweep = 0; sweep < 6; ++sweep) {
    refit_users(exec::reference{}, m, d.view(), ids(all_users), o);  // = the user half step
    const double after_users = als_objective(m, d.view(), o.reg_bias, o.reg_factor);
    refit_items(exec::reference{}, m, d.view(), ids(all_items), o);
    const double after_items = als_objective(m, d.view(), o.reg_bias, o.reg_factor);
    CAPTURE(sweep, last, after_users, after_items);
    CHECK(after_users <= last * (1 + 1e-12));
    CHECK(after_items <= after_users * (1 + 1e-12));
    last = after_items;
  }
  // The fit with 6 iterations is exactly these 12 half steps.
  o.iterations = 6;
  const auto fit = fit_biased_als(exec::reference{}, d.view(), o);
  CHECK(fit.user_factors == m.user_factors);
  CHECK(fit.item_bias == m.item_bias);
  // and it fits the data much better than the mean.
  CHECK(last < 0.5 * als_objective(fit_biased_als(
                                       exec::reference{}, d.view(),
                                       als_options{.factors = 4, .iterations = 0, .init_scale = 0}),
                                   d.view(), o.reg_bias, o.reg_factor));
}

TEST_CASE("fit_biased_als: zero regularisation and too few ratings still solve",
          "[factorize][reference]") {
  // User 0 has one rating and 3 factors + 1 bias to fit: singular without a ridge. The solver
  // retries with a tiny jitter, so the result is finite.
  const auto d = make_data<double>(2, 3, {0, 1, 1, 1}, {0, 0, 1, 2}, {4, 3, 5, 1});
  als_options o;
  o.factors = 3;
  o.iterations = 3;
  o.reg_bias = 0;
  o.reg_factor = 0;
  const auto m = fit_biased_als(exec::reference{}, d.view(), o);
  for (double f : m.user_factors) CHECK(std::isfinite(f));
  for (double f : m.item_factors) CHECK(std::isfinite(f));
  CHECK(m.predict(0, 0) == Approx(4).margin(1e-3));
}

TEST_CASE("predict: clipping and fallbacks", "[factorize][reference]") {
  biased_mf_model<float> m;
  m.users = 1;
  m.items = 1;
  m.factors = 2;
  m.global_mean = 3;
  m.min_rating = 1;
  m.max_rating = 5;
  m.user_bias = {1};
  m.item_bias = {0.5f};
  m.user_factors = {2, 1};
  m.item_factors = {1, -3};  // p.q = -1
  const std::vector<std::int32_t> u = {0, 0, 1, -5, 0};
  const std::vector<std::int32_t> i = {0, 1, 0, -5, 2147483647};
  std::vector<float> out(5);
  predict(exec::reference{}, m, ids(u), ids(i), mview(out));
  CHECK(out == std::vector<float>{3.5f, 4.0f, 3.5f, 3.0f, 4.0f});
  m.user_factors = {20, 1};  // p.q = 17 -> clipped to 5
  predict(exec::reference{}, m, ids(u), ids(i), mview(out));
  CHECK(out[0] == 5.0f);
  m.user_factors = {-20, 1};  // -23 -> clipped to 1
  predict(exec::reference{}, m, ids(u), ids(i), mview(out));
  CHECK(out[0] == 1.0f);
  // empty input is fine
  std::vector<float> none;
  const std::vector<std::int32_t> no_ids;
  predict(exec::reference{}, m, ids(no_ids), ids(no_ids), mview(none));
}

TEST_CASE("biased MF: errors", "[factorize][reference][errors]") {
  using Catch::Matchers::Contains;
  const exec::reference ref;
  const auto d = rating_grid<float>(10, 8, 0.5, 3);
  const auto dv = d.view();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();

  SECTION("sgd options") {
    auto bad = [&](auto edit, const char* what) {
      sgd_options o;
      edit(o);
      CAPTURE(what);
      REQUIRE_THROWS_MATCHES(fit_biased_sgd(ref, dv, o), value_error,
                             test::what_is(Contains("recfuse::fit_biased_sgd") && Contains(what)));
    };
    bad([](sgd_options& o) { o.factors = 0; }, "options.factors is 0");
    bad([](sgd_options& o) { o.factors = -3; }, "options.factors is -3");
    bad([](sgd_options& o) { o.epochs = -1; }, "epochs is -1");
    bad([](sgd_options& o) { o.learning_rate = -1; }, "learning_rate is -1");
    bad([](sgd_options& o) { o.learning_rate = 0; }, "learning_rate is 0");
    bad([](sgd_options& o) { o.learning_rate = std::nan(""); }, "learning_rate is nan");
    bad([](sgd_options& o) { o.learning_rate_decay = 0; }, "learning_rate_decay is 0");
    bad([](sgd_options& o) { o.learning_rate_decay = 1.5; }, "learning_rate_decay is 1.5");
    bad([](sgd_options& o) { o.reg_bias = -0.5; }, "reg_bias is -0.5");
    bad([](sgd_options& o) { o.reg_factor = -2; }, "reg_factor is -2");
    bad([](sgd_options& o) { o.reg_factor = INFINITY; }, "reg_factor is inf");
    bad([](sgd_options& o) { o.init_scale = -1; }, "init_scale is -1");
    bad([](sgd_options& o) { o.blocks = 0; }, "blocks is 0");
    bad([](sgd_options& o) { o.blocks = 5000; }, "blocks is 5000");
    // The factor count limit (2^32 once made k * k wrap around in the implicit solvers).
    bad([](sgd_options& o) { o.factors = 65537; },
        "options.factors is 65537 (need 1 <= factors <= 65536)");
    bad([](sgd_options& o) { o.factors = index_t{1} << 32; }, "options.factors is 4294967296");
    // Finite doubles that overflow the model's float: the kernels would compute with inf.
    bad([](sgd_options& o) { o.learning_rate = 1e39; },
        "options.learning_rate is 1e+39, which overflows float");
    bad([](sgd_options& o) { o.reg_bias = 3.5e38; },
        "options.reg_bias is 3.5e+38, which overflows float");
    bad([](sgd_options& o) { o.reg_factor = 1e39; },
        "options.reg_factor is 1e+39, which overflows float");
    bad([](sgd_options& o) { o.init_scale = 1e300; },
        "options.init_scale is 1e+300, which overflows float");
    // options are checked before the data
    interactions<float> empty;
    sgd_options o;
    o.learning_rate = -1;
    REQUIRE_THROWS_MATCHES(fit_biased_sgd(ref, empty.view(), o), value_error,
                           test::what_is(Contains("learning_rate is -1")));
  }

  SECTION("als options") {
    auto bad = [&](auto edit, const char* what) {
      als_options o;
      edit(o);
      CAPTURE(what);
      REQUIRE_THROWS_MATCHES(fit_biased_als(ref, dv, o), value_error,
                             test::what_is(Contains("recfuse::fit_biased_als") && Contains(what)));
    };
    bad([](als_options& o) { o.factors = 0; }, "options.factors is 0");
    bad([](als_options& o) { o.iterations = -2; }, "iterations is -2");
    bad([](als_options& o) { o.reg_bias = -1; }, "reg_bias is -1");
    bad([](als_options& o) { o.reg_factor = std::nan(""); }, "reg_factor is nan");
    bad([](als_options& o) { o.init_scale = -0.25; }, "init_scale is -0.25");
    bad([](als_options& o) { o.factors = index_t{1} << 32; }, "options.factors is 4294967296");
    bad([](als_options& o) { o.reg_factor = 1e39; },
        "options.reg_factor is 1e+39, which overflows float");
    // The same values are fine for a double model (ALS solves in double).
    interactions<double> dd;
    dd.users = d.users;
    dd.items = d.items;
    dd.user = d.user;
    dd.item = d.item;
    dd.value.assign(d.value.begin(), d.value.end());
    als_options big;
    big.factors = 2;
    big.iterations = 1;
    big.reg_factor = 1e39;
    CHECK_NOTHROW(fit_biased_als(ref, dd.view(), big));
    big.factors = 65536;  // the largest count: allowed (no iteration, so no 65537^2 system)
    big.iterations = 0;
    CHECK(fit_biased_als(ref, dd.view(), big).factors == 65536);
  }

  SECTION("training data") {
    for (int which = 0; which < 2; ++which) {
      auto fit = [&](const interactions<float>& x) {
        if (which == 0) return fit_biased_sgd(ref, x.view());
        return fit_biased_als(ref, x.view());
      };
      const char* fn = which == 0 ? "recfuse::fit_biased_sgd" : "recfuse::fit_biased_als";
      interactions<float> empty;
      empty.users = 3;
      empty.items = 3;
      REQUIRE_THROWS_MATCHES(fit(empty), value_error,
                             test::what_is(Contains(fn) && Contains("empty")));
      auto x = d;
      x.user[4] = 10;
      REQUIRE_THROWS_MATCHES(
          fit(x), index_error,
          test::what_is(Contains(fn) && Contains("entry 4") && Contains("user id 10")));
      x = d;
      x.item[2] = -1;
      REQUIRE_THROWS_MATCHES(fit(x), index_error,
                             test::what_is(Contains(fn) && Contains("item id -1")));
      x = d;
      x.value[6] = nan;
      REQUIRE_THROWS_MATCHES(fit(x), value_error,
                             test::what_is(Contains(fn) && Contains("entry 6")));
      x.value[6] = -inf;
      REQUIRE_THROWS_MATCHES(fit(x), value_error, test::what_is(Contains(fn) && Contains("-inf")));
      x = d;
      x.user.pop_back();
      REQUIRE_THROWS_MATCHES(fit(x), shape_error,
                             test::what_is(Contains(fn) && Contains("user ids size")));
      x = d;
      x.users = -1;
      REQUIRE_THROWS_MATCHES(fit(x), shape_error,
                             test::what_is(Contains(fn) && Contains("users = -1")));
    }
  }

  const auto m = fit_biased_sgd(ref, dv, sgd_options{.factors = 3, .epochs = 1});

  SECTION("predict") {
    const std::vector<std::int32_t> u = {0, 1, 2}, i = {0, 1};
    std::vector<float> out(3);
    REQUIRE_THROWS_MATCHES(
        predict(ref, m, ids(u), ids(i), mview(out)), shape_error,
        test::what_is(Contains("recfuse::predict") && Contains("3") && Contains("2")));
    std::vector<float> out2(2);
    REQUIRE_THROWS_MATCHES(predict(ref, m, ids(u), ids(u), mview(out2)), shape_error,
                           test::what_is(Contains("recfuse::predict") && Contains("out.size()")));
    auto broken = m;
    broken.item_factors.pop_back();
    REQUIRE_THROWS_MATCHES(
        predict(ref, broken, ids(u), ids(u), mview(out)), shape_error,
        test::what_is(Contains("recfuse::predict") &&
                      Contains("model.item_factors has 23 elements but model.items * "
                               "model.factors is 24")));
    broken = m;
    broken.user_bias.push_back(0);
    REQUIRE_THROWS_MATCHES(
        predict(ref, broken, ids(u), ids(u), mview(out)), shape_error,
        test::what_is(Contains("model.user_bias has 11 elements but model.users is 10")));
    biased_mf_model<float> wide;
    wide.factors = 65537;
    REQUIRE_THROWS_MATCHES(
        predict(ref, wide, ids(u), ids(u), mview(out)), shape_error,
        test::what_is(Contains("recfuse::predict") && Contains("factors = 65537")));
  }

  SECTION("fold_in_user") {
    const std::vector<std::int32_t> items = {0, 3, 7};
    std::vector<float> ratings = {1, 2, 3};
    std::vector<float> p(3);
    const std::vector<float> two = {1, 2};
    REQUIRE_THROWS_MATCHES(
        fold_in_user(ref, m, ids(items), cview(two), mview(p)), shape_error,
        test::what_is(Contains("recfuse::fold_in_user") && Contains("ratings.size()")));
    std::vector<float> p4(4);
    REQUIRE_THROWS_MATCHES(
        fold_in_user(ref, m, ids(items), cview(ratings), mview(p4)), shape_error,
        test::what_is(Contains("recfuse::fold_in_user") && Contains("factors_out.size() is 4")));
    const std::vector<std::int32_t> far = {0, 8, 1};
    REQUIRE_THROWS_MATCHES(
        fold_in_user(ref, m, ids(far), cview(ratings), mview(p)), index_error,
        test::what_is(Contains("recfuse::fold_in_user") && Contains("items[1] is 8")));
    const std::vector<std::int32_t> neg = {0, 1, -2};
    REQUIRE_THROWS_MATCHES(fold_in_user(ref, m, ids(neg), cview(ratings), mview(p)), index_error,
                           test::what_is(Contains("items[2] is -2")));
    ratings[1] = nan;
    REQUIRE_THROWS_MATCHES(fold_in_user(ref, m, ids(items), cview(ratings), mview(p)), value_error,
                           test::what_is(Contains("recfuse::fold_in_user") &&
                                         Contains("ratings[1]") && Contains("nan")));
    ratings[1] = 2;
    REQUIRE_THROWS_MATCHES(
        fold_in_user(ref, m, ids(items), cview(ratings), mview(p), als_options{.reg_bias = -1}),
        value_error,
        test::what_is(Contains("recfuse::fold_in_user") && Contains("reg_bias is -1")));
    REQUIRE_THROWS_MATCHES(
        fold_in_user(ref, m, ids(items), cview(ratings), mview(p), als_options{.reg_factor = 1e39}),
        value_error,
        test::what_is(Contains("recfuse::fold_in_user") &&
                      Contains("options.reg_factor is 1e+39, which overflows float")));
  }

  SECTION("refit_users and refit_items") {
    auto mm = m;
    const std::vector<std::int32_t> rows = {0, 2};
    interactions<float> other = d;
    other.users = 11;
    REQUIRE_THROWS_MATCHES(
        refit_users(ref, mm, other.view(), ids(rows)), shape_error,
        test::what_is(Contains("recfuse::refit_users") && Contains("users = 11")));
    other = d;
    other.items = 7;
    for (auto& i : other.item) i = std::min(i, 6);
    REQUIRE_THROWS_MATCHES(
        refit_items(ref, mm, other.view(), ids(rows)), shape_error,
        test::what_is(Contains("recfuse::refit_items") && Contains("items = 7")));
    const std::vector<std::int32_t> far = {1, 10};
    REQUIRE_THROWS_MATCHES(
        refit_users(ref, mm, dv, ids(far)), index_error,
        test::what_is(Contains("recfuse::refit_users") && Contains("users[1] is 10")));
    const std::vector<std::int32_t> neg = {-1};
    REQUIRE_THROWS_MATCHES(
        refit_items(ref, mm, dv, ids(neg)), index_error,
        test::what_is(Contains("recfuse::refit_items") && Contains("items[0] is -1")));
    other = d;
    other.value[3] = inf;
    REQUIRE_THROWS_MATCHES(refit_items(ref, mm, other.view(), ids(rows)), value_error,
                           test::what_is(Contains("recfuse::refit_items") && Contains("entry 3")));
    REQUIRE_THROWS_MATCHES(
        refit_users(ref, mm, dv, ids(rows), als_options{.reg_factor = -1}), value_error,
        test::what_is(Contains("recfuse::refit_users") && Contains("reg_factor is -1")));
    REQUIRE_THROWS_MATCHES(
        refit_items(ref, mm, dv, ids(rows), als_options{.reg_bias = 1e39}), value_error,
        test::what_is(Contains("recfuse::refit_items") &&
                      Contains("options.reg_bias is 1e+39, which overflows float")));
    CHECK(mm.user_factors == m.user_factors);  // nothing was touched by the failed calls
    CHECK(mm.item_factors == m.item_factors);
  }
}

TEMPLATE_TEST_CASE("refit on empty data: the listed rows get zeros", "[factorize][reference]",
                   float, double) {
  using T = TestType;
  // As in fit_biased_als, a row without ratings gets zero factors and a zero bias; empty data
  // is accepted (it used to be a value_error for this family only).
  const auto d = rating_grid<T>(10, 8, 0.5, 3);
  als_options o;
  o.factors = 3;
  o.iterations = 2;
  const auto m = fit_biased_als(exec::reference{}, d.view(), o);
  interactions<T> empty;
  empty.users = d.users;
  empty.items = d.items;
  auto r = m;
  const std::vector<std::int32_t> users = {7, 2, 7}, items = {0};
  refit_users(exec::reference{}, r, empty.view(), ids(users), o);
  refit_items(exec::reference{}, r, empty.view(), ids(items), o);
  for (index_t u = 0; u < d.users; ++u) {
    const bool listed = u == 2 || u == 7;
    CAPTURE(u);
    CHECK(r.user_bias[u] == (listed ? T(0) : m.user_bias[u]));
    for (index_t f = 0; f < 3; ++f) {
      CHECK(r.user_factors[u * 3 + f] == (listed ? T(0) : m.user_factors[u * 3 + f]));
    }
  }
  for (index_t i = 0; i < d.items; ++i) {
    CAPTURE(i);
    CHECK(r.item_bias[i] == (i == 0 ? T(0) : m.item_bias[i]));
    for (index_t f = 0; f < 3; ++f) {
      CHECK(r.item_factors[i * 3 + f] == (i == 0 ? T(0) : m.item_factors[i * 3 + f]));
    }
  }
  CHECK(m.user_bias[2] != T(0));  // the listed rows did change
  CHECK(m.item_factors[0] != T(0));
}
