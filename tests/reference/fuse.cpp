// The fuse component on the reference backend: blend and blend_contributions against
// hand-computed values; explain_factorization against hand-solved 2-factor systems and against
// fold_in_user's prediction on random models; learned_fusion's fit, predict and integrated
// gradients (completeness, exact additivity of a linear model, group attribution, seeds);
// every error path.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "recfuse/factorize/biased_mf.hpp"
#include "recfuse/factorize/implicit_als.hpp"
#include "recfuse/fuse/blend.hpp"
#include "recfuse/fuse/explain.hpp"
#include "recfuse/fuse/learned.hpp"
#include "test_support.hpp"

using namespace recfuse;
using test::cview;
using test::mview;

namespace {

const reference_backend::policy ref;

#define FUSE_REQUIRE_THROWS(expr, type, matcher) \
  REQUIRE_THROWS_MATCHES(expr, type, test::what_is(matcher))

template <class T>
std::vector<vector_view<const T>> views_of(const std::vector<std::vector<T>>& s) {
  std::vector<vector_view<const T>> v;
  for (const auto& x : s) v.push_back(cview(x));
  return v;
}

}  // namespace

// ---- blend -------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("fuse::blend: three scorers by hand", "[fuse][blend]", float, double) {
  using T = TestType;
  const std::vector<std::vector<T>> s = {{1, 2, 3, 4}, {0.5, -1, 2, 0}, {10, 0, -10, 1}};
  const std::vector<double> w = {0.5, 2.0, 0.1};
  const auto views = views_of(s);
  std::vector<T> out(4, T(-7));
  fuse::blend(ref, views, w, mview(out));
  const std::vector<double> expect = {2.5, -1.0, 4.5, 2.1};
  for (std::size_t i = 0; i < 4; ++i) CHECK(out[i] == Approx(expect[i]).epsilon(1e-6));

  std::vector<T> m(12, T(-7));
  fuse::blend_contributions(ref, views, w, matrix_view<T>(m.data(), 4, 3));
  const std::vector<double> cexpect = {0.5, 1, 1, 1, -2, 0, 1.5, 4, -1, 2, 0, 0.1};
  for (std::size_t j = 0; j < 12; ++j) CHECK(m[j] == Approx(cexpect[j]).epsilon(1e-6));
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(static_cast<double>(m[3 * i]) + m[3 * i + 1] + m[3 * i + 2] ==
          Approx(static_cast<double>(out[i])).epsilon(1e-6));
  }
}

TEST_CASE("fuse::blend: the two-scorer form, in place and strided contributions", "[fuse][blend]") {
  std::vector<double> cf = {1, 2, 3, 4}, content = {0.5, -1, 2, 0}, out(4);
  fuse::blend(ref, 0.25, cview(cf), cview(content), mview(out));
  CHECK(out == std::vector<double>{0.625, -0.25, 2.25, 1.0});
  // a outside [0, 1] is allowed: 2 cf - content.
  fuse::blend(ref, 2.0, cview(cf), cview(content), mview(out));
  CHECK(out == std::vector<double>{1.5, 5.0, 4.0, 8.0});
  // out may be one of the scores.
  fuse::blend(ref, 0.5, cview(cf), cview(content), mview(cf));
  CHECK(cf == std::vector<double>{0.75, 0.5, 2.5, 2.0});

  // Contributions into a strided matrix leave the padding alone.
  std::vector<double> m(4 * 3, -9.0);
  const std::vector<vector_view<const double>> v = {cview(cf), cview(content)};
  const std::vector<double> w = {1.0, -1.0};
  fuse::blend_contributions(ref, v, w, matrix_view<double>(m.data(), 4, 2, 3));
  CHECK(m == std::vector<double>{0.75, -0.5, -9, 0.5, 1, -9, 2.5, -2, -9, 2, 0, -9});
}

TEST_CASE("fuse::blend: empty items, NaN propagation", "[fuse][blend]") {
  std::vector<float> a, b, out;
  const std::vector<vector_view<const float>> v = {cview(a), cview(b)};
  const std::vector<double> w = {0.3, 0.7};
  fuse::blend(ref, v, w, mview(out));  // nothing to do
  fuse::blend_contributions(ref, v, w, matrix_view<float>(nullptr, 0, 2));

  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x = {1, nan, 3}, y = {1, 1, std::numeric_limits<float>::infinity()}, o(3);
  fuse::blend(ref, 1.0, cview(x), cview(y), mview(o));  // weight 0 on y: 0 * inf is NaN
  CHECK(o[0] == 1.0f);
  CHECK(std::isnan(o[1]));
  CHECK(std::isnan(o[2]));
}

TEST_CASE("fuse::blend: errors", "[fuse][blend][errors]") {
  std::vector<double> a = {1, 2, 3}, b = {1, 2}, out(3);
  std::vector<double> m(9);
  const std::vector<vector_view<const double>> ab = {cview(a), cview(b)};
  const std::vector<vector_view<const double>> aa = {cview(a), cview(a)};
  const std::vector<vector_view<const double>> none;
  FUSE_REQUIRE_THROWS(fuse::blend(ref, none, std::vector<double>{}, mview(out)), value_error,
                      Catch::Contains("recfuse::fuse::blend:") && Catch::Contains("no scorer"));
  FUSE_REQUIRE_THROWS(fuse::blend(ref, aa, std::vector<double>{1.0}, mview(out)), shape_error,
                      Catch::Contains("recfuse::fuse::blend:") && Catch::Contains("2 scorers") &&
                          Catch::Contains("weights has 1"));
  FUSE_REQUIRE_THROWS(
      fuse::blend(ref, ab, std::vector<double>{1.0, 1.0}, mview(out)), shape_error,
      Catch::Contains("scores[1] has 2 elements") && Catch::Contains("out.size() is 3"));
  FUSE_REQUIRE_THROWS(
      fuse::blend(ref, aa, std::vector<double>{1.0, std::numeric_limits<double>::quiet_NaN()},
                  mview(out)),
      value_error, Catch::Contains("recfuse::fuse::blend:") && Catch::Contains("weights[1]"));
  FUSE_REQUIRE_THROWS(
      fuse::blend(ref, std::numeric_limits<double>::infinity(), cview(a), cview(a), mview(out)),
      value_error, Catch::Contains("recfuse::fuse::blend:") && Catch::Contains("a is"));
  // 1e39 is finite in double but not in float.
  std::vector<float> f = {1, 2}, fo(2);
  const std::vector<vector_view<const float>> ff = {cview(f)};
  FUSE_REQUIRE_THROWS(fuse::blend(ref, ff, std::vector<double>{1e39}, mview(fo)), value_error,
                      Catch::Contains("weights[0] is 1e+39"));
  FUSE_REQUIRE_THROWS(fuse::blend_contributions(ref, aa, std::vector<double>{1.0, 1.0},
                                                matrix_view<double>(m.data(), 3, 3)),
                      shape_error,
                      Catch::Contains("recfuse::fuse::blend_contributions:") &&
                          Catch::Contains("out is 3 x 3") && Catch::Contains("3 x 2"));
  FUSE_REQUIRE_THROWS(fuse::blend_contributions(ref, ab, std::vector<double>{1.0, 1.0},
                                                matrix_view<double>(m.data(), 3, 2)),
                      shape_error,
                      Catch::Contains("recfuse::fuse::blend_contributions:") &&
                          Catch::Contains("scores[1] has 2 elements but out.rows() is 3"));
}

// ---- explain_factorization ---------------------------------------------------------------------

namespace {

// Items q0 = [1, 0], q1 = [0, 1], q2 = [1, 1]; mu = 3; b = [0.5, -0.5, 0].
template <class T>
biased_mf_model<T> hand_biased_model() {
  biased_mf_model<T> m;
  m.items = 3;
  m.factors = 2;
  m.global_mean = 3;
  m.min_rating = 1;
  m.max_rating = 5;
  m.item_bias = {0.5, -0.5, 0};
  m.item_factors = {1, 0, 0, 1, 1, 1};
  return m;
}

template <class T>
implicit_mf_model<T> hand_implicit_model() {
  implicit_mf_model<T> m;
  m.items = 3;
  m.factors = 2;
  m.item_factors = {1, 0, 0, 1, 1, 1};
  return m;
}

}  // namespace

TEMPLATE_TEST_CASE("fuse::explain_factorization: biased MF by hand", "[fuse][explain]", float,
                   double) {
  using T = TestType;
  const auto model = hand_biased_model<T>();
  // Ratings 4.5 for items 0 and 1: e = [1, 2]. Features x_j = [1, q_j], n = 2, reg_bias =
  // reg_factor = 0.5 (so + 1 on the diagonal): A = [[3,1,1],[1,2,0],[1,0,2]],
  // A^{-1} = [[4,-2,-2],[-2,5,1],[-2,1,5]] / 8.
  const std::vector<std::int32_t> rated = {0, 1};
  const std::vector<T> ratings = {4.5, 4.5};
  als_options o;
  o.reg_bias = 0.5;
  o.reg_factor = 0.5;
  // Item 2: x = [1,1,1], A^{-1} x = [0, 1/2, 1/2]; c0 = 1 * 1/2, c1 = 2 * 1/2.
  auto why = fuse::explain_factorization(ref, model, cview(rated), cview(ratings), 2, 5, o);
  CHECK(why.baseline == Approx(3.0));
  CHECK(why.score == Approx(4.5));
  REQUIRE(why.evidence.size() == 2);
  CHECK(why.evidence[0].item == 1);
  CHECK(why.evidence[0].contribution == Approx(1.0));
  CHECK(why.evidence[1].item == 0);
  CHECK(why.evidence[1].contribution == Approx(0.5));
  CHECK(why.rest == 0.0);
  // The fold-in: w = A^{-1} [3, 1, 2] ... for item 2, b_u + p_u . q_2 = 1.5.
  std::vector<T> p(2);
  const T bu = fold_in_user(ref, model, cview(rated), cview(ratings), mview(p), o);
  CHECK(3.0 + bu + p[0] + p[1] == Approx(why.score));

  // top_n = 1: the rest is the other item's share.
  why = fuse::explain_factorization(ref, model, cview(rated), cview(ratings), 2, 1, o);
  REQUIRE(why.evidence.size() == 1);
  CHECK(why.evidence[0].item == 1);
  CHECK(why.rest == Approx(0.5));
  CHECK(why.score == Approx(4.5));

  // Item 0 (rated itself): x = [1,1,0], A^{-1} x = [2, 3, -1] / 8; c0 = 5/8, c1 = 2 * 1/8.
  why = fuse::explain_factorization(ref, model, cview(rated), cview(ratings), 0, 2, o);
  CHECK(why.baseline == Approx(3.5));
  CHECK(why.score == Approx(4.375));
  REQUIRE(why.evidence.size() == 2);
  CHECK(why.evidence[0].item == 0);
  CHECK(why.evidence[0].contribution == Approx(0.625));
  CHECK(why.evidence[1].item == 1);
  CHECK(why.evidence[1].contribution == Approx(0.25));

  // Equal contributions: smaller item id first. Ratings 4.5, 3.5 give e = [1, 1] and
  // c = [1/2, 1/2] for item 2.
  const std::vector<T> equal = {4.5, 3.5};
  why = fuse::explain_factorization(ref, model, cview(rated), cview(equal), 2, 2, o);
  REQUIRE(why.evidence.size() == 2);
  CHECK(why.evidence[0].item == 0);
  CHECK(why.evidence[1].item == 1);
  CHECK(why.evidence[0].contribution == Approx(0.5));
  CHECK(why.evidence[1].contribution == Approx(0.5));

  // top_n = 0: everything in rest. An empty list: the baseline alone.
  why = fuse::explain_factorization(ref, model, cview(rated), cview(ratings), 2, 0, o);
  CHECK(why.evidence.empty());
  CHECK(why.rest == Approx(1.5));
  const std::vector<std::int32_t> no_items;
  const std::vector<T> no_ratings;
  why = fuse::explain_factorization(ref, model, cview(no_items), cview(no_ratings), 1, 3);
  CHECK(why.evidence.empty());
  CHECK(why.score == Approx(2.5));
  CHECK(why.baseline == Approx(2.5));
  CHECK(why.rest == 0.0);
}

TEMPLATE_TEST_CASE("fuse::explain_factorization: implicit ALS by hand", "[fuse][explain]", float,
                   double) {
  using T = TestType;
  const auto model = hand_implicit_model<T>();
  // Y^T Y = [[2,1],[1,2]], reg 1, alpha 1, values 1 and 2 for items 0, 1 (confidences 2, 3):
  // A = [[4,1],[1,5]], A^{-1} = [[5,-1],[-1,4]] / 19. Item 2: A^{-1} [1,1] = [4, 3] / 19;
  // c0 = 2 * 4/19, c1 = 3 * 3/19.
  implicit_als_options o;
  o.regularization = 1.0;
  o.alpha = 1.0;
  o.solver = implicit_solver::cholesky;
  const std::vector<std::int32_t> rated = {0, 1, 2};
  const std::vector<T> values = {1, 2, 0};  // item 2's 0 is as if absent
  auto why = fuse::explain_factorization(ref, model, cview(rated), cview(values), 2, 5, o);
  CHECK(why.baseline == 0.0);
  CHECK(why.score == Approx(17.0 / 19.0));
  REQUIRE(why.evidence.size() == 2);
  CHECK(why.evidence[0].item == 1);
  CHECK(why.evidence[0].contribution == Approx(9.0 / 19.0));
  CHECK(why.evidence[1].item == 0);
  CHECK(why.evidence[1].contribution == Approx(8.0 / 19.0));
  // fold_in_user: p_u = A^{-1} [2, 3] = [7, 10] / 19.
  const auto gram = gramian(ref, model.item_matrix());
  std::vector<T> p(2);
  fold_in_user(ref, model, cview(gram), cview(rated), cview(values), mview(p), o);
  CHECK(static_cast<double>(p[0]) + p[1] == Approx(why.score));
  // A duplicated item is two observations in the solve (as in fold_in_user), and one evidence
  // entry holding both contributions.
  const std::vector<std::int32_t> dup = {1, 0, 1};
  const std::vector<T> dupv = {1, 1, 1};
  why = fuse::explain_factorization(ref, model, cview(gram), cview(dup), cview(dupv), 2, 1, o);
  fold_in_user(ref, model, cview(gram), cview(dup), cview(dupv), mview(p), o);
  CHECK(static_cast<double>(p[0]) + p[1] == Approx(why.score));
  REQUIRE(why.evidence.size() == 1);
  CHECK(why.evidence[0].item == 1);
  CHECK(why.evidence[0].contribution + why.rest == Approx(why.score));
  why = fuse::explain_factorization(ref, model, cview(gram), cview(dup), cview(dupv), 2, 5, o);
  REQUIRE(why.evidence.size() == 2);  // items 1 and 0, once each
  CHECK(why.evidence[0].item + why.evidence[1].item == 1);
  CHECK(why.rest == 0.0);
}

namespace {

template <class T>
interactions<T> random_ratings(index_t users, index_t items, double density, std::uint64_t seed,
                               bool implicit) {
  interactions<T> d;
  d.users = users;
  d.items = items;
  const auto u01 = test::random_vector<double>(users * items * 2, seed, 0.0, 1.0);
  for (index_t u = 0; u < users; ++u) {
    for (index_t i = 0; i < items; ++i) {
      if (u01[2 * (u * items + i)] < density) {
        d.user.push_back(static_cast<std::int32_t>(u));
        d.item.push_back(static_cast<std::int32_t>(i));
        const double r = u01[2 * (u * items + i) + 1];
        d.value.push_back(static_cast<T>(implicit ? 1 + std::floor(3 * r) : 1 + 4 * r));
      }
    }
  }
  return d;
}

}  // namespace

TEMPLATE_TEST_CASE("fuse::explain_factorization: sums to the fold-in prediction", "[fuse][explain]",
                   float, double) {
  using T = TestType;
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-9;
  // A new user's ratings, with a duplicate.
  const std::vector<std::int32_t> rated = {3, 7, 11, 0, 19, 7, 5, 14};
  const std::vector<T> ratings = {4.5, 1.0, 3.0, 5.0, 2.5, 2.0, 4.0, 3.5};
  {
    als_options o;
    o.factors = 5;
    o.iterations = 5;
    const auto data = random_ratings<T>(30, 20, 0.4, 7, false);
    const auto model = fit_biased_als(ref, data.view(), o);
    std::vector<T> p(5);
    const double bu = fold_in_user(ref, model, cview(rated), cview(ratings), mview(p), o);
    for (index_t i = 0; i < model.items; ++i) {
      CAPTURE(i);
      const auto why =
          fuse::explain_factorization(ref, model, cview(rated), cview(ratings), i, 3, o);
      double s = model.global_mean + bu + model.item_bias[i];
      for (index_t f = 0; f < 5; ++f)
        s += static_cast<double>(p[f]) * model.item_factors[i * 5 + f];
      CHECK(std::abs(why.score - s) <= tol * std::max(1.0, std::abs(s)));
      double sum = why.baseline + why.rest;
      for (const auto& e : why.evidence) sum += e.contribution;
      CHECK(sum == Approx(why.score).epsilon(1e-12));
      REQUIRE(why.evidence.size() == 3);
      CHECK(why.evidence[0].contribution >= why.evidence[1].contribution);
      CHECK(why.evidence[1].contribution >= why.evidence[2].contribution);
    }
    // The double overload: reg_factor given, reg_bias at its default.
    const auto why = fuse::explain_factorization(ref, model, cview(rated), cview(ratings), 4, 8);
    std::vector<T> p2(5);
    const double bu2 = fold_in_user(ref, model, cview(rated), cview(ratings), mview(p2));
    double s = model.global_mean + bu2 + model.item_bias[4];
    for (index_t f = 0; f < 5; ++f) s += static_cast<double>(p2[f]) * model.item_factors[4 * 5 + f];
    CHECK(std::abs(why.score - s) <= tol * std::max(1.0, std::abs(s)));
    CHECK(why.evidence.size() == 7);  // 8 entries, item 7 twice
  }
  {
    implicit_als_options o;
    o.factors = 4;
    o.iterations = 5;
    o.regularization = 0.5;
    o.solver = implicit_solver::cholesky;
    const auto data = random_ratings<T>(30, 20, 0.3, 11, true);
    const auto model = fit_implicit_als(ref, data.view(), o);
    const auto gram = gramian(ref, model.item_matrix());
    std::vector<T> values(ratings.size());
    for (std::size_t e = 0; e < values.size(); ++e) values[e] = std::floor(ratings[e]) - 1;  // 0..4
    std::vector<T> p(4);
    fold_in_user(ref, model, cview(gram), cview(rated), cview(values), mview(p), o);
    for (index_t i = 0; i < model.items; ++i) {
      CAPTURE(i);
      const auto why =
          fuse::explain_factorization(ref, model, cview(rated), cview(values), i, 2, o);
      double s = 0;
      for (index_t f = 0; f < 4; ++f)
        s += static_cast<double>(p[f]) * model.item_factors[i * 4 + f];
      CHECK(std::abs(why.score - s) <= tol * std::max(1.0, std::abs(s)));
      CHECK(why.baseline == 0.0);
      CHECK(why.evidence.size() == 2);
      CHECK(why.evidence[0].contribution + why.evidence[1].contribution + why.rest ==
            Approx(why.score).epsilon(1e-12).margin(1e-12));
    }
  }
}

TEST_CASE("fuse::explain_factorization: errors", "[fuse][explain][errors]") {
  const auto model = hand_biased_model<float>();
  const std::vector<std::int32_t> rated = {0, 1}, bad = {0, 3};
  const std::vector<float> ratings = {4.5f, 4.0f}, one = {4.0f},
                           nan = {4.0f, std::numeric_limits<float>::quiet_NaN()};
  const auto fn = Catch::Contains("recfuse::fuse::explain_factorization:");
  FUSE_REQUIRE_THROWS(fuse::explain_factorization(ref, model, cview(rated), cview(ratings), 3, 1),
                      index_error, fn && Catch::Contains("item is 3"));
  FUSE_REQUIRE_THROWS(fuse::explain_factorization(ref, model, cview(rated), cview(ratings), -1, 1),
                      index_error, fn && Catch::Contains("item is -1"));
  FUSE_REQUIRE_THROWS(fuse::explain_factorization(ref, model, cview(bad), cview(ratings), 0, 1),
                      index_error, fn && Catch::Contains("rated items[1] is 3"));
  FUSE_REQUIRE_THROWS(fuse::explain_factorization(ref, model, cview(rated), cview(one), 0, 1),
                      shape_error, fn && Catch::Contains("2") && Catch::Contains("1"));
  FUSE_REQUIRE_THROWS(fuse::explain_factorization(ref, model, cview(rated), cview(nan), 0, 1),
                      value_error, fn && Catch::Contains("ratings[1]"));
  FUSE_REQUIRE_THROWS(fuse::explain_factorization(ref, model, cview(rated), cview(ratings), 0, -1),
                      value_error, fn && Catch::Contains("top_n is -1"));
  FUSE_REQUIRE_THROWS(
      fuse::explain_factorization(ref, model, cview(rated), cview(ratings), 0, 1, -0.5),
      value_error, fn && Catch::Contains("reg_factor"));
  auto broken = model;
  broken.item_bias.pop_back();
  FUSE_REQUIRE_THROWS(fuse::explain_factorization(ref, broken, cview(rated), cview(ratings), 0, 1),
                      shape_error, fn && Catch::Contains("item_bias"));

  const auto im = hand_implicit_model<float>();
  const std::vector<float> negative = {1.0f, -1.0f};
  FUSE_REQUIRE_THROWS(fuse::explain_factorization(ref, im, cview(rated), cview(negative), 0, 1),
                      value_error, fn && Catch::Contains("values[1]"));
  implicit_als_options zero;
  zero.regularization = 0.0;
  // One rated item, 2 factors, no other items' gramian: singular without regularization.
  implicit_mf_model<float> thin;
  thin.items = 2;
  thin.factors = 2;
  thin.item_factors = {1, 0, 2, 0};
  const std::vector<std::int32_t> first = {0};
  const std::vector<float> v1 = {1.0f};
  FUSE_REQUIRE_THROWS(fuse::explain_factorization(ref, thin, cview(first), cview(v1), 1, 1, zero),
                      value_error, fn && Catch::Contains("not positive definite"));
  const std::vector<float> short_gram = {1, 0, 0};
  FUSE_REQUIRE_THROWS(
      fuse::explain_factorization(ref, im, cview(short_gram), cview(rated), cview(ratings), 0, 1),
      shape_error, fn && Catch::Contains("item_gram.size() is 3"));
}

// ---- learned_fusion ----------------------------------------------------------------------------

namespace {

// n rows: group "a" (2 columns), group "b" (3 columns); the target depends on "a" only.
template <class T>
void synthetic(index_t n, std::uint64_t seed, std::vector<T>& x, std::vector<T>& y) {
  x = test::random_vector<T>(n * 5, seed, -1.0, 1.0);
  for (index_t i = 0; i < n; ++i) x[i * 5 + 2] = static_cast<T>(10 + 3 * x[i * 5 + 2]);  // offset
  y.resize(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    const double a0 = x[i * 5], a1 = x[i * 5 + 1];
    y[i] = static_cast<T>(3 + 2 * a0 - a1 + 0.5 * a0 * a1);
  }
}

nn::train_options quick_training() {
  nn::train_options o;
  o.epochs = 40;
  o.batch_size = 32;
  o.adam.learning_rate = 1e-2;
  o.seed = 3;
  return o;
}

}  // namespace

TEMPLATE_TEST_CASE("fuse::learned_fusion: fit, predict, explain", "[fuse][learned]", float,
                   double) {
  using T = TestType;
  const index_t n = 400;
  std::vector<T> x, y;
  synthetic(n, 17, x, y);
  const matrix_view<const T> xv(x.data(), n, 5);
  fuse::learned_fusion<T> fusion({{"a", 2}, {"b", 3}}, {16, 8}, 5);
  CHECK(fusion.inputs() == 5);
  CHECK_FALSE(fusion.fitted());
  const auto report = fusion.fit(ref, xv, cview(y), quick_training());
  REQUIRE(report.epoch_loss.size() == 40);
  CHECK(report.epoch_loss.back() < 0.05 * report.epoch_loss.front());
  CHECK(fusion.fitted());
  // The standardisation: column 2 is 10 + 3 U(-1, 1): mean ~ 10, scale ~ sqrt(3).
  REQUIRE(fusion.input_mean().size() == 5);
  CHECK(fusion.input_mean()[2] == Approx(10.0).margin(0.3));
  CHECK(fusion.input_scale()[2] == Approx(std::sqrt(3.0)).epsilon(0.1));

  std::vector<T> pred(n);
  fusion.predict(ref, xv, mview(pred));
  double err = 0;
  for (index_t i = 0; i < n; ++i) err += std::abs(static_cast<double>(pred[i]) - y[i]);
  CHECK(err / n < 0.2);

  std::vector<T> contrib(n * 2), base(n);
  fusion.explain(ref, xv, matrix_view<T>(contrib.data(), n, 2), mview(base));
  double abs_a = 0, abs_b = 0, gap = 0, max_gap = 0, spread = 0;
  for (index_t i = 0; i < n; ++i) {
    abs_a += std::abs(static_cast<double>(contrib[2 * i]));
    abs_b += std::abs(static_cast<double>(contrib[2 * i + 1]));
    const double total = static_cast<double>(base[i]) + contrib[2 * i] + contrib[2 * i + 1];
    gap += std::abs(total - pred[i]);
    max_gap = std::max(max_gap, std::abs(total - pred[i]));
    spread += std::abs(static_cast<double>(pred[i]) - base[i]);
    CHECK(base[i] == base[0]);
  }
  CAPTURE(abs_a / n, abs_b / n, gap / n, max_gap, spread / n);
  // Group a carries the signal.
  CHECK(abs_a > 8 * abs_b);
  // Completeness up to the midpoint rule's error (relu kinks): small against the scores' spread.
  CHECK(gap / n < 0.01 * spread / n);
  CHECK(max_gap < 0.1 * spread / n);
  // The baseline is f(training mean).
  std::vector<T> mean_row(5);
  for (index_t j = 0; j < 5; ++j) mean_row[j] = static_cast<T>(fusion.input_mean()[j]);
  T at_mean = 0;
  fusion.predict(ref, matrix_view<const T>(mean_row.data(), 1, 5), vector_view<T>(&at_mean, 1));
  CHECK(at_mean == Approx(base[0]).epsilon(1e-5));

  // Reproducible: the same seeds give the same model; another seed another one.
  fuse::learned_fusion<T> again({{"a", 2}, {"b", 3}}, {16, 8}, 5);
  again.fit(ref, xv, cview(y), quick_training());
  std::vector<T> pred2(n);
  again.predict(ref, xv, mview(pred2));
  CHECK(pred2 == pred);
  fuse::learned_fusion<T> other({{"a", 2}, {"b", 3}}, {16, 8}, 6);
  other.fit(ref, xv, cview(y), quick_training());
  other.predict(ref, xv, mview(pred2));
  CHECK(pred2 != pred);

  // set_state reproduces a fitted model.
  fuse::learned_fusion<T> restored({{"a", 2}, {"b", 3}}, {});
  restored.set_state(fusion.model(), fusion.input_mean(), fusion.input_scale());
  CHECK(restored.hidden() == std::vector<index_t>{16, 8});
  restored.predict(ref, xv, mview(pred2));
  CHECK(pred2 == pred);
}

TEMPLATE_TEST_CASE("fuse::learned_fusion: a linear model's explanation is exact", "[fuse][learned]",
                   float, double) {
  using T = TestType;
  const index_t n = 50;
  std::vector<T> x, y;
  synthetic(n, 23, x, y);
  const matrix_view<const T> xv(x.data(), n, 5);
  fuse::learned_fusion<T> linear({{"a", 2}, {"b", 1}, {"c", 2}}, {}, 1);
  nn::train_options o = quick_training();
  o.epochs = 5;
  linear.fit(ref, xv, cview(y), o);
  REQUIRE(linear.model().layers() == 1);
  std::vector<T> pred(n), contrib(n * 3), base(n);
  linear.predict(ref, xv, mview(pred));
  linear.explain(ref, xv, matrix_view<T>(contrib.data(), n, 3), mview(base));
  // f(x) - f(x0) = sum_j w_j z_j: each group's share is exactly its columns' terms.
  const auto w = linear.model().weight(0);
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  for (index_t i = 0; i < n; ++i) {
    CAPTURE(i);
    const double total =
        static_cast<double>(base[i]) + contrib[3 * i] + contrib[3 * i + 1] + contrib[3 * i + 2];
    CHECK(std::abs(total - pred[i]) <= tol * std::max(1.0, std::abs(static_cast<double>(pred[i]))));
    double group_b = static_cast<double>(w(0, 2)) *
                     ((x[i * 5 + 2] - linear.input_mean()[2]) / linear.input_scale()[2]);
    CHECK(contrib[3 * i + 1] == Approx(group_b).epsilon(tol * 10).margin(tol * 10));
  }
  CHECK(base[0] == Approx(static_cast<double>(linear.model().bias(0)[0])).epsilon(tol));
}

TEST_CASE("fuse::learned_fusion: bce, NaN and errors", "[fuse][learned][errors]") {
  const index_t n = 200;
  std::vector<float> x, y;
  synthetic(n, 29, x, y);
  for (auto& t : y) t = t > 3.0f ? 1.0f : 0.0f;
  const matrix_view<const float> xv(x.data(), n, 5);
  fuse::learned_fusion<float> clf({{"a", 2}, {"b", 3}}, {8}, 2);
  nn::train_options o = quick_training();
  o.loss_kind = nn::loss::bce;
  clf.fit(ref, xv, cview(y), o);
  CHECK(clf.model().layer_activation(1) == nn::activation::sigmoid);
  std::vector<float> p(n), c(n * 2), b(n);
  clf.predict(ref, xv, mview(p));
  clf.explain(ref, xv, matrix_view<float>(c.data(), n, 2), mview(b));
  int correct = 0;
  for (index_t i = 0; i < n; ++i) {
    CHECK(p[i] > 0.0f);
    CHECK(p[i] < 1.0f);
    correct += (p[i] > 0.5f) == (y[i] > 0.5f);
    CHECK(std::abs(static_cast<double>(b[i]) + c[2 * i] + c[2 * i + 1] - p[i]) < 0.05);
  }
  CHECK(correct > 0.9 * n);

  // NaN propagates through predict, and is refused by fit and explain.
  auto xn = x;
  xn[5 * 3 + 4] = std::numeric_limits<float>::quiet_NaN();
  const matrix_view<const float> xnv(xn.data(), n, 5);
  clf.predict(ref, xnv, mview(p));
  CHECK(std::isnan(p[3]));
  CHECK_FALSE(std::isnan(p[2]));
  const auto fit_fn = Catch::Contains("recfuse::fuse::learned_fusion::fit:");
  const auto explain_fn = Catch::Contains("recfuse::fuse::learned_fusion::explain:");
  const auto predict_fn = Catch::Contains("recfuse::fuse::learned_fusion::predict:");
  fuse::learned_fusion<float> fresh({{"a", 2}, {"b", 3}});
  FUSE_REQUIRE_THROWS(fresh.fit(ref, xnv, cview(y), o), value_error,
                      fit_fn && Catch::Contains("inputs(3, 4) is nan"));
  FUSE_REQUIRE_THROWS(clf.explain(ref, xnv, matrix_view<float>(c.data(), n, 2), mview(b)),
                      value_error, explain_fn && Catch::Contains("inputs(3, 4) is nan"));
  FUSE_REQUIRE_THROWS(fresh.predict(ref, xv, mview(p)), value_error,
                      predict_fn && Catch::Contains("not fitted"));
  FUSE_REQUIRE_THROWS(fresh.explain(ref, xv, matrix_view<float>(c.data(), n, 2), mview(b)),
                      value_error, explain_fn && Catch::Contains("not fitted"));
  FUSE_REQUIRE_THROWS(clf.predict(ref, matrix_view<const float>(x.data(), 40, 4), mview(p)),
                      shape_error, predict_fn && Catch::Contains("inputs has 4 columns"));
  FUSE_REQUIRE_THROWS(clf.predict(ref, xv, vector_view<float>(p.data(), 10)), shape_error,
                      predict_fn && Catch::Contains("out.size() is 10"));
  FUSE_REQUIRE_THROWS(fresh.fit(ref, xv, vector_view<const float>(y.data(), 10), o), shape_error,
                      fit_fn && Catch::Contains("targets.size() is 10"));
  // bce targets must be probabilities; mse takes any finite target.
  for (const float bad : {1.5f, -0.25f}) {
    auto yb = y;
    yb[7] = bad;
    FUSE_REQUIRE_THROWS(fresh.fit(ref, xv, cview(yb), o), value_error,
                        fit_fn &&
                            Catch::Contains("targets[7] is " + (bad > 1 ? std::string("1.5")
                                                                        : std::string("-0.25"))) &&
                            Catch::Contains("[0, 1]"));
    CHECK_FALSE(fresh.fitted());
    nn::train_options mse = o;
    mse.loss_kind = nn::loss::mse;
    mse.epochs = 1;
    fresh.fit(ref, xv, cview(yb), mse);
    fresh = fuse::learned_fusion<float>({{"a", 2}, {"b", 3}});
  }
  FUSE_REQUIRE_THROWS(fresh.fit(ref, matrix_view<const float>(x.data(), 0, 5),
                                vector_view<const float>(y.data(), 0), o),
                      value_error, fit_fn && Catch::Contains("0 rows"));
  FUSE_REQUIRE_THROWS(clf.explain(ref, xv, matrix_view<float>(c.data(), n, 1), mview(b)),
                      shape_error, explain_fn && Catch::Contains("contributions is 200 x 1"));
  FUSE_REQUIRE_THROWS(
      clf.explain(ref, xv, matrix_view<float>(c.data(), n, 2), vector_view<float>(b.data(), 3)),
      shape_error, explain_fn && Catch::Contains("baseline.size() is 3"));
  using groups = std::vector<std::pair<std::string, index_t>>;
  FUSE_REQUIRE_THROWS(
      fuse::learned_fusion<float>(groups{}), value_error,
      Catch::Contains("recfuse::fuse::learned_fusion:") && Catch::Contains("no input group"));
  FUSE_REQUIRE_THROWS(fuse::learned_fusion<float>(groups{{"a", 1}, {"b", 0}}), value_error,
                      Catch::Contains("group 1 (\"b\") has width 0"));
  FUSE_REQUIRE_THROWS(fuse::learned_fusion<float>(groups{{"a", 1}}, {4, 0}), value_error,
                      Catch::Contains("hidden[1] is 0"));
  FUSE_REQUIRE_THROWS(fresh.set_state(nn::mlp<float>({4, 1}, {nn::activation::identity}),
                                      std::vector<double>(5, 0.0), std::vector<double>(5, 1.0)),
                      shape_error, Catch::Contains("set_state") && Catch::Contains("4"));
}
