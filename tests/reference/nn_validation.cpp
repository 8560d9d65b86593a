// nn::train with validation on the reference backend: the validation curve against a forward
// pass computed by hand after each epoch, the row carve of validation_fraction (split_rows), the
// best epoch's parameters against a run stopped there, early stopping on an overfitting case,
// the unchanged path without validation, and the errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "recfuse/fuse/learned.hpp"
#include "recfuse/nn/mlp.hpp"
#include "recfuse/nn/train.hpp"
#include "test_support.hpp"

using namespace recfuse;
using nn::activation;

namespace {

constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();

// The network's output for row x, computed in double from the parameters (independent of
// nn::forward).
std::vector<double> hand_forward(const nn::mlp<float>& net, const float* x) {
  std::vector<double> in(x, x + net.inputs());
  for (index_t l = 0; l < net.layers(); ++l) {
    const auto w = net.weight(l);
    const auto b = net.bias(l);
    std::vector<double> out(static_cast<std::size_t>(w.rows()));
    for (index_t o = 0; o < w.rows(); ++o) {
      double z = b[o];
      for (index_t i = 0; i < w.cols(); ++i) z += static_cast<double>(w(o, i)) * in[i];
      switch (net.layer_activation(l)) {
        case activation::relu:
          z = z > 0.0 ? z : 0.0;
          break;
        case activation::sigmoid:
          z = 1.0 / (1.0 + std::exp(-z));
          break;
        default:
          break;
      }
      out[o] = z;
    }
    in = std::move(out);
  }
  return in;
}

// Mean loss over all entries of the network on (x, y), by hand.
double hand_loss(const nn::mlp<float>& net, const std::vector<float>& x,
                 const std::vector<float>& y, nn::loss kind) {
  const index_t outputs = net.outputs();
  const index_t rows = static_cast<index_t>(y.size()) / outputs;
  double total = 0.0;
  for (index_t r = 0; r < rows; ++r) {
    const auto o = hand_forward(net, x.data() + r * net.inputs());
    for (index_t j = 0; j < outputs; ++j) {
      const double t = y[r * outputs + j];
      if (kind == nn::loss::mse) {
        total += (o[j] - t) * (o[j] - t);
      } else {
        const double p = std::clamp(o[j], 1e-7, 1.0 - 1e-7);
        total -= t * std::log(p) + (1.0 - t) * std::log(1.0 - p);
      }
    }
  }
  return total / static_cast<double>(rows * outputs);
}

std::vector<float> rows_of(const std::vector<float>& m, index_t cols,
                           const std::vector<index_t>& rows) {
  std::vector<float> out;
  for (const index_t r : rows)
    out.insert(out.end(), m.begin() + r * cols, m.begin() + (r + 1) * cols);
  return out;
}

bool same_parameters(const nn::mlp<float>& a, const nn::mlp<float>& b) {
  return a.parameter_count() == b.parameter_count() &&
         std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin());
}

// A weak signal under strong noise on a few rows: a wide net first learns the signal, then
// memorises the noise, and the validation loss turns up.
struct noisy_data {
  index_t n = 40;
  std::vector<float> x = test::random_vector<float>(n * 2, 21, -1, 1);
  std::vector<float> y = make_y(x, test::random_vector<float>(n, 22, -1, 1));
  static std::vector<float> make_y(const std::vector<float>& x, std::vector<float> noise) {
    for (std::size_t i = 0; i < noise.size(); ++i) noise[i] += 1.0f + 1.5f * x[i * 2];
    return noise;
  }
};

nn::mlp<float> wide_net() {
  return nn::mlp<float>({2, 64, 64, 1}, {activation::relu, activation::relu, activation::identity},
                        5);
}

}  // namespace

TEST_CASE("train: the validation curve is the loss of a forward pass after each epoch",
          "[nn][validation]") {
  const reference_backend::policy p;
  const index_t n = 37, nv = 11;
  auto x = test::random_vector<float>(n * 3, 1, -1, 1);
  auto xv = test::random_vector<float>(nv * 3, 2, -1, 1);
  std::vector<float> y(n * 2), yv(nv * 2);
  const auto target = [](const float* r, index_t j) {
    return j == 0 ? std::sin(2 * r[0]) + r[1] * r[2] : r[0] - r[2] > 0 ? 0.9f : 0.1f;
  };
  for (index_t i = 0; i < n; ++i) {
    for (index_t j = 0; j < 2; ++j) y[i * 2 + j] = target(&x[i * 3], j);
  }
  for (index_t i = 0; i < nv; ++i) {
    for (index_t j = 0; j < 2; ++j) yv[i * 2 + j] = target(&xv[i * 3], j);
  }
  const auto kind = GENERATE(nn::loss::mse, nn::loss::bce);
  CAPTURE(nn::loss_name(kind));
  const activation last = kind == nn::loss::bce ? activation::sigmoid : activation::identity;
  if (kind == nn::loss::bce) {
    for (auto& t : y) t = std::clamp(t, 0.0f, 1.0f);
    for (auto& t : yv) t = std::clamp(t, 0.0f, 1.0f);
  }
  const nn::mlp<float> init({3, 8, 2}, {activation::relu, last}, 4);
  nn::train_options o;
  o.epochs = 6;
  o.batch_size = 10;  // the last batch of each epoch has 7 rows
  o.adam.learning_rate = 0.02;
  o.loss_kind = kind;
  o.seed = 9;
  o.stopping.patience = 0;  // every epoch runs
  o.stopping.restore_best = false;
  nn::mlp<float> net = init;
  const auto r = nn::train(p, net, test::cmat(x, n, 3), test::cmat(y, n, 2), test::cmat(xv, nv, 3),
                           test::cmat(yv, nv, 2), o);
  REQUIRE(r.epoch_loss.size() == 6);
  REQUIRE(r.validation_loss.size() == 6);
  CHECK_FALSE(r.stopped_early);
  CHECK(r.initial_validation_loss == Approx(hand_loss(init, xv, yv, kind)).epsilon(1e-5));
  nn::train_options plain = o;
  plain.stopping = {};
  for (index_t e = 0; e < 6; ++e) {
    CAPTURE(e);
    // The same training without validation for e + 1 epochs reaches the same parameters.
    nn::mlp<float> replay = init;
    plain.epochs = e + 1;
    const auto rr = nn::train(p, replay, test::cmat(x, n, 3), test::cmat(y, n, 2), plain);
    CHECK(rr.epoch_loss.back() == r.epoch_loss[e]);
    CHECK(rr.validation_loss.empty());
    CHECK(rr.best_epoch == 0);
    CHECK(r.validation_loss[e] == Approx(hand_loss(replay, xv, yv, kind)).epsilon(1e-5));
    if (e == 5) CHECK(same_parameters(replay, net));  // no restore_best: the last epoch's
  }
  std::vector<double> all{r.initial_validation_loss};
  all.insert(all.end(), r.validation_loss.begin(), r.validation_loss.end());
  const auto best = std::min_element(all.begin(), all.end());
  CHECK(r.best_epoch == best - all.begin());
  CHECK(r.best_validation_loss == *best);
  CHECK(r.best_epoch > 0);
  CHECK(r.validation_loss.back() < r.initial_validation_loss);  // it learns
}

TEST_CASE("split_rows: the carve of validation_fraction", "[nn][validation]") {
  for (const index_t n : {0, 1, 2, 7, 100}) {
    CAPTURE(n);
    const auto all = nn::split_rows(n, 0.0, 3);
    CHECK(all.validation.empty());
    REQUIRE(all.train.size() == static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) CHECK(all.train[i] == i);
  }
  const auto s = nn::split_rows(10, 0.3, 7);
  REQUIRE(s.validation.size() == 3);  // round(0.3 * 10)
  REQUIRE(s.train.size() == 7);
  CHECK(std::is_sorted(s.validation.begin(), s.validation.end()));
  CHECK(std::is_sorted(s.train.begin(), s.train.end()));
  std::vector<index_t> both = s.train;
  both.insert(both.end(), s.validation.begin(), s.validation.end());
  std::sort(both.begin(), both.end());
  for (index_t i = 0; i < 10; ++i) CHECK(both[i] == i);
  const auto again = nn::split_rows(10, 0.3, 7);
  CHECK(again.validation == s.validation);
  CHECK(nn::split_rows(7, 0.5, 1).validation.size() == 4);  // round(3.5) = 4
  CHECK(nn::split_rows(2, 0.5, 1).validation.size() == 1);
  // Another seed draws other rows (for these seeds).
  CHECK(nn::split_rows(100, 0.2, 1).validation != nn::split_rows(100, 0.2, 2).validation);
  CHECK_THROWS_MATCHES(nn::split_rows(4, 0.1, 0), value_error,
                       test::what_is(Catch::Contains("recfuse::nn::split_rows") &&
                                     Catch::Contains("holds out 0 rows")));
  CHECK_THROWS_MATCHES(nn::split_rows(1, 0.5, 0), value_error,
                       test::what_is(Catch::Contains("holds out 1 rows")));
  CHECK_THROWS_MATCHES(nn::split_rows(4, 1.0, 0), value_error,
                       test::what_is(Catch::Contains("recfuse::nn::split_rows: validation_fraction "
                                                     "is 1, need a value in [0, 1)")));
  CHECK_THROWS_AS(nn::split_rows(4, -0.1, 0), value_error);
  CHECK_THROWS_AS(nn::split_rows(4, nan_v, 0), value_error);
}

TEST_CASE("train: early stopping on an overfitting case keeps the best epoch", "[nn][validation]") {
  const reference_backend::policy p;
  const noisy_data d;
  nn::train_options o;
  o.epochs = 300;
  o.batch_size = 8;
  o.adam.learning_rate = 0.003;
  o.seed = 2;
  o.validation_fraction = 0.25;
  o.validation_seed = 11;
  o.stopping.patience = 10;
  nn::mlp<float> net = wide_net();
  const auto r = nn::train(p, net, test::cmat(d.x, d.n, 2), test::cmat(d.y, d.n, 1), o);
  CAPTURE(r.initial_validation_loss, r.validation_loss, r.best_epoch);
  CHECK(r.stopped_early);
  const auto ran = static_cast<index_t>(r.epoch_loss.size());
  CHECK(ran < 300);
  REQUIRE(r.validation_loss.size() == r.epoch_loss.size());
  CHECK(ran == r.best_epoch + 10);  // patience epochs without an improvement after the best
  REQUIRE(r.best_epoch >= 2);       // learns first, then overfits
  const auto best = std::min_element(r.validation_loss.begin(), r.validation_loss.end());
  CHECK(r.best_epoch == best - r.validation_loss.begin() + 1);
  CHECK(r.best_validation_loss == *best);
  CHECK(*best < r.initial_validation_loss);
  CHECK(r.epoch_loss.back() < r.epoch_loss[r.best_epoch - 1]);  // the training loss still falls

  // The carve is split_rows(n, 0.25, 11): training on those rows without validation for
  // best_epoch epochs gives exactly the restored parameters.
  const auto split = nn::split_rows(d.n, 0.25, 11);
  REQUIRE(split.validation.size() == 10);
  const auto xt = rows_of(d.x, 2, split.train), yt = rows_of(d.y, 1, split.train);
  const auto xv = rows_of(d.x, 2, split.validation), yv = rows_of(d.y, 1, split.validation);
  const index_t nt = 30, nv = 10;
  nn::train_options plain = o;
  plain.validation_fraction = 0;
  plain.epochs = r.best_epoch;
  nn::mlp<float> replay = wide_net();
  const auto rr = nn::train(p, replay, test::cmat(xt, nt, 2), test::cmat(yt, nt, 1), plain);
  CHECK(same_parameters(replay, net));
  CHECK(rr.epoch_loss.back() == r.epoch_loss[r.best_epoch - 1]);
  CHECK(*best == Approx(hand_loss(net, xv, yv, nn::loss::mse)).epsilon(1e-5));
  CHECK(r.initial_validation_loss ==
        Approx(hand_loss(wide_net(), xv, yv, nn::loss::mse)).epsilon(1e-5));

  SECTION("explicit x_val, y_val on the same rows give the same run") {
    nn::mlp<float> same = wide_net();
    plain.epochs = 300;
    const auto re = nn::train(p, same, test::cmat(xt, nt, 2), test::cmat(yt, nt, 1),
                              test::cmat(xv, nv, 2), test::cmat(yv, nv, 1), plain);
    CHECK(re.validation_loss == r.validation_loss);
    CHECK(re.epoch_loss == r.epoch_loss);
    CHECK(re.best_epoch == r.best_epoch);
    CHECK(re.stopped_early);
    CHECK(same_parameters(same, net));
  }
  SECTION("without restore_best the parameters are the last epoch's") {
    o.stopping.restore_best = false;
    nn::mlp<float> last = wide_net();
    const auto rl = nn::train(p, last, test::cmat(d.x, d.n, 2), test::cmat(d.y, d.n, 1), o);
    CHECK(rl.validation_loss == r.validation_loss);
    CHECK(rl.best_epoch == r.best_epoch);  // still reported
    plain.epochs = ran;
    nn::mlp<float> replay_last = wide_net();
    nn::train(p, replay_last, test::cmat(xt, nt, 2), test::cmat(yt, nt, 1), plain);
    CHECK(same_parameters(replay_last, last));
    CHECK_FALSE(same_parameters(last, net));
  }
  SECTION("min_delta: no epoch beats the initial network by 1e9, which is kept") {
    o.stopping.min_delta = 1e9;
    nn::mlp<float> m = wide_net();
    const auto rm = nn::train(p, m, test::cmat(d.x, d.n, 2), test::cmat(d.y, d.n, 1), o);
    CHECK(rm.best_epoch == 0);
    CHECK(rm.best_validation_loss == rm.initial_validation_loss);
    CHECK(rm.epoch_loss.size() == 10);
    CHECK(rm.stopped_early);
    CHECK(same_parameters(wide_net(), m));
  }
  SECTION("patience 0 runs every epoch and still keeps the best") {
    o.stopping.patience = 0;
    o.epochs = 60;
    nn::mlp<float> m = wide_net();
    const auto rm = nn::train(p, m, test::cmat(d.x, d.n, 2), test::cmat(d.y, d.n, 1), o);
    CHECK(rm.epoch_loss.size() == 60);
    // It overfits: the training loss keeps falling while the validation loss climbs.
    CHECK(rm.validation_loss.back() > 2 * r.best_validation_loss);
    CHECK(rm.epoch_loss.back() < 0.5 * rm.validation_loss.back());
    CHECK_FALSE(rm.stopped_early);
    CHECK(
        std::equal(r.validation_loss.begin(), r.validation_loss.end(), rm.validation_loss.begin()));
    const auto b = std::min_element(rm.validation_loss.begin(), rm.validation_loss.end());
    CHECK(rm.best_epoch == b - rm.validation_loss.begin() + 1);
  }
  SECTION("stopping exactly at the last epoch is not early") {
    o.epochs = ran;
    nn::mlp<float> m = wide_net();
    const auto rm = nn::train(p, m, test::cmat(d.x, d.n, 2), test::cmat(d.y, d.n, 1), o);
    CHECK(rm.validation_loss == r.validation_loss);
    CHECK_FALSE(rm.stopped_early);
    CHECK(same_parameters(m, net));
  }
}

TEST_CASE("train: without validation nothing changes", "[nn][validation]") {
  const reference_backend::policy p;
  const noisy_data d;
  nn::train_options o;
  o.epochs = 3;
  o.batch_size = 16;
  o.adam.learning_rate = 0.01;
  nn::mlp<float> a = wide_net(), b = wide_net();
  const auto ra = nn::train(p, a, test::cmat(d.x, d.n, 2), test::cmat(d.y, d.n, 1), o);
  CHECK(ra.validation_loss.empty());
  CHECK(ra.best_epoch == 0);
  CHECK(std::isnan(ra.initial_validation_loss));
  CHECK(std::isnan(ra.best_validation_loss));
  CHECK_FALSE(ra.stopped_early);
  // Stopping settings and a validation seed matter only with validation rows.
  o.stopping.patience = 1;
  o.stopping.min_delta = 5;
  o.stopping.restore_best = false;
  o.validation_seed = 99;
  const auto rb = nn::train(p, b, test::cmat(d.x, d.n, 2), test::cmat(d.y, d.n, 1), o);
  CHECK(rb.epoch_loss == ra.epoch_loss);
  CHECK(same_parameters(a, b));
  // epochs 0 with a fraction: nothing is carved or trained.
  o.epochs = 0;
  o.validation_fraction = 0.5;
  const auto r0 = nn::train(p, b, test::cmat(d.x, 1, 2), test::cmat(d.y, 1, 1), o);
  CHECK(r0.epoch_loss.empty());
  CHECK(r0.validation_loss.empty());
  CHECK(same_parameters(a, b));
}

TEST_CASE("train: validation errors name the function and the value", "[nn][validation]") {
  const reference_backend::policy p;
  nn::mlp<float> net({3, 2, 1}, {activation::relu, activation::identity});
  std::vector<float> x(12, 0.5f), y(4, 0.25f), xv(6, 0.5f), yv(2, 0.25f);
  nn::train_options o;
  o.epochs = 1;
  const auto fit = [&](const nn::train_options& opt) {
    return nn::train(p, net, test::cmat(x, 4, 3), test::cmat(y, 4, 1), opt);
  };
  const auto fit_val = [&](matrix_view<const float> a, matrix_view<const float> b,
                           const nn::train_options& opt) {
    return nn::train(p, net, test::cmat(x, 4, 3), test::cmat(y, 4, 1), a, b, opt);
  };
  auto bad = o;
  for (const double f : {-0.25, 1.0, 2.0, nan_v}) {
    CAPTURE(f);
    bad.validation_fraction = f;
    CHECK_THROWS_MATCHES(fit(bad), value_error,
                         test::what_is(Catch::Contains("recfuse::nn::train: validation_fraction "
                                                       "is ") &&
                                       Catch::Contains("need a value in [0, 1)")));
  }
  bad.validation_fraction = 0.1;  // round(0.4) = 0 of 4 rows
  CHECK_THROWS_MATCHES(fit(bad), value_error,
                       test::what_is(Catch::Contains("recfuse::nn::train: validation_fraction 0.1 "
                                                     "of 4 rows holds out 0 rows")));
  bad = o;
  bad.stopping.patience = -1;
  CHECK_THROWS_MATCHES(
      fit(bad), value_error,
      test::what_is(Catch::Contains("recfuse::nn::train: stopping.patience is -1, need >= 0")));
  bad = o;
  bad.stopping.min_delta = -1;
  CHECK_THROWS_MATCHES(
      fit(bad), value_error,
      test::what_is(Catch::Contains("recfuse::nn::train: stopping.min_delta is -1")));
  bad.stopping.min_delta = nan_v;
  CHECK_THROWS_AS(fit(bad), value_error);

  // Explicit validation rows.
  CHECK_NOTHROW(fit_val(test::cmat(xv, 2, 3), test::cmat(yv, 2, 1), o));
  CHECK_THROWS_MATCHES(
      fit_val(test::cmat(xv, 3, 2), test::cmat(yv, 3, 1), o), shape_error,
      test::what_is(Catch::Contains("recfuse::nn::train") && Catch::Contains("x_val.cols()")));
  CHECK_THROWS_MATCHES(fit_val(test::cmat(xv, 2, 3), test::cmat(yv, 1, 1), o), shape_error,
                       test::what_is(Catch::Contains("y_val.rows()")));
  CHECK_THROWS_MATCHES(fit_val(test::cmat(xv, 2, 3), test::cmat(yv, 1, 2), o), shape_error,
                       test::what_is(Catch::Contains("y_val")));
  CHECK_THROWS_MATCHES(fit_val(test::cmat(xv, 0, 3), test::cmat(yv, 0, 1), o), value_error,
                       test::what_is(Catch::Contains("recfuse::nn::train: x_val has no rows")));
  bad = o;
  bad.validation_fraction = 0.5;
  CHECK_THROWS_MATCHES(fit_val(test::cmat(xv, 2, 3), test::cmat(yv, 2, 1), bad), value_error,
                       test::what_is(Catch::Contains("validation_fraction is 0.5 but x_val and "
                                                     "y_val are given")));
  const auto before = std::vector<float>(net.parameters().begin(), net.parameters().end());
  yv[1] = static_cast<float>(nan_v);
  CHECK_THROWS_MATCHES(fit_val(test::cmat(xv, 2, 3), test::cmat(yv, 2, 1), o), value_error,
                       test::what_is(Catch::Contains("recfuse::nn::train: y_val(1, 0) is nan")));
  yv[1] = 1.5f;
  bad = o;
  bad.loss_kind = nn::loss::bce;
  CHECK_THROWS_MATCHES(
      fit_val(test::cmat(xv, 2, 3), test::cmat(yv, 2, 1), bad), value_error,
      test::what_is(Catch::Contains("recfuse::nn::train: y_val(1, 0) is 1.5; loss::bce needs")));
  yv[1] = 0.25f;
  xv[4] = std::numeric_limits<float>::infinity();
  CHECK_THROWS_MATCHES(fit_val(test::cmat(xv, 2, 3), test::cmat(yv, 2, 1), o), value_error,
                       test::what_is(Catch::Contains("recfuse::nn::train: x_val(1, 1) is inf")));
  CHECK(std::equal(before.begin(), before.end(), net.parameters().begin()));  // nothing trained
  // NaN in the training targets is refused with validation too.
  y[2] = static_cast<float>(nan_v);
  xv[4] = 0.5f;
  CHECK_THROWS_MATCHES(fit_val(test::cmat(xv, 2, 3), test::cmat(yv, 2, 1), o), value_error,
                       test::what_is(Catch::Contains("recfuse::nn::train: y(2, 0) is nan")));
  o.validation_fraction = 0.5;
  CHECK_THROWS_MATCHES(fit(o), value_error,
                       test::what_is(Catch::Contains("recfuse::nn::train: y(2, 0) is nan")));
}

TEST_CASE("learned_fusion::fit: validation rows, held out or given", "[nn][validation]") {
  const reference_backend::policy p;
  const index_t n = 60;
  auto x = test::random_vector<float>(n * 2, 31, -1, 1);
  auto noise = test::random_vector<float>(n, 32, -0.3, 0.3);
  std::vector<float> y(n);
  for (index_t i = 0; i < n; ++i) y[i] = 3 * x[i * 2] - 0.5f * x[i * 2 + 1] + noise[i] + 2;
  nn::train_options o;
  o.epochs = 6;
  o.batch_size = 16;
  o.adam.learning_rate = 0.01;
  using fusion = fuse::learned_fusion<float>;
  const auto make = [] { return fusion({{"a", 1}, {"b", 1}}, {4}, 3); };
  fusion plain = make();
  const auto r0 = plain.fit(p, test::cmat(x, n, 2), vector_view<const float>(y.data(), n), o);
  CHECK(r0.validation_loss.empty());
  CHECK(r0.best_epoch == 0);

  // validation_fraction carves split_rows' rows before standardising: the same as giving them.
  o.validation_fraction = 0.25;
  o.validation_seed = 4;
  o.stopping.patience = 0;
  o.stopping.restore_best = false;
  fusion held = make();
  const auto r = held.fit(p, test::cmat(x, n, 2), vector_view<const float>(y.data(), n), o);
  REQUIRE(r.validation_loss.size() == 6);
  const auto split = nn::split_rows(n, 0.25, 4);
  const auto xt = rows_of(x, 2, split.train), yt = rows_of(y, 1, split.train);
  const auto xv = rows_of(x, 2, split.validation), yv = rows_of(y, 1, split.validation);
  const auto nt = static_cast<index_t>(yt.size()), nv = static_cast<index_t>(yv.size());
  nn::train_options given = o;
  given.validation_fraction = 0;
  fusion explicit_rows = make();
  const auto re =
      explicit_rows.fit(p, test::cmat(xt, nt, 2), vector_view<const float>(yt.data(), nt),
                        test::cmat(xv, nv, 2), vector_view<const float>(yv.data(), nv), given);
  CHECK(re.validation_loss == r.validation_loss);
  CHECK(re.epoch_loss == r.epoch_loss);
  CHECK(same_parameters(explicit_rows.model(), held.model()));
  CHECK(explicit_rows.input_mean() == held.input_mean());
  // The training rows alone set the standardisation, and predict on the validation rows gives
  // the last epoch's validation loss.
  double mean0 = 0;
  for (index_t i = 0; i < nt; ++i) mean0 += xt[i * 2];
  CHECK(held.input_mean()[0] == Approx(mean0 / nt).epsilon(1e-12));
  std::vector<float> pred(nv);
  held.predict(p, test::cmat(xv, nv, 2), vector_view<float>(pred.data(), nv));
  double mse = 0;
  for (index_t i = 0; i < nv; ++i)
    mse += (pred[i] - static_cast<double>(yv[i])) * (pred[i] - yv[i]);
  CHECK(r.validation_loss.back() == Approx(mse / nv).epsilon(1e-6));

  // Errors.
  const auto fit_val = [&](matrix_view<const float> a, vector_view<const float> b) {
    fusion f = make();
    return f.fit(p, test::cmat(xt, nt, 2), vector_view<const float>(yt.data(), nt), a, b, given);
  };
  std::vector<float> bad_x(6, 0.5f), bad_y(2, 0.5f);
  CHECK_THROWS_MATCHES(fit_val(test::cmat(bad_x, 2, 3), vector_view<const float>(bad_y.data(), 2)),
                       shape_error,
                       test::what_is(Catch::Contains("recfuse::fuse::learned_fusion::fit: "
                                                     "val_inputs has 3 columns")));
  CHECK_THROWS_MATCHES(fit_val(test::cmat(bad_x, 3, 2), vector_view<const float>(bad_y.data(), 2)),
                       shape_error, test::what_is(Catch::Contains("val_targets.size()")));
  CHECK_THROWS_MATCHES(fit_val(test::cmat(bad_x, 0, 2), vector_view<const float>(bad_y.data(), 0)),
                       value_error,
                       test::what_is(Catch::Contains("recfuse::fuse::learned_fusion::fit: "
                                                     "val_inputs has 0 rows")));
  bad_y[1] = static_cast<float>(nan_v);
  CHECK_THROWS_MATCHES(fit_val(test::cmat(bad_x, 2, 2), vector_view<const float>(bad_y.data(), 2)),
                       value_error,
                       test::what_is(Catch::Contains("recfuse::fuse::learned_fusion::fit: "
                                                     "val_targets[1] is nan")));
  bad_y[1] = 0.5f;
  bad_x[3] = static_cast<float>(nan_v);
  CHECK_THROWS_MATCHES(fit_val(test::cmat(bad_x, 2, 2), vector_view<const float>(bad_y.data(), 2)),
                       value_error, test::what_is(Catch::Contains("val_inputs(1, 1) is nan")));
  // With a fraction, errors name the caller's rows (before the carve).
  std::vector<float> ybad = y;
  ybad[n - 1] = static_cast<float>(nan_v);
  fusion g = make();
  CHECK_THROWS_MATCHES(g.fit(p, test::cmat(x, n, 2), vector_view<const float>(ybad.data(), n), o),
                       value_error,
                       test::what_is(Catch::Contains("recfuse::fuse::learned_fusion::fit: "
                                                     "targets[59] is nan")));
  o.validation_fraction = 1.5;
  fusion f = make();
  CHECK_THROWS_MATCHES(f.fit(p, test::cmat(x, n, 2), vector_view<const float>(y.data(), n), o),
                       value_error,
                       test::what_is(Catch::Contains("recfuse::fuse::learned_fusion::fit: "
                                                     "validation_fraction is 1.5")));
  CHECK_FALSE(f.fitted());
}
