// recfuse Kokkos backend: the transpose of a CSR graph as edge lists, for the aggregation's
// backward pass (a gather over the edges into each column instead of a scatter-add).
//
// - transpose_edges: the edges of each column counted (Kokkos::atomic_add on the column's
//   counter; integer, so the counts are exact), the offsets by a parallel_scan, then each edge
//   placed at its column's next free slot (Kokkos::atomic_fetch_add on a per-column cursor, one
//   parallel_for over the rows). The order the atomics leave within a column depends on the
//   scheduling, so sort_segments then sorts every column's edge ids: the result is the same
//   whatever the space and its thread count (edges in increasing id order, i.e. by row, then
//   position in the row). Last, rows(k) = the row of the edge at position k.
// - sort_segments: one item per segment; a segment already in order (always so on one thread)
//   is left alone, the others are sorted in place by sort_run (insertion sort up to 16 elements,
//   heapsort beyond: no scratch, no recursion, device-callable). Kokkos::Experimental::sort_team
//   (a bitonic network with a team barrier per step) cost 5x more on two OpenMP threads.
#pragma once

#include <Kokkos_Core.hpp>

#include "recfuse/core/config.hpp"
#include "recfuse/kokkos/detail/buffer.hpp"
#include "recfuse/kokkos/detail/range.hpp"
#include "recfuse/kokkos/policy.hpp"

namespace recfuse::kokkos_backend::detail {

// The transposed edge lists (see graph::detail::aggregate_transpose): offsets (cols + 1), edges
// (nnz, the edge ids of each column in increasing order) and rows (nnz, the row of each edge, in
// the same positions).
template <class ExecSpace>
struct transposed_edges {
  buffer<ExecSpace, index_t> offsets, edges, rows;
};

// Sorts v[0 .. n) ascending in place, device-callable, no scratch: an insertion sort for short
// runs, a heapsort otherwise.
KOKKOS_INLINE_FUNCTION void sort_run(index_t* v, index_t n) {
  if (n <= 16) {
    for (index_t k = 1; k < n; ++k) {
      const index_t x = v[k];
      index_t m = k;
      for (; m > 0 && v[m - 1] > x; --m) v[m] = v[m - 1];
      v[m] = x;
    }
    return;
  }
  // Heapsort: sift_down(root, end) restores the max-heap below root in v[0 .. end).
  auto sift_down = [v](index_t root, index_t end) {
    const index_t x = v[root];
    for (index_t child = 2 * root + 1; child < end; child = 2 * root + 1) {
      if (child + 1 < end && v[child + 1] > v[child]) ++child;
      if (!(v[child] > x)) break;
      v[root] = v[child];
      root = child;
    }
    v[root] = x;
  };
  for (index_t r = n / 2; r-- > 0;) sift_down(r, n);
  for (index_t end = n - 1; end > 0; --end) {
    const index_t top = v[0];
    v[0] = v[end];
    v[end] = top;
    sift_down(0, end);
  }
}

// Sorts values[offsets[s] .. offsets[s + 1]) ascending for every segment s < segments: one item
// per segment (dynamic schedule: segment sizes follow the in-degrees), a segment already in
// order left alone.
template <class ExecSpace>
void sort_segments(const policy<ExecSpace>& p, const buffer<ExecSpace, index_t>& offsets,
                   const buffer<ExecSpace, index_t>& values, index_t segments) {
  const index_t* off = offsets.data();
  index_t* v = values.data();
  Kokkos::parallel_for(
      "recfuse::aggregate_backward_kernel::sort_segments",
      Kokkos::RangePolicy<ExecSpace, Kokkos::Schedule<Kokkos::Dynamic>, Kokkos::IndexType<index_t>>(
          p.instance, 0, segments),
      KOKKOS_LAMBDA(index_t s) {
        const index_t b = off[s], e = off[s + 1];
        index_t k = b + 1;
        while (k < e && !(v[k - 1] > v[k])) ++k;
        if (k < e) sort_run(v + b, e - b);
      });
}

// The transpose of a rows x cols CSR pattern (offsets in the space's memory).
template <class ExecSpace, class Index>
transposed_edges<ExecSpace> transpose_edges(const policy<ExecSpace>& p, const index_t* offsets,
                                            const Index* indices, index_t rows, index_t cols) {
  // nnz = offsets[rows], read where the offsets live (a reduction into a host scalar).
  index_t nnz = 0;
  if (rows > 0) {
    Kokkos::parallel_reduce(
        "recfuse::aggregate_backward_kernel::nnz", index_range(p, 1),
        KOKKOS_LAMBDA(index_t, index_t & s) { s += offsets[rows]; }, nnz);
  }
  transposed_edges<ExecSpace> t{
      make_buffer<index_t>(p, "recfuse::transpose::offsets", cols + 1),
      make_uninitialized_buffer<index_t>(p, "recfuse::transpose::edges", nnz),
      make_uninitialized_buffer<index_t>(p, "recfuse::transpose::rows", nnz)};
  // source(e): the row of edge e.
  const auto source = make_uninitialized_buffer<index_t>(p, "recfuse::transpose::source", nnz);
  const auto t_off = t.offsets;
  const auto t_edges = t.edges;
  const auto t_rows = t.rows;
  Kokkos::parallel_for(
      "recfuse::aggregate_backward_kernel::count", index_range(p, rows), KOKKOS_LAMBDA(index_t i) {
        for (index_t e = offsets[i]; e < offsets[i + 1]; ++e) {
          source(e) = i;
          Kokkos::atomic_add(&t_off(static_cast<index_t>(indices[e]) + 1), index_t{1});
        }
      });
  // Inclusive scan in place: t_off(k) = edges of the columns before k.
  Kokkos::parallel_scan(
      "recfuse::aggregate_backward_kernel::offsets", index_range(p, cols + 1),
      KOKKOS_LAMBDA(index_t k, index_t & sum, bool final) {
        sum += t_off(k);
        if (final) t_off(k) = sum;
      });
  const auto cursor = make_uninitialized_buffer<index_t>(p, "recfuse::transpose::cursor", cols);
  Kokkos::deep_copy(p.instance, cursor,
                    Kokkos::subview(t_off, Kokkos::make_pair(index_t{0}, cols)));
  Kokkos::parallel_for(
      "recfuse::aggregate_backward_kernel::place", index_range(p, rows), KOKKOS_LAMBDA(index_t i) {
        for (index_t e = offsets[i]; e < offsets[i + 1]; ++e) {
          t_edges(Kokkos::atomic_fetch_add(&cursor(static_cast<index_t>(indices[e])), index_t{1})) =
              e;
        }
      });
  sort_segments(p, t.offsets, t.edges, cols);
  Kokkos::parallel_for(
      "recfuse::aggregate_backward_kernel::rows", index_range(p, nnz),
      KOKKOS_LAMBDA(index_t k) { t_rows(k) = source(t_edges(k)); });
  return t;
}

}  // namespace recfuse::kokkos_backend::detail
