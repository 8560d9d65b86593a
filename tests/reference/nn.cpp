// The MLP scorer on the reference backend: forward on a hand-computed 2-2-1 net, backward
// against central finite differences, losses, one and two Adam steps against PyTorch's
// formula worked out by hand, training that learns and is reproducible, and the errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "recfuse/nn/mlp.hpp"
#include "recfuse/nn/train.hpp"
#include "test_support.hpp"

using namespace recfuse;
using nn::activation;

template class recfuse::nn::mlp<float>;
template class recfuse::nn::mlp<double>;
template class recfuse::nn::adam<float>;
template class recfuse::nn::adam<double>;

namespace {

constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();

// W0 = [[1, -1], [0.5, 2]], b0 = [0.1, -0.2], W1 = [[2, -3]], b1 = [0.5].
template <class T>
nn::mlp<T> small_net(activation last) {
  nn::mlp<T> net({2, 2, 1}, {activation::relu, last});
  const std::vector<T> p = {1, -1, 0.5, 2, 0.1, -0.2, 2, -3, 0.5};
  std::copy(p.begin(), p.end(), net.parameters().begin());
  return net;
}

}  // namespace

TEMPLATE_TEST_CASE("mlp: shape, layout and initialisation", "[nn]", float, double) {
  using T = TestType;
  nn::mlp<T> net({3, 4, 2}, {activation::relu, activation::identity}, 5);
  CHECK(net.inputs() == 3);
  CHECK(net.outputs() == 2);
  CHECK(net.layers() == 2);
  CHECK(net.parameter_count() == 4 * 3 + 4 + 2 * 4 + 2);
  CHECK(net.weight(0).rows() == 4);
  CHECK(net.weight(0).cols() == 3);
  CHECK(net.bias(0).data() == net.parameters().data() + 12);
  CHECK(net.weight(1).data() == net.parameters().data() + 16);
  CHECK(net.bias(1).data() == net.parameters().data() + 24);
  for (index_t i = 0; i < 16; ++i) CHECK(std::abs(net.parameters()[i]) < 1 / std::sqrt(3.0));
  for (index_t i = 16; i < 26; ++i) CHECK(std::abs(net.parameters()[i]) < 0.5);
  nn::mlp<T> same({3, 4, 2}, {activation::relu, activation::identity}, 5);
  nn::mlp<T> other({3, 4, 2}, {activation::relu, activation::identity}, 6);
  CHECK(std::equal(net.parameters().begin(), net.parameters().end(), same.parameters().begin()));
  CHECK_FALSE(
      std::equal(net.parameters().begin(), net.parameters().end(), other.parameters().begin()));
}

TEMPLATE_TEST_CASE("forward: hand-computed 2-2-1 net", "[nn]", float, double) {
  using T = TestType;
  const reference_backend::policy p;
  const std::vector<T> x = {1, 2, -1, 0.5};
  // row 0: z0 = [-0.9, 4.3] -> [0, 4.3], out = -12.9 + 0.5; row 1: z0 = [-1.4, 0.3] -> [0, 0.3]
  {
    const auto net = small_net<T>(activation::identity);
    std::vector<T> out(2, T(99));
    nn::forward(p, net, test::cmat(x, 2, 2), test::mmat(out, 2, 1));
    CHECK(out[0] == Approx(-12.4).epsilon(1e-6));
    CHECK(out[1] == Approx(-0.4).epsilon(1e-6));
    CHECK(nn::predict(p, net, test::cmat(x, 2, 2)) == out);
  }
  {
    const auto net = small_net<T>(activation::sigmoid);
    const auto out = nn::predict(p, net, test::cmat(x, 2, 2));
    CHECK(out[1] == Approx(0.401312339887548).epsilon(1e-6));
    CHECK(out[0] == Approx(1 / (1 + std::exp(12.4))).epsilon(1e-5));
  }
  SECTION("views of mutable data deduce T too") {
    const auto net = small_net<T>(activation::identity);
    std::vector<T> xm = x, out(2), g(2), t = {0, 0};
    nn::forward(p, net, test::mmat(xm, 2, 2), test::mmat(out, 2, 1));
    CHECK(nn::predict(p, net, test::mmat(xm, 2, 2)) == out);
    nn::mlp_workspace<T> ws;
    nn::forward_train(p, net, test::mmat(xm, 2, 2), ws);
    CHECK(nn::loss_and_gradient(nn::loss::mse, test::mmat(out, 2, 1), test::mmat(t, 2, 1),
                                test::mmat(g, 2, 1)) > 0);
    std::vector<T> gp(static_cast<std::size_t>(net.parameter_count()));
    nn::backward(p, net, ws, test::mmat(g, 2, 1), test::mview(gp), matrix_view<T>{});
  }
  SECTION("batch 0, NaN propagates to its row only, strided input") {
    const auto net = small_net<T>(activation::identity);
    std::vector<T> none;
    nn::forward(p, net, test::cmat(none, 0, 2), test::mmat(none, 0, 1));
    std::vector<T> xn = {static_cast<T>(nan_v), 2, -1, 0.5};
    const auto out = nn::predict(p, net, test::cmat(xn, 2, 2));
    CHECK(std::isnan(out[0]));
    CHECK(out[1] == Approx(-0.4).epsilon(1e-6));
    const std::vector<T> xs = {1, 2, 7, -1, 0.5, 7};
    std::vector<T> o2(2);
    nn::forward(p, net, matrix_view<const T>(xs.data(), 2, 2, 3), test::mmat(o2, 2, 1));
    CHECK(o2[0] == Approx(-12.4).epsilon(1e-6));
  }
}

namespace {

double total_loss(const nn::mlp<double>& net, const std::vector<double>& x,
                  const std::vector<double>& t, index_t batch, nn::loss kind) {
  const reference_backend::policy p;
  auto out = nn::predict(p, net, test::cmat(x, batch, net.inputs()));
  std::vector<double> g(out.size());
  return nn::loss_and_gradient(kind, test::cmat(out, batch, net.outputs()),
                               test::cmat(t, batch, net.outputs()),
                               test::mmat(g, batch, net.outputs()));
}

void check_gradients(std::vector<index_t> widths, std::vector<activation> acts, nn::loss kind,
                     std::uint64_t seed) {
  const reference_backend::policy p;
  nn::mlp<double> net(widths, acts, seed);
  const index_t batch = 5, in = net.inputs(), out = net.outputs();
  auto x = test::random_vector<double>(batch * in, seed + 1, -2, 2);
  auto t = test::random_vector<double>(batch * out, seed + 2, 0.05, 0.95);
  nn::mlp_workspace<double> ws;
  const auto o = nn::forward_train(p, net, test::cmat(x, batch, in), ws);
  std::vector<double> go(static_cast<std::size_t>(batch * out));
  nn::loss_and_gradient(kind, o, test::cmat(t, batch, out), test::mmat(go, batch, out));
  std::vector<double> gp(static_cast<std::size_t>(net.parameter_count()), 99.0);
  std::vector<double> gx(static_cast<std::size_t>(batch * in), 99.0);
  nn::backward(p, net, ws, test::cmat(go, batch, out), test::mview(gp), test::mmat(gx, batch, in));
  const double h = 1e-6;
  for (index_t i = 0; i < net.parameter_count(); ++i) {
    CAPTURE(i);
    double& w = net.parameters()[i];
    const double w0 = w;
    w = w0 + h;
    const double up = total_loss(net, x, t, batch, kind);
    w = w0 - h;
    const double down = total_loss(net, x, t, batch, kind);
    w = w0;
    CHECK(gp[static_cast<std::size_t>(i)] ==
          Approx((up - down) / (2 * h)).margin(1e-7).epsilon(1e-5));
  }
  for (std::size_t i = 0; i < x.size(); ++i) {
    CAPTURE(i);
    const double x0 = x[i];
    x[i] = x0 + h;
    const double up = total_loss(net, x, t, batch, kind);
    x[i] = x0 - h;
    const double down = total_loss(net, x, t, batch, kind);
    x[i] = x0;
    CHECK(gx[i] == Approx((up - down) / (2 * h)).margin(1e-7).epsilon(1e-5));
  }
}

}  // namespace

TEST_CASE("backward: every parameter and input against central differences", "[nn]") {
  SECTION("relu, sigmoid, identity with mse") {
    check_gradients({3, 5, 4, 2}, {activation::relu, activation::sigmoid, activation::identity},
                    nn::loss::mse, 11);
  }
  SECTION("sigmoid output with bce") {
    check_gradients({4, 6, 1}, {activation::relu, activation::sigmoid}, nn::loss::bce, 21);
  }
  SECTION("identity, one layer, bce on sigmoid hidden") {
    check_gradients({3, 3, 2}, {activation::identity, activation::sigmoid}, nn::loss::bce, 31);
    check_gradients({2, 3}, {activation::identity}, nn::loss::mse, 41);
  }
}

TEST_CASE("train_step: the combined sigmoid + bce gradient equals the chained one", "[nn]") {
  const reference_backend::policy p;
  nn::mlp<double> net({3, 4, 1}, {activation::relu, activation::sigmoid}, 3);
  const auto x = test::random_vector<double>(6 * 3, 4, -1, 1);
  const std::vector<double> t = {0, 1, 1, 0, 0.25, 1};
  nn::mlp_workspace<double> ws;
  const auto o = nn::forward_train(p, net, test::cmat(x, 6, 3), ws);
  std::vector<double> go(6);
  const double l =
      nn::loss_and_gradient(nn::loss::bce, o, test::cmat(t, 6, 1), test::mmat(go, 6, 1));
  std::vector<double> gp(static_cast<std::size_t>(net.parameter_count()));
  nn::backward(p, net, ws, test::cmat(go, 6, 1), test::mview(gp), matrix_view<double>{});
  const std::vector<double> before(net.parameters().begin(), net.parameters().end());
  nn::adam<double> opt(net.parameter_count());
  nn::mlp_workspace<double> ws2;
  CHECK(nn::train_step(p, net, opt, ws2, test::cmat(x, 6, 3), test::cmat(t, 6, 1), nn::loss::bce) ==
        Approx(l));
  for (std::size_t i = 0; i < gp.size(); ++i) {
    CHECK(ws2.grad_parameters_[i] == Approx(gp[i]).margin(1e-12));
  }
  CHECK(opt.steps() == 1);
  CHECK(net.parameters()[0] != before[0]);
}

TEMPLATE_TEST_CASE("loss_and_gradient: mse and bce by hand", "[nn]", float, double) {
  using T = TestType;
  const std::vector<T> o = {0.5, 0.2, 1, 0};
  const std::vector<T> t = {1, 0, 1, 0};
  std::vector<T> g(4);
  const double mse = nn::loss_and_gradient(nn::loss::mse, test::cmat(o, 2, 2), test::cmat(t, 2, 2),
                                           test::mmat(g, 2, 2));
  CHECK(mse == Approx((0.25 + 0.04) / 4));
  CHECK(g[0] == Approx(2 * -0.5 / 4));
  CHECK(g[1] == Approx(2 * 0.2 / 4));
  CHECK(g[2] == T(0));
  const double bce = nn::loss_and_gradient(nn::loss::bce, test::cmat(o, 2, 2), test::cmat(t, 2, 2),
                                           test::mmat(g, 2, 2));
  const double expected = (-std::log(0.5) - std::log(0.8) - std::log(1 - 1e-7) * 2) / 4;
  CHECK(bce == Approx(expected).epsilon(1e-6));
  CHECK(g[0] == Approx((0.5 - 1) / (0.25 * 4)));
  CHECK(g[1] == Approx(0.2 / (0.16 * 4)).epsilon(1e-5));
  CHECK(std::isfinite(g[2]));
  CHECK(std::isfinite(g[3]));
  std::vector<T> none;
  CHECK(nn::loss_and_gradient(nn::loss::mse, test::cmat(none, 0, 1), test::cmat(none, 0, 1),
                              test::mmat(none, 0, 1)) == 0.0);
  CHECK_THROWS_MATCHES(nn::loss_and_gradient(nn::loss::mse, test::cmat(o, 2, 2),
                                             test::cmat(t, 4, 1), test::mmat(g, 2, 2)),
                       shape_error,
                       test::what_is(Catch::Contains("recfuse::nn::loss_and_gradient")));
}

TEST_CASE("adam: two steps against PyTorch's formula by hand", "[nn]") {
  const reference_backend::policy p;
  std::vector<double> w = {1.0, 1.0};
  nn::adam_options o;
  o.learning_rate = 0.1;
  nn::adam<double> opt(1, o);
  std::vector<double> g = {0.5};
  opt.step(p, vector_view<double>(w.data(), 1), test::cview(g));
  CHECK(w[0] == Approx(0.900000002).epsilon(1e-14));
  g[0] = -0.25;
  opt.step(p, vector_view<double>(w.data(), 1), test::cview(g));
  CHECK(w[0] == Approx(0.8733662987078463).epsilon(1e-14));
  CHECK(opt.first_moment()[0] == Approx(0.02));
  CHECK(opt.second_moment()[0] == Approx(0.00031225));
  CHECK(opt.steps() == 2);

  o.weight_decay = 0.1;
  nn::adam<float> opt2(1, o);
  std::vector<float> wf = {1.0f}, gf = {0.5f};
  opt2.step(p, test::mview(wf), test::cview(gf));
  CHECK(wf[0] == Approx(0.9000000016666666).epsilon(1e-6));
  gf[0] = -0.25f;
  opt2.step(p, test::mview(wf), test::cview(gf));
  CHECK(wf[0] == Approx(0.8544413674617625).epsilon(1e-6));

  SECTION("errors: sizes, NaN gradient leaves the parameters alone, options") {
    std::vector<double> g2 = {0.1, nan_v};
    nn::adam<double> opt3(2);
    const std::vector<double> before = w;
    CHECK_THROWS_MATCHES(opt3.step(p, test::mview(w), test::cview(g2)), value_error,
                         test::what_is(Catch::Contains("recfuse::nn::adam::step") &&
                                       Catch::Contains("gradients[1]")));
    CHECK(w == before);
    CHECK(opt3.steps() == 0);
    CHECK_THROWS_AS(opt3.step(p, vector_view<double>(w.data(), 1), test::cview(g2)), shape_error);
    CHECK_THROWS_AS(opt3.step(p, test::mview(w), vector_view<const double>(g2.data(), 1)),
                    shape_error);
    nn::adam_options bad;
    bad.learning_rate = 0;
    CHECK_THROWS_AS(nn::adam<double>(2, bad), value_error);
    bad = {};
    bad.beta1 = 1.0;
    CHECK_THROWS_AS(nn::adam<double>(2, bad), value_error);
    bad = {};
    bad.epsilon = 0.0;  // would divide 0 by 0 for a parameter whose gradient is always 0
    CHECK_THROWS_WITH(nn::adam<double>(2, bad),
                      Catch::Contains("recfuse::nn::adam") && Catch::Contains("epsilon = 0"));
  }
}

TEST_CASE("train: learns y = sin(x0) + x1 x2 and is reproducible", "[nn]") {
  const reference_backend::policy p;
  const index_t n = 512;
  auto x = test::random_vector<float>(n * 3, 8, -1, 1);
  std::vector<float> y(n);
  for (index_t i = 0; i < n; ++i) {
    y[i] = std::sin(2 * x[i * 3]) + x[i * 3 + 1] * x[i * 3 + 2];
  }
  nn::train_options o;
  o.epochs = 30;
  o.batch_size = 50;  // the last batch of each epoch has 12 rows
  o.adam.learning_rate = 0.01;
  o.seed = 3;
  nn::mlp<float> net({3, 16, 16, 1}, {activation::relu, activation::relu, activation::identity}, 1);
  nn::mlp<float> copy = net;
  const auto r = nn::train(p, net, test::cmat(x, n, 3), test::cmat(y, n, 1), o);
  REQUIRE(r.epoch_loss.size() == 30);
  CHECK(r.epoch_loss.back() < 0.1 * r.epoch_loss.front());
  const auto r2 = nn::train(p, copy, test::cmat(x, n, 3), test::cmat(y, n, 1), o);
  CHECK(r2.epoch_loss == r.epoch_loss);
  CHECK(std::equal(net.parameters().begin(), net.parameters().end(), copy.parameters().begin()));

  SECTION("bce on a separable problem") {
    std::vector<float> lab(n);
    for (index_t i = 0; i < n; ++i) lab[i] = x[i * 3] + x[i * 3 + 1] > 0 ? 1.0f : 0.0f;
    nn::mlp<float> clf({3, 8, 1}, {activation::relu, activation::sigmoid}, 2);
    o.loss_kind = nn::loss::bce;
    o.epochs = 20;
    const auto rb = nn::train(p, clf, test::cmat(x, n, 3), test::cmat(lab, n, 1), o);
    CHECK(rb.epoch_loss.back() < 0.3);
  }
  SECTION("no shuffle, epochs 0") {
    o.shuffle = false;
    o.epochs = 2;
    nn::mlp<float> a({3, 4, 1}, {activation::relu, activation::identity}, 1);
    CHECK(nn::train(p, a, test::cmat(x, n, 3), test::cmat(y, n, 1), o).epoch_loss.size() == 2);
    o.epochs = 0;
    CHECK(nn::train(p, a, test::cmat(x, n, 3), test::cmat(y, n, 1), o).epoch_loss.empty());
  }
}

TEST_CASE("nn: errors name the function and the sizes", "[nn]") {
  const reference_backend::policy p;
  using M = nn::mlp<float>;
  CHECK_THROWS_MATCHES(M({3}, {}), value_error, test::what_is(Catch::Contains("recfuse::nn::mlp")));
  CHECK_THROWS_AS(M({3, 0, 1}, {activation::relu, activation::relu}), value_error);
  CHECK_THROWS_MATCHES(M({3, 2, 1}, {activation::relu}), shape_error,
                       test::what_is(Catch::Contains("recfuse::nn::mlp")));
  M net({3, 2, 1}, {activation::relu, activation::identity});
  std::vector<float> x(12, 0.5f), y(4, 1.0f), out(8);
  CHECK_THROWS_MATCHES(
      nn::forward(p, net, test::cmat(x, 6, 2), test::mmat(out, 6, 1)), shape_error,
      test::what_is(Catch::Contains("recfuse::nn::forward") && Catch::Contains("3")));
  CHECK_THROWS_AS(nn::forward(p, net, test::cmat(x, 4, 3), test::mmat(out, 4, 2)), shape_error);
  CHECK_THROWS_AS(nn::forward(p, net, test::cmat(x, 4, 3), test::mmat(out, 3, 1)), shape_error);
  CHECK_THROWS_AS(nn::forward(p, M{}, test::cmat(x, 4, 3), test::mmat(out, 4, 1)), value_error);

  nn::mlp_workspace<float> ws;
  std::vector<float> gp(static_cast<std::size_t>(net.parameter_count()));
  CHECK_THROWS_MATCHES(
      nn::backward(p, net, ws, test::cmat(y, 4, 1), test::mview(gp), matrix_view<float>{}),
      value_error, test::what_is(Catch::Contains("recfuse::nn::backward")));
  nn::forward_train(p, net, test::cmat(x, 4, 3), ws);
  CHECK_THROWS_AS(
      nn::backward(p, net, ws, test::cmat(y, 2, 2), test::mview(gp), matrix_view<float>{}),
      shape_error);
  CHECK_THROWS_AS(nn::backward(p, net, ws, test::cmat(y, 4, 1), vector_view<float>(gp.data(), 3),
                               matrix_view<float>{}),
                  shape_error);
  CHECK_THROWS_AS(
      nn::backward(p, net, ws, test::cmat(y, 4, 1), test::mview(gp), test::mmat(out, 4, 2)),
      shape_error);

  nn::train_options o;
  CHECK_THROWS_MATCHES(nn::train(p, net, test::cmat(x, 4, 3), test::cmat(y, 3, 1), o), shape_error,
                       test::what_is(Catch::Contains("recfuse::nn::train")));
  CHECK_THROWS_AS(nn::train(p, net, test::cmat(x, 4, 3), test::cmat(y, 2, 2), o), shape_error);
  o.epochs = -1;
  CHECK_THROWS_AS(nn::train(p, net, test::cmat(x, 4, 3), test::cmat(y, 4, 1), o), value_error);
  o = {};
  o.batch_size = 0;
  CHECK_THROWS_AS(nn::train(p, net, test::cmat(x, 4, 3), test::cmat(y, 4, 1), o), value_error);
  o = {};
  o.adam.learning_rate = -1;
  CHECK_THROWS_AS(nn::train(p, net, test::cmat(x, 4, 3), test::cmat(y, 4, 1), o), value_error);
  o = {};
  x[7] = static_cast<float>(nan_v);  // row 2, column 1
  CHECK_THROWS_MATCHES(nn::train(p, net, test::cmat(x, 4, 3), test::cmat(y, 4, 1), o), value_error,
                       test::what_is(Catch::Contains("x(2, 1)")));
  x[7] = 0.5f;
  y[3] = std::numeric_limits<float>::infinity();
  CHECK_THROWS_MATCHES(nn::train(p, net, test::cmat(x, 4, 3), test::cmat(y, 4, 1), o), value_error,
                       test::what_is(Catch::Contains("y(3, 0)")));
  nn::adam<float> opt(5);
  CHECK_THROWS_AS(
      nn::train_step(p, net, opt, ws, test::cmat(x, 4, 3), test::cmat(y, 4, 1), nn::loss::mse),
      shape_error);
}

TEST_CASE("nn: bce targets outside [0, 1] are refused", "[nn]") {
  const reference_backend::policy p;
  nn::mlp<float> net({3, 2, 2}, {activation::relu, activation::sigmoid}, 1);
  const std::vector<float> x = {0.5f, -1, 2, 0, 1, 1, -2, 0.25f, 1, 3, 3, 3};
  std::vector<float> y = {0, 1, 0.5f, 1, 0.25f, 0, 1, 1};
  std::vector<float> out(8, 0.5f), grad(8, 7.0f);
  nn::train_options o;
  o.loss_kind = nn::loss::bce;
  o.epochs = 1;
  // In range (0 and 1 included): fine.
  CHECK(std::isfinite(nn::loss_and_gradient(nn::loss::bce, test::cmat(out, 4, 2),
                                            test::cmat(y, 4, 2), test::mmat(grad, 4, 2))));
  nn::train(p, net, test::cmat(x, 4, 3), test::cmat(y, 4, 2), o);
  for (const float bad : {1.5f, -0.5f, std::numeric_limits<float>::quiet_NaN()}) {
    CAPTURE(bad);
    auto yb = y;
    yb[5] = bad;  // row 2, column 1
    const std::string value = bad != bad ? "nan" : bad > 1 ? "1.5" : "-0.5";
    std::fill(grad.begin(), grad.end(), 7.0f);
    CHECK_THROWS_MATCHES(
        nn::loss_and_gradient(nn::loss::bce, test::cmat(out, 4, 2), test::cmat(yb, 4, 2),
                              test::mmat(grad, 4, 2)),
        value_error,
        test::what_is(Catch::Contains("recfuse::nn::loss_and_gradient: target(2, 1) is " + value) &&
                      Catch::Contains("[0, 1]")));
    CHECK(grad == std::vector<float>(8, 7.0f));  // nothing written
    const nn::mlp<float> before = net;
    nn::adam<float> opt(net.parameter_count());
    nn::mlp_workspace<float> ws;
    CHECK_THROWS_MATCHES(
        nn::train_step(p, net, opt, ws, test::cmat(x, 4, 3), test::cmat(yb, 4, 2), nn::loss::bce),
        value_error,
        test::what_is(Catch::Contains("recfuse::nn::train_step: y(2, 1) is " + value)));
    CHECK(opt.steps() == 0);
    CHECK(
        std::equal(net.parameters().begin(), net.parameters().end(), before.parameters().begin()));
    if (bad == bad) {  // NaN is already refused as non-finite
      CHECK_THROWS_MATCHES(
          nn::train(p, net, test::cmat(x, 4, 3), test::cmat(yb, 4, 2), o), value_error,
          test::what_is(Catch::Contains("recfuse::nn::train: y(2, 1) is " + value) &&
                        Catch::Contains("[0, 1]")));
      // mse takes any finite target.
      nn::train_step(p, net, opt, ws, test::cmat(x, 4, 3), test::cmat(yb, 4, 2), nn::loss::mse);
    }
  }
}
