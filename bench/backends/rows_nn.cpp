// recfuse bench, cross-backend table: the nn rows, compute-bound (fp32 FMA ceiling):
//   gemm, square n x n x n floats: 2 n^3 FLOPs;
//   one training step (forward, mse, backward, Adam) of the 64-256-128-1 scorer MLP (relu, relu,
//   identity) at batch 256: 2 x the forward's 2 x batch x (64 x 256 + 256 x 128 + 128 x 1)
//   FLOPs (forward and weight gradients) + 2 x batch x (256 x 128 + 128 x 1) (input gradients of
//   layers 2 and 3), as bench_nn counts it. Each column trains its own copy of one network (same
//   seed), so every backend steps from the same weights.
#include <array>
#include <memory>
#include <optional>

#include "data.hpp"
#include "harness.hpp"
#include "recfuse/nn/gemm.hpp"
#include "recfuse/nn/mlp.hpp"
#include "recfuse/nn/train.hpp"
#include "recfuse/xsimd/nn/gemm.hpp"
#include "recfuse/xsimd/nn/mlp.hpp"
#include "recfuse/xsimd/nn/train.hpp"

#if defined(RECFUSE_BENCH_THRUST)
#include "recfuse/thrust/nn/gemm.hpp"
#include "recfuse/thrust/nn/mlp.hpp"
#include "recfuse/thrust/nn/train.hpp"
#endif

namespace recfuse::bench::backends {
namespace {

struct trainer {
  nn::mlp<float> net{
      {64, 256, 128, 1}, {nn::activation::relu, nn::activation::relu, nn::activation::identity}, 1};
  nn::adam<float> opt{net.parameter_count()};
  nn::mlp_workspace<float> ws;
};

}  // namespace

std::vector<row> nn_rows(const options& o) {
  const int threads = o.threads;
  std::vector<row> v;

  const index_t n = o.quick ? 256 : 512;
  row g;
  g.family = "nn";
  g.component = "gemm";
  g.size = o.quick ? "256^3 float" : "512^3 float";
  g.by = bound::fp32_fma;
  g.work = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
  g.kernels = {"gemm_kernel"};
  g.note = "FLOPs = 2 n^3";
  g.prepare = [=] {
    auto a = std::make_shared<std::vector<float>>(random_floats(n * n, 1));
    auto b = std::make_shared<std::vector<float>>(random_floats(n * n, 2));
    auto c = std::make_shared<std::vector<float>>(static_cast<std::size_t>(n * n));
    return std::function<void(column)>([=](column col) {
      with_column(col, threads, [&](const auto& p) {
        gemm(p, op::none, op::none, 1.0f, matrix_view<const float>(a->data(), n, n),
             matrix_view<const float>(b->data(), n, n), 0.0f, matrix_view<float>(c->data(), n, n));
      });
    });
  };
  v.push_back(g);

  const index_t batch = o.quick ? 64 : 256;
  const double bd = static_cast<double>(batch);
  const double forward = 2.0 * bd * (64 * 256 + 256 * 128 + 128 * 1);
  row t;
  t.family = "nn";
  t.component = "mlp train_step (Adam)";
  t.size = "64-256-128-1, batch " + std::to_string(batch);
  t.by = bound::fp32_fma;
  t.work = 2 * forward + 2.0 * bd * (256 * 128 + 128 * 1);
  t.kernels = {"dense_forward_kernel", "activation_backward_kernel",
               "gemm_kernel",          "dense_backward_input_kernel",
               "column_sums_kernel",   "first_non_finite_kernel",
               "adam_step_kernel"};
  t.note = "FLOPs = 3 GEMMs per layer (the first skips its input gradient)";
  t.prepare = [=] {
    auto x = std::make_shared<std::vector<float>>(random_floats(batch * 64, 3));
    auto y = std::make_shared<std::vector<float>>(random_floats(batch, 4));
    auto state = std::make_shared<std::array<std::optional<trainer>, 4>>();
    return std::function<void(column)>([=](column c) {
      auto& tr = (*state)[static_cast<std::size_t>(c)];
      if (!tr) tr.emplace();
      with_column(c, threads, [&](const auto& p) {
        volatile double loss = nn::train_step(
            p, tr->net, tr->opt, tr->ws, matrix_view<const float>(x->data(), batch, 64),
            matrix_view<const float>(y->data(), batch, 1), nn::loss::mse);
        (void)loss;
      });
    });
  };
  v.push_back(t);
  return v;
}

}  // namespace recfuse::bench::backends
