// recfuse xsimd backend: the pieces every top-k kernel shares. A bounded heap kept in two
// caller-owned arrays (values, ids) with the worst kept entry at the root, so a candidate is
// tested against one number, and the per-row exclusion lists, sorted once so a candidate is
// checked by binary search and only candidates are ever checked.
#pragma once

#include <algorithm>
#include <vector>

#include "recfuse/reference/select/topk.hpp"
#include "recfuse/xsimd/detail/parallel.hpp"

namespace recfuse::xsimd_backend::detail {

// (a, ia) ranks after (b, ib): the heap keeps the worst entry at its root.
template <class T>
inline bool worse(T a, index_t ia, T b, index_t ib) {
  return topk_order<T>::better(b, ib, a, ia);
}

template <class T>
inline void heap_sift_down(T* v, index_t* id, index_t size, index_t at) {
  const T value = v[at];
  const index_t index = id[at];
  for (;;) {
    index_t child = 2 * at + 1;
    if (child >= size) break;
    if (child + 1 < size && worse(v[child + 1], id[child + 1], v[child], id[child])) ++child;
    if (!worse(v[child], id[child], value, index)) break;
    v[at] = v[child];
    id[at] = id[child];
    at = child;
  }
  v[at] = value;
  id[at] = index;
}

// Adds (value, index) to a heap of `size` entries (capacity > size); size grows by one.
template <class T>
inline void heap_push(T* v, index_t* id, index_t& size, T value, index_t index) {
  index_t at = size++;
  while (at > 0) {
    const index_t parent = (at - 1) / 2;
    if (!worse(value, index, v[parent], id[parent])) break;
    v[at] = v[parent];
    id[at] = id[parent];
    at = parent;
  }
  v[at] = value;
  id[at] = index;
}

// Replaces the root (the worst entry) of a full heap by a better candidate.
template <class T>
inline void heap_replace_top(T* v, index_t* id, index_t size, T value, index_t index) {
  v[0] = value;
  id[0] = index;
  heap_sift_down(v, id, size, 0);
}

// Turns a heap of `size` entries into a best-first row of k entries, padded.
template <class T>
inline void heap_finish(T* v, index_t* id, index_t size, index_t k) {
  for (index_t s = size; s > 1; --s) {
    const T top_v = v[0];
    const index_t top_i = id[0];
    v[0] = v[s - 1];
    id[0] = id[s - 1];
    heap_sift_down(v, id, s - 1, 0);
    v[s - 1] = top_v;  // the worst of the s remaining goes last among them
    id[s - 1] = top_i;
  }
  for (index_t j = size; j < k; ++j) {
    v[j] = topk_order<T>::neutral_value();
    id[j] = topk_order<T>::neutral_index;
  }
}

// One row's excluded ids, sorted.
struct id_list {
  const index_t* begin = nullptr;
  const index_t* end = nullptr;
  bool contains(index_t j) const { return begin != end && std::binary_search(begin, end, j); }
};

// Sorted copies of every row of an exclusion pattern (O(nnz log) once per call).
class exclusion_lists {
 public:
  exclusion_lists() = default;
  template <class Index>
  exclusion_lists(const policy& p, const csr_pattern_view<Index>* exclude) {
    if (exclude == nullptr || exclude->rows() == 0) return;
    offsets_ = exclude->offsets();
    ids_.resize(static_cast<std::size_t>(exclude->nnz()));
    const index_t rows = exclude->rows();
    for_each_index(p, rows, 256, [&](index_t r) {
      index_t* out = ids_.data() + offsets_[r];
      index_t* o = out;
      for (const Index* it = exclude->row_begin(r); it != exclude->row_end(r); ++it) {
        *o++ = static_cast<index_t>(*it);
      }
      std::sort(out, o);
    });
  }
  id_list row(index_t r) const {
    if (offsets_ == nullptr) return {};
    return {ids_.data() + offsets_[r], ids_.data() + offsets_[r + 1]};
  }

 private:
  const index_t* offsets_ = nullptr;
  std::vector<index_t> ids_;
};

}  // namespace recfuse::xsimd_backend::detail
