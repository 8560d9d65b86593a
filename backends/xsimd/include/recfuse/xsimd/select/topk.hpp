// recfuse xsimd backend: top-k selection kernels.
//
// topk_kernel: rows in parallel; per row, a heap of k kept in the output row. The first k
// selectable items fill it (scalar); after that a SIMD filter compares four batches of scores
// at a time with the current k-th best and only lanes strictly greater reach the scalar insert,
// which is where exclusion is checked (binary search in a sorted copy of the row's ids).
// Scanning in index order makes "strictly greater" the exact tie rule: a later equal score
// loses. With random scores a row does about k * ln(n / k) inserts, so the pass is one
// streaming read of the scores.
//
// topk_inner_product_kernel: see select/detail/topk_fused.hpp.
#pragma once

#include "recfuse/xsimd/detail/xsimd.hpp"

#include "recfuse/select/topk.hpp"
#include "recfuse/xsimd/detail/parallel.hpp"
#include "recfuse/xsimd/select/detail/topk_fused.hpp"
#include "recfuse/xsimd/select/detail/topk_heap.hpp"

namespace recfuse::xsimd_backend {
namespace detail {

template <class T>
void row_topk(const T* s, index_t n, index_t k, id_list excluded, T* hv, index_t* hi) {
  using batch = ::xsimd::batch<T>;
  constexpr index_t lanes = static_cast<index_t>(batch::size);
  index_t size = 0;
  index_t j = 0;
  for (; j < n && size < k; ++j) {
    if (topk_order<T>::selectable(s[j]) && !excluded.contains(j)) heap_push(hv, hi, size, s[j], j);
  }
  if (size == k) {
    T thr = hv[0];
    batch t(thr);
    for (; j + 4 * lanes <= n; j += 4 * lanes) {
      const auto h0 = batch::load_unaligned(s + j) > t;
      const auto h1 = batch::load_unaligned(s + j + lanes) > t;
      const auto h2 = batch::load_unaligned(s + j + 2 * lanes) > t;
      const auto h3 = batch::load_unaligned(s + j + 3 * lanes) > t;
      if (!::xsimd::any((h0 | h1) | (h2 | h3))) continue;
      // Only the batches that hit are scanned (the threshold only rises meanwhile).
      const bool batch_hit[4] = {::xsimd::any(h0), ::xsimd::any(h1), ::xsimd::any(h2),
                                 ::xsimd::any(h3)};
      for (index_t b = 0; b < 4; ++b) {
        if (!batch_hit[b]) continue;
        for (index_t e = j + b * lanes; e < j + (b + 1) * lanes; ++e) {
          if (s[e] > thr && !excluded.contains(e)) {
            heap_replace_top(hv, hi, k, s[e], e);
            thr = hv[0];
          }
        }
      }
      t = batch(thr);
    }
    for (; j < n; ++j) {
      if (s[j] > thr && !excluded.contains(j)) {
        heap_replace_top(hv, hi, k, s[j], j);
        thr = hv[0];
      }
    }
  }
  heap_finish(hv, hi, size, k);
}

}  // namespace detail

template <class T, class Index>
void topk_kernel(const policy& p, matrix_view<const T> scores, index_t k,
                 const csr_pattern_view<Index>* exclude, matrix_view<T> out_values,
                 matrix_view<index_t> out_indices) {
  const index_t m = scores.rows();
  const index_t n = scores.cols();
  if (m == 0 || k == 0) return;
  const detail::exclusion_lists excluded(p, exclude);
  const index_t grain = std::max<index_t>(1, (index_t{1} << 16) / std::max<index_t>(n, 1));
  detail::for_each_index(p, m, grain, [&](index_t r) {
    detail::row_topk(scores.row(r), n, k, excluded.row(r), out_values.row(r), out_indices.row(r));
  });
}

template <class T, class Index>
void topk_inner_product_kernel(const policy& p, matrix_view<const T> queries,
                               matrix_view<const T> items, index_t k,
                               const csr_pattern_view<Index>* exclude, matrix_view<T> out_values,
                               matrix_view<index_t> out_indices) {
  if (queries.rows() == 0 || k == 0) return;
  const detail::exclusion_lists excluded(p, exclude);
  detail::fused_topk(p, queries, items, k, excluded, out_values, out_indices);
}

}  // namespace recfuse::xsimd_backend
