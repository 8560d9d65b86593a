// recfuse: hybrid and personalised search ranking, with per-signal explanations.
//
//   auto lexical = recfuse::search::bm25_topk(policy, index, q.view(), 50);
//   auto semantic = recfuse::search::semantic_topk(policy, q_embeddings, item_embeddings, 50);
//   recfuse::search::hybrid_options opt;                     // reciprocal-rank fusion, k_rrf 60
//   auto hits = recfuse::search::hybrid_rank(&lexical, &semantic, 10, opt);
//   opt.personal_weight = 0.02;                              // + the user's model score
//   auto hits = recfuse::search::hybrid_rank(&lexical, &semantic, 10, opt,
//                                            recfuse::search::dense_personal(user_scores));
//   hits[r][0].item, hits[r][0].score, hits[r][0].bm25, .semantic, .personal  // the explanation
//
// Model. Per query row r, each signal (BM25, semantic) gives a ranked candidate list: row r of a
// top-k result, best first; padding (index -1) is ignored, and either signal may be absent (a
// null pointer). The candidates are the union of the lists. A candidate's fused score is
//
//   score = bm25 + semantic + personal
//
// where each term is that signal's contribution (0 for a signal whose list lacks the item):
// - method rrf (reciprocal-rank fusion, Cormack et al. 2009): the signal at 1-based rank rank_s
//   contributes weight_s / (k_rrf + rank_s);
// - method blend: weight_s * (s - min_s) / (max_s - min_s), the signal's score min-max normalised
//   over its own list for this row (1 for every entry when max_s == min_s);
// - personal (both methods, when options.personal_weight != 0): personal_weight * (p - min_p) /
//   (max_p - min_p), where p = personal(r, item) is the user's recommendation score (e.g. a
//   factorization model's prediction, the "search ranking adjusted by the model's prediction"),
//   min-max normalised over row r's candidates (0 for all when max_p == min_p). The personal score
//   comes in as a callback (or dense_personal over a score vector), so the search family does not
//   depend on a model type.
// The k best candidates by score are returned, best first; equal scores go to the smaller item
// id (as every recfuse top-k). A row with fewer candidates than k returns all of them; the
// contributions of each hit sum to its score (up to rounding: score is computed as their sum).
// The weights are free: with rrf the contributions are at most weight / (k_rrf + 1) (1/61 by
// default), so a personal_weight of about 0.01-0.05 re-ranks within the query's matches, while
// with blend the signals are on [0, weight].
//
// Errors (messages start with "recfuse::search::hybrid_rank: "): no signal given (both null), the
// two results with different rows (shape_error); k < 1 (value_error); k_rrf negative or not
// finite, a weight not finite (value_error naming the option); personal_weight != 0 without a
// personal callback (value_error); a personal score that is NaN or infinite (value_error naming
// row and item). dense_personal: an item outside the score vector (index_error), scores rows not
// 1 and not the number of query rows (shape_error, at the call).
//
// Complexity: O(c log c) per row for c = the candidates of that row (at most the sum of the two
// lists' lengths), one personal call per candidate.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <type_traits>
#include <vector>

#include "recfuse/core/errors.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/reference/select/topk.hpp"
#include "recfuse/select/topk.hpp"

namespace recfuse::search {

enum class fusion_method {
  rrf,    // reciprocal-rank fusion
  blend,  // weighted sum of min-max normalised scores
};

struct hybrid_options {
  fusion_method method = fusion_method::rrf;
  double k_rrf = 60;             // rrf's rank offset (Cormack et al.: 60)
  double bm25_weight = 1.0;      // weight of the BM25 signal
  double semantic_weight = 1.0;  // weight of the semantic signal
  double personal_weight = 0.0;  // weight of the user's normalised recommendation score
};

// One result with its explanation: score == bm25 + semantic + personal.
struct hybrid_hit {
  index_t item = -1;
  double score = 0;
  double bm25 = 0;         // the BM25 signal's contribution (0 when the item is not in its list)
  double semantic = 0;     // the semantic signal's contribution
  double personal = 0;     // the personalisation's contribution
  index_t bm25_rank = -1;  // 1-based rank in the BM25 list, -1 when absent
  index_t semantic_rank = -1;  // 1-based rank in the semantic list, -1 when absent
};

// personal(row, item): the recommendation score of query row `row`'s user for `item`.
using personal_fn = std::function<double(index_t row, index_t item)>;

// A personal_fn over dense scores: rows x items, one row per query row, or 1 x items for every
// row (one user). The view must outlive the returned function.
template <class T>
personal_fn dense_personal(matrix_view<const T> scores) {
  return [scores](index_t row, index_t item) -> double {
    if (item < 0 || item >= scores.cols()) {
      recfuse::detail::throw_error<index_error>("recfuse::search::dense_personal", "item ", item,
                                                " is outside the score vector's [0, ",
                                                scores.cols(), ")");
    }
    const index_t r = scores.rows() == 1 ? 0 : row;
    if (r < 0 || r >= scores.rows()) {
      recfuse::detail::throw_error<shape_error>("recfuse::search::dense_personal", "query row ",
                                                row, " but the scores have ", scores.rows(),
                                                " rows");
    }
    return static_cast<double>(scores(r, item));
  };
}

// One user's scores for every item (1 x items).
template <class T>
personal_fn dense_personal(vector_view<const T> scores) {
  return dense_personal(matrix_view<const T>(scores.data(), 1, scores.size()));
}

namespace detail {

template <class T>
void check_hybrid(const char* fn, const topk_result<T>* bm25, const topk_result<T>* semantic,
                  index_t k, const hybrid_options& o, const personal_fn& personal) {
  if (bm25 == nullptr && semantic == nullptr) {
    recfuse::detail::throw_error<value_error>(fn,
                                              "no signal given (bm25 and semantic are both null)");
  }
  if (bm25 != nullptr && semantic != nullptr && bm25->rows != semantic->rows) {
    recfuse::detail::throw_error<shape_error>(fn, "bm25 has ", bm25->rows,
                                              " rows but semantic has ", semantic->rows);
  }
  if (k < 1) recfuse::detail::throw_error<value_error>(fn, "k is ", k, " (need k >= 1)");
  if (!std::isfinite(o.k_rrf) || o.k_rrf < 0) {
    recfuse::detail::throw_error<value_error>(fn, "options.k_rrf is ", o.k_rrf,
                                              " (need a finite k_rrf >= 0)");
  }
  const auto finite = [&](const char* name, double w) {
    if (!std::isfinite(w))
      recfuse::detail::throw_error<value_error>(fn, "options.", name, " is ", w, " (need finite)");
  };
  finite("bm25_weight", o.bm25_weight);
  finite("semantic_weight", o.semantic_weight);
  finite("personal_weight", o.personal_weight);
  if (o.personal_weight != 0 && !personal) {
    recfuse::detail::throw_error<value_error>(fn, "options.personal_weight is ", o.personal_weight,
                                              " but no personal score callback was given");
  }
}

// Adds one signal's contributions for row r to the candidates (found by item id).
template <class T>
void add_signal(const topk_result<T>& list, index_t r, const hybrid_options& o, double weight,
                bool is_bm25, std::vector<hybrid_hit>& hits) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (index_t j = 0; j < list.k; ++j) {
    if (list.index(r, j) < 0) continue;
    lo = std::min(lo, static_cast<double>(list.value(r, j)));
    hi = std::max(hi, static_cast<double>(list.value(r, j)));
  }
  index_t rank = 0;
  for (index_t j = 0; j < list.k; ++j) {
    const index_t item = list.index(r, j);
    if (item < 0) continue;
    ++rank;
    double c;
    if (o.method == fusion_method::rrf) {
      c = weight / (o.k_rrf + static_cast<double>(rank));
    } else {
      c = hi > lo ? weight * (static_cast<double>(list.value(r, j)) - lo) / (hi - lo) : weight;
    }
    auto it =
        std::find_if(hits.begin(), hits.end(), [&](const hybrid_hit& h) { return h.item == item; });
    if (it == hits.end()) {
      hits.push_back(hybrid_hit{});
      it = hits.end() - 1;
      it->item = item;
    }
    // A list with a repeated id (not produced by recfuse's top-k) keeps the first, best rank.
    if (is_bm25 && it->bm25_rank < 0) {
      it->bm25 = c;
      it->bm25_rank = rank;
    } else if (!is_bm25 && it->semantic_rank < 0) {
      it->semantic = c;
      it->semantic_rank = rank;
    }
  }
}

}  // namespace detail

// Fuses the BM25 and semantic candidates of each query row (either may be null) and re-ranks them
// with the personal score; returns up to k hits per row, best first (see the model above).
// T is deduced from bm25: hybrid_rank(&lexical, nullptr, ...) works; with bm25 null, name it
// (hybrid_rank<float>(nullptr, &semantic, ...)).
template <class T>
std::vector<std::vector<hybrid_hit>> hybrid_rank(
    const topk_result<T>* bm25, const std::type_identity_t<topk_result<T>>* semantic, index_t k,
    const hybrid_options& options = {}, const personal_fn& personal = {}) {
  constexpr const char* fn = "recfuse::search::hybrid_rank";
  detail::check_hybrid(fn, bm25, semantic, k, options, personal);
  const index_t rows = bm25 != nullptr ? bm25->rows : semantic->rows;
  std::vector<std::vector<hybrid_hit>> out(static_cast<std::size_t>(rows));
  std::vector<hybrid_hit> hits;
  std::vector<double> p;
  for (index_t r = 0; r < rows; ++r) {
    hits.clear();
    if (bm25 != nullptr) detail::add_signal(*bm25, r, options, options.bm25_weight, true, hits);
    if (semantic != nullptr) {
      detail::add_signal(*semantic, r, options, options.semantic_weight, false, hits);
    }
    if (options.personal_weight != 0 && !hits.empty()) {
      p.resize(hits.size());
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      for (std::size_t h = 0; h < hits.size(); ++h) {
        p[h] = personal(r, hits[h].item);
        if (!std::isfinite(p[h])) {
          recfuse::detail::throw_error<value_error>(fn, "the personal score of row ", r, ", item ",
                                                    hits[h].item, " is ", p[h], " (need finite)");
        }
        lo = std::min(lo, p[h]);
        hi = std::max(hi, p[h]);
      }
      for (std::size_t h = 0; h < hits.size(); ++h) {
        hits[h].personal = hi > lo ? options.personal_weight * (p[h] - lo) / (hi - lo) : 0.0;
      }
    }
    for (auto& h : hits) h.score = h.bm25 + h.semantic + h.personal;
    const auto keep = std::min<std::size_t>(static_cast<std::size_t>(k), hits.size());
    std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(keep), hits.end(),
                      [](const hybrid_hit& a, const hybrid_hit& b) {
                        return topk_order<double>::better(a.score, a.item, b.score, b.item);
                      });
    out[static_cast<std::size_t>(r)].assign(hits.begin(),
                                            hits.begin() + static_cast<std::ptrdiff_t>(keep));
  }
  return out;
}

}  // namespace recfuse::search
