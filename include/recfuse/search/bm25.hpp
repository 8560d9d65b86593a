// recfuse: a BM25 index over item text, and batch query scoring into a top-k.
//
//   auto index = recfuse::search::bm25_index<float>::from_texts(titles);      // k1 1.5, b 0.75
//   auto q = index.encode_texts({"toy story", "godfather"});                  // 2 x terms
//   auto top = recfuse::search::bm25_topk(recfuse::exec::xsimd{2}, index, q.view(), 10);
//   top.index(0, 0), top.value(0, 0)                  // best item of query 0 and its BM25 score
//   auto top = recfuse::search::bm25_topk(policy, index, q.view(), 10, seen);  // skip seen items
//
// Model (Lucene's BM25). N documents (items); document i has length dl_i (its number of tokens,
// repeats counted) and avgdl = sum_i dl_i / N. Term t occurs in df_t documents, tf_{t,i} times
// in document i. The index stores, for every (t, i) with tf_{t,i} > 0, the weight
//
//   w(t, i) = idf_t * tf_{t,i} * (k1 + 1) / (tf_{t,i} + k1 * (1 - b + b * dl_i / avgdl)),
//   idf_t   = log(1 + (N - df_t + 0.5) / (df_t + 0.5))                 (Lucene's IDF, always > 0)
//
// computed in double and stored as T, as a CSR matrix with one row per term (postings: the items
// in increasing id order). A query is a sparse vector over the terms with positive weights q_t
// (encode / encode_texts give each query token's count, so a repeated word counts twice, as in
// bm25s), and its score for item i is
//
//   score(q, i) = sum_t q_t * w(t, i).
//
// bm25s's "lucene" method (and Lucene 8 and later) leave out the constant factor (k1 + 1), which
// changes no ranking: bm25s score = recfuse score / (k1 + 1) (tests/search/bm25s_agree.py checks
// exactly that).
//
// Vocabulary: the distinct tokens of the documents, in byte-wise lexicographic order; term_id(s)
// is the position of s in it, -1 for a token no document has. Query tokens outside the
// vocabulary are dropped by encode (they score 0).
//
// bm25_topk: row r of the result holds the k best (score, item) of query r, best first; equal
// scores go to the smaller item id (topk_order, as every recfuse top-k). Only items that share
// at least one term with the query are candidates (their score is > 0); when fewer than k are,
// the rest of the row is padding: value -infinity, index -1. exclude (optional) is a CSR pattern
// with one row per query and cols == items(); its ids of row r are never returned for row r.
// Scores accumulate in T in the query's entry order (the reference) or another order (backends:
// a few eps(T) of the score apart; near-ties may then resolve differently).
//
// Errors (messages start with the function's name, e.g. "recfuse::search::bm25_topk: "):
// - bm25_index: no documents (value_error, "documents is empty"); k1 negative or not finite, b
//   outside [0, 1] (value_error naming the parameter); more than 2^31 - 1 documents or terms
//   (value_error); invalid UTF-8 in from_texts / encode_texts (value_error from tokenize).
// - bm25_topk / bm25_topk_into: an empty (default-constructed) index (value_error); k < 0 or
//   k > items() (value_error naming k and items()); queries.cols() != terms() (shape_error);
//   queries' offsets or term ids invalid (index_error); a query weight that is not finite and
//   > 0 (value_error naming query row and term); exclude.rows() != queries.rows() or
//   exclude.cols() != items() (shape_error); exclude ids outside [0, items) (index_error); output
//   views not queries.rows() x k (shape_error).
// - An unknown execution policy (one no backend serves) stops compilation (RECFUSE_NO_KERNEL).
//
// Complexity: building is O(T log T) for T tokens in all (sorting the vocabulary), memory
// O(T). Scoring query r costs O(sum over its terms of df_t) adds plus the selection of the k best
// among the items reached (reference: O(items) per query for the exclusion flags; xsimd: see its
// header); memory O(items) per thread.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "recfuse/core/errors.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/sparse.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/reference/search/bm25.hpp"
#include "recfuse/search/tokenize.hpp"
#include "recfuse/select/topk.hpp"

namespace recfuse::search {

struct bm25_params {
  double k1 = 1.5;  // term-frequency saturation (>= 0); bm25s's and Lucene's default is 1.2-1.5
  double b = 0.75;  // length normalisation in [0, 1]
};

template <class T>
class bm25_index {
  static_assert(std::is_floating_point_v<T>,
                "recfuse::search::bm25_index: T must be float or "
                "double");

 public:
  using value_type = T;

  // An empty index: items() == 0; bm25_topk refuses it.
  bm25_index() = default;

  // Builds the index from tokenised documents (document i is item i). `tokenizer` is kept for
  // encode_texts; it is not applied to `documents`.
  explicit bm25_index(const std::vector<std::vector<std::string>>& documents,
                      const bm25_params& params = {}, const tokenize_options& tokenizer = {}) {
    build("recfuse::search::bm25_index", documents, params, tokenizer);
  }

  // Tokenises each text with `tokenizer` (UTF-8; see latin1_to_utf8) and builds the index.
  static bm25_index from_texts(const std::vector<std::string>& texts,
                               const bm25_params& params = {},
                               const tokenize_options& tokenizer = {}) {
    std::vector<std::vector<std::string>> docs;
    docs.reserve(texts.size());
    for (const auto& text : texts) docs.push_back(tokenize(text, tokenizer));
    bm25_index index;
    index.build("recfuse::search::bm25_index::from_texts", docs, params, tokenizer);
    return index;
  }

  index_t items() const { return weights_.cols; }
  index_t terms() const { return weights_.rows; }
  index_t nnz() const { return weights_.nnz(); }
  const bm25_params& params() const { return params_; }
  const tokenize_options& tokenizer() const { return tokenizer_; }
  double avgdl() const { return avgdl_; }
  // The terms, sorted; term t is vocabulary()[t].
  const std::vector<std::string>& vocabulary() const { return vocabulary_; }
  // The id of `token`, or -1 when no document has it. O(log terms).
  std::int32_t term_id(std::string_view token) const {
    const auto it =
        std::lower_bound(vocabulary_.begin(), vocabulary_.end(), token,
                         [](const std::string& a, std::string_view b) { return a < b; });
    if (it == vocabulary_.end() || *it != token) return -1;
    return static_cast<std::int32_t>(it - vocabulary_.begin());
  }
  // Lucene IDF of term t (0 <= t < terms(); unchecked).
  double idf(index_t t) const { return idf_[static_cast<std::size_t>(t)]; }
  // Number of tokens of document i (0 <= i < items(); unchecked).
  index_t document_length(index_t i) const { return doc_length_[static_cast<std::size_t>(i)]; }
  // The postings: terms() x items(), w(t, i) as in the model above.
  csr_view<T> weights() const { return weights_.view(); }

  // Queries as a queries x terms CSR: one row per token list, the count of each known token
  // (entries in increasing term id); unknown tokens are dropped.
  csr_matrix<T> encode(const std::vector<std::vector<std::string>>& queries) const {
    csr_matrix<T> q;
    q.rows = static_cast<index_t>(queries.size());
    q.cols = terms();
    q.offsets.reserve(queries.size() + 1);
    std::vector<std::int32_t> ids;
    for (const auto& tokens : queries) {
      ids.clear();
      for (const auto& token : tokens) {
        const std::int32_t t = term_id(token);
        if (t >= 0) ids.push_back(t);
      }
      std::sort(ids.begin(), ids.end());
      for (std::size_t a = 0; a < ids.size();) {
        std::size_t e = a;
        while (e < ids.size() && ids[e] == ids[a]) ++e;
        q.indices.push_back(ids[a]);
        q.values.push_back(static_cast<T>(e - a));
        a = e;
      }
      q.offsets.push_back(static_cast<index_t>(q.indices.size()));
    }
    return q;
  }

  // encode(tokenize(text, tokenizer())) for each text.
  csr_matrix<T> encode_texts(const std::vector<std::string>& texts) const {
    std::vector<std::vector<std::string>> tokens;
    tokens.reserve(texts.size());
    for (const auto& text : texts) tokens.push_back(tokenize(text, tokenizer_));
    return encode(tokens);
  }

 private:
  void build(const char* fn, const std::vector<std::vector<std::string>>& documents,
             const bm25_params& params, const tokenize_options& tokenizer) {
    if (documents.empty())
      recfuse::detail::throw_error<value_error>(fn, "documents is empty (need >= 1 document)");
    if (!std::isfinite(params.k1) || params.k1 < 0) {
      recfuse::detail::throw_error<value_error>(fn, "params.k1 is ", params.k1,
                                                " (need a finite k1 >= 0)");
    }
    if (!(params.b >= 0 && params.b <= 1)) {
      recfuse::detail::throw_error<value_error>(fn, "params.b is ", params.b,
                                                " (need 0 <= b <= 1)");
    }
    constexpr auto max_id = static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());
    if (documents.size() > max_id) {
      recfuse::detail::throw_error<value_error>(fn, documents.size(), " documents (at most ",
                                                max_id, ")");
    }
    params_ = params;
    tokenizer_ = tokenizer;
    // Vocabulary: sorted distinct tokens.
    std::vector<std::string_view> all;
    for (const auto& doc : documents) {
      for (const auto& token : doc) all.emplace_back(token);
    }
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    if (all.size() > max_id) {
      recfuse::detail::throw_error<value_error>(fn, all.size(), " distinct terms (at most ", max_id,
                                                ")");
    }
    vocabulary_.assign(all.begin(), all.end());
    const auto n_docs = static_cast<index_t>(documents.size());
    const auto n_terms = static_cast<index_t>(vocabulary_.size());

    // (term, tf) per document, in increasing term order; document lengths.
    std::vector<std::int32_t> ids;
    std::vector<index_t> doc_offsets{0};
    std::vector<std::int32_t> doc_terms;
    std::vector<std::int32_t> doc_tf;
    doc_length_.assign(documents.size(), 0);
    double total = 0;
    for (std::size_t d = 0; d < documents.size(); ++d) {
      ids.clear();
      for (const auto& token : documents[d]) ids.push_back(term_id(token));
      std::sort(ids.begin(), ids.end());
      for (std::size_t a = 0; a < ids.size();) {
        std::size_t e = a;
        while (e < ids.size() && ids[e] == ids[a]) ++e;
        doc_terms.push_back(ids[a]);
        doc_tf.push_back(static_cast<std::int32_t>(e - a));
        a = e;
      }
      doc_offsets.push_back(static_cast<index_t>(doc_terms.size()));
      doc_length_[d] = static_cast<index_t>(documents[d].size());
      total += static_cast<double>(documents[d].size());
    }
    avgdl_ = total / static_cast<double>(n_docs);

    // Postings by term: a counting sort keeps documents in increasing id order.
    weights_ = csr_matrix<T>{};
    weights_.rows = n_terms;
    weights_.cols = n_docs;
    weights_.offsets.assign(static_cast<std::size_t>(n_terms + 1), 0);
    for (const std::int32_t t : doc_terms) ++weights_.offsets[static_cast<std::size_t>(t) + 1];
    for (index_t t = 0; t < n_terms; ++t) weights_.offsets[t + 1] += weights_.offsets[t];
    idf_.resize(static_cast<std::size_t>(n_terms));
    for (index_t t = 0; t < n_terms; ++t) {
      const auto df = static_cast<double>(weights_.offsets[t + 1] - weights_.offsets[t]);
      idf_[static_cast<std::size_t>(t)] =
          std::log(1.0 + (static_cast<double>(n_docs) - df + 0.5) / (df + 0.5));
    }
    std::vector<index_t> next(weights_.offsets.begin(), weights_.offsets.end() - 1);
    weights_.indices.resize(doc_terms.size());
    weights_.values.resize(doc_terms.size());
    const double k1 = params.k1, b = params.b;
    for (index_t d = 0; d < n_docs; ++d) {
      const double norm =
          k1 *
          (1.0 - b + b * static_cast<double>(doc_length_[static_cast<std::size_t>(d)]) / avgdl_);
      for (index_t e = doc_offsets[d]; e < doc_offsets[d + 1]; ++e) {
        const auto t = static_cast<std::size_t>(doc_terms[e]);
        const auto tf = static_cast<double>(doc_tf[e]);
        const index_t at = next[t]++;
        weights_.indices[at] = static_cast<std::int32_t>(d);
        weights_.values[at] = static_cast<T>(idf_[t] * tf * (k1 + 1.0) / (tf + norm));
      }
    }
  }

  bm25_params params_{};
  tokenize_options tokenizer_{};
  std::vector<std::string> vocabulary_;
  std::vector<double> idf_;
  std::vector<index_t> doc_length_;
  double avgdl_ = 0;
  csr_matrix<T> weights_{};
};

namespace detail {

template <class T>
void check_bm25_call(const char* fn, const bm25_index<T>& index, const csr_view<T>& queries,
                     index_t k) {
  if (index.items() == 0) {
    recfuse::detail::throw_error<value_error>(
        fn, "the index is empty (build it from at least one document)");
  }
  if (k < 0 || k > index.items()) {
    recfuse::detail::throw_error<value_error>(fn, "k is ", k, " but the index has ", index.items(),
                                              " items (need 0 <= k <= items)");
  }
  recfuse::detail::check_same(fn, "queries.cols()", queries.cols(), "the index's terms()",
                              index.terms());
  recfuse::detail::check_csr(fn, "queries", queries.pattern());
  if (queries.nnz() > 0 && queries.values() == nullptr) {
    recfuse::detail::throw_error<value_error>(fn, "queries has ", queries.nnz(),
                                              " entries but null values");
  }
  for (index_t r = 0; r < queries.rows(); ++r) {
    for (index_t e = queries.offsets()[r]; e < queries.offsets()[r + 1]; ++e) {
      const T q = queries.values()[e];
      if (!(std::isfinite(q) && q > 0)) {
        recfuse::detail::throw_error<value_error>(fn, "query ", r, " has weight ", q, " for term ",
                                                  queries.indices()[e],
                                                  " (need finite weights > 0)");
      }
    }
  }
}

template <class Policy, class T, class Index>
void bm25_topk_run(const Policy& policy, csr_view<T> weights, csr_view<T> queries, index_t k,
                   const csr_pattern_view<Index>* exclude, matrix_view<T> ov,
                   matrix_view<index_t> oi) {
  if constexpr (requires { bm25_topk_kernel(policy, weights, queries, k, exclude, ov, oi); }) {
    RECFUSE_CHECK_NATIVE(bm25_topk_kernel, policy, weights, queries, k, exclude, ov, oi);
    bm25_topk_kernel(policy, weights, queries, k, exclude, ov, oi);
  } else {
    RECFUSE_NO_KERNEL("recfuse::search::bm25_topk", Policy);
  }
}

template <class Policy, class T, class Index>
topk_result<T> bm25_topk_as(const Policy& policy, const bm25_index<T>& index,
                            const csr_view<T>& queries, index_t k,
                            const csr_pattern_view<Index>* exclude) {
  constexpr const char* fn = "recfuse::search::bm25_topk";
  check_bm25_call(fn, index, queries, k);
  if (exclude != nullptr) {
    recfuse::detail::check_topk_exclude(fn, *exclude, queries.rows(), index.items());
  }
  auto result = recfuse::detail::make_topk_result<T>(queries.rows(), k);
  bm25_topk_run(policy, index.weights(), queries, k, exclude, recfuse::detail::values_of(result),
                recfuse::detail::indices_of(result));
  return result;
}

template <class Policy, class T, class Index>
void bm25_topk_into_as(const Policy& policy, const bm25_index<T>& index, const csr_view<T>& queries,
                       index_t k, matrix_view<T> out_values, matrix_view<index_t> out_indices,
                       const csr_pattern_view<Index>* exclude) {
  constexpr const char* fn = "recfuse::search::bm25_topk_into";
  check_bm25_call(fn, index, queries, k);
  if (exclude != nullptr) {
    recfuse::detail::check_topk_exclude(fn, *exclude, queries.rows(), index.items());
  }
  recfuse::detail::check_topk_outputs(fn, out_values, out_indices, queries.rows(), k);
  bm25_topk_run(policy, index.weights(), queries, k, exclude, out_values, out_indices);
}

}  // namespace detail

// The k best items of each query by BM25 score, best first (see the model above).
template <class Policy, class T>
topk_result<T> bm25_topk(const Policy& policy, const bm25_index<T>& index,
                         const csr_view<T>& queries, index_t k) {
  return detail::bm25_topk_as(policy, index, queries, k,
                              static_cast<const recfuse::detail::no_exclusion<>*>(nullptr));
}

// As bm25_topk, never returning exclude's ids of row r for query r.
template <class Policy, class T, class Index>
topk_result<T> bm25_topk(const Policy& policy, const bm25_index<T>& index,
                         const csr_view<T>& queries, index_t k,
                         const csr_pattern_view<Index>& exclude) {
  return detail::bm25_topk_as(policy, index, queries, k, &exclude);
}

// bm25_topk into caller-owned queries.rows() x k views (host memory; strides allowed).
template <class Policy, class T>
void bm25_topk_into(const Policy& policy, const bm25_index<T>& index, const csr_view<T>& queries,
                    index_t k, matrix_view<T> out_values, matrix_view<index_t> out_indices) {
  detail::bm25_topk_into_as(policy, index, queries, k, out_values, out_indices,
                            static_cast<const recfuse::detail::no_exclusion<>*>(nullptr));
}

template <class Policy, class T, class Index>
void bm25_topk_into(const Policy& policy, const bm25_index<T>& index, const csr_view<T>& queries,
                    index_t k, matrix_view<T> out_values, matrix_view<index_t> out_indices,
                    const csr_pattern_view<Index>& exclude) {
  detail::bm25_topk_into_as(policy, index, queries, k, out_values, out_indices, &exclude);
}

}  // namespace recfuse::search
