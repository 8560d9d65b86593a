// recfuse-pipeline: explanations. One user's top recommendations are printed with the fused
// predicted rating split as baseline + one contribution per signal group
// (learned_fusion::explain: integrated gradients from the training mean, so the parts add up to
// the prediction up to the integration error), and with the user's rated items that contribute
// most to the factorization score (recfuse::fuse::explain_factorization, "because you liked").
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "data.hpp"
#include "fusion.hpp"
#include "recfuse/fuse/explain.hpp"
#include "signals.hpp"

namespace pipeline {

// The item's title, else "item <id as the files spell it>".
inline std::string item_title(const dataset& d, index_t i) {
  if (!d.titles[i].empty()) return d.titles[i];
  return "item " +
         (i < static_cast<index_t>(d.item_keys.size()) ? d.item_keys[i] : std::to_string(i));
}

// Prints user u's first three fused recommendations, explained (`fused`: users x k item indices,
// -1 past the candidates).
template <class Policy>
void explain_top(const Policy& cpu, const dataset& d, const signals& s,
                 const fusion_ensemble& fusion, const std::vector<index_t>& fused, index_t k,
                 index_t u) {
  std::vector<std::int32_t> uu, ii;
  for (index_t j = 0; j < std::min<index_t>(3, k); ++j) {
    if (fused[u * k + j] < 0) break;  // fewer candidates than 3
    uu.push_back(static_cast<std::int32_t>(u));
    ii.push_back(static_cast<std::int32_t>(fused[u * k + j]));
  }
  const auto shown = static_cast<index_t>(ii.size());
  const auto x = features(s, uu, ii);
  const auto groups = static_cast<index_t>(s.groups.size());
  std::vector<float> contributions(static_cast<std::size_t>(shown * groups)), base(ii.size()),
      score(ii.size());
  fusion.explain(cpu, recfuse::matrix_view<const float>(x.data(), shown, s.width()),
                 recfuse::matrix_view<float>(contributions.data(), shown, groups),
                 recfuse::vector_view<float>(base.data(), shown));
  fusion.predict(cpu, recfuse::matrix_view<const float>(x.data(), shown, s.width()),
                 recfuse::vector_view<float>(score.data(), shown));
  // The user's own ratings (s.by_user holds residuals).
  const auto& rated = s.by_user;
  std::vector<std::int32_t> rated_items(rated.indices.begin() + rated.offsets[u],
                                        rated.indices.begin() + rated.offsets[u + 1]);
  std::vector<float> rated_values;
  {
    std::vector<float> value_of(static_cast<std::size_t>(d.items), 0.0f);
    for (index_t e = 0; e < d.train.size(); ++e)
      if (d.train.user[e] == u) value_of[d.train.item[e]] = d.train.value[e];
    for (auto j : rated_items) rated_values.push_back(value_of[j]);
  }
  std::printf(
      "top %lld for user %lld (%zu training ratings), predicted rating = baseline + "
      "contributions:\n",
      static_cast<long long>(shown), static_cast<long long>(u), rated_items.size());
  for (index_t j = 0; j < shown; ++j) {
    std::printf("  %lld. %s: %.2f = %.2f", static_cast<long long>(j + 1),
                item_title(d, ii[j]).c_str(), score[j], base[j]);
    for (index_t g = 0; g < groups; ++g)
      std::printf(" %+.2f %s", contributions[j * groups + g], s.groups[g].first.c_str());
    std::printf("\n");
    if (rated_items.empty()) continue;
    const auto why = recfuse::fuse::explain_factorization(
        cpu, s.mf,
        recfuse::vector_view<const std::int32_t>(rated_items.data(),
                                                 static_cast<index_t>(rated_items.size())),
        recfuse::vector_view<const float>(rated_values.data(),
                                          static_cast<index_t>(rated_values.size())),
        ii[j], 2);
    std::string because;
    for (const auto& ev : why.evidence) {
      if (ev.contribution <= 0) continue;  // evidence against is not a reason
      char part[32];
      std::snprintf(part, sizeof part, " (%+.2f)", ev.contribution);
      because += (because.empty() ? " " : ", ") + item_title(d, ev.item) + part;
    }
    // explain_factorization splits the fold-in (ALS) estimate of the factorization score: the
    // user's factors re-solved from its ratings against the trained item factors.
    if (!because.empty())
      std::printf("     because you liked%s (factorization fold-in estimate %.2f)\n",
                  because.c_str(), why.score);
  }
}

}  // namespace pipeline
