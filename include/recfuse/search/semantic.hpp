// recfuse: semantic retrieval, query embeddings against item embeddings.
//
//   // items: n x d text embeddings (tools/embed_titles.py), queries: m x d, the same model
//   auto top = recfuse::search::semantic_topk(recfuse::exec::xsimd{2}, queries, items, 10);
//   auto top = recfuse::search::semantic_topk(policy, queries, items, 10, seen);  // skip seen
//
// Model: score(q, i) = <query_q, item_i>, the inner product; with L2-normalised embeddings (what
// tools/embed_titles.py writes) that is the cosine similarity. This is topk_inner_product
// (recfuse/select/topk.hpp) with the search family's extra checks; it runs on that function's
// kernels (topk_inner_product_kernel), so include the backend's select/topk.hpp or
// search/semantic.hpp for a backend policy. Results, ties (equal scores go to the smaller item
// id), padding and exclusion are topk_inner_product's: every item is a candidate, so a row has
// min(k, items - excluded) real entries.
//
// Errors (messages start with "recfuse::search::semantic_topk: "): no items, or embeddings with
// no dimension (value_error); k < 0 or k > items (value_error naming k and the item count); then
// topk_inner_product's own errors (dimensions differ, exclusion shape or ids), whose messages
// start with "recfuse::topk_inner_product".
//
// Complexity: topk_inner_product's, 2 * m * n * d flops.
#pragma once

#include "recfuse/core/adapt.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/select/topk.hpp"

namespace recfuse::search {

namespace detail {

template <class Q, class X>
void check_semantic(const Q& queries, const X& items, index_t k) {
  constexpr const char* fn = "recfuse::search::semantic_topk";
  const auto q = as_matrix(queries);
  const auto x = as_matrix(items);
  if (x.rows() <= 0)
    recfuse::detail::throw_error<value_error>(fn, "items has no rows (need >= 1 item)");
  if (x.cols() <= 0 || q.cols() <= 0) {
    recfuse::detail::throw_error<value_error>(fn, "embeddings have ", q.cols(), " (queries) and ",
                                              x.cols(), " (items) dimensions (need >= 1)");
  }
  if (k < 0 || k > x.rows()) {
    recfuse::detail::throw_error<value_error>(fn, "k is ", k, " but there are ", x.rows(),
                                              " items (need 0 <= k <= items)");
  }
}

}  // namespace detail

// The k items with the largest inner product with each query, best first.
template <class Policy, matrix_like Queries, matrix_like Items>
auto semantic_topk(const Policy& policy, const Queries& queries, const Items& items, index_t k) {
  detail::check_semantic(queries, items, k);
  return topk_inner_product(policy, queries, items, k);
}

// As semantic_topk, never returning exclude's ids of row r for query r.
template <class Policy, matrix_like Queries, matrix_like Items, class Index>
auto semantic_topk(const Policy& policy, const Queries& queries, const Items& items, index_t k,
                   const csr_pattern_view<Index>& exclude) {
  detail::check_semantic(queries, items, k);
  return topk_inner_product(policy, queries, items, k, exclude);
}

}  // namespace recfuse::search
