// recfuse-pipeline: cold-start items. 10% of the training items (chosen by the seed) are removed
// from the training file entirely; the factorization and graphs are retrained without them (no
// autoencoder), and each user ranks those items by content and graph signals alone. Relevant:
// the user's test ratings of 4 or more on those items; users with none are skipped. The figure
// to beat is a random order of the same items for the same users.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

#include "data.hpp"
#include "ranking.hpp"
#include "recfuse/metrics/ranking.hpp"
#include "recfuse/select/topk.hpp"
#include "signals.hpp"

namespace pipeline {

struct cold_start_result {
  double ndcg = 0, random = 0;  // NaN when nothing can be evaluated
  index_t items = 0, users = 0;
};

// The cold items: the first tenth of a seeded shuffle of the training items, sorted.
inline std::vector<index_t> pick_cold_items(index_t train_items, std::mt19937_64& rng) {
  std::vector<index_t> order(static_cast<std::size_t>(train_items));
  std::iota(order.begin(), order.end(), 0);
  for (index_t j = static_cast<index_t>(order.size()) - 1; j > 0; --j)
    std::swap(order[j], order[static_cast<index_t>(unit(rng) * (j + 1))]);
  std::vector<index_t> cold(order.begin(), order.begin() + train_items / 10);
  std::sort(cold.begin(), cold.end());
  return cold;
}

// The training ratings of every item not in the sorted list `cold`.
inline recfuse::interactions<float> without_items(const dataset& d,
                                                  const std::vector<index_t>& cold) {
  std::vector<char> is_cold(static_cast<std::size_t>(d.items), 0);
  for (index_t i : cold) is_cold[i] = 1;
  recfuse::interactions<float> warm;
  warm.users = d.users;
  warm.items = d.items;
  for (index_t e = 0; e < d.train.size(); ++e) {
    if (is_cold[d.train.item[e]]) continue;
    warm.user.push_back(d.train.user[e]);
    warm.item.push_back(d.train.item[e]);
    warm.value.push_back(d.train.value[e]);
  }
  return warm;
}

// users x cold items: the sum of three content-and-graph signals, each standardised per user:
//   taste       the MF score of the item's embedding aggregated over its knowledge-graph
//               (genres + release year) and title-embedding neighbours, plus the user's
//               mean residual on the item's genres
//   propensity  how much of the user's history falls in the item's genres (log share)
//   popularity  the neighbours' mean log rating count (what audience such items find)
inline std::vector<float> cold_scores(const dataset& d, const signals& sc,
                                      const std::vector<index_t>& cold_items) {
  const auto cold_count = static_cast<index_t>(cold_items.size());
  std::vector<float> scores(static_cast<std::size_t>(d.users * cold_count));
  std::vector<float> taste(static_cast<std::size_t>(cold_count)), propensity(taste.size()),
      popularity(taste.size());
  const index_t g = d.genres.cols;
  for (index_t c = 0; c < cold_count; ++c) {
    const index_t i = cold_items[c];
    popularity[c] = sc.has_text() ? 0.5f * (sc.genre_popularity[i] + sc.text_popularity[i])
                                  : sc.genre_popularity[i];
  }
  standardise_row(popularity.data(), cold_count);
  for (index_t u = 0; u < d.users; ++u) {
    for (index_t c = 0; c < cold_count; ++c) {
      const index_t i = cold_items[c];
      double s = sc.smoothed_score(sc.genre_emb, u, i);
      if (sc.has_text()) s = 0.5 * (s + sc.smoothed_score(sc.text_emb, u, i));
      double aff = 0, share = 0;
      const index_t gb = d.genres.offsets[i], ge = d.genres.offsets[i + 1];
      for (index_t e = gb; e < ge; ++e) {
        aff += sc.genre_affinity[u * g + d.genres.indices[e]];
        share += sc.genre_share[u * g + d.genres.indices[e]];
      }
      const double ng = std::max<double>(1.0, static_cast<double>(ge - gb));
      taste[c] = static_cast<float>(s + aff / ng);
      propensity[c] = static_cast<float>(share / ng);
    }
    standardise_row(taste.data(), cold_count);
    standardise_row(propensity.data(), cold_count);
    for (index_t c = 0; c < cold_count; ++c)
      scores[u * cold_count + c] = taste[c] + propensity[c] + popularity[c];
  }
  return scores;
}

// The mean ndcg@k of `draws` random orders of `items` candidates for each of `users` users.
template <class Policy>
double random_order_ndcg(const Policy& cpu, index_t users, index_t items, index_t k,
                         recfuse::csr_pattern_view<std::int32_t> relevant, std::mt19937_64& rng,
                         int draws = 20) {
  double mean = 0;
  std::vector<index_t> perm(static_cast<std::size_t>(items)),
      recs(static_cast<std::size_t>(users * k));
  for (int r = 0; r < draws; ++r) {
    for (index_t u = 0; u < users; ++u) {
      std::iota(perm.begin(), perm.end(), 0);
      for (index_t j = 0; j < k; ++j) {
        const index_t pick = j + static_cast<index_t>(unit(rng) * (items - j));
        std::swap(perm[j], perm[std::min(pick, items - 1)]);
      }
      std::copy_n(perm.begin(), k, recs.begin() + u * k);
    }
    mean += recfuse::evaluate_ranking(
                cpu, recfuse::matrix_view<const index_t>(recs.data(), users, k), relevant, k)
                .ndcg /
            draws;
  }
  return mean;
}

// The cold-start stage: signals without the cold items, the users' top k among them by
// cold_scores, and ndcg@k against a random order (the mean of 20 seeded shuffles).
template <class Policy>
cold_start_result cold_start(const Policy& cpu, const dataset& d, signal_options options,
                             std::uint64_t seed, index_t k) {
  cold_start_result out;
  std::mt19937_64 rng(seed ^ 0xc01dULL);
  std::vector<index_t> cold_items = pick_cold_items(d.train.items, rng);
  const recfuse::interactions<float> warm = without_items(d, cold_items);
  options.use_autoencoder = false;
  if (warm.size() == 0) cold_items.clear();  // every training rating is on a cold item
  const signals sc = warm.size() > 0 ? build_signals(cpu, d, warm, options) : signals{};
  const auto cold_count = static_cast<index_t>(cold_items.size());
  out.items = cold_count;
  // Relevant: test ratings >= 4 on cold items; candidates: the cold items.
  std::vector<index_t> position(static_cast<std::size_t>(d.items), -1);
  for (index_t c = 0; c < cold_count; ++c) position[cold_items[c]] = c;
  recfuse::interactions<float> liked;
  liked.users = d.users;
  liked.items = cold_count;
  for (index_t e = 0; e < d.test.size(); ++e) {
    const index_t c = position[d.test.item[e]];
    if (c < 0 || d.test.value[e] < 4.0f) continue;
    liked.user.push_back(d.test.user[e]);
    liked.item.push_back(static_cast<std::int32_t>(c));
    liked.value.push_back(1.0f);
  }
  const auto liked_csr = recfuse::to_csr(liked.view());
  const index_t ck = std::min<index_t>(k, cold_count);
  const auto scores = cold_scores(d, sc, cold_items);
  if (liked_csr.nnz() == 0 || ck == 0) {
    out.ndcg = out.random = std::numeric_limits<double>::quiet_NaN();
    std::printf("cold start: no test rating >= 4 on the %lld removed items; not evaluated\n",
                static_cast<long long>(cold_count));
    return out;
  }
  const auto top =
      recfuse::topk(cpu, recfuse::matrix_view<const float>(scores.data(), d.users, cold_count), ck);
  const auto report = recfuse::evaluate_ranking(cpu, top.indices_view(), liked_csr.pattern(), ck);
  out.ndcg = report.ndcg;
  out.users = report.users;
  out.random = random_order_ndcg(cpu, d.users, cold_count, ck, liked_csr.pattern(), rng);
  std::printf(
      "cold start: %lld items removed from training; ndcg@10 over them for %lld users: "
      "content and graph %.4f, random order %.4f\n",
      static_cast<long long>(cold_count), static_cast<long long>(out.users), out.ndcg, out.random);
  return out;
}

}  // namespace pipeline
