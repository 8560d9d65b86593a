// Blend a CF scorer with a content scorer, then explain one MF score by the rated items.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include <recfuse/factorize/biased_mf.hpp>
#include <recfuse/fuse/explain.hpp>
#include <recfuse/xsimd/factorize/biased_mf.hpp>
#include <recfuse/xsimd/fuse/blend.hpp>

int main() {
  const recfuse::exec::xsimd cpu{2};

  // 0.7 * cf + 0.3 * content, and how much each scorer brought to each item's score.
  std::vector<float> cf = {4.1f, 2.0f, 3.5f}, content = {1.0f, 3.0f, 2.0f}, blended(3);
  recfuse::fuse::blend(cpu, 0.7, {cf.data(), 3}, {content.data(), 3},
                       recfuse::vector_view<float>(blended.data(), 3));
  std::vector<recfuse::vector_view<const float>> scores = {{cf.data(), 3}, {content.data(), 3}};
  std::vector<double> weights = {0.7, 0.3};
  std::vector<float> parts(3 * 2);
  recfuse::fuse::blend_contributions(cpu, scores, weights,
                                     recfuse::matrix_view<float>(parts.data(), 3, 2));
  std::printf("item 0: %.2f = %.2f (cf) + %.2f (content)\n", blended[0], parts[0], parts[1]);
  // item 0: 3.17 = 2.87 (cf) + 0.30 (content)

  // An MF model of 4 users x 4 items: users 0, 1 like items 0, 1; users 2, 3 like items 2, 3.
  recfuse::interactions<float> train;
  train.users = 4;
  train.items = 4;
  train.user = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3};
  train.item = {0, 1, 2, 0, 1, 3, 1, 2, 3, 0, 2, 3};
  train.value = {5, 4, 1, 4, 5, 2, 1, 5, 4, 2, 4, 5};
  recfuse::als_options options;
  options.factors = 2;
  const auto model = recfuse::fit_biased_als(cpu, train.view(), options);

  // A new user rated items 0, 2 and 3: why would item 1 suit them?
  std::vector<std::int32_t> rated = {0, 2, 3};
  std::vector<float> stars = {5, 1, 2};
  const auto why = recfuse::fuse::explain_factorization(cpu, model, {rated.data(), 3},
                                                        {stars.data(), 3}, 1, 2, options);
  std::printf("item 1: %.2f = %.2f (baseline)", why.score, why.baseline);
  for (const auto& e : why.evidence) {
    std::printf(" + %.2f (item %lld)", e.contribution, static_cast<long long>(e.item));
  }
  std::printf(" + %.2f (the rest)\n", why.rest);
  // item 1: 4.78 = 3.41 (baseline) + 1.69 (item 2) + 1.01 (item 0) + -1.33 (the rest)
  // Disliking item 2 (unlike item 1) speaks for item 1 too; the rating of item 3 against it.

  double total = why.baseline + why.rest;
  for (const auto& e : why.evidence) total += e.contribution;
  const bool adds_up = std::abs(total - why.score) < 1e-9;
  return adds_up && std::abs(blended[0] - (parts[0] + parts[1])) < 1e-5f ? 0 : 1;
}
