// recfuse Thrust backend: the per-row machinery of the top-k kernels (recfuse/thrust/select/).
//
// - The bounded heap kept in one output row (its k value slots and k id slots), the exclusion
//   lookup and the scan of one row are shared with the Kokkos backend:
//   recfuse/reference/select/detail/topk_row.hpp says how they keep topk_order's contract.
// - topk_over_rows validates a device exclusion pattern on the device (check_exclusion.hpp).
// - sort_exclusion: every exclusion id of row r encoded as the key r * cols + id in one scratch
//   array, sorted once with thrust::sort, so each row's ids are a sorted run at the row's own
//   CSR offsets and membership is a binary search.
// - topk_rows: the functor thrust::for_each runs once per row: the shared select_row into the
//   row's output slots, then the heap sorted and the row padded.
// Everything here runs on the host and on the GPU: raw pointers, no allocation, no exceptions.
#pragma once

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/sort.h>

#include <limits>
#include <type_traits>

#include "recfuse/core/views.hpp"
#include "recfuse/reference/select/detail/topk_row.hpp"
#include "recfuse/thrust/detail/buffer.hpp"
#include "recfuse/thrust/policy.hpp"
#include "recfuse/thrust/select/detail/check_exclusion.hpp"

namespace recfuse::thrust_backend::detail {

// The row heap, the exclusion lookup and the row scan are the shared device-callable code of
// recfuse/reference/select/detail/topk_row.hpp (the Kokkos kernels run the same).
using ::recfuse::detail::inner_product_scores;
using ::recfuse::detail::matrix_scores;
using ::recfuse::detail::row_heap;
using ::recfuse::detail::sorted_exclusion;

template <class Index>
struct encode_exclusion_row {
  const index_t* offsets;
  const Index* ids;
  index_t cols;
  index_t* keys;
  RECFUSE_HOST_DEVICE void operator()(index_t r) const {
    const index_t base = offsets[0];
    for (index_t e = offsets[r]; e < offsets[r + 1]; ++e) {
      keys[e - base] = r * cols + static_cast<index_t>(ids[e]);
    }
  }
};

// Builds the sorted keys of `exclude` (which may be null) into `keys`; returns the lookup.
template <class System, class Index, class Space>
sorted_exclusion sort_exclusion(const policy<System>& p,
                                const csr_pattern_view<Index, Space>* exclude,
                                buffer<System, index_t>& keys) {
  if (exclude == nullptr || exclude->rows() == 0) return {};
  const index_t rows = exclude->rows();
  const index_t nnz = pattern_nnz(p, *exclude);
  keys.resize(static_cast<std::size_t>(nnz));
  index_t* k = raw(keys);
  ::thrust::for_each(
      p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
      ::thrust::counting_iterator<index_t>(rows),
      encode_exclusion_row<Index>{exclude->offsets(), exclude->indices(), exclude->cols(), k});
  ::thrust::sort(p.thrust_policy(), k, k + nnz);
  return {exclude->offsets(), k, exclude->cols()};
}

// One row's top k of n candidates into its output row.
template <class T, class Scores>
struct topk_rows {
  Scores score;
  index_t n;
  index_t k;
  sorted_exclusion excluded;
  T* values;
  index_t value_stride;
  index_t* ids;
  index_t id_stride;
  T neutral;  // -infinity, computed on the host

  RECFUSE_HOST_DEVICE void operator()(index_t r) const {
    const row_heap<T> heap{values + r * value_stride, ids + r * id_stride};
    heap.finish(::recfuse::detail::select_row<T>(score, r, n, k, excluded, heap), k, neutral);
  }
};

// Runs topk_rows over rows [0, m). A device exclusion pattern is validated first (check_csr has
// validated a host one); `fn` names the public function in its errors.
template <class System, class T, class Scores, class Index, class Space>
void topk_over_rows(const char* fn, const policy<System>& p, index_t m, index_t n, index_t k,
                    Scores score, const csr_pattern_view<Index, Space>* exclude,
                    matrix_view<T, Space> out_values, matrix_view<index_t, Space> out_indices) {
  if constexpr (!std::is_same_v<Space, host_memory>) {
    if (exclude != nullptr) check_exclusion(fn, p, *exclude);
  }
  if (m == 0 || k == 0) return;
  buffer<System, index_t> keys;
  const sorted_exclusion excluded = sort_exclusion(p, exclude, keys);
  ::thrust::for_each(
      p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
      ::thrust::counting_iterator<index_t>(m),
      topk_rows<T, Scores>{score, n, k, excluded, out_values.data(), out_values.stride(),
                           out_indices.data(), out_indices.stride(),
                           -std::numeric_limits<T>::infinity()});
}

}  // namespace recfuse::thrust_backend::detail
