// recfuse Kokkos backend: the kernels of neighbour aggregation and its backward pass
// (recfuse/graph/aggregate.hpp), generic over the execution space; the views are in the policy's
// memory space (host for Serial/OpenMP/Threads, device for Cuda/HIP/SYCL).
//
// - aggregate_kernel: one work item per (output row, tile of up to 8 feature columns), a
//   Kokkos::parallel_for over rows x tiles with a dynamic schedule (power-law degrees make the
//   rows' work very uneven). Each item gathers its row's neighbours for its tile, its 8 double
//   accumulators in registers (graph::detail::aggregate_gather, the code the Thrust backend runs
//   too): no atomics, no scratch. A flat range over (row, tile) rather than a team per row, so a
//   device gets one thread per (row, tile) whatever the feature count, and the host walks each
//   edge once per tile with the tile's columns vectorised. The mean and gcn normalisers are
//   computed first, one item per row, into a buffer.
// - aggregate_backward_kernel: a deterministic gather over the transposed graph rather than a
//   scatter-add (ScatterView or atomics would make the sums' order, hence the bits, depend on
//   the scheduling): detail::transpose_edges (kokkos/graph/detail/transpose.hpp) lists each
//   column's edges in (row, position) order with their rows, one item per column computes its
//   edges' backward multipliers (graph::detail::aggregate_edge_coef), then one item per (row of
//   grad_x, tile of columns) sums the gradients its incoming edges pass back
//   (graph::detail::aggregate_backward_gather), reading the edges' rows and multipliers in order.
//   max first stores each output element's argmax edge (the reference's tie rule: the first
//   maximum, or the first NaN; one walk over the row per tile) and routes the gradient to it.
// Both accumulate in double in the reference's order (the gcn self loop of node j is added before
// the edges of rows >= j, as the reference's row loop does): the reference's results up to the
// compiler contracting products and sums into fmas, and the same bits for every space and
// thread count.
#pragma once

#include <Kokkos_Core.hpp>

#include "recfuse/graph/aggregate.hpp"
#include "recfuse/kokkos/detail/buffer.hpp"
#include "recfuse/kokkos/detail/range.hpp"
#include "recfuse/kokkos/graph/detail/transpose.hpp"
#include "recfuse/kokkos/policy.hpp"
#include "recfuse/reference/graph/aggregate.hpp"

namespace recfuse::kokkos_backend {
namespace detail {

// [0, n) with a dynamic schedule: items whose work differs (rows of a power-law graph).
template <class ExecSpace>
auto dynamic_range(const policy<ExecSpace>& p, index_t n) {
  return Kokkos::RangePolicy<ExecSpace, Kokkos::Schedule<Kokkos::Dynamic>,
                             Kokkos::IndexType<index_t>>(p.instance, 0, n);
}

// The mean or gcn normalisers of every row (an empty buffer for sum and max).
template <class ExecSpace, class T, class Index>
buffer<ExecSpace, double> aggregate_scales(const policy<ExecSpace>& p,
                                           const graph::detail::aggregate_graph<T, Index>& g,
                                           index_t rows, graph::aggregation kind) {
  if (kind != graph::aggregation::mean && kind != graph::aggregation::gcn) return {};
  auto scale = make_uninitialized_buffer<double>(p, "recfuse::aggregate::scale", rows);
  const bool gcn = kind == graph::aggregation::gcn;
  double* s = scale.data();
  Kokkos::parallel_for(
      "recfuse::aggregate::scales", index_range(p, rows),
      KOKKOS_LAMBDA(index_t i) { s[i] = graph::detail::aggregate_scale(g.weight_sum(i), gcn); });
  return scale;
}

// (cols + tile - 1) / tile column tiles per row.
inline index_t aggregate_tiles(index_t cols) {
  return (cols + graph::detail::aggregate_tile - 1) / graph::detail::aggregate_tile;
}

}  // namespace detail

// out = aggregate(graph, x); inputs checked by recfuse::graph::aggregate.
template <class ExecSpace, class T, class Index>
void aggregate_kernel(const policy<ExecSpace>& p,
                      const csr_view<T, Index, typename policy<ExecSpace>::memory_space>& g,
                      matrix_view<const T, typename policy<ExecSpace>::memory_space> x,
                      matrix_view<T, typename policy<ExecSpace>::memory_space> out,
                      const graph::aggregate_options& o) {
  constexpr index_t tile = graph::detail::aggregate_tile;
  const graph::detail::aggregate_graph<T, Index> ga{g.offsets(), g.indices(), g.values(),
                                                    o.weighted};
  const auto scale = detail::aggregate_scales(p, ga, g.rows(), o.kind);
  const double* s = scale.data();
  const graph::aggregation kind = o.kind;
  const index_t d = x.cols(), tiles = detail::aggregate_tiles(d);
  const T* xp = x.data();
  const index_t xs = x.stride();
  T* op = out.data();
  const index_t os = out.stride();
  Kokkos::parallel_for(
      "recfuse::aggregate_kernel", detail::dynamic_range(p, g.rows() * tiles),
      KOKKOS_LAMBDA(index_t k) {
        const index_t i = k / tiles, c0 = (k % tiles) * tile;
        const index_t width = d - c0 < tile ? d - c0 : tile;
        graph::detail::aggregate_gather(ga, kind, s, xp, xs, i, c0, width, op + i * os + c0);
      });
  p.instance.fence();
}

// grad_x = d L / d x given grad_out = d L / d out (grad_x overwritten).
template <class ExecSpace, class T, class Index>
void aggregate_backward_kernel(
    const policy<ExecSpace>& p,
    const csr_view<T, Index, typename policy<ExecSpace>::memory_space>& g,
    matrix_view<const T, typename policy<ExecSpace>::memory_space> x,
    matrix_view<const T, typename policy<ExecSpace>::memory_space> grad_out,
    matrix_view<T, typename policy<ExecSpace>::memory_space> grad_x,
    const graph::aggregate_options& o) {
  constexpr index_t tile = graph::detail::aggregate_tile;
  const index_t rows = g.rows(), cols = g.cols(), d = x.cols();
  const graph::detail::aggregate_graph<T, Index> ga{g.offsets(), g.indices(), g.values(),
                                                    o.weighted};
  const auto scale = detail::aggregate_scales(p, ga, rows, o.kind);
  const auto t = detail::transpose_edges(p, g.offsets(), g.indices(), rows, cols);
  const double* s = scale.data();
  const graph::aggregation kind = o.kind;
  // coef(k): the backward multiplier of the edge at transposed position k, one item per column.
  const auto coef = detail::make_uninitialized_buffer<double>(p, "recfuse::aggregate::coef",
                                                              static_cast<index_t>(t.edges.size()));
  {
    const index_t* t_off = t.offsets.data();
    const index_t* t_edges = t.edges.data();
    const index_t* t_rows = t.rows.data();
    double* cf = coef.data();
    Kokkos::parallel_for(
        "recfuse::aggregate_backward_kernel::coef", detail::dynamic_range(p, cols),
        KOKKOS_LAMBDA(index_t j) {
          for (index_t k = t_off[j]; k < t_off[j + 1]; ++k)
            cf[k] = graph::detail::aggregate_edge_coef(ga, kind, s, t_edges[k], t_rows[k], j);
        });
  }
  const graph::detail::aggregate_transpose tv{t.offsets.data(), t.edges.data(), t.rows.data(),
                                              coef.data()};
  const T* xp = x.data();
  const index_t xs = x.stride();
  const index_t tiles = detail::aggregate_tiles(d);
  detail::buffer<ExecSpace, index_t> argmax;
  if (o.kind == graph::aggregation::max) {
    // argmax(i, c): the edge out(i, c) took its maximum from, one item per (row, tile).
    argmax = detail::make_uninitialized_buffer<index_t>(p, "recfuse::aggregate::argmax", rows * d);
    index_t* am = argmax.data();
    Kokkos::parallel_for(
        "recfuse::aggregate_backward_kernel::argmax", detail::dynamic_range(p, rows * tiles),
        KOKKOS_LAMBDA(index_t k) {
          const index_t i = k / tiles, c0 = (k % tiles) * tile;
          ga.max_edges(xp, xs, i, c0, d - c0 < tile ? d - c0 : tile, am + i * d + c0);
        });
  }
  const index_t* am = argmax.data();
  const T* go = grad_out.data();
  const index_t gos = grad_out.stride();
  T* gx = grad_x.data();
  const index_t gxs = grad_x.stride();
  Kokkos::parallel_for(
      "recfuse::aggregate_backward_kernel", detail::dynamic_range(p, cols * tiles),
      KOKKOS_LAMBDA(index_t k) {
        const index_t j = k / tiles, c0 = (k % tiles) * tile;
        const index_t width = d - c0 < tile ? d - c0 : tile;
        graph::detail::aggregate_backward_gather(kind, s, tv, am, d, go, gos, j, c0, width,
                                                 gx + j * gxs + c0);
      });
  p.instance.fence();
}

}  // namespace recfuse::kokkos_backend
