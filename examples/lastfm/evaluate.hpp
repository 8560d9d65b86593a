// recfuse-lastfm: ranking every user's candidates with blends of the scorers, and the metrics.
//
// rank_blends: for each weight vector w (one weight per scorer), every user's top k of the
// candidates by fuse::blend(w, z-scored scorers), the user's excluded candidates (training
// artists) never recommended (recfuse::topk with an exclusion pattern). Users are scored in
// blocks of 128, so memory stays O(128 x candidates x scorers).
// pooled_auc: the AUC of labelled pairs pooled over users (what sklearn's roc_auc_score gives
// the MKR code), ties counted one half; O(n log n).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "recfuse/fuse/blend.hpp"
#include "recfuse/metrics/ranking.hpp"
#include "recfuse/select/topk.hpp"
#include "signals.hpp"

namespace lastfm {

using weights = std::array<double, scorers>;

// Users x candidates (candidate positions) from pairs over artist ids; pairs on artists that are
// not candidates are dropped.
inline recfuse::csr_matrix<float> by_candidate(const pairs& p, index_t users,
                                               const std::vector<std::int32_t>& candidates,
                                               index_t items) {
  std::vector<std::int32_t> position(static_cast<std::size_t>(items), -1);
  for (std::size_t c = 0; c < candidates.size(); ++c)
    position[candidates[c]] = static_cast<std::int32_t>(c);
  pairs out;
  out.users = users;
  out.items = static_cast<index_t>(candidates.size());
  for (index_t e = 0; e < p.size(); ++e) {
    const auto c = position[p.item[e]];
    if (c >= 0) push(out, p.user[e], c, 1.0f);
  }
  auto m = recfuse::to_csr(out.view());
  m.cols = out.items;
  return m;
}

template <class Policy>
std::vector<std::vector<index_t>> rank_blends(const Policy& cpu, const signals& s,
                                              const std::vector<std::int32_t>& candidates,
                                              const recfuse::csr_matrix<float>& exclude,
                                              const std::vector<weights>& blends, index_t k) {
  constexpr index_t block = 128;
  const index_t users = s.als.users, m = static_cast<index_t>(candidates.size());
  const auto factors = gather_rows(s.als.item_factors, s.als.factors, candidates);
  const auto smoothed = gather_rows(s.smoothed, s.als.factors, candidates);
  const auto co_smoothed = gather_rows(s.co_smoothed, s.als.factors, candidates);
  std::vector<std::vector<index_t>> recs(
      blends.size(), std::vector<index_t>(static_cast<std::size_t>(users * k), -1));
  std::vector<float> parts[scorers], fused;
  std::vector<index_t> offsets;
  for (index_t u0 = 0; u0 < users; u0 += block) {
    const index_t n = std::min(block, users - u0);
    score_block(cpu, s, u0, n, factors, smoothed, co_smoothed, candidates, parts, true);
    offsets.assign(static_cast<std::size_t>(n + 1), 0);
    for (index_t r = 0; r <= n; ++r) offsets[r] = exclude.offsets[u0 + r] - exclude.offsets[u0];
    const recfuse::csr_pattern_view<std::int32_t> seen(
        n, m, offsets.data(), exclude.indices.data() + exclude.offsets[u0]);
    const index_t len = n * m;
    std::vector<recfuse::vector_view<const float>> views;
    for (auto& p : parts) views.emplace_back(p.data(), len);
    fused.resize(static_cast<std::size_t>(len));
    for (std::size_t b = 0; b < blends.size(); ++b) {
      recfuse::fuse::blend(cpu, std::span<const recfuse::vector_view<const float>>(views),
                           std::span<const double>(blends[b]),
                           recfuse::vector_view<float>(fused.data(), len));
      const auto top = recfuse::topk(cpu, recfuse::matrix_view<const float>(fused.data(), n, m),
                                     std::min(k, m), seen);
      for (index_t r = 0; r < n; ++r)
        for (index_t j = 0; j < std::min(k, m); ++j)
          recs[b][(u0 + r) * k + j] = top.indices[r * std::min(k, m) + j];
    }
  }
  return recs;
}

struct metrics {
  double ndcg10 = std::numeric_limits<double>::quiet_NaN();
  double recall20 = std::numeric_limits<double>::quiet_NaN();
  index_t users = 0;
};

// recs: users x k (k >= 20 for recall@20; smaller k: recall@k).
template <class Policy>
metrics score(const Policy& cpu, const std::vector<index_t>& recs, index_t k,
              const recfuse::csr_matrix<float>& relevant) {
  metrics out;
  if (relevant.nnz() == 0) return out;
  const recfuse::matrix_view<const index_t> r(recs.data(), relevant.rows, k);
  const auto a = recfuse::evaluate_ranking(cpu, r, relevant.pattern(), std::min<index_t>(10, k));
  const auto b = recfuse::evaluate_ranking(cpu, r, relevant.pattern(), std::min<index_t>(20, k));
  out.ndcg10 = a.ndcg;
  out.recall20 = b.recall;
  out.users = a.users;
  return out;
}

// Pooled AUC of scores against 0/1 labels.
inline double pooled_auc(const std::vector<float>& score, const std::vector<float>& label) {
  std::vector<std::size_t> order(score.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return score[a] < score[b]; });
  double rank_sum = 0, positives = 0;
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j < order.size() && score[order[j]] == score[order[i]]) ++j;
    const double mid = 0.5 * static_cast<double>(i + j + 1);  // 1-based mean rank of the tie
    for (std::size_t q = i; q < j; ++q)
      if (label[order[q]] > 0.5f) rank_sum += mid, positives += 1;
    i = j;
  }
  const double negatives = static_cast<double>(score.size()) - positives;
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

// The accuracy of "score > threshold" against the labels.
inline double accuracy(const std::vector<float>& score, const std::vector<float>& label,
                       double threshold) {
  double right = 0;
  for (std::size_t i = 0; i < score.size(); ++i)
    right += (score[i] > threshold) == (label[i] > 0.5f);
  return score.empty() ? 0.0 : right / static_cast<double>(score.size());
}

// The threshold that maximises accuracy on (score, label): a midpoint between sorted scores.
inline double best_threshold(const std::vector<float>& score, const std::vector<float>& label) {
  std::vector<std::size_t> order(score.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return score[a] < score[b]; });
  double positives = 0;
  for (float l : label) positives += l > 0.5f;
  // Threshold below everything: every pair predicted positive.
  double right = positives, best = right;
  double threshold = score.empty() ? 0.0 : score[order[0]] - 1.0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    right += label[order[i]] > 0.5f ? -1 : 1;
    if (i + 1 < order.size() && score[order[i + 1]] == score[order[i]]) continue;
    if (right > best) {
      best = right;
      threshold = i + 1 < order.size() ? 0.5 * (score[order[i]] + score[order[i + 1]])
                                       : score[order[i]] + 1.0;
    }
  }
  return threshold;
}

}  // namespace lastfm
