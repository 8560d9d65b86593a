// recfuse Thrust backend: ranking-metric and AUC kernels (recfuse/metrics/ranking.hpp), in
// parallel over users: one thrust::for_each over the rows whose functor computes one user's
// metrics sequentially and stores them, then one thrust::reduce adds the per-user values in
// double (as the reference, only the order of that sum over users differs: about 1e-15
// relative). Works on every Thrust system; the views' memory space must be the policy's.
//
// A user's work needs no per-item scratch: each kernel copies the CSR column ids once, and the
// functor sorts its own row in place (heap sort), so membership is a binary search (evaluate:
// O(|R| log |R| + k log |R|) per user) or a merge walk over the items (auc: O(n + |R| log |R| +
// |E| log |E|) plus one binary search per negative in the user's sorted positive scores). Ids are
// only compared, never used as addresses, so an id out of range is a miss, not a bad read.
// auc_kernel gives a user whose candidate scores hold NaN the value NaN (the public function
// checks host data before the call; for device data it reports the NaN from the total).
#pragma once

#include <thrust/copy.h>
#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/reduce.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>

#include "recfuse/metrics/ranking.hpp"
#include "recfuse/thrust/detail/buffer.hpp"
#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend {
namespace detail {

// One user's metric values (zero and users = 0 for a user not evaluated).
struct ranking_part {
  double precision, recall, ndcg, map, hit_rate;
  index_t users;
};

struct auc_part {
  double sum;
  index_t users;
};

struct add_ranking_parts {
  RECFUSE_HOST_DEVICE ranking_part operator()(const ranking_part& a, const ranking_part& b) const {
    return {a.precision + b.precision, a.recall + b.recall, a.ndcg + b.ndcg, a.map + b.map,
            a.hit_rate + b.hit_rate,   a.users + b.users};
  }
};

struct add_auc_parts {
  RECFUSE_HOST_DEVICE auc_part operator()(const auc_part& a, const auc_part& b) const {
    return {a.sum + b.sum, a.users + b.users};
  }
};

// Heap sort of a[0, n) in ascending order, in place: no allocation, no recursion, so a functor
// can sort its own row on any system. Elements must be ordered (no NaN).
template <class T>
RECFUSE_HOST_DEVICE void sift_down(T* a, index_t root, index_t n) {
  while (true) {
    index_t child = 2 * root + 1;
    if (child >= n) return;
    if (child + 1 < n && a[child] < a[child + 1]) ++child;
    if (!(a[root] < a[child])) return;
    const T t = a[root];
    a[root] = a[child];
    a[child] = t;
    root = child;
  }
}

template <class T>
RECFUSE_HOST_DEVICE void heap_sort(T* a, index_t n) {
  for (index_t i = n / 2; i-- > 0;) sift_down(a, i, n);
  for (index_t end = n - 1; end > 0; --end) {
    const T t = a[0];
    a[0] = a[end];
    a[end] = t;
    sift_down(a, 0, end);
  }
}

// #{i : a[i] < x} (inclusive: a[i] <= x) in the ascending a[0, n), elements compared as K.
template <bool inclusive, class A, class K>
RECFUSE_HOST_DEVICE index_t rank_of(const A* a, index_t n, K x) {
  index_t lo = 0, hi = n;
  while (lo < hi) {
    const index_t mid = lo + (hi - lo) / 2;
    const K v = static_cast<K>(a[mid]);
    if (inclusive ? !(x < v) : v < x) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// The number of distinct values in the ascending a[0, n).
template <class A>
RECFUSE_HOST_DEVICE index_t distinct_count(const A* a, index_t n) {
  index_t count = 0;
  for (index_t i = 0; i < n; ++i) count += (i == 0 || a[i] != a[i - 1]) ? 1 : 0;
  return count;
}

// offsets[rows] (the CSR's entry count), read from the policy's memory.
template <class System>
index_t read_entry_count(const policy<System>& p, const index_t* offsets, index_t rows) {
  if constexpr (std::is_same_v<memory_space_of<System>, host_memory>) {
    return offsets[rows];
  } else {
    buffer<System, index_t> one(1);
    ::thrust::copy_n(p.thrust_policy(), offsets + rows, 1, one.begin());
    return one[0];
  }
}

// A copy of a CSR pattern's column ids, for the functors to sort row by row.
template <class System, class Index>
buffer<System, Index> copy_indices(const policy<System>& p, const Index* indices, index_t nnz) {
  buffer<System, Index> out(static_cast<std::size_t>(nnz));
  if (nnz > 0) ::thrust::copy_n(p.thrust_policy(), indices, nnz, out.begin());
  return out;
}

// User u's metrics: sorts u's relevant ids (its segment of `sorted`) and looks every
// recommendation up there; hit[e] marks the sorted entry e (the first of its equal run) once hit.
template <class Id, class Index>
struct evaluate_user {
  const Id* recommendations;
  index_t stride;
  index_t k;
  const index_t* offsets;
  Index* sorted;
  unsigned char* hit;
  ranking_part* out;

  RECFUSE_HOST_DEVICE void operator()(index_t u) const {
    const index_t begin = offsets[u];
    const index_t len = offsets[u + 1] - begin;
    Index* row = sorted + begin;
    unsigned char* row_hit = hit + begin;
    heap_sort(row, len);
    const index_t relevant_count = distinct_count(row, len);
    ranking_part r = {0.0, 0.0, 0.0, 0.0, 0.0, 0};
    if (relevant_count == 0) {
      out[u] = r;
      return;
    }
    const Id* recs = recommendations + u * stride;
    double hits = 0, dcg = 0, precision_sum = 0;
    for (index_t i = 0; i < k; ++i) {
      const auto id = static_cast<index_t>(recs[i]);
      if (id < 0) continue;  // -1: padding
      const index_t at = rank_of<false>(row, len, id);
      if (at == len || static_cast<index_t>(row[at]) != id || row_hit[at] != 0) continue;
      row_hit[at] = 1;
      hits += 1;
      dcg += 1.0 / ::log2(static_cast<double>(i) + 2.0);
      precision_sum += hits / static_cast<double>(i + 1);
    }
    const index_t ideal = relevant_count < k ? relevant_count : k;
    double idcg = 0;
    for (index_t i = 0; i < ideal; ++i) idcg += 1.0 / ::log2(static_cast<double>(i) + 2.0);
    r.precision = hits / static_cast<double>(k);
    r.recall = hits / static_cast<double>(relevant_count);
    r.ndcg = dcg / idcg;
    r.map = precision_sum / static_cast<double>(ideal);
    r.hit_rate = hits > 0 ? 1.0 : 0.0;
    r.users = 1;
    out[u] = r;
  }
};

// User u's AUC: sorts u's relevant and excluded ids, gathers the positives' scores into
// positive_scores (u's segment of the relevant pattern's length) and sorts them, then walks the
// items once: each negative q adds 2 per positive above it and 1 per positive equal to it.
template <class T, class Index, class Index2>
struct auc_user {
  const T* scores;
  index_t stride;
  index_t items;
  const index_t* relevant_offsets;
  Index* relevant_sorted;
  const index_t* exclude_offsets;
  Index2* exclude_sorted;
  T* positive_scores;
  double nan;  // quiet NaN, made on the host
  auc_part* out;

  RECFUSE_HOST_DEVICE void operator()(index_t u) const {
    const T* row = scores + u * stride;
    const index_t rel_begin = relevant_offsets[u];
    const index_t rel_len = relevant_offsets[u + 1] - rel_begin;
    Index* rel = relevant_sorted + rel_begin;
    const index_t ex_len = exclude_offsets[u + 1] - exclude_offsets[u];
    Index2* ex = exclude_sorted + exclude_offsets[u];
    heap_sort(rel, rel_len);
    heap_sort(ex, ex_len);
    const index_t excluded = distinct_count(ex, ex_len);
    T* pos = positive_scores + rel_begin;
    index_t positives = 0;
    bool has_nan = false;
    for (index_t e = 0; e < rel_len; ++e) {
      if (e > 0 && rel[e] == rel[e - 1]) continue;
      const auto j = static_cast<index_t>(rel[e]);
      const index_t at = rank_of<false>(ex, ex_len, j);
      if (at < ex_len && static_cast<index_t>(ex[at]) == j) continue;
      const T s = row[j];
      has_nan = has_nan || s != s;
      pos[positives++] = s;
    }
    const index_t negatives = items - excluded - positives;
    if (positives == 0 || negatives == 0) {
      out[u] = {0.0, 0};
      return;
    }
    if (has_nan) {
      out[u] = {nan, 1};
      return;
    }
    heap_sort(pos, positives);
    index_t doubled_wins = 0;
    index_t ie = 0, ir = 0;  // merge walks through the sorted excluded and relevant ids
    for (index_t j = 0; j < items; ++j) {
      while (ie < ex_len && static_cast<index_t>(ex[ie]) < j) ++ie;
      if (ie < ex_len && static_cast<index_t>(ex[ie]) == j) continue;
      while (ir < rel_len && static_cast<index_t>(rel[ir]) < j) ++ir;
      if (ir < rel_len && static_cast<index_t>(rel[ir]) == j) continue;
      const T s = row[j];
      if (s != s) {
        has_nan = true;
        break;
      }
      const index_t below = rank_of<false>(pos, positives, s);
      const index_t at_most = rank_of<true>(pos, positives, s);
      doubled_wins += 2 * (positives - at_most) + (at_most - below);
    }
    if (has_nan) {
      out[u] = {nan, 1};
      return;
    }
    out[u] = {static_cast<double>(doubled_wins) /
                  (2.0 * static_cast<double>(positives) * static_cast<double>(negatives)),
              1};
  }
};

}  // namespace detail

template <class System, class Id, class Index>
::recfuse::detail::ranking_totals evaluate_ranking_kernel(
    const policy<System>& p,
    matrix_view<const Id, typename policy<System>::memory_space> recommendations,
    csr_pattern_view<Index, typename policy<System>::memory_space> relevant, index_t k) {
  ::recfuse::detail::ranking_totals totals;
  const index_t users = recommendations.rows();
  if (users == 0) return totals;
  const index_t nnz = detail::read_entry_count(p, relevant.offsets(), users);
  auto sorted = detail::copy_indices(p, relevant.indices(), nnz);
  detail::buffer<System, unsigned char> hit(static_cast<std::size_t>(nnz), 0);
  detail::buffer<System, detail::ranking_part> parts(static_cast<std::size_t>(users));
  ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(users),
                     detail::evaluate_user<Id, Index>{
                         recommendations.data(), recommendations.stride(), k, relevant.offsets(),
                         detail::raw(sorted), detail::raw(hit), detail::raw(parts)});
  const detail::ranking_part sum = ::thrust::reduce(
      p.thrust_policy(), parts.begin(), parts.end(),
      detail::ranking_part{0.0, 0.0, 0.0, 0.0, 0.0, 0}, detail::add_ranking_parts{});
  totals.precision = sum.precision;
  totals.recall = sum.recall;
  totals.ndcg = sum.ndcg;
  totals.map = sum.map;
  totals.hit_rate = sum.hit_rate;
  totals.users = sum.users;
  return totals;
}

template <class System, class T, class Index, class Index2>
::recfuse::detail::auc_totals auc_kernel(
    const policy<System>& p, matrix_view<const T, typename policy<System>::memory_space> scores,
    csr_pattern_view<Index, typename policy<System>::memory_space> relevant,
    csr_pattern_view<Index2, typename policy<System>::memory_space> exclude) {
  ::recfuse::detail::auc_totals totals;
  const index_t users = scores.rows();
  if (users == 0) return totals;
  const index_t relevant_nnz = detail::read_entry_count(p, relevant.offsets(), users);
  const index_t exclude_nnz = detail::read_entry_count(p, exclude.offsets(), users);
  auto relevant_sorted = detail::copy_indices(p, relevant.indices(), relevant_nnz);
  auto exclude_sorted = detail::copy_indices(p, exclude.indices(), exclude_nnz);
  detail::buffer<System, T> positive_scores(static_cast<std::size_t>(relevant_nnz));
  detail::buffer<System, detail::auc_part> parts(static_cast<std::size_t>(users));
  ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(users),
                     detail::auc_user<T, Index, Index2>{
                         scores.data(), scores.stride(), scores.cols(), relevant.offsets(),
                         detail::raw(relevant_sorted), exclude.offsets(),
                         detail::raw(exclude_sorted), detail::raw(positive_scores),
                         std::numeric_limits<double>::quiet_NaN(), detail::raw(parts)});
  const detail::auc_part sum = ::thrust::reduce(p.thrust_policy(), parts.begin(), parts.end(),
                                                detail::auc_part{0.0, 0}, detail::add_auc_parts{});
  totals.sum = sum.sum;
  totals.users = sum.users;
  return totals;
}

}  // namespace recfuse::thrust_backend
