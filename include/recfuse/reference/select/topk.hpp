// recfuse: serial reference kernels for top-k selection (the oracle the backends are tested
// against), and the ordering every backend's top-k follows.
//
// The reference is deliberately plain: per row it collects the selectable candidates (not NaN,
// not excluded), partially sorts them with topk_order and pads. The fused reference computes
// each inner product as a plain loop in T, in index order, then selects the same way.
#pragma once

#include <algorithm>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"

namespace recfuse {

// The order of top-k results, as a small policy struct in the manner of FAISS's
// ordered_key_value: a larger value is better; equal values go to the smaller index; NaN is
// never selectable; padding is (neutral_value(), neutral_index).
template <class T>
struct topk_order {
  static_assert(std::is_floating_point_v<T>, "recfuse::topk_order: T must be float or double");

  // Does (a, ia) rank before (b, ib)? A strict weak order on selectable values.
  static constexpr bool better(T a, index_t ia, T b, index_t ib) {
    return a > b || (a == b && ia < ib);
  }
  static constexpr bool selectable(T v) { return v == v; }  // false for NaN only
  static constexpr T neutral_value() { return -std::numeric_limits<T>::infinity(); }
  static constexpr index_t neutral_index = -1;
};

}  // namespace recfuse

namespace recfuse::reference_backend {
namespace detail {

// Selects the k best of `candidates` (value, index) into one output row, best first, padded.
template <class T>
void write_best(std::vector<std::pair<T, index_t>>& candidates, index_t k, T* out_values,
                index_t* out_indices) {
  using order = topk_order<T>;
  const auto keep =
      static_cast<std::ptrdiff_t>(std::min<index_t>(k, static_cast<index_t>(candidates.size())));
  std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(),
                    [](const auto& a, const auto& b) {
                      return order::better(a.first, a.second, b.first, b.second);
                    });
  for (index_t j = 0; j < k; ++j) {
    const bool filled = j < keep;
    out_values[j] = filled ? candidates[static_cast<std::size_t>(j)].first : order::neutral_value();
    out_indices[j] = filled ? candidates[static_cast<std::size_t>(j)].second : order::neutral_index;
  }
}

// Marks row r's excluded items in `flags` (size n, all false on entry); returns nothing to undo
// because the caller re-creates the flags per row.
template <class Index>
void mark_excluded(const csr_pattern_view<Index>* exclude, index_t r, std::vector<char>& flags) {
  if (exclude == nullptr) return;
  for (const Index* it = exclude->row_begin(r); it != exclude->row_end(r); ++it) {
    flags[static_cast<std::size_t>(*it)] = 1;
  }
}

}  // namespace detail

// Top-k of each row of `scores` into out_values / out_indices (rows x k each). `exclude`, when
// not null, has been validated: one row per score row, ids in [0, scores.cols()).
template <class T, class Index>
void topk_kernel(const policy&, matrix_view<const T> scores, index_t k,
                 const csr_pattern_view<Index>* exclude, matrix_view<T> out_values,
                 matrix_view<index_t> out_indices) {
  const index_t n = scores.cols();
  if (k == 0) return;
  std::vector<std::pair<T, index_t>> candidates;
  std::vector<char> excluded;
  for (index_t r = 0; r < scores.rows(); ++r) {
    excluded.assign(static_cast<std::size_t>(n), 0);
    detail::mark_excluded(exclude, r, excluded);
    candidates.clear();
    const T* row = scores.row(r);
    for (index_t j = 0; j < n; ++j) {
      if (topk_order<T>::selectable(row[j]) && !excluded[static_cast<std::size_t>(j)]) {
        candidates.emplace_back(row[j], j);
      }
    }
    detail::write_best(candidates, k, out_values.row(r), out_indices.row(r));
  }
}

// Top-k of queries . items^T, one row per query. Each score is sum_d q[d] * x[d] accumulated
// in T in increasing d.
template <class T, class Index>
void topk_inner_product_kernel(const policy&, matrix_view<const T> queries,
                               matrix_view<const T> items, index_t k,
                               const csr_pattern_view<Index>* exclude, matrix_view<T> out_values,
                               matrix_view<index_t> out_indices) {
  const index_t n = items.rows();
  const index_t d = queries.cols();
  if (k == 0) return;
  std::vector<std::pair<T, index_t>> candidates;
  std::vector<char> excluded;
  for (index_t r = 0; r < queries.rows(); ++r) {
    excluded.assign(static_cast<std::size_t>(n), 0);
    detail::mark_excluded(exclude, r, excluded);
    candidates.clear();
    const T* q = queries.row(r);
    for (index_t j = 0; j < n; ++j) {
      const T* x = items.row(j);
      T s = T(0);
      for (index_t c = 0; c < d; ++c) s += q[c] * x[c];
      if (topk_order<T>::selectable(s) && !excluded[static_cast<std::size_t>(j)]) {
        candidates.emplace_back(s, j);
      }
    }
    detail::write_best(candidates, k, out_values.row(r), out_indices.row(r));
  }
}

}  // namespace recfuse::reference_backend
