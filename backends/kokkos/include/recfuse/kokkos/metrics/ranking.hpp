// recfuse Kokkos backend: ranking-metric and AUC kernels (recfuse/metrics/ranking.hpp), in
// parallel over users: one Kokkos::parallel_reduce over the rows (users) on the policy's
// instance, whose item computes one user's metrics sequentially with the reference's per-user
// routines for parallel backends (recfuse/reference/metrics/detail/ranking_user.hpp: the user's
// ids sorted in place, membership by binary search) and adds them to the totals, summed in double
// by Kokkos's reducers (the totals of several values in one reduction). A user's values are the
// reference's bit for bit; only the order of the sum over users differs from the reference's,
// and it depends on the thread count (Serial and one OpenMP thread add users in order): about
// 1e-15 relative. The counts of users are exact.
//
// Scratch: a copy of the CSR column ids (the routines sort each user's run in place), hit flags
// (evaluate) and a slot per relevant entry for the positives' scores (auc); the caller's data is
// only read. Ids are only compared, never used as addresses, so an id out of range is a miss, not
// a bad read. auc_kernel gives a user whose candidate scores hold NaN the value NaN (the public
// function checks host data before the call; for device data it reports the NaN from the total).
#pragma once

#include <cstddef>
#include <limits>
#include <type_traits>

#include <Kokkos_Core.hpp>

#include "recfuse/kokkos/detail/buffer.hpp"
#include "recfuse/kokkos/detail/range.hpp"
#include "recfuse/kokkos/policy.hpp"
#include "recfuse/metrics/ranking.hpp"
#include "recfuse/reference/metrics/detail/ranking_user.hpp"

namespace recfuse::kokkos_backend {
namespace detail {

// offsets[rows] (the CSR's entry count), read from the policy's memory.
template <class ExecSpace>
index_t read_entry_count(const policy<ExecSpace>& p, const index_t* offsets, index_t rows) {
  if constexpr (std::is_same_v<typename policy<ExecSpace>::memory_space, host_memory>) {
    return offsets[rows];
  } else {
    Kokkos::View<index_t, Kokkos::HostSpace> count("recfuse::entry count");
    Kokkos::deep_copy(
        p.instance, count,
        Kokkos::View<const index_t, typename ExecSpace::memory_space, Kokkos::MemoryUnmanaged>(
            offsets + rows));
    p.instance.fence();
    return count();
  }
}

// A copy of a CSR pattern's nnz column ids, for the kernels to sort row by row.
template <class ExecSpace, class Index>
buffer<ExecSpace, Index> copy_indices(const policy<ExecSpace>& p, const Index* indices,
                                      index_t nnz) {
  auto out = make_uninitialized_buffer<Index>(p, "recfuse::ranking sorted ids", nnz);
  if (nnz > 0) {
    Kokkos::deep_copy(
        p.instance, out,
        Kokkos::View<const Index*, typename ExecSpace::memory_space, Kokkos::MemoryUnmanaged>(
            indices, static_cast<std::size_t>(nnz)));
  }
  return out;
}

}  // namespace detail

template <class ExecSpace, class Id, class Index>
::recfuse::detail::ranking_totals evaluate_ranking_kernel(
    const policy<ExecSpace>& p,
    matrix_view<const Id, typename policy<ExecSpace>::memory_space> recommendations,
    csr_pattern_view<Index, typename policy<ExecSpace>::memory_space> relevant, index_t k) {
  ::recfuse::detail::ranking_totals totals;
  const index_t users = recommendations.rows();
  if (users == 0) return totals;
  const index_t nnz = detail::read_entry_count(p, relevant.offsets(), users);
  auto sorted = detail::copy_indices(p, relevant.indices(), nnz);
  auto hit = detail::make_buffer<unsigned char>(p, "recfuse::evaluate_ranking hits", nnz);
  const Id* const recs = recommendations.data();
  const index_t stride = recommendations.stride();
  const index_t* const offsets = relevant.offsets();
  Index* const ids = sorted.data();
  unsigned char* const hits = hit.data();
  // Reducing into host scalars waits for the kernel.
  Kokkos::parallel_reduce(
      "recfuse::evaluate_ranking_kernel", detail::index_range(p, users),
      KOKKOS_LAMBDA(index_t u, double& precision, double& recall, double& ndcg, double& map,
                    double& hit_rate, index_t& evaluated) {
        const index_t begin = offsets[u];
        const ::recfuse::detail::user_ranking r = ::recfuse::detail::evaluate_sorted_user(
            recs + u * stride, k, ids + begin, hits + begin, offsets[u + 1] - begin);
        if (!r.evaluated) return;
        precision += r.precision;
        recall += r.recall;
        ndcg += r.ndcg;
        map += r.map;
        hit_rate += r.hit_rate;
        evaluated += 1;
      },
      totals.precision, totals.recall, totals.ndcg, totals.map, totals.hit_rate, totals.users);
  return totals;
}

template <class ExecSpace, class T, class Index, class Index2>
::recfuse::detail::auc_totals auc_kernel(
    const policy<ExecSpace>& p,
    matrix_view<const T, typename policy<ExecSpace>::memory_space> scores,
    csr_pattern_view<Index, typename policy<ExecSpace>::memory_space> relevant,
    csr_pattern_view<Index2, typename policy<ExecSpace>::memory_space> exclude) {
  ::recfuse::detail::auc_totals totals;
  const index_t users = scores.rows();
  if (users == 0) return totals;
  const index_t relevant_nnz = detail::read_entry_count(p, relevant.offsets(), users);
  const index_t exclude_nnz = detail::read_entry_count(p, exclude.offsets(), users);
  auto relevant_sorted = detail::copy_indices(p, relevant.indices(), relevant_nnz);
  auto exclude_sorted = detail::copy_indices(p, exclude.indices(), exclude_nnz);
  auto positive_scores =
      detail::make_uninitialized_buffer<T>(p, "recfuse::auc positive scores", relevant_nnz);
  const T* const s = scores.data();
  const index_t stride = scores.stride();
  const index_t items = scores.cols();
  const index_t* const rel_offsets = relevant.offsets();
  const index_t* const ex_offsets = exclude.offsets();
  Index* const rel = relevant_sorted.data();
  Index2* const ex = exclude_sorted.data();
  T* const pos = positive_scores.data();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Kokkos::parallel_reduce(
      "recfuse::auc_kernel", detail::index_range(p, users),
      KOKKOS_LAMBDA(index_t u, double& sum, index_t& evaluated) {
        const index_t rel_begin = rel_offsets[u];
        const index_t ex_begin = ex_offsets[u];
        const ::recfuse::detail::user_auc r = ::recfuse::detail::auc_sorted_user(
            s + u * stride, items, rel + rel_begin, rel_offsets[u + 1] - rel_begin, ex + ex_begin,
            ex_offsets[u + 1] - ex_begin, pos + rel_begin);
        if (!r.evaluated) return;
        sum += r.nan ? nan : r.auc;
        evaluated += 1;
      },
      totals.sum, totals.users);
  return totals;
}

}  // namespace recfuse::kokkos_backend
