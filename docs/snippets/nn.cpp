// Train a tiny MLP scorer on y = x0 * x1 (a product no linear model can fit) and score new rows.
#include <cstdio>
#include <random>
#include <vector>

#include "recfuse/xsimd/nn/mlp.hpp"
#include "recfuse/xsimd/nn/train.hpp"

int main() {
  using recfuse::nn::activation;
  const recfuse::exec::xsimd cpu{2};
  const recfuse::index_t n = 1024;
  std::vector<float> x(n * 2), y(n);
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (recfuse::index_t i = 0; i < n; ++i) {
    x[i * 2] = u(rng);
    x[i * 2 + 1] = u(rng);
    y[i] = x[i * 2] * x[i * 2 + 1];
  }

  // 2 inputs -> 32 -> 32 -> 1 output; weights laid out as torch.nn.Linear's.
  recfuse::nn::mlp<float> net({2, 32, 32, 1},
                              {activation::relu, activation::relu, activation::identity}, 7);
  recfuse::nn::train_options o;
  o.epochs = 40;
  o.batch_size = 64;
  o.adam.learning_rate = 0.01;
  const auto report =
      recfuse::nn::train(cpu, net, recfuse::matrix_view<const float>(x.data(), n, 2),
                         recfuse::matrix_view<const float>(y.data(), n, 1), o);
  std::printf("mse: epoch 1 %.4f, epoch %zu %.5f\n", report.epoch_loss.front(),
              report.epoch_loss.size(), report.epoch_loss.back());

  const std::vector<float> queries{0.5f, 0.5f, -0.8f, 0.5f};
  const auto scores =
      recfuse::nn::predict(cpu, net, recfuse::matrix_view<const float>(queries.data(), 2, 2));
  std::printf("f(0.5, 0.5) = %.3f (0.25), f(-0.8, 0.5) = %.3f (-0.4)\n", scores[0], scores[1]);
  return report.epoch_loss.back() < 0.1 * report.epoch_loss.front() ? 0 : 1;
}
