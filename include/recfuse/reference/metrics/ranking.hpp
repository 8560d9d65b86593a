// recfuse: serial reference kernels for the ranking metrics (precision, recall, NDCG, MAP and hit
// rate at k; per-user AUC), the oracle the backends are tested against. The definitions are
// stated in recfuse/metrics/ranking.hpp. These kernels return sums over the evaluated users; the
// public functions divide. Inputs have been validated by the caller.
#pragma once

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"

namespace recfuse {
namespace detail {

// Per-user metric values summed over the evaluated users, and how many users that was.
struct ranking_totals {
  double precision = 0, recall = 0, ndcg = 0, map = 0, hit_rate = 0;
  index_t users = 0;
};

// Per-user AUC summed over the users that have a relevant and a non-relevant candidate.
struct auc_totals {
  double sum = 0;
  index_t users = 0;
};

}  // namespace detail

namespace reference_backend {

template <class Id, class Index>
::recfuse::detail::ranking_totals evaluate_ranking_kernel(const policy&,
                                                          matrix_view<const Id> recommendations,
                                                          csr_pattern_view<Index> relevant,
                                                          index_t k) {
  ::recfuse::detail::ranking_totals totals;
  // state[item]: 2u + 1 while item is relevant to user u and not yet hit, 2u + 2 once hit.
  // A relevant id listed twice is marked once; a recommended id repeated hits at most once.
  std::vector<index_t> state(static_cast<std::size_t>(relevant.cols()), 0);
  for (index_t u = 0; u < recommendations.rows(); ++u) {
    const index_t unhit = 2 * u + 1;
    const index_t hit = 2 * u + 2;
    index_t relevant_count = 0;
    for (const Index* it = relevant.row_begin(u); it != relevant.row_end(u); ++it) {
      index_t& s = state[static_cast<std::size_t>(*it)];
      if (s != unhit) {
        s = unhit;
        ++relevant_count;
      }
    }
    if (relevant_count == 0) continue;

    double hits = 0, dcg = 0, precision_sum = 0;
    for (index_t i = 0; i < k; ++i) {
      const auto id = static_cast<index_t>(recommendations(u, i));
      if (id < 0) continue;  // -1: padding
      index_t& s = state[static_cast<std::size_t>(id)];
      if (s != unhit) continue;
      s = hit;
      hits += 1;
      dcg += 1.0 / std::log2(static_cast<double>(i) + 2.0);
      precision_sum += hits / static_cast<double>(i + 1);
    }
    const index_t ideal = std::min(relevant_count, k);
    double idcg = 0;
    for (index_t i = 0; i < ideal; ++i) idcg += 1.0 / std::log2(static_cast<double>(i) + 2.0);

    totals.precision += hits / static_cast<double>(k);
    totals.recall += hits / static_cast<double>(relevant_count);
    totals.ndcg += dcg / idcg;
    totals.map += precision_sum / static_cast<double>(ideal);
    totals.hit_rate += hits > 0 ? 1.0 : 0.0;
    ++totals.users;
  }
  return totals;
}

// AUC by sorting each user's candidates by score and walking groups of equal scores: every
// positive in a group beats the negatives of all lower groups and ties with the group's own.
// Counts are kept doubled (2 per pair won, 1 per tie) so they stay exact integers.
template <class T, class Index, class Index2>
::recfuse::detail::auc_totals auc_kernel(const policy&, matrix_view<const T> scores,
                                         csr_pattern_view<Index> relevant,
                                         csr_pattern_view<Index2> exclude) {
  ::recfuse::detail::auc_totals totals;
  // kind[item] for user u: 3u + 1 excluded, 3u + 2 relevant (and a candidate).
  std::vector<index_t> kind(static_cast<std::size_t>(scores.cols()), 0);
  std::vector<std::pair<T, bool>> candidates;
  candidates.reserve(static_cast<std::size_t>(scores.cols()));
  for (index_t u = 0; u < scores.rows(); ++u) {
    const index_t excluded = 3 * u + 1;
    const index_t positive = 3 * u + 2;
    for (const Index2* it = exclude.row_begin(u); it != exclude.row_end(u); ++it) {
      kind[static_cast<std::size_t>(*it)] = excluded;
    }
    for (const Index* it = relevant.row_begin(u); it != relevant.row_end(u); ++it) {
      index_t& s = kind[static_cast<std::size_t>(*it)];
      if (s != excluded) s = positive;
    }
    candidates.clear();
    index_t positives = 0;
    for (index_t j = 0; j < scores.cols(); ++j) {
      const index_t s = kind[static_cast<std::size_t>(j)];
      if (s == excluded) continue;
      candidates.emplace_back(scores(u, j), s == positive);
      positives += s == positive ? 1 : 0;
    }
    const auto negatives = static_cast<index_t>(candidates.size()) - positives;
    if (positives == 0 || negatives == 0) continue;

    std::sort(candidates.begin(), candidates.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    index_t doubled_wins = 0, negatives_below = 0;
    for (std::size_t g = 0; g < candidates.size();) {
      std::size_t end = g;
      index_t group_pos = 0, group_neg = 0;
      while (end < candidates.size() && candidates[end].first == candidates[g].first) {
        (candidates[end].second ? group_pos : group_neg) += 1;
        ++end;
      }
      doubled_wins += group_pos * (2 * negatives_below + group_neg);
      negatives_below += group_neg;
      g = end;
    }
    totals.sum += static_cast<double>(doubled_wins) /
                  (2.0 * static_cast<double>(positives) * static_cast<double>(negatives));
    ++totals.users;
  }
  return totals;
}

}  // namespace reference_backend
}  // namespace recfuse
