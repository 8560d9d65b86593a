// RMSE and MAE of rating predictions; ranking metrics and AUC for three users over five items.
#include <cstdint>
#include <cstdio>
#include <vector>

#include "recfuse/xsimd/metrics/error.hpp"
#include "recfuse/xsimd/metrics/ranking.hpp"

int main() {
  const recfuse::exec::xsimd cpu{2};
  const std::vector<float> predicted{3.5f, 4.0f, 2.0f, 5.0f}, actual{4.0f, 4.0f, 1.0f, 4.5f};
  std::printf("rmse %.4f, mae %.4f\n", recfuse::rmse(cpu, predicted, actual),
              recfuse::mae(cpu, predicted, actual));

  // Held-out items each user liked (CSR over 5 items): {1, 3}, none (skipped), {2}.
  const std::vector<recfuse::index_t> offsets{0, 2, 2, 3};
  const std::vector<std::int32_t> liked{1, 3, 2};
  const recfuse::csr_pattern_view<std::int32_t> test(3, 5, offsets.data(), liked.data());

  // Top-3 recommendations per user, best first; -1 pads a short list.
  const std::vector<std::int64_t> top{4, 1, 0, /**/ 2, 3, -1, /**/ 0, 1, 2};
  const recfuse::ranking_report r = recfuse::evaluate_ranking(
      cpu, recfuse::matrix_view<const std::int64_t>(top.data(), 3, 3), test, 3);
  std::printf("%lld users: precision %.4f, recall %.4f, ndcg %.4f, map %.4f, hit rate %.4f\n",
              static_cast<long long>(r.users), r.precision, r.recall, r.ndcg, r.map, r.hit_rate);

  // AUC from the full score matrix: how often a liked item outscores one that is not.
  const std::vector<float> scores{0.1f, 0.9f, 0.3f, 0.4f, 0.8f,  //
                                  0.3f, 0.2f, 0.1f, 0.5f, 0.4f,  //
                                  0.5f, 0.2f, 0.5f, 0.1f, 0.7f};
  const double a = recfuse::auc(cpu, recfuse::matrix_view<const float>(scores.data(), 3, 5), test);
  std::printf("auc %.4f\n", a);  // user 0: 5 of 6 pairs; user 2: 2.5 of 4 (a tie counts 1/2)
  return r.users == 2 && a > 0.729 && a < 0.73 ? 0 : 1;
}
