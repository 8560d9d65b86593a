// recfuse Thrust backend: the per-row machinery of the top-k kernels (recfuse/thrust/select/).
//
// - A bounded heap kept in one output row (its k value slots and k id slots): the worst
//   kept entry is at the root, so a candidate is compared with one number; at the end the heap
//   is sorted best first in place and the rest of the row is padded.
// - topk_over_rows validates a device exclusion pattern on the device (check_exclusion.hpp).
// - sorted_exclusion: every exclusion id of row r encoded as the key r * cols + id in one scratch
//   array, sorted once with thrust::sort, so each row's ids are a sorted run at the row's own
//   CSR offsets and membership is a binary search.
// - topk_rows: the functor thrust::for_each runs once per row. It scans the row's candidates in
//   increasing index order (scores read from a matrix, or inner products computed on the fly),
//   so "strictly greater than the root" is exactly topk_order's tie rule: a later equal value
//   loses. Exclusion is tested only for candidates that would enter the heap.
// Everything here runs on the host and on the GPU: raw pointers, no allocation, no exceptions.
#pragma once

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/sort.h>

#include <limits>
#include <type_traits>

#include "recfuse/core/views.hpp"
#include "recfuse/thrust/detail/buffer.hpp"
#include "recfuse/thrust/policy.hpp"
#include "recfuse/thrust/select/detail/check_exclusion.hpp"

namespace recfuse::thrust_backend::detail {

// (a, ia) ranks after (b, ib) in topk_order: smaller value, or equal value and larger index.
template <class T>
RECFUSE_HOST_DEVICE bool topk_worse(T a, index_t ia, T b, index_t ib) {
  return a < b || (a == b && ia > ib);
}

// One output row (k contiguous slots of values and of ids) used as a heap of `size` entries.
template <class T>
struct row_heap {
  T* v;
  index_t* id;

  RECFUSE_HOST_DEVICE void sift_down(index_t size, index_t at) const {
    const T value = v[at];
    const index_t index = id[at];
    for (;;) {
      index_t child = 2 * at + 1;
      if (child >= size) break;
      if (child + 1 < size && topk_worse(v[(child + 1)], id[(child + 1)], v[child], id[child])) {
        ++child;
      }
      if (!topk_worse(v[child], id[child], value, index)) break;
      v[at] = v[child];
      id[at] = id[child];
      at = child;
    }
    v[at] = value;
    id[at] = index;
  }

  // Adds an entry to a heap of `size` entries (capacity > size); size grows by one.
  RECFUSE_HOST_DEVICE void push(index_t& size, T value, index_t index) const {
    index_t at = size++;
    while (at > 0) {
      const index_t parent = (at - 1) / 2;
      if (!topk_worse(value, index, v[parent], id[parent])) break;
      v[at] = v[parent];
      id[at] = id[parent];
      at = parent;
    }
    v[at] = value;
    id[at] = index;
  }

  // Replaces the root (the worst entry) of a full heap by a better candidate.
  RECFUSE_HOST_DEVICE void replace_top(index_t size, T value, index_t index) const {
    v[0] = value;
    id[0] = index;
    sift_down(size, 0);
  }

  // Sorts the heap best first and pads slots [size, k) with (neutral, -1).
  RECFUSE_HOST_DEVICE void finish(index_t size, index_t k, T neutral) const {
    for (index_t s = size; s > 1; --s) {
      const T top_v = v[0];
      const index_t top_i = id[0];
      v[0] = v[(s - 1)];
      id[0] = id[(s - 1)];
      sift_down(s - 1, 0);
      v[(s - 1)] = top_v;  // the worst of the s remaining goes last among them
      id[(s - 1)] = top_i;
    }
    for (index_t j = size; j < k; ++j) {
      v[j] = neutral;
      id[j] = -1;
    }
  }
};

// Row r's excluded ids as keys r * cols + id, sorted; row r's run is keys[offsets[r] - offsets[0],
// offsets[r + 1] - offsets[0]). offsets == nullptr: nothing is excluded.
struct sorted_exclusion {
  const index_t* offsets = nullptr;
  const index_t* keys = nullptr;
  index_t cols = 0;

  RECFUSE_HOST_DEVICE bool contains(index_t r, index_t j) const {
    if (offsets == nullptr) return false;
    index_t lo = offsets[r] - offsets[0];
    index_t hi = offsets[r + 1] - offsets[0];
    const index_t key = r * cols + j;
    while (lo < hi) {  // first key >= key
      const index_t mid = lo + (hi - lo) / 2;
      if (keys[mid] < key) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo < offsets[r + 1] - offsets[0] && keys[lo] == key;
  }
};

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

// Scores read from a row-major matrix.
template <class T>
struct matrix_scores {
  const T* s;
  index_t stride;
  RECFUSE_HOST_DEVICE T operator()(index_t r, index_t j) const { return s[r * stride + j]; }
};

// Scores computed as inner products queries(r, :) . items(j, :), summed in T in increasing c,
// as the reference does.
template <class T>
struct inner_product_scores {
  const T* q;
  index_t q_stride;
  const T* x;
  index_t x_stride;
  index_t d;
  RECFUSE_HOST_DEVICE T operator()(index_t r, index_t j) const {
    const T* a = q + r * q_stride;
    const T* b = x + j * x_stride;
    T s = T(0);
    for (index_t c = 0; c < d; ++c) s += a[c] * b[c];
    return s;
  }
};

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
    index_t size = 0;
    for (index_t j = 0; j < n; ++j) {
      const T v = score(r, j);
      if (size < k) {
        if (v == v && !excluded.contains(r, j)) heap.push(size, v, j);
      } else if (v > heap.v[0] && !excluded.contains(r, j)) {
        heap.replace_top(size, v, j);
      }
    }
    heap.finish(size, k, neutral);
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
