// recfuse: serial reference kernel for BM25 query scoring (the oracle the backends are tested
// against).
//
// Per query: a dense accumulator over the items; for each query term t (weight q_t), in the
// query's entry order, add q_t * w(t, i) to item i for every posting (t, i), accumulating in T.
// The candidates are the items some query term reaches and that are not excluded; they are
// selected with the top-k order of every recfuse top-k (larger score first, equal scores go to
// the smaller item id), and the row is padded with (-infinity, -1).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/reference/select/topk.hpp"

namespace recfuse::reference_backend {

// weights: terms x items (the index's postings); queries: queries x terms with positive values.
// Both validated; exclude (when not null) validated: queries.rows() rows, ids in [0, items).
template <class T, class Index>
void bm25_topk_kernel(const policy&, csr_view<T> weights, csr_view<T> queries, index_t k,
                      const csr_pattern_view<Index>* exclude, matrix_view<T> out_values,
                      matrix_view<index_t> out_indices) {
  const index_t n = weights.cols();
  if (k == 0) return;
  std::vector<T> acc(static_cast<std::size_t>(n), T(0));
  std::vector<char> touched(static_cast<std::size_t>(n), 0);
  std::vector<char> excluded;
  std::vector<index_t> hit;
  std::vector<std::pair<T, index_t>> candidates;
  for (index_t r = 0; r < queries.rows(); ++r) {
    hit.clear();
    for (index_t e = queries.offsets()[r]; e < queries.offsets()[r + 1]; ++e) {
      const auto t = static_cast<index_t>(queries.indices()[e]);
      const T q = queries.values()[e];
      for (index_t p = weights.offsets()[t]; p < weights.offsets()[t + 1]; ++p) {
        const auto i = static_cast<std::size_t>(weights.indices()[p]);
        if (!touched[i]) {
          touched[i] = 1;
          hit.push_back(static_cast<index_t>(i));
        }
        acc[i] += q * weights.values()[p];
      }
    }
    excluded.assign(static_cast<std::size_t>(n), 0);
    detail::mark_excluded(exclude, r, excluded);
    candidates.clear();
    for (const index_t i : hit) {
      const auto u = static_cast<std::size_t>(i);
      if (!excluded[u]) candidates.emplace_back(acc[u], i);
      acc[u] = T(0);
      touched[u] = 0;
    }
    detail::write_best(candidates, k, out_values.row(r), out_indices.row(r));
  }
}

}  // namespace recfuse::reference_backend
