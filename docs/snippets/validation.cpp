#include <cstdint>
#include <cstdio>
#include <vector>

#include <recfuse/factorize/tune.hpp>
#include <recfuse/factorize/validation.hpp>
#include <recfuse/xsimd/all.hpp>  // the fits, predict, rmse, topk and ranking kernels

int main() {
  // 40 users x 30 items of 1-5 stars: a smooth pattern, about two thirds of the ratings off by one.
  recfuse::interactions<float> train;
  train.users = 40;
  train.items = 30;
  for (std::int32_t u = 0; u < 40; ++u) {
    for (std::int32_t i = 0; i < 30; ++i) {
      if ((u * 7 + i * 3) % 4 == 0) continue;  // a quarter missing
      train.user.push_back(u);
      train.item.push_back(i);
      const int stars = 1 + (u % 5 + i % 5) / 2;
      const std::uint32_t h = (static_cast<std::uint32_t>(u) * 2654435761u) ^ (i * 40503u);
      const int noise = static_cast<int>((h >> 7) % 3) - 1;  // -1, 0 or +1, scattered
      train.value.push_back(static_cast<float>(stars + noise));
    }
  }

  recfuse::exec::xsimd cpu;
  recfuse::sgd_options options;
  options.factors = 4;
  options.epochs = 100;
  options.learning_rate = 0.05;

  // Carve 20% of each user's ratings (seed 1) and stop after 5 epochs without improvement.
  recfuse::validation<float> v;
  v.fraction = 0.2;
  v.seed = 1;
  v.stopping.patience = 5;
  const auto [model, report] = recfuse::fit_biased_sgd(cpu, train.view(), options, v);
  std::printf("%s after epoch 1: %.3f, best epoch %d (%.3f), ran %d, stopped early: %d\n",
              report.metric.c_str(), report.curve.front(), report.best_iteration, report.best_value,
              report.iterations_run, report.stopped_early ? 1 : 0);

  // Pick reg_factor (reg_bias keeps its ratio) from a grid on the same kind of split.
  recfuse::tune_options t;
  t.reg_grid = {0.001, 0.02, 0.1};
  t.validation_fraction = 0.2;
  t.time_budget_seconds = 10;  // far more than the 3 fits need: the choice is machine-independent
  const auto tuned = recfuse::tune_biased_sgd(cpu, train.view(), options, t);
  for (const auto& trial : tuned.trials) {
    std::printf("reg %.3f: rmse %.3f at epoch %d\n", trial.reg, trial.value, trial.best_iteration);
  }
  std::printf("chosen: reg_factor %.3f, reg_bias %.4f, epochs %d\n", tuned.best.reg_factor,
              tuned.best.reg_bias, tuned.best.epochs);
  return tuned.budget_exhausted ? 1 : 0;
}
