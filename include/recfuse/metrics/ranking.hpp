// recfuse: ranking metrics of top-k recommendations against held-out relevant items, and AUC.
//
//   recfuse::ranking_report r = recfuse::evaluate_ranking(recfuse::exec::xsimd{}, recs, test, 10);
//   double a = recfuse::auc(recfuse::exec::xsimd{}, scores, test, train);
//
// recommendations: an m x r matrix-like container of item ids (any signed integer type, e.g.
// index_t or int32), best first, -1 for padding (as recfuse::topk pads rows with fewer valid
// items). relevant: a CSR pattern with m rows and cols = the number of items, row u holding the
// items user u is known to like (the held-out test interactions).
//
// Definitions (binary relevance, the RecBole convention). For user u let R be the set of
// distinct relevant ids and h_i = 1 when the recommendation at 0-based position i < k is in R
// and has not appeared earlier in the row, else 0; H = sum of h_i.
//   precision@k = H / k                        (padding counts as a miss: the divisor stays k)
//   recall@k    = H / |R|
//   ndcg@k      = DCG / IDCG, DCG = sum_i h_i / log2(i + 2),
//                 IDCG = sum over i < min(|R|, k) of 1 / log2(i + 2)
//   map@k       = (1 / min(|R|, k)) * sum_i h_i * (h_0 + ... + h_i) / (i + 1)
//   hit_rate@k  = 1 if H > 0 else 0
// Each is averaged over the evaluated users: those with at least one relevant item; users
// with none are skipped (ranking_report::users counts the evaluated ones). Only the first k
// columns of `recommendations` are read. A relevant id listed twice counts once; a recommended
// id repeated within a row counts as a hit at its first position only (later copies are misses).
// Differences from implicit's ranking_metrics_at_k: implicit's precision divides the total hits
// by the sum of min(k, |R|) over users; its ndcg, map and hit rate agree with these.
//
// auc(policy, scores, relevant[, exclude]): scores is an m x n float or double matrix (n = items,
// the same shape as relevant; exclude, when given, too). For user u the candidates are all
// items not in exclude row u (e.g. the items u trained on); positives are the candidates in
// relevant row u, negatives the other candidates; a relevant item that is also excluded is not a
// candidate. AUC(u) = (#(p, q) with s_p > s_q + #ties / 2) / (#positives * #negatives) over
// positive p and negative q, averaged over the users with at least one positive and one negative
// (unweighted: RecBole's GAUC weights users by their number of positives). Infinite scores are
// ordered as usual; NaN in a candidate score is an error; excluded scores are never read.
//
// Errors (messages start with the function's name): k <= 0 or k > recommendations.cols()
// (value_error); rows or columns that disagree (shape_error); a recommended id outside
// [-1, relevant.cols()) in the first k columns (index_error naming row and position); an
// invalid CSR pattern (index_error, see detail::check_csr); NaN scores (value_error naming row
// and column); no user to evaluate (value_error: "no user has a relevant item", or for auc "no
// user has both a relevant and a non-relevant candidate"). Backends agree with the reference to
// about 1e-12 relative (sums over users are combined in a different order).
//
// Device data (exec::thrust<thrust::cuda::tag> with recommendations or scores and the patterns
// in device memory, all in the same space): the host checks only shapes, k and the presence of
// offsets, never reading device memory. Recommended and relevant ids and CSR offsets are not
// validated (the Thrust kernels only compare ids, so an id out of range counts as a miss; bad
// offsets are undefined behaviour); NaN in a candidate score is still a value_error, found by
// the kernel, without its position. auc without an exclude pattern is host-only: pass an empty
// exclude pattern (rows + 1 zero offsets in device memory) instead.
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "recfuse/core/adapt.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/reference/metrics/ranking.hpp"

namespace recfuse {

struct ranking_report {
  double precision = 0, recall = 0, ndcg = 0, map = 0, hit_rate = 0;
  index_t users = 0;  // users evaluated: those with at least one relevant item
};

namespace detail {

// check_csr for host patterns; for device patterns only what the host can see without reading
// device memory: the extents, and offsets present when there are rows.
template <class Index, class Space>
void check_pattern(const char* fn, const char* name, const csr_pattern_view<Index, Space>& p) {
  if constexpr (std::is_same_v<Space, host_memory>) {
    check_csr(fn, name, p);
  } else {
    if (p.rows() < 0 || p.cols() < 0) {
      throw_error<shape_error>(fn, name, " has rows = ", p.rows(), ", cols = ", p.cols());
    }
    if (p.rows() > 0 && p.offsets() == nullptr) {
      throw_error<value_error>(fn, name, " has null offsets");
    }
  }
}

template <class Policy, class Recs, class Index, class Space>
ranking_report evaluate_ranking_as(const char* fn, const Policy& policy,
                                   const Recs& recommendations,
                                   const csr_pattern_view<Index, Space>& relevant, index_t k) {
  const auto recs = as_const(as_matrix(recommendations));
  using Id = typename decltype(recs)::value_type;
  static_assert(std::is_integral_v<Id> && std::is_signed_v<Id>,
                "recfuse ranking metrics: recommendations must hold signed integer item ids");
  static_assert(std::is_same_v<typename decltype(recs)::memory_space, Space>,
                "recfuse ranking metrics: recommendations and relevant must live in the same "
                "memory space");
  check_matrix(fn, "recommendations", recs);
  check_pattern(fn, "relevant", relevant);
  if (k <= 0 || k > recs.cols()) {
    throw_error<value_error>(fn, "k = ", k,
                             " is outside [1, recommendations.cols() = ", recs.cols(), "]");
  }
  check_same(fn, "relevant.rows()", relevant.rows(), "recommendations.rows()", recs.rows());
  // Device data is not read from the host: its ids are not range-checked (see the header).
  for (index_t u = 0; std::is_same_v<Space, host_memory> && u < recs.rows(); ++u) {
    const Id* row = recs.row(u);
    int bad = 0;  // a branch-free pass first, so the common case vectorises
    for (index_t i = 0; i < k; ++i) {
      const auto id = static_cast<index_t>(row[i]);
      bad |= static_cast<int>(id < -1) | static_cast<int>(id >= relevant.cols());
    }
    if (bad == 0) continue;
    for (index_t i = 0; i < k; ++i) {
      const auto id = static_cast<index_t>(row[i]);
      if (id < -1 || id >= relevant.cols()) {
        throw_error<index_error>(fn, "recommendations row ", u, " position ", i, " holds item id ",
                                 id, ", outside [-1, ", relevant.cols(), ")");
      }
    }
  }
  if constexpr (requires { evaluate_ranking_kernel(policy, recs, relevant, k); }) {
    RECFUSE_CHECK_NATIVE(evaluate_ranking_kernel, policy, recs, relevant, k);
    const ranking_totals t = evaluate_ranking_kernel(policy, recs, relevant, k);
    if (t.users == 0) {
      if constexpr (std::is_same_v<Space, host_memory>) {
        throw_error<value_error>(fn, "no user has a relevant item (relevant has ", relevant.rows(),
                                 " rows and ", relevant.nnz(), " entries)");
      } else {
        throw_error<value_error>(fn, "no user has a relevant item (relevant has ", relevant.rows(),
                                 " rows)");
      }
    }
    const auto n = static_cast<double>(t.users);
    return {t.precision / n, t.recall / n, t.ndcg / n, t.map / n, t.hit_rate / n, t.users};
  } else {
    RECFUSE_NO_KERNEL("recfuse ranking metrics", Policy);
  }
}

template <class Policy, class Scores, class Index, class Index2, class Space>
double auc_as(const char* fn, const Policy& policy, const Scores& scores_in,
              const csr_pattern_view<Index, Space>& relevant,
              const csr_pattern_view<Index2, Space>& exclude) {
  const auto scores = as_const(as_matrix(scores_in));
  using T = typename decltype(scores)::value_type;
  static_assert(std::is_floating_point_v<T>, "recfuse::auc: scores must be float or double");
  static_assert(std::is_same_v<typename decltype(scores)::memory_space, Space>,
                "recfuse::auc: scores, relevant and exclude must live in the same memory space");
  constexpr bool on_host = std::is_same_v<Space, host_memory>;
  check_matrix(fn, "scores", scores);
  check_pattern(fn, "relevant", relevant);
  check_pattern(fn, "exclude", exclude);
  check_same(fn, "relevant.rows()", relevant.rows(), "scores.rows()", scores.rows());
  check_same(fn, "relevant.cols()", relevant.cols(), "scores.cols()", scores.cols());
  check_same(fn, "exclude.rows()", exclude.rows(), "scores.rows()", scores.rows());
  check_same(fn, "exclude.cols()", exclude.cols(), "scores.cols()", scores.cols());
  // NaN is an error only where a score is read: candidates, not excluded items. Device data is
  // checked by the kernel instead (a NaN total below).
  std::vector<index_t> excluded;  // excluded[j] == u + 1: item j is excluded for user u
  for (index_t u = 0; on_host && u < scores.rows(); ++u) {
    const T* row = scores.row(u);
    int any_nan = 0;  // an int, not a bool, so the loop vectorises
    for (index_t j = 0; j < scores.cols(); ++j) any_nan |= static_cast<int>(std::isnan(row[j]));
    if (any_nan == 0) continue;
    excluded.resize(static_cast<std::size_t>(scores.cols()), 0);
    for (const Index2* it = exclude.row_begin(u); it != exclude.row_end(u); ++it) {
      excluded[static_cast<std::size_t>(*it)] = u + 1;
    }
    for (index_t j = 0; j < scores.cols(); ++j) {
      if (std::isnan(row[j]) && excluded[static_cast<std::size_t>(j)] != u + 1) {
        throw_error<value_error>(fn, "scores(", u, ", ", j, ") is NaN");
      }
    }
  }
  if constexpr (requires { auc_kernel(policy, scores, relevant, exclude); }) {
    RECFUSE_CHECK_NATIVE(auc_kernel, policy, scores, relevant, exclude);
    const auc_totals t = auc_kernel(policy, scores, relevant, exclude);
    if (!on_host && std::isnan(t.sum)) {
      throw_error<value_error>(fn,
                               "scores hold NaN where a candidate's score is read (device "
                               "data: the position is not reported)");
    }
    if (t.users == 0) {
      throw_error<value_error>(fn, "no user has both a relevant and a non-relevant candidate (",
                               scores.rows(), " users, ", scores.cols(), " items)");
    }
    return t.sum / static_cast<double>(t.users);
  } else {
    RECFUSE_NO_KERNEL("recfuse::auc", Policy);
  }
}

}  // namespace detail

// Every ranking metric at k in one pass over the recommendations.
template <class Policy, matrix_like Recs, class Index, class Space>
ranking_report evaluate_ranking(const Policy& policy, const Recs& recommendations,
                                const csr_pattern_view<Index, Space>& relevant, index_t k) {
  return detail::evaluate_ranking_as("recfuse::evaluate_ranking", policy, recommendations, relevant,
                                     k);
}

template <class Policy, matrix_like Recs, class Index, class Space>
double precision_at_k(const Policy& policy, const Recs& recommendations,
                      const csr_pattern_view<Index, Space>& relevant, index_t k) {
  return detail::evaluate_ranking_as("recfuse::precision_at_k", policy, recommendations, relevant,
                                     k)
      .precision;
}

template <class Policy, matrix_like Recs, class Index, class Space>
double recall_at_k(const Policy& policy, const Recs& recommendations,
                   const csr_pattern_view<Index, Space>& relevant, index_t k) {
  return detail::evaluate_ranking_as("recfuse::recall_at_k", policy, recommendations, relevant, k)
      .recall;
}

template <class Policy, matrix_like Recs, class Index, class Space>
double ndcg_at_k(const Policy& policy, const Recs& recommendations,
                 const csr_pattern_view<Index, Space>& relevant, index_t k) {
  return detail::evaluate_ranking_as("recfuse::ndcg_at_k", policy, recommendations, relevant, k)
      .ndcg;
}

template <class Policy, matrix_like Recs, class Index, class Space>
double map_at_k(const Policy& policy, const Recs& recommendations,
                const csr_pattern_view<Index, Space>& relevant, index_t k) {
  return detail::evaluate_ranking_as("recfuse::map_at_k", policy, recommendations, relevant, k).map;
}

template <class Policy, matrix_like Recs, class Index, class Space>
double hit_rate_at_k(const Policy& policy, const Recs& recommendations,
                     const csr_pattern_view<Index, Space>& relevant, index_t k) {
  return detail::evaluate_ranking_as("recfuse::hit_rate_at_k", policy, recommendations, relevant, k)
      .hit_rate;
}

// Mean per-user AUC over all items of each row of `scores`.
// Host data only: with device data pass an exclude pattern (an empty one: rows + 1 zero offsets).
template <class Policy, matrix_like Scores, class Index>
double auc(const Policy& policy, const Scores& scores, const csr_pattern_view<Index>& relevant) {
  // No exclusion: an empty pattern of the same shape (all offsets 0), made in host memory.
  const std::vector<index_t> zeros(
      static_cast<std::size_t>(std::max<index_t>(0, relevant.rows()) + 1), 0);
  const csr_pattern_view<Index> none(relevant.rows(), relevant.cols(), zeros.data(), nullptr);
  return detail::auc_as("recfuse::auc", policy, scores, relevant, none);
}

// Mean per-user AUC where the items in `exclude` row u are not candidates for user u.
template <class Policy, matrix_like Scores, class Index, class Index2, class Space>
double auc(const Policy& policy, const Scores& scores,
           const csr_pattern_view<Index, Space>& relevant,
           const csr_pattern_view<Index2, Space>& exclude) {
  return detail::auc_as("recfuse::auc", policy, scores, relevant, exclude);
}

}  // namespace recfuse
