// Implicit ALS on the reference backend: hand-computed solves, the gramian and the objective;
// CG against Cholesky; fold-in and refit against one more fit iteration; the objective never
// increasing; every error path.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "recfuse/factorize/implicit_als.hpp"
#include "test_support.hpp"

using namespace recfuse;

namespace {

// REQUIRE_THROWS_MATCHES with a string matcher on the message.
#define IALS_REQUIRE_THROWS(expr, type, matcher) \
  REQUIRE_THROWS_MATCHES(expr, type, test::what_is(matcher))

template <class T>
implicit_mf_model<T> items_only_model(index_t k, std::vector<T> item_factors) {
  implicit_mf_model<T> m;
  m.factors = k;
  m.items = static_cast<index_t>(item_factors.size()) / k;
  m.item_factors = std::move(item_factors);
  return m;
}

using test::cview;
using test::mview;

// Random interactions: `users` x `items`, each pair present with probability `density`, value
// in {1, 2, 3}; user 0 has none (a 0-interaction row), so does the last item.
template <class T>
interactions<T> random_interactions(index_t users, index_t items, double density,
                                    std::uint64_t seed) {
  interactions<T> d;
  d.users = users;
  d.items = items;
  const auto u01 = test::random_vector<double>(users * items, seed, 0.0, 1.0);
  for (index_t u = 1; u < users; ++u) {
    for (index_t i = 0; i + 1 < items; ++i) {
      const double r = u01[u * items + i];
      if (r < density) {
        d.user.push_back(static_cast<std::int32_t>(u));
        d.item.push_back(static_cast<std::int32_t>(i));
        d.value.push_back(static_cast<T>(1 + static_cast<int>(3 * r / density)));
      }
    }
  }
  return d;
}

// The user's entries in input order (the order fit's CSR keeps).
template <class T>
void entries_of(const interactions<T>& d, index_t u, std::vector<std::int32_t>& ids,
                std::vector<T>& values) {
  ids.clear();
  values.clear();
  for (index_t e = 0; e < d.size(); ++e) {
    if (d.user[e] == u) {
      ids.push_back(d.item[e]);
      values.push_back(d.value[e]);
    }
  }
}

// f(x) = x^T A x / 2 - b^T x for one user's system (A, b as in implicit_als.hpp), in double.
double row_objective(const implicit_mf_model<double>& m, const std::vector<std::int32_t>& ids,
                     const std::vector<double>& values, const implicit_als_options& o,
                     const std::vector<double>& x) {
  const index_t k = m.factors;
  double xax = 0, bx = 0;
  for (index_t i = 0; i < m.items; ++i) {
    double s = 0;
    for (index_t j = 0; j < k; ++j) s += m.item_factors[i * k + j] * x[j];
    xax += s * s;
  }
  for (index_t j = 0; j < k; ++j) xax += o.regularization * x[j] * x[j];
  for (std::size_t e = 0; e < ids.size(); ++e) {
    double s = 0;
    for (index_t j = 0; j < k; ++j) s += m.item_factors[ids[e] * k + j] * x[j];
    xax += o.alpha * values[e] * s * s;
    if (values[e] > 0) bx += (1 + o.alpha * values[e]) * s;
  }
  return 0.5 * xax - bx;
}

}  // namespace

TEST_CASE("implicit ALS reference: gramian by hand", "[factorize][implicit]") {
  std::vector<double> f = {1, 2, 3, 4, 5, 6};  // 3 x 2
  const auto g = gramian(exec::reference{}, matrix_view<const double>(f.data(), 3, 2));
  CHECK(g == std::vector<double>{35, 44, 44, 56});
  // A row stride: rows (1, 2) and (5, 6) of a 2 x 2 view with stride 4.
  std::vector<float> s = {1, 2, 9, 9, 5, 6, 9, 9};
  const auto gs = gramian(exec::reference{}, matrix_view<const float>(s.data(), 2, 2, 4));
  CHECK(gs == std::vector<float>{26, 32, 32, 40});
  CHECK(gramian(exec::reference{}, matrix_view<const float>(nullptr, 0, 3)) ==
        std::vector<float>(9, 0.0f));
  CHECK(gramian(exec::reference{}, matrix_view<const float>(nullptr, 0, 0)).empty());
}

TEST_CASE("implicit ALS reference: one-factor fold-in by hand", "[factorize][implicit]") {
  // Items y = (1), (2); the user has item 0 with value 1; alpha = 1 -> c = 2; reg = 1.
  // A = Y^T Y + (c - 1) y0^2 + reg = 5 + 1 + 1 = 7, b = c * y0 = 2, x = 2 / 7.
  // CG needs one step for k = 1: r = 2, Ap = 14, step = 4 / 28, x = 2 / 7.
  const auto m = items_only_model<double>(1, {1, 2});
  const auto gram = gramian(exec::reference{}, m.item_matrix());
  std::vector<std::int32_t> ids = {0};
  std::vector<double> values = {1};
  implicit_als_options o;
  o.alpha = 1;
  o.regularization = 1;
  for (auto solver : {implicit_solver::cholesky, implicit_solver::conjugate_gradient}) {
    o.solver = solver;
    o.cg_steps = 1;
    std::vector<double> x = {0};
    fold_in_user(exec::reference{}, m, cview(gram), cview(ids), cview(values), mview(x), o);
    CHECK(x[0] == Approx(2.0 / 7.0).epsilon(1e-14));
  }
}

TEST_CASE("implicit ALS reference: two-factor fold-in by hand", "[factorize][implicit]") {
  // Items y0 = (1, 0), y1 = (0, 1), y2 = (1, 1): Y^T Y = [[2, 1], [1, 2]]. alpha = 1, reg = 1.
  // Entries: item 0 value 1 (c = 2), item 2 value 2 (c = 3), item 1 value 0 (no effect).
  // A = [[2, 1], [1, 2]] + 1 [[1, 0], [0, 0]] + 2 [[1, 1], [1, 1]] + I = [[6, 3], [3, 5]]
  // b = 2 (1, 0) + 3 (1, 1) = (5, 3); det = 21; x = [[5, -3], [-3, 6]] (5, 3) / 21
  //   = (16 / 21, 3 / 21). CG reaches it in k = 2 steps from any start.
  const auto m = items_only_model<double>(2, {1, 0, 0, 1, 1, 1});
  const auto gram = gramian(exec::reference{}, m.item_matrix());
  std::vector<std::int32_t> ids = {0, 2, 1};
  std::vector<double> values = {1, 2, 0};
  implicit_als_options o;
  o.alpha = 1;
  o.regularization = 1;
  for (auto solver : {implicit_solver::cholesky, implicit_solver::conjugate_gradient}) {
    o.solver = solver;
    o.cg_steps = 2;
    std::vector<double> x = {0.3, -2.0};  // CG warm start; Cholesky ignores it
    fold_in_user(exec::reference{}, m, cview(gram), cview(ids), cview(values), mview(x), o);
    CHECK(x[0] == Approx(16.0 / 21.0).epsilon(1e-13));
    CHECK(x[1] == Approx(3.0 / 21.0).epsilon(1e-13));
  }
  // No entries: the solution is 0 with either solver.
  for (auto solver : {implicit_solver::cholesky, implicit_solver::conjugate_gradient}) {
    o.solver = solver;
    std::vector<double> x = {0.3, -2.0};
    fold_in_user(exec::reference{}, m, cview(gram), vector_view<const std::int32_t>{},
                 vector_view<const double>{}, mview(x), o);
    CHECK(x == std::vector<double>{0, 0});
  }
}

TEST_CASE("implicit ALS reference: objective by hand", "[factorize][implicit]") {
  // One user x = 1, items y = 1, 2; entry (0, 0) value 1, alpha 1 (c = 2), reg 0.5.
  // Pair (0, 0): 2 (1 - 1)^2 = 0; pair (0, 1): 1 (0 - 2)^2 = 4; reg 0.5 (1 + 1 + 4) = 3.
  implicit_mf_model<double> m;
  m.users = 1;
  m.items = 2;
  m.factors = 1;
  m.user_factors = {1};
  m.item_factors = {1, 2};
  interactions<double> d;
  d.users = 1;
  d.items = 2;
  d.user = {0};
  d.item = {0};
  d.value = {1};
  implicit_als_options o;
  o.alpha = 1;
  o.regularization = 0.5;
  CHECK(reference_backend::implicit_als_objective(m, d.view(), o) == Approx(7.0));
}

TEST_CASE("implicit ALS reference: CG reaches Cholesky in k steps, objective falls each step",
          "[factorize][implicit]") {
  const index_t k = 6;
  const auto y = test::random_vector<double>(40 * k, 7, -1.0, 1.0);
  const auto m = items_only_model<double>(k, y);
  const auto gram = gramian(exec::reference{}, m.item_matrix());
  std::vector<std::int32_t> ids = {3, 17, 5, 22, 39, 0, 11};
  std::vector<double> values = {1, 3, 0.5, 2, 1, 4, 1};
  implicit_als_options o;
  o.alpha = 2;
  o.regularization = 0.5;
  o.solver = implicit_solver::cholesky;
  std::vector<double> exact(k);
  fold_in_user(exec::reference{}, m, cview(gram), cview(ids), cview(values), mview(exact), o);
  o.solver = implicit_solver::conjugate_gradient;
  double last = row_objective(m, ids, values, o, std::vector<double>(k, 0.0));
  for (int steps = 1; steps <= k; ++steps) {
    o.cg_steps = steps;
    std::vector<double> x(k, 0.0);
    fold_in_user(exec::reference{}, m, cview(gram), cview(ids), cview(values), mview(x), o);
    const double f = row_objective(m, ids, values, o, x);
    CAPTURE(steps, f, last);
    CHECK(f < last);
    last = f;
    if (steps == k) {
      for (index_t j = 0; j < k; ++j) CHECK(x[j] == Approx(exact[j]).epsilon(1e-9).margin(1e-12));
    }
  }
  CHECK(row_objective(m, ids, values, o, exact) == Approx(last).epsilon(1e-12));
}

TEST_CASE("implicit ALS reference: initialisation is seeded and in [0, init_scale)",
          "[factorize][implicit]") {
  const auto d = random_interactions<float>(7, 5, 0.5, 3);
  implicit_als_options o;
  o.factors = 3;
  o.iterations = 0;
  o.init_scale = 0.25;
  const auto a = fit_implicit_als(exec::reference{}, d.view(), o);
  const auto b = fit_implicit_als(exec::reference{}, d.view(), o);
  CHECK(a.users == 7);
  CHECK(a.items == 5);
  CHECK(a.factors == 3);
  CHECK(a.user_factors.size() == 21);
  CHECK(a.item_factors.size() == 15);
  CHECK(a.user_factors == b.user_factors);
  CHECK(a.item_factors == b.item_factors);
  for (float v : a.user_factors) CHECK((v >= 0.0f && v < 0.25f));
  // splitmix64 seeded with 42, first draw: the same on every platform.
  CHECK(a.user_factors[0] ==
        static_cast<float>(0.25 * static_cast<double>(0xBDD732262FEB6E95ULL >> 11) * 0x1.0p-53));
  o.seed = 43;
  const auto c = fit_implicit_als(exec::reference{}, d.view(), o);
  CHECK(c.user_factors != a.user_factors);
}

TEMPLATE_TEST_CASE("implicit ALS reference: the objective never increases", "[factorize][implicit]",
                   float, double) {
  const auto d = random_interactions<TestType>(30, 25, 0.2, 11);
  for (auto solver : {implicit_solver::cholesky, implicit_solver::conjugate_gradient}) {
    implicit_als_options o;
    o.factors = 5;
    o.regularization = 0.3;
    o.alpha = 3;
    o.solver = solver;
    o.init_scale = 0.5;
    double last = std::numeric_limits<double>::infinity();
    for (int it = 0; it <= 6; ++it) {
      o.iterations = it;
      const auto m = fit_implicit_als(exec::reference{}, d.view(), o);
      const double loss = reference_backend::implicit_als_objective(m, d.view(), o);
      CAPTURE(static_cast<int>(solver), it, loss, last);
      CHECK(std::isfinite(loss));
      CHECK(loss <= last * (1 + 10 * test::tolerance<TestType>()));
      last = loss;
    }
  }
}

TEMPLATE_TEST_CASE("implicit ALS reference: fold-in and refit equal one more iteration",
                   "[factorize][implicit]", float, double) {
  const auto d = random_interactions<TestType>(20, 15, 0.3, 5);
  for (auto solver : {implicit_solver::cholesky, implicit_solver::conjugate_gradient}) {
    CAPTURE(static_cast<int>(solver));
    implicit_als_options o;
    o.factors = 4;
    o.regularization = 0.2;
    o.alpha = 2;
    o.solver = solver;
    o.iterations = 3;
    const auto m3 = fit_implicit_als(exec::reference{}, d.view(), o);
    o.iterations = 4;
    const auto m4 = fit_implicit_als(exec::reference{}, d.view(), o);
    const auto gram = gramian(exec::reference{}, m3.item_matrix());
    std::vector<std::int32_t> ids;
    std::vector<TestType> values;
    for (index_t u = 0; u < d.users; ++u) {
      entries_of(d, u, ids, values);
      std::vector<TestType> x(m3.user_factors.begin() + u * 4, m3.user_factors.begin() + u * 4 + 4);
      fold_in_user(exec::reference{}, m3, cview(gram), cview(ids), cview(values), mview(x), o);
      CAPTURE(u);
      CHECK(std::equal(x.begin(), x.end(), m4.user_factors.begin() + u * 4));
    }
    // refit_users then refit_items over every row is the 4th iteration.
    auto m = m3;
    std::vector<std::int32_t> all_users(static_cast<std::size_t>(d.users)),
        all_items(static_cast<std::size_t>(d.items));
    for (std::size_t u = 0; u < all_users.size(); ++u) all_users[u] = static_cast<std::int32_t>(u);
    for (std::size_t i = 0; i < all_items.size(); ++i) all_items[i] = static_cast<std::int32_t>(i);
    refit_users(exec::reference{}, m, d.view(), cview(all_users), o);
    CHECK(m.user_factors == m4.user_factors);
    CHECK(m.item_factors == m3.item_factors);
    refit_items(exec::reference{}, m, d.view(), cview(all_items), o);
    CHECK(m.item_factors == m4.item_factors);
    // A subset (unsorted, with a repeat) changes only the listed rows.
    auto s = m3;
    std::vector<std::int32_t> some = {7, 2, 7, 0};
    refit_users(exec::reference{}, s, d.view(), cview(some), o);
    for (index_t u = 0; u < d.users; ++u) {
      const auto& want = (u == 7 || u == 2 || u == 0) ? m4.user_factors : m3.user_factors;
      CAPTURE(u);
      CHECK(std::equal(s.user_factors.begin() + u * 4, s.user_factors.begin() + u * 4 + 4,
                       want.begin() + u * 4));
    }
  }
}

TEST_CASE("implicit ALS reference: rows without interactions are zero", "[factorize][implicit]") {
  const auto d = random_interactions<double>(6, 5, 0.6, 9);  // user 0 and item 4 have none
  for (auto solver : {implicit_solver::cholesky, implicit_solver::conjugate_gradient}) {
    implicit_als_options o;
    o.factors = 3;
    o.iterations = 2;
    o.regularization = 0.1;
    o.solver = solver;
    const auto m = fit_implicit_als(exec::reference{}, d.view(), o);
    for (index_t j = 0; j < 3; ++j) {
      CHECK(m.user_factors[j] == 0.0);
      CHECK(m.item_factors[4 * 3 + j] == 0.0);
    }
    CHECK(m.user_factors[3] != 0.0);
  }
}

TEST_CASE("implicit ALS reference: zero-valued entries change nothing", "[factorize][implicit]") {
  auto d = random_interactions<double>(8, 6, 0.5, 21);
  implicit_als_options o;
  o.factors = 3;
  o.iterations = 3;
  o.regularization = 0.1;
  o.solver = implicit_solver::cholesky;
  const auto base = fit_implicit_als(exec::reference{}, d.view(), o);
  // An entry of value 0 for (user 3, item 5) has preference 0 and confidence 1: as if absent.
  d.user.push_back(3);
  d.item.push_back(5);
  d.value.push_back(0.0);
  const auto with_zero = fit_implicit_als(exec::reference{}, d.view(), o);
  for (std::size_t j = 0; j < base.user_factors.size(); ++j) {
    CHECK(with_zero.user_factors[j] == Approx(base.user_factors[j]).margin(1e-12));
  }
}

TEST_CASE("implicit ALS reference: errors", "[factorize][implicit]") {
  using Catch::Matchers::Contains;
  const exec::reference ref;
  interactions<float> d;
  d.users = 3;
  d.items = 4;
  d.user = {0, 1, 2};
  d.item = {1, 2, 3};
  d.value = {1, 2, 1};
  implicit_als_options o;
  o.factors = 2;
  o.iterations = 1;
  o.regularization = 0.1;
  const std::string fit = "recfuse::fit_implicit_als";

  SECTION("options") {
    auto bad = o;
    bad.factors = 0;
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, d.view(), bad), value_error,
                        Contains(fit) && Contains("options.factors is 0"));
    bad = o;
    bad.iterations = -1;
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, d.view(), bad), value_error,
                        Contains(fit) && Contains("options.iterations is -1"));
    bad = o;
    bad.cg_steps = 0;
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, d.view(), bad), value_error,
                        Contains(fit) && Contains("options.cg_steps is 0"));
    bad.solver = implicit_solver::cholesky;  // cg_steps is not used by Cholesky
    CHECK_NOTHROW(fit_implicit_als(ref, d.view(), bad));
    bad = o;
    bad.regularization = -0.5;
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, d.view(), bad), value_error,
                        Contains(fit) && Contains("options.regularization is -0.5"));
    bad.regularization = std::numeric_limits<double>::quiet_NaN();
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, d.view(), bad), value_error,
                        Contains(fit) && Contains("options.regularization is nan"));
    bad = o;
    bad.alpha = -2;
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, d.view(), bad), value_error,
                        Contains(fit) && Contains("options.alpha is -2"));
    bad.alpha = std::numeric_limits<double>::infinity();
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, d.view(), bad), value_error,
                        Contains(fit) && Contains("options.alpha is inf"));
    bad = o;
    bad.init_scale = -1;
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, d.view(), bad), value_error,
                        Contains(fit) && Contains("options.init_scale is -1"));
    bad = o;
    bad.solver = static_cast<implicit_solver>(7);
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, d.view(), bad), value_error,
                        Contains(fit) && Contains("options.solver is 7"));
  }
  SECTION("training data") {
    auto bad = d;
    bad.value[1] = -1;
    IALS_REQUIRE_THROWS(
        fit_implicit_als(ref, bad.view(), o), value_error,
        Contains(fit) && Contains("entry 1 (user 1, item 2) has value -1") && Contains(">= 0"));
    bad.value[1] = std::numeric_limits<float>::quiet_NaN();
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, bad.view(), o), value_error,
                        Contains(fit) && Contains("entry 1 (user 1, item 2) has value nan"));
    bad.value[1] = std::numeric_limits<float>::infinity();
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, bad.view(), o), value_error,
                        Contains(fit) && Contains("entry 1"));
    bad.value[1] = 3e38f;  // 1 + alpha * 3e38 overflows float
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, bad.view(), o), value_error,
                        Contains(fit) && Contains("overflows"));
    bad = d;
    bad.item[2] = 4;
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, bad.view(), o), index_error,
                        Contains(fit) && Contains("item id 4"));
    bad = d;
    bad.user[0] = -1;
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, bad.view(), o), index_error,
                        Contains(fit) && Contains("user id -1"));
    bad = d;
    bad.value.pop_back();
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, bad.view(), o), shape_error, Contains(fit));
    interactions<float> empty;
    empty.users = 3;
    empty.items = 4;
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, empty.view(), o), value_error,
                        Contains(fit) && Contains("empty"));
  }
  SECTION("Cholesky without regularization on a singular system") {
    auto bad = o;
    bad.regularization = 0;
    bad.solver = implicit_solver::cholesky;
    bad.init_scale = 0;  // zero item factors: A = 0 for every user
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, d.view(), bad), value_error,
                        Contains(fit) && Contains("system of user 0 is not positive definite"));
  }
  SECTION("gramian") {
    std::vector<float> f(6, 1.0f);
    IALS_REQUIRE_THROWS(gramian(ref, matrix_view<const float>(f.data(), 2, 3, 2)), shape_error,
                        Contains("recfuse::gramian") && Contains("stride = 2"));
    IALS_REQUIRE_THROWS(gramian(ref, matrix_view<const float>(nullptr, 2, 3)), value_error,
                        Contains("recfuse::gramian"));
  }
  SECTION("fold-in") {
    const std::string fn = "recfuse::fold_in_user";
    const auto m = fit_implicit_als(ref, d.view(), o);
    auto gram = gramian(ref, m.item_matrix());
    std::vector<std::int32_t> ids = {0, 3};
    std::vector<float> values = {1, 2};
    std::vector<float> x(2, 0.0f);
    CHECK_NOTHROW(fold_in_user(ref, m, cview(gram), cview(ids), cview(values), mview(x), o));
    std::vector<float> small_gram(3, 1.0f);
    IALS_REQUIRE_THROWS(
        fold_in_user(ref, m, cview(small_gram), cview(ids), cview(values), mview(x), o),
        shape_error, Contains(fn) && Contains("item_gram.size() is 3"));
    std::vector<float> x3(3, 0.0f);
    IALS_REQUIRE_THROWS(fold_in_user(ref, m, cview(gram), cview(ids), cview(values), mview(x3), o),
                        shape_error, Contains(fn) && Contains("factors_out.size() is 3"));
    std::vector<float> one_value = {1};
    IALS_REQUIRE_THROWS(
        fold_in_user(ref, m, cview(gram), cview(ids), cview(one_value), mview(x), o), shape_error,
        Contains(fn) && Contains("values.size() is 1"));
    std::vector<std::int32_t> bad_ids = {0, 4};
    IALS_REQUIRE_THROWS(
        fold_in_user(ref, m, cview(gram), cview(bad_ids), cview(values), mview(x), o), index_error,
        Contains(fn) && Contains("items[1] is 4"));
    bad_ids = {-3, 1};
    IALS_REQUIRE_THROWS(
        fold_in_user(ref, m, cview(gram), cview(bad_ids), cview(values), mview(x), o), index_error,
        Contains(fn) && Contains("items[0] is -3"));
    std::vector<float> bad_values = {1, -0.5f};
    IALS_REQUIRE_THROWS(
        fold_in_user(ref, m, cview(gram), cview(ids), cview(bad_values), mview(x), o), value_error,
        Contains(fn) && Contains("values[1] (item 3) is -0.5"));
    bad_values = {std::numeric_limits<float>::quiet_NaN(), 1};
    IALS_REQUIRE_THROWS(
        fold_in_user(ref, m, cview(gram), cview(ids), cview(bad_values), mview(x), o), value_error,
        Contains(fn) && Contains("values[0] (item 0) is nan"));
    auto bad_o = o;
    bad_o.alpha = -1;
    IALS_REQUIRE_THROWS(
        fold_in_user(ref, m, cview(gram), cview(ids), cview(values), mview(x), bad_o), value_error,
        Contains(fn) && Contains("options.alpha is -1"));
    bad_o = o;
    bad_o.cg_steps = -2;
    IALS_REQUIRE_THROWS(
        fold_in_user(ref, m, cview(gram), cview(ids), cview(values), mview(x), bad_o), value_error,
        Contains(fn) && Contains("options.cg_steps is -2"));
    auto broken = m;
    broken.item_factors.pop_back();
    IALS_REQUIRE_THROWS(
        fold_in_user(ref, broken, cview(gram), cview(ids), cview(values), mview(x), o), shape_error,
        Contains(fn) &&
            Contains("model.item_factors has 7 elements but model.items * model.factors is 8"));
  }
  SECTION("refit") {
    auto m = fit_implicit_als(ref, d.view(), o);
    std::vector<std::int32_t> users = {0, 3};
    IALS_REQUIRE_THROWS(refit_users(ref, m, d.view(), cview(users), o), index_error,
                        Contains("recfuse::refit_users") && Contains("users[1] is 3"));
    std::vector<std::int32_t> items = {-1};
    IALS_REQUIRE_THROWS(refit_items(ref, m, d.view(), cview(items), o), index_error,
                        Contains("recfuse::refit_items") && Contains("items[0] is -1"));
    auto other = d;
    other.items = 5;
    items = {0};
    IALS_REQUIRE_THROWS(refit_items(ref, m, other.view(), cview(items), o), shape_error,
                        Contains("recfuse::refit_items") && Contains("data.items is 5"));
    other = d;
    other.value[0] = -3;
    IALS_REQUIRE_THROWS(refit_items(ref, m, other.view(), cview(items), o), value_error,
                        Contains("recfuse::refit_items") && Contains("has value -3"));
    auto bad_o = o;
    bad_o.regularization = -1;
    IALS_REQUIRE_THROWS(
        refit_users(ref, m, d.view(), cview(items), bad_o), value_error,
        Contains("recfuse::refit_users") && Contains("options.regularization is -1"));
    // No rows listed: nothing changes.
    const auto before = m.user_factors;
    refit_users(ref, m, d.view(), vector_view<const std::int32_t>{}, o);
    CHECK(m.user_factors == before);
  }
}

TEST_CASE("implicit ALS reference: factor count limit and options that overflow float",
          "[factorize][implicit]") {
  using Catch::Matchers::Contains;
  const exec::reference ref;
  interactions<float> d;
  d.users = 3;
  d.items = 4;
  d.user = {0, 1, 2};
  d.item = {1, 2, 3};
  d.value = {1, 2, 1};
  implicit_als_options o;
  o.factors = 2;
  o.iterations = 1;
  o.regularization = 0.1;
  const std::string fit = "recfuse::fit_implicit_als";

  SECTION("factors") {
    // 2^32 factors made k * k wrap to 0 in the half sweep, and the gramian wrote past its end.
    for (index_t k : {index_t{65537}, index_t{1} << 32, index_t{1} << 40}) {
      auto bad = o;
      bad.factors = k;
      CAPTURE(k);
      IALS_REQUIRE_THROWS(fit_implicit_als(ref, d.view(), bad), value_error,
                          Contains(fit) && Contains("options.factors is " + std::to_string(k)) &&
                              Contains("1 <= factors <= 65536"));
    }
    auto most = o;
    most.factors = 65536;
    most.iterations = 0;  // the initial model only: a 65536 x 65536 gramian would need 16 GiB
    const auto m = fit_implicit_als(ref, d.view(), most);
    CHECK(m.factors == 65536);
    CHECK(m.user_factors.size() == 3u * 65536u);
    // A model or a gramian input beyond the limit is a shape error.
    implicit_mf_model<float> wide;
    wide.factors = 65537;
    std::vector<float> x;
    IALS_REQUIRE_THROWS(
        fold_in_user(ref, wide, vector_view<const float>{}, vector_view<const std::int32_t>{},
                     vector_view<const float>{}, mview(x), o),
        shape_error, Contains("recfuse::fold_in_user") && Contains("factors = 65537"));
    interactions<float> none;
    IALS_REQUIRE_THROWS(refit_users(ref, wide, none.view(), vector_view<const std::int32_t>{}, o),
                        shape_error,
                        Contains("recfuse::refit_users") && Contains("factors = 65537"));
    IALS_REQUIRE_THROWS(gramian(ref, matrix_view<const float>(nullptr, 0, index_t{1} << 32)),
                        shape_error, Contains("recfuse::gramian") && Contains("cols = 4294967296"));
  }
  SECTION("real options must be finite as T") {
    // Finite doubles that are inf as floats: the float kernels would compute with inf.
    auto bad = o;
    bad.alpha = 1e39;
    IALS_REQUIRE_THROWS(
        fit_implicit_als(ref, d.view(), bad), value_error,
        Contains(fit) && Contains("options.alpha is 1e+39") && Contains("overflows float"));
    bad = o;
    bad.regularization = 3.5e38;
    IALS_REQUIRE_THROWS(fit_implicit_als(ref, d.view(), bad), value_error,
                        Contains(fit) && Contains("options.regularization is 3.5e+38") &&
                            Contains("overflows float"));
    bad = o;
    bad.init_scale = 1e300;
    IALS_REQUIRE_THROWS(
        fit_implicit_als(ref, d.view(), bad), value_error,
        Contains(fit) && Contains("options.init_scale is 1e+300") && Contains("overflows float"));
    // The same options are fine for a double model.
    interactions<double> dd;
    dd.users = 3;
    dd.items = 4;
    dd.user = d.user;
    dd.item = d.item;
    dd.value = {1, 2, 1};
    bad = o;
    bad.alpha = 1e39;
    bad.iterations = 0;
    CHECK_NOTHROW(fit_implicit_als(ref, dd.view(), bad));
    // fold-in and refit check them too.
    auto m = fit_implicit_als(ref, d.view(), o);
    const auto gram = gramian(ref, m.item_matrix());
    std::vector<std::int32_t> ids = {0};
    std::vector<float> values = {1};
    std::vector<float> x(2, 0.0f);
    bad = o;
    bad.regularization = 1e39;
    IALS_REQUIRE_THROWS(
        fold_in_user(ref, m, cview(gram), cview(ids), cview(values), mview(x), bad), value_error,
        Contains("recfuse::fold_in_user") && Contains("options.regularization is 1e+39") &&
            Contains("overflows float"));
    bad = o;
    bad.alpha = 1e39;
    IALS_REQUIRE_THROWS(refit_items(ref, m, d.view(), cview(ids), bad), value_error,
                        Contains("recfuse::refit_items") && Contains("options.alpha is 1e+39") &&
                            Contains("overflows float"));
  }
}

TEST_CASE("implicit ALS reference: refit on empty data zeroes the listed rows",
          "[factorize][implicit]") {
  const auto d = random_interactions<double>(8, 6, 0.6, 4);
  for (auto solver : {implicit_solver::cholesky, implicit_solver::conjugate_gradient}) {
    CAPTURE(static_cast<int>(solver));
    implicit_als_options o;
    o.factors = 3;
    o.iterations = 2;
    o.regularization = 0.1;
    o.solver = solver;
    const auto m = fit_implicit_als(exec::reference{}, d.view(), o);
    interactions<double> empty;
    empty.users = d.users;
    empty.items = d.items;
    auto r = m;
    const std::vector<std::int32_t> users = {5, 2, 5};
    refit_users(exec::reference{}, r, empty.view(), cview(users), o);
    const std::vector<std::int32_t> items = {1};
    refit_items(exec::reference{}, r, empty.view(), cview(items), o);
    for (index_t u = 0; u < d.users; ++u) {
      for (index_t j = 0; j < 3; ++j) {
        CAPTURE(u, j);
        CHECK(r.user_factors[u * 3 + j] == (u == 2 || u == 5 ? 0.0 : m.user_factors[u * 3 + j]));
      }
    }
    for (index_t i = 0; i < d.items; ++i) {
      for (index_t j = 0; j < 3; ++j) {
        CAPTURE(i, j);
        CHECK(r.item_factors[i * 3 + j] == (i == 1 ? 0.0 : m.item_factors[i * 3 + j]));
      }
    }
    CHECK(m.user_factors[2 * 3] != 0.0);  // the rows did change
  }
}
