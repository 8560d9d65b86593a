// nn::autorec on the reference backend: the untrained reconstruction against the network
// formula written out by hand; one training step against a hand-computed masked gradient (Adam's
// first step moves every parameter by -lr sign(gradient)); the user side against the item side
// on swapped ids; learning on a small low-rank matrix; fallbacks, clamping, sizes 0 and 1;
// every error path.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "recfuse/nn/autorec.hpp"
#include "test_support.hpp"

using namespace recfuse;

namespace {

const reference_backend::policy ref;

#define AUTOREC_REQUIRE_THROWS(expr, type, matcher) \
  REQUIRE_THROWS_MATCHES(expr, type, test::what_is(matcher))

template <class T>
struct coo {
  index_t users = 0, items = 0;
  std::vector<std::int32_t> user, item;
  std::vector<T> value;
  void add(std::int32_t u, std::int32_t i, T v) {
    user.push_back(u);
    item.push_back(i);
    value.push_back(v);
  }
  interactions_view<T> view() const {
    return {users,
            items,
            {user.data(), static_cast<index_t>(user.size())},
            {item.data(), static_cast<index_t>(item.size())},
            {value.data(), static_cast<index_t>(value.size())}};
  }
};

// 3 users x 2 items: item 0 rated by users 0 and 2, item 1 by user 1.
template <class T>
coo<T> tiny() {
  coo<T> c;
  c.users = 3;
  c.items = 2;
  c.add(0, 0, T(4));
  c.add(2, 0, T(2));
  c.add(1, 1, T(5));
  return c;
}

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

}  // namespace

TEMPLATE_TEST_CASE("nn::autorec: the untrained reconstruction by hand", "[nn][autorec]", float,
                   double) {
  using T = TestType;
  const auto c = tiny<T>();
  nn::autorec_options o;
  o.hidden = 2;
  o.epochs = 0;
  o.seed = 11;
  const auto ae = nn::autorec<T>::fit(ref, c.view(), o);
  CHECK(ae.users() == 3);
  CHECK(ae.items() == 2);
  CHECK(ae.lo() == T(2));
  CHECK(ae.hi() == T(5));
  // The network as mlp's constructor draws it: 3 -> 2 (sigmoid) -> 3 (identity).
  const nn::mlp<T> net({3, 2, 3}, {nn::activation::sigmoid, nn::activation::identity}, 11);
  const double rows[2][3] = {{4, 0, 2}, {0, 5, 0}};
  for (index_t i = 0; i < 2; ++i) {
    double h[2];
    for (index_t k = 0; k < 2; ++k) {
      double z = net.bias(0)[k];
      for (index_t u = 0; u < 3; ++u) z += net.weight(0)(k, u) * rows[i][u];
      h[k] = sigmoid(z);
    }
    for (index_t u = 0; u < 3; ++u) {
      double out = net.bias(1)[u];
      for (index_t k = 0; k < 2; ++k) out += net.weight(1)(u, k) * h[k];
      const double expected = std::clamp(out, 2.0, 5.0);
      CHECK(static_cast<double>(ae.predict(u, i, T(-1))) == Approx(expected).epsilon(1e-5));
    }
  }
  // Fallbacks: ids outside the range.
  CHECK(ae.predict(3, 0, T(-1)) == T(-1));
  CHECK(ae.predict(0, 2, T(-7)) == T(-7));
  CHECK(ae.predict(-1, 0, T(-1)) == T(-1));
  CHECK_FALSE(ae.knows(0, -1));
  CHECK(ae.knows(1, 0));
}

TEMPLATE_TEST_CASE("nn::autorec: one Adam step against the hand-computed masked gradient",
                   "[nn][autorec]", float, double) {
  using T = TestType;
  const auto c = tiny<T>();
  nn::autorec_options o;
  o.hidden = 2;
  o.epochs = 1;
  o.batch_size = 8;  // both items in one batch: one step
  o.learning_rate = 1e-2;
  o.l2 = 0.3;  // weight decay 0.1 over 3 ratings
  o.seed = 5;
  const auto ae = nn::autorec<T>::fit(ref, c.view(), o);
  const nn::mlp<T> net0({3, 2, 3}, {nn::activation::sigmoid, nn::activation::identity}, 5);
  // Forward and backward by hand; the loss is the mean over the 3 observed entries.
  const double x[2][3] = {{4, 0, 2}, {0, 5, 0}};
  double a[2][2], gout[2][3];
  for (int r = 0; r < 2; ++r) {
    for (int k = 0; k < 2; ++k) {
      double z = net0.bias(0)[k];
      for (int u = 0; u < 3; ++u) z += net0.weight(0)(k, u) * x[r][u];
      a[r][k] = sigmoid(z);
    }
    for (int u = 0; u < 3; ++u) {
      double out = net0.bias(1)[u];
      for (int k = 0; k < 2; ++k) out += net0.weight(1)(u, k) * a[r][k];
      gout[r][u] = x[r][u] != 0 ? 2.0 / 3.0 * (out - x[r][u]) : 0.0;
    }
  }
  double dW1[2][3] = {}, db1[2] = {}, dW2[3][2] = {}, db2[3] = {};
  for (int r = 0; r < 2; ++r) {
    for (int u = 0; u < 3; ++u) {
      db2[u] += gout[r][u];
      for (int k = 0; k < 2; ++k) dW2[u][k] += gout[r][u] * a[r][k];
    }
    for (int k = 0; k < 2; ++k) {
      double da = 0;
      for (int u = 0; u < 3; ++u) da += gout[r][u] * net0.weight(1)(u, k);
      const double dz = da * a[r][k] * (1 - a[r][k]);
      db1[k] += dz;
      for (int u = 0; u < 3; ++u) dW1[k][u] += dz * x[r][u];
    }
  }
  // Adam's first step: m / (sqrt(v) + eps) = g / (|g| + eps'), so each parameter moves by
  // -lr g / |g| (weight decay 0.1 added to g first).
  auto check = [&](double before, double after, double grad) {
    const double g = grad + 0.1 * before;
    const double step = -1e-2 * g / (std::abs(g) + 1e-8);
    CHECK(after == Approx(before + step).margin(1e-6));
  };
  const auto& net1 = ae.network();
  for (int k = 0; k < 2; ++k) {
    check(net0.bias(0)[k], net1.bias(0)[k], db1[k]);
    for (int u = 0; u < 3; ++u) check(net0.weight(0)(k, u), net1.weight(0)(k, u), dW1[k][u]);
  }
  for (int u = 0; u < 3; ++u) {
    check(net0.bias(1)[u], net1.bias(1)[u], db2[u]);
    for (int k = 0; k < 2; ++k) check(net0.weight(1)(u, k), net1.weight(1)(u, k), dW2[u][k]);
  }
}

TEST_CASE("nn::autorec: the user side is the item side on swapped ids", "[nn][autorec]") {
  std::mt19937_64 g(3);
  coo<float> c, swapped;
  c.users = swapped.items = 7;
  c.items = swapped.users = 5;
  for (std::int32_t u = 0; u < 7; ++u) {
    for (std::int32_t i = 0; i < 5; ++i) {
      if (g() % 3 == 0) continue;
      const auto v = static_cast<float>(1 + g() % 5);
      c.add(u, i, v);
      swapped.add(i, u, v);
    }
  }
  nn::autorec_options o;
  o.hidden = 4;
  o.epochs = 3;
  o.batch_size = 3;
  o.seed = 9;
  o.side = nn::autorec_side::user;
  const auto by_user = nn::autorec<float>::fit(ref, c.view(), o);
  o.side = nn::autorec_side::item;
  const auto by_item = nn::autorec<float>::fit(ref, swapped.view(), o);
  CHECK(by_user.side() == nn::autorec_side::user);
  for (index_t u = 0; u < 7; ++u)
    for (index_t i = 0; i < 5; ++i)
      CHECK(by_user.predict(u, i, 0.0f) == by_item.predict(i, u, 0.0f));
}

TEST_CASE("nn::autorec: learns a low-rank matrix; unseen rows fall back", "[nn][autorec]") {
  // 40 users x 30 items, ratings 1 + 4 sigmoid(p_u q_i) on 60% of the entries; item 29 has no
  // rating and user 39 none either.
  std::mt19937_64 g(21);
  auto unit = [&] { return static_cast<double>(g() >> 11) * 0x1.0p-53; };
  std::vector<double> p(40), q(30);
  for (auto& v : p) v = 4 * unit() - 2;
  for (auto& v : q) v = 4 * unit() - 2;
  coo<float> c;
  c.users = 40;
  c.items = 30;
  for (std::int32_t u = 0; u < 39; ++u)
    for (std::int32_t i = 0; i < 29; ++i)
      if (unit() < 0.6) c.add(u, i, static_cast<float>(1 + 4 * sigmoid(p[u] * q[i])));
  nn::autorec_options o;
  o.hidden = 16;
  o.epochs = 0;
  o.batch_size = 8;
  o.learning_rate = 1e-2;
  o.l2 = 0.01;
  o.seed = 4;
  auto train_rmse = [&](const nn::autorec<float>& ae) {
    double se = 0;
    for (std::size_t e = 0; e < c.value.size(); ++e) {
      const double d = ae.predict(c.user[e], c.item[e], 0.0f) - c.value[e];
      se += d * d;
    }
    return std::sqrt(se / static_cast<double>(c.value.size()));
  };
  const double before = train_rmse(nn::autorec<float>::fit(ref, c.view(), o));
  o.epochs = 150;
  const auto ae = nn::autorec<float>::fit(ref, c.view(), o);
  const double after = train_rmse(ae);
  CHECK(before > 1.0);
  CHECK(after < 0.35);
  CHECK(ae.predict(3, 29, 2.5f) == 2.5f);
  CHECK(ae.predict(39, 3, 2.5f) == 2.5f);
  CHECK_FALSE(ae.knows(39, 3));
  for (std::int32_t u = 0; u < 39; ++u) {
    for (std::int32_t i = 0; i < 29; ++i) {
      const float v = ae.predict(u, i, 0.0f);
      CHECK((v >= ae.lo() && v <= ae.hi()));
    }
  }
  // Reproducible: the same seed gives the same model.
  const auto again = nn::autorec<float>::fit(ref, c.view(), o);
  CHECK(again.predict(5, 7, 0.0f) == ae.predict(5, 7, 0.0f));
}

TEST_CASE("nn::autorec: sizes 0 and 1", "[nn][autorec]") {
  coo<double> empty;
  empty.users = 4;
  empty.items = 3;
  const auto e = nn::autorec<double>::fit(ref, empty.view());
  CHECK(e.predict(0, 0, 3.5) == 3.5);
  coo<double> none;  // no users, no items
  CHECK(nn::autorec<double>::fit(ref, none.view()).predict(0, 0, 1.0) == 1.0);
  coo<double> one;
  one.users = one.items = 1;
  one.add(0, 0, 4.0);
  nn::autorec_options o;
  o.hidden = 1;
  o.epochs = 2;
  const auto a = nn::autorec<double>::fit(ref, one.view(), o);
  CHECK(a.predict(0, 0, 0.0) == 4.0);  // clamped to the only rating
}

TEST_CASE("nn::autorec: errors", "[nn][autorec][errors]") {
  const auto c = tiny<float>();
  const char* fn = "recfuse::nn::autorec::fit";
  auto with = [](auto change) {
    nn::autorec_options o;
    change(o);
    return o;
  };
  using Catch::Contains;
  AUTOREC_REQUIRE_THROWS(
      nn::autorec<float>::fit(ref, c.view(), with([](auto& o) { o.hidden = 0; })), value_error,
      Contains(fn) && Contains("hidden = 0"));
  AUTOREC_REQUIRE_THROWS(
      nn::autorec<float>::fit(ref, c.view(), with([](auto& o) { o.epochs = -1; })), value_error,
      Contains(fn) && Contains("epochs = -1"));
  AUTOREC_REQUIRE_THROWS(
      nn::autorec<float>::fit(ref, c.view(), with([](auto& o) { o.batch_size = 0; })), value_error,
      Contains(fn) && Contains("batch_size = 0"));
  AUTOREC_REQUIRE_THROWS(
      nn::autorec<float>::fit(ref, c.view(), with([](auto& o) { o.learning_rate = 0; })),
      value_error, Contains(fn) && Contains("learning_rate"));
  AUTOREC_REQUIRE_THROWS(
      nn::autorec<float>::fit(ref, c.view(), with([](auto& o) { o.learning_rate = INFINITY; })),
      value_error, Contains(fn) && Contains("learning_rate"));
  AUTOREC_REQUIRE_THROWS(nn::autorec<float>::fit(ref, c.view(), with([](auto& o) { o.l2 = -1; })),
                         value_error, Contains(fn) && Contains("l2 = -1"));
  auto bad = c;
  bad.value[1] = 0.0f;
  AUTOREC_REQUIRE_THROWS(nn::autorec<float>::fit(ref, bad.view()), value_error,
                         Contains(fn) && Contains("entry 1") && Contains("must be > 0"));
  bad.value[1] = NAN;
  AUTOREC_REQUIRE_THROWS(nn::autorec<float>::fit(ref, bad.view()), value_error, Contains(fn));
  bad = c;
  bad.user[2] = 3;
  AUTOREC_REQUIRE_THROWS(nn::autorec<float>::fit(ref, bad.view()), index_error,
                         Contains(fn) && Contains("user id 3"));
  bad = c;
  bad.value.pop_back();
  AUTOREC_REQUIRE_THROWS(nn::autorec<float>::fit(ref, bad.view()), shape_error, Contains(fn));
}
