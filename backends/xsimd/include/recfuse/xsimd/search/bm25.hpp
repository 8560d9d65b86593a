// recfuse xsimd backend: BM25 query scoring into a top-k.
//
// bm25_topk_kernel: queries in parallel, in contiguous chunks (one per thread); each chunk owns a
// dense accumulator over the items (zero between queries). Per query, the postings of its terms
// are added into the accumulator (a scatter), on one of two paths chosen by the number of
// postings the query adds, with the same result (the top-k order of recfuse, equal scores to the
// smaller item id):
// - many postings (at least 1/16 of the items): plain adds, then a SIMD scan of the accumulator
//   in index order, comparing batches with the current threshold (0 until k items are kept, then
//   the k-th best) so only lanes strictly greater reach the scalar heap insert, where exclusion
//   is checked; scanning in index order makes "strictly greater" the exact tie rule; the scan
//   zeroes the accumulator behind it;
// - few postings: each add also records an item reached for the first time (weights are > 0, so
//   an entry still 0 is one), and only those are selected, with the full (score, id) comparison.
// The heap lives in the output row (select/detail/topk_heap.hpp). Scores are summed in the
// query's entry order, as the reference does, so they match it up to the compiler's contraction
// of multiply-adds; the thread count never changes a result.
#pragma once

#include "recfuse/xsimd/detail/xsimd.hpp"

#include <algorithm>
#include <vector>

#include "recfuse/search/bm25.hpp"
#include "recfuse/xsimd/detail/parallel.hpp"
#include "recfuse/xsimd/select/detail/topk_heap.hpp"

namespace recfuse::xsimd_backend {
namespace detail {

// Adds (value, e) to the k-best heap in the output row (hv, hi) of `size` entries.
template <class T>
inline void bm25_keep(T* hv, index_t* hi, index_t& size, index_t k, T value, index_t e) {
  if (size < k) {
    heap_push(hv, hi, size, value, e);
  } else {
    heap_replace_top(hv, hi, k, value, e);
  }
}

// Dense selection: a SIMD scan of the whole accumulator in index order, comparing batches with
// the threshold (0 until k items are kept, then the k-th best) so only lanes strictly greater
// reach the scalar heap insert; the scan zeroes the accumulator behind it.
template <class T>
index_t bm25_select_dense(T* acc, index_t n, index_t k, id_list excluded, T* hv, index_t* hi) {
  using batch = ::xsimd::batch<T>;
  constexpr index_t lanes = static_cast<index_t>(batch::size);
  index_t size = 0;
  T thr = T(0);
  const auto consider = [&](index_t e) {
    if (acc[e] > thr && !excluded.contains(e)) {
      bm25_keep(hv, hi, size, k, acc[e], e);
      if (size == k) thr = hv[0];
    }
  };
  const batch zero(T(0));
  index_t j = 0;
  for (; j + lanes <= n; j += lanes) {
    if (::xsimd::any(batch::load_unaligned(acc + j) > batch(thr))) {
      for (index_t e = j; e < j + lanes; ++e) consider(e);
    }
    zero.store_unaligned(acc + j);
  }
  for (; j < n; ++j) {
    consider(j);
    acc[j] = T(0);
  }
  return size;
}

// Sparse selection: only the items reached (`hit`), with the full (score, id) comparison; their
// accumulator entries are zeroed and `hit` is cleared.
template <class T>
index_t bm25_select_sparse(T* acc, std::vector<index_t>& hit, index_t k, id_list excluded, T* hv,
                           index_t* hi) {
  index_t size = 0;
  for (const index_t e : hit) {
    const T v = acc[e];
    acc[e] = T(0);
    if (excluded.contains(e)) continue;
    if (size < k || topk_order<T>::better(v, e, hv[0], hi[0])) bm25_keep(hv, hi, size, k, v, e);
  }
  hit.clear();
  return size;
}

}  // namespace detail

template <class T, class Index>
void bm25_topk_kernel(const policy& p, csr_view<T> weights, csr_view<T> queries, index_t k,
                      const csr_pattern_view<Index>* exclude, matrix_view<T> out_values,
                      matrix_view<index_t> out_indices) {
  const index_t m = queries.rows();
  const index_t n = weights.cols();
  if (m == 0 || k == 0) return;
  const detail::exclusion_lists excluded(p, exclude);
  const int chunks = detail::chunk_count(p, m, 4);
  detail::for_chunks(chunks, m, [&](int, index_t begin, index_t end) {
    std::vector<T> acc(static_cast<std::size_t>(n), T(0));
    std::vector<index_t> hit;
    const index_t* wo = weights.offsets();
    const auto* wi = weights.indices();
    const T* wv = weights.values();
    const index_t* qo = queries.offsets();
    for (index_t r = begin; r < end; ++r) {
      // Postings this query adds: past n / 16 the dense path is cheaper than tracking items.
      index_t postings = 0;
      for (index_t e = qo[r]; e < qo[r + 1]; ++e) {
        const auto t = static_cast<index_t>(queries.indices()[e]);
        postings += wo[t + 1] - wo[t];
      }
      const bool dense = postings * 16 >= n;
      for (index_t e = qo[r]; e < qo[r + 1]; ++e) {
        const auto t = static_cast<index_t>(queries.indices()[e]);
        const T q = queries.values()[e];
        if (dense) {
          for (index_t x = wo[t]; x < wo[t + 1]; ++x) acc[static_cast<index_t>(wi[x])] += q * wv[x];
        } else {
          for (index_t x = wo[t]; x < wo[t + 1]; ++x) {
            const auto i = static_cast<index_t>(wi[x]);
            if (acc[i] == T(0)) hit.push_back(i);  // weights are > 0: 0 means not reached yet
            acc[i] += q * wv[x];
          }
        }
      }
      T* hv = out_values.row(r);
      index_t* hi = out_indices.row(r);
      const index_t size =
          dense ? detail::bm25_select_dense(acc.data(), n, k, excluded.row(r), hv, hi)
                : detail::bm25_select_sparse(acc.data(), hit, k, excluded.row(r), hv, hi);
      detail::heap_finish(hv, hi, size, k);
    }
  });
}

}  // namespace recfuse::xsimd_backend
