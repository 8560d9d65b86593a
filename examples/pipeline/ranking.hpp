// recfuse-pipeline: ranking, the issue-3 protocol. Every user's scores over all training items,
// the user's training items excluded (set to NaN, which recfuse::topk never selects), top k by
// recfuse::topk, recfuse::evaluate_ranking against the test items rated 4 or more; users without
// one are skipped. The factorization ranks by its predicted rating; the fusion by
// blend(a, z(fused rating), z(relevance)), relevance being the co-occurrence support of the item
// from the user's rated items, both standardised per user.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <vector>

#include "data.hpp"
#include "fusion.hpp"
#include "recfuse/fuse/blend.hpp"
#include "recfuse/metrics/ranking.hpp"
#include "recfuse/select/topk.hpp"
#include "signals.hpp"

namespace pipeline {

// Per-user z-scores over a row's candidates (NaN entries excluded and kept NaN).
inline void standardise_row(float* row, index_t n) {
  double sum = 0, sq = 0;
  index_t count = 0;
  for (index_t j = 0; j < n; ++j) {
    if (std::isnan(row[j])) continue;
    sum += row[j];
    sq += static_cast<double>(row[j]) * row[j];
    ++count;
  }
  if (count == 0) return;
  const double mean = sum / count, sd = std::sqrt(std::max(1e-12, sq / count - mean * mean));
  for (index_t j = 0; j < n; ++j)
    if (!std::isnan(row[j])) row[j] = static_cast<float>((row[j] - mean) / sd);
}

// What a ranking is evaluated against: the items each user must not be recommended (`seen`) and
// the relevant ones (`liked`: rated >= 4 in `test`), over the candidates 0..items-1.
struct ranking_setup {
  recfuse::csr_matrix<float> seen, liked;
  index_t users = 0, items = 0;  // candidates: items with training ratings
};

inline ranking_setup make_ranking(const dataset& d, const recfuse::interactions<float>& train,
                                  const recfuse::interactions<float>& test, index_t candidates) {
  ranking_setup r;
  r.users = d.users;
  r.items = candidates;
  recfuse::interactions<float> seen = train, liked;
  seen.users = liked.users = d.users;
  seen.items = liked.items = d.items;
  for (index_t e = 0; e < test.size(); ++e) {
    if (test.value[e] < 4.0f || test.item[e] >= candidates) continue;
    liked.user.push_back(test.user[e]);
    liked.item.push_back(test.item[e]);
    liked.value.push_back(1.0f);
  }
  r.seen = recfuse::to_csr(seen.view());
  r.liked = recfuse::to_csr(liked.view());
  r.liked.cols = candidates;
  return r;
}

// Scores every (user, candidate) pair block by block and keeps each user's top k, for
// `rankings` score functions at once: score_block(u0, n, scores) fills scores[r] (n x items) for
// each r, so the work they share (the fusion's inputs) is done once per block. Returns one
// users x k table of item indices per ranking (-1 past the candidates).
template <class Policy, class Score>
std::vector<std::vector<index_t>> rank_all(const Policy& cpu, const ranking_setup& r, index_t k,
                                           std::size_t rankings, Score&& score_block) {
  constexpr index_t block = 64;
  std::vector<std::vector<index_t>> recs(
      rankings, std::vector<index_t>(static_cast<std::size_t>(r.users * k), -1));
  std::vector<std::vector<float>> scores(rankings);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (index_t u0 = 0; u0 < r.users; u0 += block) {
    const index_t n = std::min(block, r.users - u0);
    for (auto& sc : scores) sc.assign(static_cast<std::size_t>(n * r.items), 0.0f);
    score_block(u0, n, scores);
    for (std::size_t q = 0; q < rankings; ++q) {
      for (index_t u = u0; u < u0 + n; ++u) {
        for (index_t e = r.seen.offsets[u]; e < r.seen.offsets[u + 1]; ++e)
          if (r.seen.indices[e] < r.items) scores[q][(u - u0) * r.items + r.seen.indices[e]] = nan;
      }
      const auto top =
          recfuse::topk(cpu, recfuse::matrix_view<const float>(scores[q].data(), n, r.items), k);
      std::copy(top.indices.begin(), top.indices.end(), recs[q].begin() + u0 * k);
    }
  }
  return recs;
}

// Fused ranking scores of users [u0, u0 + n) x candidates: z(fused rating) and z(log relevance).
template <class Policy>
void fused_ranking_block(const Policy& cpu, const signals& s, const fusion_ensemble& fusion,
                         index_t u0, index_t n, index_t items, std::vector<float>& rating,
                         std::vector<float>& relevance) {
  const index_t w = s.width();
  std::vector<float> x(static_cast<std::size_t>(n * items * w));
  rating.assign(static_cast<std::size_t>(n * items), 0.0f);
  relevance.assign(rating.size(), 0.0f);
  user_scratch scratch;
  for (index_t u = 0; u < n; ++u) {
    for (index_t i = 0; i < items; ++i) {
      float* row = x.data() + (u * items + i) * w;
      feature_row(s, scratch, u0 + u, i, row);
    }
    // relevance: the co-occurrence support of the item, summed over the user's rated items
    scratch.load(s, u0 + u);
    for (index_t i = 0; i < items; ++i) {
      double support = 0;
      for (index_t e = s.cooccurrence.offsets[i]; e < s.cooccurrence.offsets[i + 1]; ++e)
        if (scratch.rated[s.cooccurrence.indices[e]]) support += s.cooccurrence.values[e];
      relevance[u * items + i] = static_cast<float>(std::log1p(support));
    }
  }
  fusion.predict(cpu, recfuse::matrix_view<const float>(x.data(), n * items, w),
                 recfuse::vector_view<float>(rating.data(), n * items));
  for (index_t u = 0; u < n; ++u) {
    standardise_row(rating.data() + u * items, items);
    standardise_row(relevance.data() + u * items, items);
  }
}

// The fused rankings for each ranking weight a: blend(a, z(fused rating), z(relevance)).
template <class Policy>
std::vector<std::vector<index_t>> fused_rankings(const Policy& cpu, const ranking_setup& r,
                                                 index_t k, const signals& s,
                                                 const fusion_ensemble& fusion,
                                                 const std::vector<double>& weights) {
  return rank_all(cpu, r, k, weights.size(),
                  [&](index_t u0, index_t n, std::vector<std::vector<float>>& out) {
                    std::vector<float> rating, relevance;
                    fused_ranking_block(cpu, s, fusion, u0, n, r.items, rating, relevance);
                    const index_t len = n * r.items;
                    for (std::size_t q = 0; q < weights.size(); ++q) {
                      recfuse::fuse::blend(cpu, weights[q],
                                           recfuse::vector_view<const float>(rating.data(), len),
                                           recfuse::vector_view<const float>(relevance.data(), len),
                                           recfuse::vector_view<float>(out[q].data(), len));
                    }
                  });
}

// ndcg@k of a users x k table; NaN (reported as null) when no user has a relevant item.
template <class Policy>
double ndcg(const Policy& cpu, const ranking_setup& r, const std::vector<index_t>& recs,
            index_t k) {
  if (r.liked.nnz() == 0) return std::numeric_limits<double>::quiet_NaN();
  return recfuse::evaluate_ranking(cpu,
                                   recfuse::matrix_view<const index_t>(recs.data(), r.users, k),
                                   r.liked.pattern(), k)
      .ndcg;
}

// Stage A's choice of the ranking weight a from {0, .25, .5, .75, 1}: the best ndcg@k on the
// held-out `blend` ratings (never on the test file); 0.5 when none can be evaluated.
template <class Policy>
double choose_ranking_weight(const Policy& cpu, const dataset& d, const fusion_split& split,
                             const signals& s, const fusion_ensemble& fusion, index_t k) {
  const std::vector<double> weights = {0.0, 0.25, 0.5, 0.75, 1.0};
  double best_a = 0.5, best = -1;
  const auto setup = make_ranking(d, split.fit, split.blend, d.train.items);
  const auto recs = fused_rankings(cpu, setup, k, s, fusion, weights);
  for (std::size_t q = 0; q < weights.size(); ++q) {
    const double w = weights[q];
    const double v = ndcg(cpu, setup, recs[q], k);
    std::printf("  ranking weight a = %.2f: ndcg@10 %.4f on the held-out ratings\n", w, v);
    if (v > best) best = v, best_a = w;
  }
  return best_a;
}

struct test_rankings {
  double ndcg_mf = 0, ndcg_fused = 0;
  std::vector<index_t> fused;  // users x k: the fused top k
};

// Stage B's rankings of the test file: the factorization's and the fusion's (weight a).
template <class Policy>
test_rankings rank_test(const Policy& cpu, const dataset& d, const signals& s,
                        const fusion_ensemble& fusion, index_t k, double a) {
  test_rankings out;
  const auto setup = make_ranking(d, d.train, d.test, d.train.items);
  const auto mf_recs = rank_all(
      cpu, setup, k, 1, [&](index_t u0, index_t n, std::vector<std::vector<float>>& scores) {
        for (index_t u = 0; u < n; ++u)
          for (index_t i = 0; i < setup.items; ++i)
            scores[0][u * setup.items + i] = s.mf.predict(u0 + u, i);
      })[0];
  out.ndcg_mf = ndcg(cpu, setup, mf_recs, k);
  out.fused = fused_rankings(cpu, setup, k, s, fusion, {a})[0];
  out.ndcg_fused = ndcg(cpu, setup, out.fused, k);
  std::printf("ndcg@10: factorization %.4f, fused %.4f (ranking weight a = %.2f)\n", out.ndcg_mf,
              out.ndcg_fused, a);
  return out;
}

}  // namespace pipeline
