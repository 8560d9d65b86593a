// recfuse Thrust backend: ranking-metric and AUC kernels (recfuse/metrics/ranking.hpp), in
// parallel over users: one thrust::for_each over the rows whose functor computes one user's
// metrics sequentially and stores them, then one thrust::reduce adds the per-user values in
// double (as the reference, only the order of that sum over users differs: about 1e-15
// relative). Works on every Thrust system; the views' memory space is the policy's.
//
// A user's work is the per-user code the parallel backends share
// (recfuse/reference/metrics/detail/ranking_user.hpp: evaluate_sorted_user, auc_sorted_user,
// device-callable, also run by the Kokkos kernels), so a user's values are the reference's bit for
// bit. It needs no per-item scratch: each kernel copies the CSR column ids once, and the functor
// sorts its own row in place (heap sort), so membership is a binary search (evaluate:
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

#include <cstddef>
#include <limits>
#include <type_traits>

#include "recfuse/metrics/ranking.hpp"
#include "recfuse/reference/metrics/detail/ranking_user.hpp"
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

// User u's metrics from the shared per-user routine (::recfuse::detail::evaluate_sorted_user):
// it sorts u's relevant ids (its segment of `sorted`) in place and looks every recommendation up
// there; hit[e] marks the sorted entry e once hit.
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
    const ::recfuse::detail::user_ranking r = ::recfuse::detail::evaluate_sorted_user(
        recommendations + u * stride, k, sorted + begin, hit + begin, len);
    out[u] = {r.precision, r.recall, r.ndcg, r.map, r.hit_rate, r.evaluated ? 1 : 0};
  }
};

// User u's AUC from the shared per-user routine (::recfuse::detail::auc_sorted_user): it sorts
// u's relevant and excluded ids in place and gathers the positives' scores into positive_scores
// (u's segment of the relevant pattern's length).
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
    const index_t rel_begin = relevant_offsets[u];
    const index_t rel_len = relevant_offsets[u + 1] - rel_begin;
    const index_t ex_begin = exclude_offsets[u];
    const index_t ex_len = exclude_offsets[u + 1] - ex_begin;
    const ::recfuse::detail::user_auc r = ::recfuse::detail::auc_sorted_user(
        scores + u * stride, items, relevant_sorted + rel_begin, rel_len, exclude_sorted + ex_begin,
        ex_len, positive_scores + rel_begin);
    if (!r.evaluated) {
      out[u] = {0.0, 0};
    } else {
      out[u] = {r.nan ? nan : r.auc, 1};
    }
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
