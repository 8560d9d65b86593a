// recfuse: one user's ranking metrics and AUC without per-item state, for the parallel backends'
// kernels (the Thrust and Kokkos kernels run these, one user per work item). The reference itself
// marks items in an array of per-item states (recfuse/reference/metrics/ranking.hpp); this is the
// same contract on a user's own sorted ids, so a kernel can run one user per thread with no scratch
// but a copy of the CSR column ids:
//
// - evaluate_sorted_user sorts the user's relevant ids in place (heap sort) and looks every
//   recommendation up there (binary search, O(|R| log |R| + k log |R|)); hit[] marks a sorted
//   entry (the first of its equal run) once hit, so a repeated recommendation hits once. The
//   sums over positions run in the reference's order: a user's values are the reference's, bit
//   for bit.
// - auc_sorted_user sorts the user's relevant and excluded ids, gathers the positives' scores
//   into caller scratch (as many slots as relevant entries) and sorts them, then walks the items
//   once: each negative adds 2 per positive above it and 1 per positive equal to it (counts kept
//   doubled, exact integers, so the user's AUC is the reference's bit for bit).
// Ids are only compared, never used as addresses: an id out of range is a miss, not a bad read.
// Everything here runs on the host and on a GPU: raw pointers, no allocation, no exceptions.
#pragma once

#include <math.h>

#include "recfuse/core/config.hpp"

namespace recfuse::detail {

// Heap sort of a[0, n) in ascending order, in place: no allocation, no recursion. Elements must
// be ordered (no NaN).
template <class T>
RECFUSE_HOST_DEVICE void heap_sift_down(T* a, index_t root, index_t n) {
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
  for (index_t i = n / 2; i-- > 0;) heap_sift_down(a, i, n);
  for (index_t end = n - 1; end > 0; --end) {
    const T t = a[0];
    a[0] = a[end];
    a[end] = t;
    heap_sift_down(a, 0, end);
  }
}

// #{i : a[i] < x} (inclusive: a[i] <= x) in the ascending a[0, n), elements compared as K.
template <bool inclusive, class A, class K>
RECFUSE_HOST_DEVICE index_t sorted_rank(const A* a, index_t n, K x) {
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

// One user's metric values; evaluated is false (and the values zero) for a user with no
// relevant item.
struct user_ranking {
  double precision = 0, recall = 0, ndcg = 0, map = 0, hit_rate = 0;
  bool evaluated = false;
};

// User u's metrics at k from its k recommendations `recs` (-1: padding) and its relevant ids
// row[0, len) (sorted here, in place); hit[0, len) must be zero on entry.
template <class Id, class Index>
RECFUSE_HOST_DEVICE user_ranking evaluate_sorted_user(const Id* recs, index_t k, Index* row,
                                                      unsigned char* hit, index_t len) {
  user_ranking r;
  heap_sort(row, len);
  const index_t relevant_count = distinct_count(row, len);
  if (relevant_count == 0) return r;
  double hits = 0, dcg = 0, precision_sum = 0;
  for (index_t i = 0; i < k; ++i) {
    const auto id = static_cast<index_t>(recs[i]);
    if (id < 0) continue;  // -1: padding
    const index_t at = sorted_rank<false>(row, len, id);
    if (at == len || static_cast<index_t>(row[at]) != id || hit[at] != 0) continue;
    hit[at] = 1;
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
  r.evaluated = true;
  return r;
}

// One user's AUC; evaluated is false for a user without a positive or without a negative, and
// nan is true (auc meaningless) when a candidate's score is NaN.
struct user_auc {
  double auc = 0;
  bool evaluated = false;
  bool nan = false;
};

// User u's AUC over the `items` scores of its row: its relevant ids rel[0, rel_len) and excluded
// ids ex[0, ex_len) are sorted here, in place; pos: scratch for rel_len scores.
template <class T, class Index, class Index2>
RECFUSE_HOST_DEVICE user_auc auc_sorted_user(const T* row, index_t items, Index* rel,
                                             index_t rel_len, Index2* ex, index_t ex_len, T* pos) {
  user_auc r;
  heap_sort(rel, rel_len);
  heap_sort(ex, ex_len);
  const index_t excluded = distinct_count(ex, ex_len);
  index_t positives = 0;
  bool has_nan = false;
  for (index_t e = 0; e < rel_len; ++e) {
    if (e > 0 && rel[e] == rel[e - 1]) continue;
    const auto j = static_cast<index_t>(rel[e]);
    const index_t at = sorted_rank<false>(ex, ex_len, j);
    if (at < ex_len && static_cast<index_t>(ex[at]) == j) continue;
    const T s = row[j];
    has_nan = has_nan || s != s;
    pos[positives++] = s;
  }
  const index_t negatives = items - excluded - positives;
  if (positives == 0 || negatives == 0) return r;
  r.evaluated = true;
  if (has_nan) {
    r.nan = true;
    return r;
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
      r.nan = true;
      return r;
    }
    const index_t below = sorted_rank<false>(pos, positives, s);
    const index_t at_most = sorted_rank<true>(pos, positives, s);
    doubled_wins += 2 * (positives - at_most) + (at_most - below);
  }
  r.auc = static_cast<double>(doubled_wins) /
          (2.0 * static_cast<double>(positives) * static_cast<double>(negatives));
  return r;
}

}  // namespace recfuse::detail
