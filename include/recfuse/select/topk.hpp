// recfuse: batched top-k selection, over a score matrix or fused with the inner products that
// produce the scores.
//
//   auto r = recfuse::topk(recfuse::exec::xsimd{}, scores, 10);              // m x n scores
//   auto r = recfuse::topk(policy, scores, 10, seen);                        // skip seen items
//   auto r = recfuse::topk_inner_product(policy, users, items, 10, seen);    // never forms m x n
//   r.index(u, 0), r.value(u, 0)                                             // user u's best item
//
// Contract (every backend):
// - Row r of the result holds the k best (value, column) pairs of score row r, best first: a
//   larger value is better, equal values go to the smaller column index (topk_order<T>).
// - NaN scores are never selected; -inf and +inf are ordinary values and can be selected.
// - exclude (optional) is a CSR pattern with one row per score row and cols == the number of
//   items (scores.cols(), or items.rows() for the fused path); the ids of row r are never
//   selected for row r. Ids need not be sorted and may repeat.
// - When a row has fewer than k selectable items, they fill the first slots and the rest is
//   padding: value -infinity, index -1. k == 0, rows with no columns and m == 0 work.
// - Fused path: score(u, j) = sum_c queries(u, c) * items(j, c), accumulated in T. Backends
//   accumulate in a different order (and with FMA), so values may differ from the reference in
//   the last bits and near-ties may resolve differently (on xsimd, a single query is summed in
//   another order than a batch of queries; the thread count never matters). NaN in a factor
//   makes the scores it touches NaN, which are then never selected.
// - Element type: float or double; queries and items must have the same one.
// - Outputs of the *_into forms must not overlap the inputs.
//
// Memory: topk and topk_inner_product return a topk_result that owns host vectors, so their
// inputs must be host views. The *_into forms also take device views (matrix_view<T,
// device_memory>, csr_pattern_view<Index, device_memory>) with a device policy such as
// exec::thrust<thrust::cuda::tag>, every view in the same memory space. The host checks what it
// can see without reading device memory (shapes, k, exclude's offsets pointer present); the
// Thrust kernels then validate exclude's offsets and ids on the device (Thrust reductions) before
// writing anything, and throw the errors listed below, naming the first bad row. Scores and
// factors are never scanned on the host, for host views neither (NaN is simply never selected).
//
// Errors (messages start with the function's name, e.g. "recfuse::topk: "): negative k
// (value_error); exclude.rows() != rows or exclude.cols() != number of items, output views not
// rows x k, queries.cols() != items.cols() (shape_error); exclude offsets not starting at 0 or
// decreasing, or an id outside [0, items) (index_error); a rows x k result too large to index
// (value_error).
//
// Complexity: topk reads each score once: O(m * n) compares, plus about k * ln(n / k) heap
// inserts of O(log k) per row on scores in random order. topk_inner_product does 2 * m * n * d
// flops and needs O(m * d) memory besides the result (items are read in place); see
// docs/select.md for the blocking.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "recfuse/core/adapt.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/reference/select/topk.hpp"

namespace recfuse {

// An owning top-k result: rows x k values and column indices, row-major, best first.
template <class T>
struct topk_result {
  index_t rows = 0, k = 0;
  std::vector<T> values;         // padding: topk_order<T>::neutral_value() (-infinity)
  std::vector<index_t> indices;  // padding: -1

  T value(index_t r, index_t j) const { return values[static_cast<std::size_t>(r * k + j)]; }
  index_t index(index_t r, index_t j) const { return indices[static_cast<std::size_t>(r * k + j)]; }
  matrix_view<const T> values_view() const { return {values.data(), rows, k}; }
  matrix_view<const index_t> indices_view() const { return {indices.data(), rows, k}; }
};

namespace detail {

template <class M>
using element_of = typename M::value_type;

template <class V>
void check_topk_scores(const char* fn, const char* name, const V& m) {
  static_assert(std::is_floating_point_v<element_of<V>>,
                "recfuse::topk: scores and factors must be float or double");
  check_matrix(fn, name, m);
}

inline void check_topk_k(const char* fn, index_t k, index_t rows) {
  if (k < 0) throw_error<value_error>(fn, "k is ", k, " (need k >= 0)");
  if (k > 0 && rows > std::numeric_limits<index_t>::max() / k) {
    throw_error<value_error>(fn, "a ", rows, " x ", k, " result is too large");
  }
}

// Host patterns are validated in full (check_csr); device patterns only as far as the host sees
// them without reading device memory: the device kernels validate the rest (see "Memory" above).
template <class Index, class Space>
void check_topk_exclude(const char* fn, const csr_pattern_view<Index, Space>& exclude, index_t rows,
                        index_t items) {
  check_same(fn, "exclude.rows()", exclude.rows(), "the number of score rows", rows);
  check_same(fn, "exclude.cols()", exclude.cols(), "the number of items", items);
  if constexpr (std::is_same_v<Space, host_memory>) {
    check_csr(fn, "exclude", exclude);
  } else if (exclude.rows() > 0 && exclude.offsets() == nullptr) {
    throw_error<value_error>(fn, "exclude has null offsets");
  }
}

template <class T, class Space>
void check_topk_outputs(const char* fn, const matrix_view<T, Space>& values,
                        const matrix_view<index_t, Space>& indices, index_t rows, index_t k) {
  check_matrix(fn, "out_values", values);
  check_matrix(fn, "out_indices", indices);
  if (values.rows() != rows || values.cols() != k) {
    throw_error<shape_error>(fn, "out_values is ", values.rows(), " x ", values.cols(),
                             " but the result is ", rows, " x ", k);
  }
  if (indices.rows() != rows || indices.cols() != k) {
    throw_error<shape_error>(fn, "out_indices is ", indices.rows(), " x ", indices.cols(),
                             " but the result is ", rows, " x ", k);
  }
}

template <class T>
topk_result<T> make_topk_result(index_t rows, index_t k) {
  topk_result<T> r;
  r.rows = rows;
  r.k = k;
  r.values.resize(static_cast<std::size_t>(rows * k));
  r.indices.resize(static_cast<std::size_t>(rows * k));
  return r;
}

template <class T>
matrix_view<T> values_of(topk_result<T>& r) {
  return {r.values.data(), r.rows, r.k};
}
template <class T>
matrix_view<index_t> indices_of(topk_result<T>& r) {
  return {r.indices.data(), r.rows, r.k};
}

// Validated inputs -> kernel. `exclude` is null when there is none.
template <class Policy, class T, class Index, class Space>
void topk_run(const Policy& policy, matrix_view<const T, Space> s, index_t k,
              const csr_pattern_view<Index, Space>* exclude, matrix_view<T, Space> ov,
              matrix_view<index_t, Space> oi) {
  if constexpr (requires { topk_kernel(policy, s, k, exclude, ov, oi); }) {
    RECFUSE_CHECK_NATIVE(topk_kernel, policy, s, k, exclude, ov, oi);
    topk_kernel(policy, s, k, exclude, ov, oi);
  } else {
    RECFUSE_NO_KERNEL("recfuse::topk", Policy);
  }
}

template <class Policy, class T, class Index, class Space>
void topk_inner_product_run(const Policy& policy, matrix_view<const T, Space> q,
                            matrix_view<const T, Space> x, index_t k,
                            const csr_pattern_view<Index, Space>* exclude, matrix_view<T, Space> ov,
                            matrix_view<index_t, Space> oi) {
  if constexpr (requires { topk_inner_product_kernel(policy, q, x, k, exclude, ov, oi); }) {
    RECFUSE_CHECK_NATIVE(topk_inner_product_kernel, policy, q, x, k, exclude, ov, oi);
    topk_inner_product_kernel(policy, q, x, k, exclude, ov, oi);
  } else {
    RECFUSE_NO_KERNEL("recfuse::topk_inner_product", Policy);
  }
}

template <class Policy, class Scores, class T, class Index, class Space>
void topk_into_as(const char* fn, const Policy& policy, const Scores& scores, index_t k,
                  matrix_view<T, Space> out_values, matrix_view<index_t, Space> out_indices,
                  const csr_pattern_view<Index, Space>* exclude) {
  const auto s = as_const(as_matrix(scores));
  static_assert(std::is_same_v<element_of<decltype(s)>, T>,
                "recfuse::topk_into: out_values must have the element type of scores");
  static_assert(std::is_same_v<typename decltype(s)::memory_space, Space>,
                "recfuse::topk_into: scores, outputs and exclude must live in the same memory "
                "space");
  check_topk_scores(fn, "scores", s);
  check_topk_k(fn, k, s.rows());
  if (exclude != nullptr) check_topk_exclude(fn, *exclude, s.rows(), s.cols());
  check_topk_outputs(fn, out_values, out_indices, s.rows(), k);
  topk_run(policy, s, k, exclude, out_values, out_indices);
}

template <class Policy, class Scores, class Index>
auto topk_as(const char* fn, const Policy& policy, const Scores& scores, index_t k,
             const csr_pattern_view<Index>* exclude) {
  const auto s = as_const(as_matrix(scores));
  using T = element_of<decltype(s)>;
  static_assert(std::is_same_v<typename decltype(s)::memory_space, host_memory>,
                "recfuse::topk: the owning result is host memory, so scores must be host views "
                "(topk_into takes device views)");
  check_topk_scores(fn, "scores", s);
  check_topk_k(fn, k, s.rows());
  if (exclude != nullptr) check_topk_exclude(fn, *exclude, s.rows(), s.cols());
  auto result = make_topk_result<T>(s.rows(), k);
  topk_run(policy, s, k, exclude, values_of(result), indices_of(result));
  return result;
}

template <class Q, class X>
void check_factors(const char* fn, const Q& q, const X& x) {
  static_assert(std::is_same_v<element_of<Q>, element_of<X>>,
                "recfuse::topk_inner_product: queries and items must have the same element type");
  check_topk_scores(fn, "queries", q);
  check_topk_scores(fn, "items", x);
  check_same(fn, "queries.cols()", q.cols(), "items.cols()", x.cols());
}

template <class Policy, class Queries, class Items, class T, class Index, class Space>
void topk_inner_product_into_as(const char* fn, const Policy& policy, const Queries& queries,
                                const Items& items, index_t k, matrix_view<T, Space> out_values,
                                matrix_view<index_t, Space> out_indices,
                                const csr_pattern_view<Index, Space>* exclude) {
  const auto q = as_const(as_matrix(queries));
  const auto x = as_const(as_matrix(items));
  static_assert(std::is_same_v<element_of<decltype(q)>, T>,
                "recfuse::topk_inner_product_into: out_values must have the factors' element type");
  static_assert(std::is_same_v<typename decltype(q)::memory_space, Space> &&
                    std::is_same_v<typename decltype(x)::memory_space, Space>,
                "recfuse::topk_inner_product_into: queries, items, outputs and exclude must live "
                "in the same memory space");
  check_factors(fn, q, x);
  check_topk_k(fn, k, q.rows());
  if (exclude != nullptr) check_topk_exclude(fn, *exclude, q.rows(), x.rows());
  check_topk_outputs(fn, out_values, out_indices, q.rows(), k);
  topk_inner_product_run(policy, q, x, k, exclude, out_values, out_indices);
}

template <class Policy, class Queries, class Items, class Index>
auto topk_inner_product_as(const char* fn, const Policy& policy, const Queries& queries,
                           const Items& items, index_t k, const csr_pattern_view<Index>* exclude) {
  const auto q = as_const(as_matrix(queries));
  const auto x = as_const(as_matrix(items));
  using T = element_of<decltype(q)>;
  static_assert(std::is_same_v<typename decltype(q)::memory_space, host_memory> &&
                    std::is_same_v<typename decltype(x)::memory_space, host_memory>,
                "recfuse::topk_inner_product: the owning result is host memory, so the factors "
                "must be host views (topk_inner_product_into takes device views)");
  check_factors(fn, q, x);
  check_topk_k(fn, k, q.rows());
  if (exclude != nullptr) check_topk_exclude(fn, *exclude, q.rows(), x.rows());
  auto result = make_topk_result<T>(q.rows(), k);
  topk_inner_product_run(policy, q, x, k, exclude, values_of(result), indices_of(result));
  return result;
}

template <class Space = host_memory>
using no_exclusion = csr_pattern_view<std::int32_t, Space>;

}  // namespace detail

// The k best (value, column) of each row of `scores`, best first. See the contract above.
template <class Policy, matrix_like Scores>
auto topk(const Policy& policy, const Scores& scores, index_t k) {
  return detail::topk_as("recfuse::topk", policy, scores, k,
                         static_cast<const detail::no_exclusion<>*>(nullptr));
}

// As topk, never selecting exclude's ids of row r for row r.
template <class Policy, matrix_like Scores, class Index>
auto topk(const Policy& policy, const Scores& scores, index_t k,
          const csr_pattern_view<Index>& exclude) {
  return detail::topk_as("recfuse::topk", policy, scores, k, &exclude);
}

// topk into caller-owned rows x k views (strides allowed).
// Device views with a device policy too (see "Memory" above).
template <class Policy, matrix_like Scores, class T, class Space>
void topk_into(const Policy& policy, const Scores& scores, index_t k,
               matrix_view<T, Space> out_values, matrix_view<index_t, Space> out_indices) {
  detail::topk_into_as("recfuse::topk_into", policy, scores, k, out_values, out_indices,
                       static_cast<const detail::no_exclusion<Space>*>(nullptr));
}

template <class Policy, matrix_like Scores, class T, class Index, class Space>
void topk_into(const Policy& policy, const Scores& scores, index_t k,
               matrix_view<T, Space> out_values, matrix_view<index_t, Space> out_indices,
               const csr_pattern_view<Index, Space>& exclude) {
  detail::topk_into_as("recfuse::topk_into", policy, scores, k, out_values, out_indices, &exclude);
}

// Top-k of queries (m x d) . items (n x d)^T per query, without forming the m x n scores.
template <class Policy, matrix_like Queries, matrix_like Items>
auto topk_inner_product(const Policy& policy, const Queries& queries, const Items& items,
                        index_t k) {
  return detail::topk_inner_product_as("recfuse::topk_inner_product", policy, queries, items, k,
                                       static_cast<const detail::no_exclusion<>*>(nullptr));
}

template <class Policy, matrix_like Queries, matrix_like Items, class Index>
auto topk_inner_product(const Policy& policy, const Queries& queries, const Items& items, index_t k,
                        const csr_pattern_view<Index>& exclude) {
  return detail::topk_inner_product_as("recfuse::topk_inner_product", policy, queries, items, k,
                                       &exclude);
}

// Device views with a device policy too (see "Memory" above).
template <class Policy, matrix_like Queries, matrix_like Items, class T, class Space>
void topk_inner_product_into(const Policy& policy, const Queries& queries, const Items& items,
                             index_t k, matrix_view<T, Space> out_values,
                             matrix_view<index_t, Space> out_indices) {
  detail::topk_inner_product_into_as("recfuse::topk_inner_product_into", policy, queries, items, k,
                                     out_values, out_indices,
                                     static_cast<const detail::no_exclusion<Space>*>(nullptr));
}

template <class Policy, matrix_like Queries, matrix_like Items, class T, class Index, class Space>
void topk_inner_product_into(const Policy& policy, const Queries& queries, const Items& items,
                             index_t k, matrix_view<T, Space> out_values,
                             matrix_view<index_t, Space> out_indices,
                             const csr_pattern_view<Index, Space>& exclude) {
  detail::topk_inner_product_into_as("recfuse::topk_inner_product_into", policy, queries, items, k,
                                     out_values, out_indices, &exclude);
}

}  // namespace recfuse
