#include <cstdint>
#include <cstdio>
#include <vector>

#include <recfuse/factorize/implicit_als.hpp>
#include <recfuse/select/topk.hpp>
#include <recfuse/xsimd/factorize/implicit_als.hpp>
#include <recfuse/xsimd/select/topk.hpp>

int main() {
  using recfuse::index_t;
  // 6 users, 6 items, two tastes: users 0-2 use items 0-2, users 3-5 items 3-5; each user has
  // used two of its group's three items (value 1 per interaction).
  recfuse::interactions<float> data;
  data.users = 6;
  data.items = 6;
  for (std::int32_t u = 0; u < 6; ++u) {
    for (std::int32_t i = 0; i < 6; ++i) {
      if (u / 3 == i / 3 && (u + i) % 3 != 0) {
        data.user.push_back(u);
        data.item.push_back(i);
        data.value.push_back(1.0f);
      }
    }
  }

  recfuse::implicit_als_options options;  // tiny data: a small regularization
  options.factors = 4;
  options.regularization = 0.1;
  options.alpha = 10;
  recfuse::exec::xsimd cpu;
  const auto model = recfuse::fit_implicit_als(cpu, data.view(), options);

  // Each user's best item among those it has not used.
  const auto seen = recfuse::to_csr(data.view());
  const auto top =
      recfuse::topk_inner_product(cpu, model.user_matrix(), model.item_matrix(), 1, seen.pattern());
  for (index_t u = 0; u < top.rows; ++u) {
    std::printf("user %lld: item %lld\n", static_cast<long long>(u),
                static_cast<long long>(top.index(u, 0)));
  }
  // user 0: item 0, user 1: item 2, user 2: item 1, user 3: item 3, user 4: item 5, user 5: item 4

  // A new user who used items 3 and 4: fold in against the fixed item factors.
  const std::vector<float> gram = recfuse::gramian(cpu, model.item_matrix());  // once per model
  const std::vector<std::int32_t> items = {3, 4};
  const std::vector<float> values = {1.0f, 1.0f};
  std::vector<float> x(static_cast<std::size_t>(model.factors), 0.0f);  // CG starts from here
  recfuse::fold_in_user(cpu, model, {gram.data(), static_cast<index_t>(gram.size())},
                        {items.data(), 2}, {values.data(), 2}, {x.data(), model.factors}, options);
  index_t best = -1;
  float best_score = 0;
  for (index_t i = 0; i < model.items; ++i) {
    float s = 0;
    for (index_t f = 0; f < model.factors; ++f)
      s += x[f] * model.item_factors[i * model.factors + f];
    if (i != 3 && i != 4 && (best < 0 || s > best_score)) {
      best = i;
      best_score = s;
    }
  }
  std::printf("new user: item %lld\n", static_cast<long long>(best));  // item 5
  const bool ok = top.index(0, 0) == 0 && top.index(1, 0) == 2 && top.index(2, 0) == 1 &&
                  top.index(3, 0) == 3 && top.index(4, 0) == 5 && top.index(5, 0) == 4 && best == 5;
  return ok ? 0 : 1;
}
