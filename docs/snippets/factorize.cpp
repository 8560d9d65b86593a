#include <cstdint>
#include <cstdio>
#include <vector>

#include <recfuse/factorize/biased_mf.hpp>
#include <recfuse/xsimd/factorize/biased_mf.hpp>

int main() {
  // 4 users x 4 items, 1-5 stars: users 0 and 1 like items 0 and 1, users 2 and 3 items 2, 3.
  recfuse::interactions<float> train;
  train.users = 4;
  train.items = 4;
  train.user = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3};
  train.item = {0, 1, 2, 0, 1, 3, 1, 2, 3, 0, 2, 3};
  train.value = {5, 4, 1, 4, 5, 2, 1, 5, 4, 2, 4, 5};

  recfuse::exec::xsimd cpu;  // all OpenMP threads; the model does not depend on how many
  recfuse::sgd_options options;
  options.factors = 4;
  options.epochs = 300;
  options.learning_rate = 0.05;
  options.reg_factor = 0.02;
  const auto model = recfuse::fit_biased_sgd(cpu, train.view(), options);

  // Unrated pairs, plus user 9, who is not in the model: mu + item 0's bias.
  std::vector<std::int32_t> users = {0, 2, 9};
  std::vector<std::int32_t> items = {3, 0, 0};
  std::vector<float> predicted(3);
  recfuse::predict(cpu, model, {users.data(), 3}, {items.data(), 3}, {predicted.data(), 3});
  for (int j = 0; j < 3; ++j) {
    std::printf("user %d, item %d: %.2f\n", users[j], items[j], predicted[j]);
  }
  // user 0, item 3: 2.20
  // user 2, item 0: 1.65
  // user 9, item 0: 3.35

  // A new user who rated items 0 and 1 highly, folded in without refitting (an ALS user step).
  std::vector<std::int32_t> rated = {0, 1};
  std::vector<float> stars = {5, 5};
  std::vector<float> p(4);
  const float b =
      recfuse::fold_in_user(cpu, model, {rated.data(), 2}, {stars.data(), 2}, {p.data(), 4});
  double like0 = model.global_mean + b + model.item_bias[0],
         like3 = model.global_mean + b + model.item_bias[3];
  for (int f = 0; f < 4; ++f) {
    like0 += p[f] * model.item_factors[0 * 4 + f];
    like3 += p[f] * model.item_factors[3 * 4 + f];
  }
  std::printf("new user: item 0 %.2f, item 3 %.2f\n", like0, like3);
  // new user: item 0 4.95, item 3 4.02
  // The low-rank structure carries over: user 0 should not like item 3, user 2 not item 0, and
  // the new user should prefer item 0 to item 3.
  return predicted[0] < 3 && predicted[1] < 3 && like0 > like3 ? 0 : 1;
}
