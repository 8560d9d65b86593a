// recfuse: one row of a top-k selection as a bounded heap, for the parallel backends' kernels
// (the Thrust and Kokkos top-k kernels run it, per row). The reference itself selects with
// std::partial_sort (recfuse/reference/select/topk.hpp); this is the heap formulation of the same
// contract, topk_order<T>:
//
// - row_heap: k value slots and k id slots (an output row, or a thread's scratch) used as a heap
//   whose root is the worst kept entry, so a candidate is compared with one number; at the end
//   the heap is sorted best first in place and the rest of the row is padded.
// - select_row scans a row's candidates in increasing index order, so "strictly greater than the
//   root" is exactly topk_order's tie rule (a later equal value loses); NaN never enters; the
//   exclusion is tested only for candidates that would enter the heap.
// - sorted_exclusion: every exclusion id of row r encoded as the key r * cols + id in one array,
//   sorted (by the backend), so each row's ids are a sorted run at the row's own CSR offsets and
//   membership is a binary search.
// - matrix_scores / inner_product_scores: where a candidate's score comes from (the inner product
//   is summed in T in increasing c, as the reference does).
// Everything here runs on the host and on a GPU: raw pointers, no allocation, no exceptions.
#pragma once

#include "recfuse/core/config.hpp"

namespace recfuse::detail {

// (a, ia) ranks after (b, ib) in topk_order: smaller value, or equal value and larger index.
template <class T>
RECFUSE_HOST_DEVICE bool topk_worse(T a, index_t ia, T b, index_t ib) {
  return a < b || (a == b && ia > ib);
}

// k contiguous value slots and k contiguous id slots used as a heap of `size` entries.
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
      if (child + 1 < size && topk_worse(v[child + 1], id[child + 1], v[child], id[child])) {
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

  // Sorts the heap's `size` entries best first, in place.
  RECFUSE_HOST_DEVICE void sort(index_t size) const {
    for (index_t s = size; s > 1; --s) {
      const T top_v = v[0];
      const index_t top_i = id[0];
      v[0] = v[s - 1];
      id[0] = id[s - 1];
      sift_down(s - 1, 0);
      v[s - 1] = top_v;  // the worst of the s remaining goes last among them
      id[s - 1] = top_i;
    }
  }

  // Sorts the heap best first and pads slots [size, k) with (neutral, -1).
  RECFUSE_HOST_DEVICE void finish(index_t size, index_t k, T neutral) const {
    sort(size);
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
    const index_t end = hi;
    const index_t key = r * cols + j;
    while (lo < hi) {  // first key >= key
      const index_t mid = lo + (hi - lo) / 2;
      if (keys[mid] < key) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo < end && keys[lo] == key;
  }
};

// Scores read from a row-major matrix.
template <class T>
struct matrix_scores {
  const T* s;
  index_t stride;
  RECFUSE_HOST_DEVICE T operator()(index_t r, index_t j) const { return s[r * stride + j]; }
};

// Scores computed as inner products queries(r, :) . items(j, :), summed in T in increasing c,
// as the reference does (the compiler may contract it to FMA).
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

// Row r's best min(k, selectable) of candidates [0, n) into `heap` (capacity k >= 1), unsorted;
// returns how many were kept. Follow with heap.sort / heap.finish.
template <class T, class Scores>
RECFUSE_HOST_DEVICE index_t select_row(const Scores& score, index_t r, index_t n, index_t k,
                                       const sorted_exclusion& excluded, const row_heap<T>& heap) {
  index_t size = 0;
  for (index_t j = 0; j < n; ++j) {
    const T v = score(r, j);
    if (size < k) {
      if (v == v && !excluded.contains(r, j)) heap.push(size, v, j);
    } else if (v > heap.v[0] && !excluded.contains(r, j)) {
      heap.replace_top(size, v, j);
    }
  }
  return size;
}

}  // namespace recfuse::detail
