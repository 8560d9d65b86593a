// The MLP scorer on the backend against the reference: forward (dense layers with fused bias
// and activation) at batch sizes that take every GEMM path, backward, train_step and Adam;
// and on xsimd, 1 and 2 threads give the same bits.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "backend.hpp"
#include "recfuse/nn/mlp.hpp"
#include "recfuse/nn/train.hpp"
#if defined(RECFUSE_TEST_BACKEND_XSIMD)
#include "recfuse/xsimd/nn/mlp.hpp"
#include "recfuse/xsimd/nn/train.hpp"
#elif defined(RECFUSE_TEST_BACKEND_KOKKOS)
#include "recfuse/kokkos/nn/mlp.hpp"
#include "recfuse/kokkos/nn/train.hpp"
#endif
#include "test_support.hpp"

using namespace recfuse;
using nn::activation;

namespace {

// Per-entry closeness: |got[i] - want[i]| <= rel * (|want[i]| + scale[i]), where scale[i] bounds
// the magnitude of the terms summed into entry i (forward_scale), or is a floor at the typical
// magnitude of the entry's block (block_floor) where no such bound is at hand. An entry that
// cancels to near 0 may carry the rounding error of its terms; every other entry is held to its
// own size, not to the largest entry of the output.
template <class T>
void check_close(const std::vector<T>& got, const std::vector<T>& want,
                 const std::vector<double>& scale, double rel) {
  REQUIRE(got.size() == want.size());
  REQUIRE(scale.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double w = static_cast<double>(want[i]);
    const double bound = rel * (std::abs(w) + scale[i]);
    if (!(std::abs(static_cast<double>(got[i]) - w) <= bound)) {
      CAPTURE(i, got[i], want[i], scale[i], bound);
      FAIL_CHECK("differs from the reference");
      return;
    }
  }
}

// The magnitude of the terms summed into each forward output, in double, from the reference's
// layer outputs: for output j of the last layer with input h, |b_j| + sum_k |W_jk h_k| + |y_j|
// (the last for the activation's own rounding). Rounding upstream moves h by a small fraction
// of h, so the same sum bounds its effect. An entry far below its terms (cancellation) may
// carry their rounding error; any other entry is held to its own size.
template <class T>
std::vector<double> forward_scale(const nn::mlp<T>& net, const std::vector<T>& x, index_t batch) {
  nn::mlp_workspace<T> ws;
  nn::forward_train(reference_backend::policy{}, net, test::cmat(x, batch, net.inputs()), ws);
  const index_t last = net.layers() - 1;
  const matrix_view<const T> h =
      last == 0 ? test::cmat(x, batch, net.inputs()) : ws.layer_output(last - 1);
  const matrix_view<const T> y = ws.layer_output(last);
  const auto w = net.weight(last);
  const auto b = net.bias(last);
  std::vector<double> s(static_cast<std::size_t>(batch * w.rows()));
  for (index_t r = 0; r < batch; ++r) {
    for (index_t j = 0; j < w.rows(); ++j) {
      double t = std::abs(static_cast<double>(b[j])) + std::abs(static_cast<double>(y(r, j)));
      for (index_t k = 0; k < w.cols(); ++k) {
        t += std::abs(static_cast<double>(w(j, k)) * static_cast<double>(h(r, k)));
      }
      s[static_cast<std::size_t>(r * w.rows() + j)] = t;
    }
  }
  return s;
}

// A floor per block of a flat result: the mean |want| over each block [starts[b], starts[b+1])
// (e.g. one layer's weight gradient), for entries without a bound on their terms.
template <class T>
std::vector<double> block_floor(const std::vector<T>& want,
                                const std::vector<std::size_t>& starts) {
  std::vector<double> floor(want.size());
  for (std::size_t b = 0; b + 1 < starts.size(); ++b) {
    double sum = 0;
    for (std::size_t i = starts[b]; i < starts[b + 1]; ++i) {
      sum += std::abs(static_cast<double>(want[i]));
    }
    const double mean =
        sum / static_cast<double>(std::max<std::size_t>(1, starts[b + 1] - starts[b]));
    for (std::size_t i = starts[b]; i < starts[b + 1]; ++i) floor[i] = mean;
  }
  return floor;
}

// The blocks of an mlp's flat parameters: W0, b0, W1, b1, ...
template <class T>
std::vector<std::size_t> parameter_blocks(const nn::mlp<T>& net) {
  std::vector<std::size_t> starts = {0};
  for (index_t l = 0; l < net.layers(); ++l) {
    starts.push_back(starts.back() +
                     static_cast<std::size_t>(net.weight(l).rows() * net.weight(l).cols()));
    starts.push_back(starts.back() + static_cast<std::size_t>(net.bias(l).size()));
  }
  return starts;
}

// Relative tolerances of check_close (xsimd vs the reference, float sums in another order; the
// largest ratio seen here was about 1.3e-7 / 2.5e-16 for forward and 8.4e-7 / 3.1e-15 for the
// gradients, so these leave a margin of 20 to 400 while a 1e-3 relative change of one entry
// fails whenever that entry is not 100 times smaller than its terms or its block).
template <class T>
constexpr double rel_tol() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-13;
}
template <class T>
constexpr double grad_tol() {
  return std::is_same_v<T, float> ? 2e-5 : 1e-13;
}
// Losses after Adam steps (the parameters drift apart at the scale of lr).
template <class T>
constexpr double loss_tol() {
  return std::is_same_v<T, float> ? 2e-3 : 1e-10;
}

template <class T>
nn::mlp<T> scorer(std::uint64_t seed) {
  return nn::mlp<T>({64, 256, 128, 1}, {activation::relu, activation::relu, activation::identity},
                    seed);
}

}  // namespace

TEMPLATE_TEST_CASE("nn backend: forward matches the reference", "[nn][backend]", float, double) {
  using T = TestType;
  const auto p = test::backend_policy();
  const std::vector<nn::mlp<T>> nets = {
      scorer<T>(1),
      nn::mlp<T>({7, 17, 5, 3}, {activation::sigmoid, activation::relu, activation::sigmoid}, 2),
      nn::mlp<T>({3, 1}, {activation::identity}, 3)};
  for (const auto& net : nets) {
    for (index_t batch : {0, 1, 2, 3, 4, 5, 7, 64, 257, 1000}) {
      CAPTURE(net.inputs(), batch);
      const auto x = test::random_vector<T>(batch * net.inputs(), 10 + batch, -2, 2);
      const auto expected =
          nn::predict(reference_backend::policy{}, net, test::cmat(x, batch, net.inputs()));
      std::vector<T> got(expected.size(), T(99));
      nn::forward(p, net, test::cmat(x, batch, net.inputs()),
                  test::mmat(got, batch, net.outputs()));
      check_close(got, expected, forward_scale(net, x, batch), rel_tol<T>());
    }
  }
}

TEMPLATE_TEST_CASE("nn backend: backward and train_step match the reference", "[nn][backend]",
                   float, double) {
  using T = TestType;
  const auto p = test::backend_policy();
  for (index_t batch : {1, 3, 64, 700}) {
    for (auto kind : {nn::loss::mse, nn::loss::bce}) {
      CAPTURE(batch, nn::loss_name(kind));
      nn::mlp<T> net({20, 33, 17, 2},
                     {activation::relu, activation::sigmoid,
                      kind == nn::loss::bce ? activation::sigmoid : activation::identity},
                     5);
      const auto x = test::random_vector<T>(batch * 20, 20 + batch, -1, 1);
      const auto y = test::random_vector<T>(batch * 2, 30 + batch, 0, 1);
      nn::mlp_workspace<T> wr, wb;
      const auto orf =
          nn::forward_train(reference_backend::policy{}, net, test::cmat(x, batch, 20), wr);
      const auto obk = nn::forward_train(p, net, test::cmat(x, batch, 20), wb);
      std::vector<T> g(static_cast<std::size_t>(batch * 2)), gb(g.size());
      nn::loss_and_gradient(kind, orf, test::cmat(y, batch, 2), test::mmat(g, batch, 2));
      nn::loss_and_gradient(kind, obk, test::cmat(y, batch, 2), test::mmat(gb, batch, 2));
      std::vector<T> gp(static_cast<std::size_t>(net.parameter_count())), gpb(gp.size());
      std::vector<T> gx(static_cast<std::size_t>(batch * 20)), gxb(gx.size());
      nn::backward(reference_backend::policy{}, net, wr, test::cmat(g, batch, 2), test::mview(gp),
                   test::mmat(gx, batch, 20));
      nn::backward(p, net, wb, test::cmat(gb, batch, 2), test::mview(gpb),
                   test::mmat(gxb, batch, 20));
      check_close(gpb, gp, block_floor(gp, parameter_blocks(net)), grad_tol<T>());
      check_close(gxb, gx, block_floor(gx, {0, gx.size()}), grad_tol<T>());

      nn::mlp<T> nr = net, nb = net;
      nn::adam<T> ar(nr.parameter_count()), ab(nb.parameter_count());
      for (int step = 0; step < 3; ++step) {
        const double lr = nn::train_step(reference_backend::policy{}, nr, ar, wr,
                                         test::cmat(x, batch, 20), test::cmat(y, batch, 2), kind);
        const double lb =
            nn::train_step(p, nb, ab, wb, test::cmat(x, batch, 20), test::cmat(y, batch, 2), kind);
        CHECK(lb == Approx(lr).epsilon(loss_tol<T>()));
      }
      const std::vector<T> pr(nr.parameters().begin(), nr.parameters().end());
      const std::vector<T> pb(nb.parameters().begin(), nb.parameters().end());
      // Adam's first steps move each parameter by about lr whatever the gradient's size, so
      // compare at the scale of lr.
      for (std::size_t i = 0; i < pr.size(); ++i) {
        if (!(std::abs(static_cast<double>(pr[i]) - pb[i]) <= 1e-4)) {
          CAPTURE(i, pr[i], pb[i]);
          FAIL_CHECK("parameter differs after 3 steps");
          break;
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("nn backend: Adam and the NaN check match the reference", "[nn][backend]", float,
                   double) {
  using T = TestType;
  const auto p = test::backend_policy();
  for (index_t n : {1, 7, 8, 9, 100, 4099, 100003}) {
    CAPTURE(n);
    auto w = test::random_vector<T>(n, n), wb = w;
    nn::adam_options o;
    o.learning_rate = 0.01;
    o.weight_decay = 0.1;
    nn::adam<T> ar(n, o), ab(n, o);
    for (int step = 0; step < 3; ++step) {
      const auto g = test::random_vector<T>(n, 1000 * n + step);
      ar.step(reference_backend::policy{}, test::mview(w), test::cview(g));
      ab.step(p, test::mview(wb), test::cview(g));
    }
    check_close(wb, w, block_floor(w, {0, w.size()}), std::is_same_v<T, float> ? 1e-5 : 1e-13);
    for (index_t bad : {index_t{0}, n / 2, n - 1}) {
      auto g = test::random_vector<T>(n, 5);
      g[static_cast<std::size_t>(bad)] = std::numeric_limits<T>::infinity();
      if (bad + 3 < n) g[static_cast<std::size_t>(bad + 3)] = std::numeric_limits<T>::quiet_NaN();
      const auto before = wb;
      CHECK_THROWS_MATCHES(
          ab.step(p, test::mview(wb), test::cview(g)), value_error,
          test::what_is(Catch::Contains("gradients[" + std::to_string(bad) + "]")));
      CHECK(wb == before);
    }
  }
}

#if defined(RECFUSE_TEST_BACKEND_XSIMD)
TEMPLATE_TEST_CASE("nn backend: 1 and 2 threads give the same bits", "[nn][backend]", float,
                   double) {
  using T = TestType;
  const recfuse::exec::xsimd one{1}, two{2};
  for (index_t batch : {1, 64, 4096}) {
    CAPTURE(batch);
    const auto x = test::random_vector<T>(batch * 64, 3, -1, 1);
    const auto y = test::random_vector<T>(batch, 4, -1, 1);
    auto n1 = scorer<T>(9), n2 = scorer<T>(9);
    std::vector<T> o1(static_cast<std::size_t>(batch)), o2(o1.size());
    nn::forward(one, n1, test::cmat(x, batch, 64), test::mmat(o1, batch, 1));
    nn::forward(two, n2, test::cmat(x, batch, 64), test::mmat(o2, batch, 1));
    CHECK(o1 == o2);
    nn::adam<T> a1(n1.parameter_count()), a2(n2.parameter_count());
    nn::mlp_workspace<T> w1, w2;
    for (int step = 0; step < 2; ++step) {
      CHECK(nn::train_step(one, n1, a1, w1, test::cmat(x, batch, 64), test::cmat(y, batch, 1),
                           nn::loss::mse) ==
            nn::train_step(two, n2, a2, w2, test::cmat(x, batch, 64), test::cmat(y, batch, 1),
                           nn::loss::mse));
    }
    CHECK(std::equal(n1.parameters().begin(), n1.parameters().end(), n2.parameters().begin()));
  }
  nn::train_options o;
  o.epochs = 2;
  o.batch_size = 300;
  const auto x = test::random_vector<T>(1000 * 64, 5, -1, 1);
  const auto y = test::random_vector<T>(1000, 6, -1, 1);
  auto n1 = scorer<T>(4), n2 = scorer<T>(4);
  const auto r1 = nn::train(one, n1, test::cmat(x, 1000, 64), test::cmat(y, 1000, 1), o);
  const auto r2 = nn::train(two, n2, test::cmat(x, 1000, 64), test::cmat(y, 1000, 1), o);
  CHECK(r1.epoch_loss == r2.epoch_loss);
  CHECK(std::equal(n1.parameters().begin(), n1.parameters().end(), n2.parameters().begin()));
}
#endif
