// recfuse Thrust backend: the kernels of neighbour aggregation and its backward pass
// (recfuse/graph/aggregate.hpp). Generic Thrust code for every system; the views' memory space
// is the policy's (host for cpp/omp/tbb, device for cuda).
//
// The per-row code is the device-callable code of recfuse/reference/graph/aggregate.hpp
// (graph::detail: aggregate_graph, aggregate_scale, aggregate_gather, aggregate_edge_coef,
// aggregate_backward_gather), the code the Kokkos backend runs too; this file only launches it.
//
// - aggregate_kernel: one thrust::for_each item per (output row, tile of up to 8 feature
//   columns); the item gathers its row's neighbours (graph::detail::aggregate_gather, no
//   atomics). Per-row normalisers (mean, gcn) are computed first, one item per row, into a
//   scratch buffer.
// - aggregate_backward_kernel: the transpose as a gather. The edges are sorted by column id
//   (thrust::stable_sort_by_key, so each column keeps its edges in (row, position) order) and
//   thrust::lower_bound gives the transposed offsets; one item per column then records its
//   edges' rows and backward multipliers (graph::detail::aggregate_edge_coef), and one item per
//   (row of grad_x, tile of columns) sums its incoming edges
//   (graph::detail::aggregate_backward_gather). max first stores each output element's argmax
//   edge (reference tie rule: the first maximum, or the first NaN; one walk over the row per
//   tile) and routes the gradient to it.
// Both accumulate in double in the reference's order (the gcn self loop of node j is added
// before the edges of rows >= j, as the reference's row loop does): bit for bit the reference's
// results on the CPU systems; nvcc may contract the device code's products and sums into fmas
// (within a few ulps of T).
#pragma once

#include <thrust/binary_search.h>
#include <thrust/copy.h>
#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/sequence.h>
#include <thrust/sort.h>

#include "recfuse/graph/aggregate.hpp"
#include "recfuse/reference/graph/aggregate.hpp"
#include "recfuse/thrust/detail/buffer.hpp"
#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend {
namespace detail {

template <class T, class Index>
using aggregate_graph = graph::detail::aggregate_graph<T, Index>;

// scale[i] = the row normaliser of row i (graph::detail::aggregate_scale).
template <class T, class Index>
struct aggregate_row_scale {
  aggregate_graph<T, Index> g;
  bool gcn;
  double* scale;

  RECFUSE_HOST_DEVICE void operator()(index_t i) const {
    scale[i] = graph::detail::aggregate_scale(g.weight_sum(i), gcn);
  }
};

// Item k: row k / tiles, columns [c0, c0 + width) with c0 = (k % tiles) * tile.
struct aggregate_tiles {
  index_t tiles;
  index_t cols;
  RECFUSE_HOST_DEVICE void split(index_t k, index_t& row, index_t& c0, index_t& width) const {
    constexpr index_t tile = graph::detail::aggregate_tile;
    row = k / tiles;
    c0 = (k % tiles) * tile;
    width = cols - c0 < tile ? cols - c0 : tile;
  }
};

template <class T, class Index>
struct aggregate_forward_item {
  aggregate_graph<T, Index> g;
  graph::aggregation kind;
  const double* scale;  // mean or gcn normalisers, else null
  const T* x;
  index_t x_stride;
  T* out;
  index_t out_stride;
  aggregate_tiles tiles;

  RECFUSE_HOST_DEVICE void operator()(index_t k) const {
    index_t i = 0, c0 = 0, width = 0;
    tiles.split(k, i, c0, width);
    graph::detail::aggregate_gather(g, kind, scale, x, x_stride, i, c0, width,
                                    out + i * out_stride + c0);
  }
};

// argmax(i, c) (row stride tiles.cols) = the edge of row i that out(i, c) took its maximum from
// (-1: none), one item per (row, tile).
template <class T, class Index>
struct aggregate_argmax_item {
  aggregate_graph<T, Index> g;
  const T* x;
  index_t x_stride;
  index_t* argmax;
  aggregate_tiles tiles;

  RECFUSE_HOST_DEVICE void operator()(index_t k) const {
    index_t i = 0, c0 = 0, width = 0;
    tiles.split(k, i, c0, width);
    g.max_edges(x, x_stride, i, c0, width, argmax + i * tiles.cols + c0);
  }
};

// source[e] = the row of edge e.
struct aggregate_edge_rows {
  const index_t* offsets;
  index_t* source;
  RECFUSE_HOST_DEVICE void operator()(index_t i) const {
    for (index_t e = offsets[i]; e < offsets[i + 1]; ++e) source[e] = i;
  }
};

// For column j: at each transposed position k of its edges, rows[k] = the edge's row and coef[k]
// = its backward multiplier (graph::detail::aggregate_edge_coef).
template <class T, class Index>
struct aggregate_edge_coef_item {
  aggregate_graph<T, Index> g;
  graph::aggregation kind;
  const double* scale;       // mean or gcn normalisers, else null
  const index_t* t_offsets;  // transposed offsets (cols + 1)
  const index_t* t_edges;    // edges sorted by column id
  const index_t* source;     // row of each edge
  index_t* rows;
  double* coef;

  RECFUSE_HOST_DEVICE void operator()(index_t j) const {
    for (index_t k = t_offsets[j]; k < t_offsets[j + 1]; ++k) {
      const index_t e = t_edges[k];
      rows[k] = source[e];
      coef[k] = graph::detail::aggregate_edge_coef(g, kind, scale, e, rows[k], j);
    }
  }
};

// grad_x(j, c) for one (row j, tile of columns): graph::detail::aggregate_backward_gather.
template <class T>
struct aggregate_backward_item {
  graph::aggregation kind;
  const double* scale;  // row normalisers (read for gcn only), else null
  graph::detail::aggregate_transpose t;
  const index_t* argmax;  // max only: rows x cols argmax edges, row stride tiles.cols
  const T* grad_out;
  index_t go_stride;
  T* grad_x;
  index_t gx_stride;
  aggregate_tiles tiles;

  RECFUSE_HOST_DEVICE void operator()(index_t k) const {
    index_t j = 0, c0 = 0, width = 0;
    tiles.split(k, j, c0, width);
    graph::detail::aggregate_backward_gather(kind, scale, t, argmax, tiles.cols, grad_out,
                                             go_stride, j, c0, width, grad_x + j * gx_stride + c0);
  }
};

template <class System, class T, class Index>
aggregate_graph<T, Index> aggregate_graph_of(const csr_view<T, Index, memory_space_of<System>>& g,
                                             const graph::aggregate_options& o) {
  return {g.offsets(), g.indices(), g.values(), o.weighted};
}

// The mean or gcn normalisers of every row (empty for sum and max).
template <class System, class T, class Index>
buffer<System, double> aggregate_scales(const policy<System>& p, const aggregate_graph<T, Index>& g,
                                        index_t rows, graph::aggregation kind) {
  buffer<System, double> scale;
  if (kind != graph::aggregation::mean && kind != graph::aggregation::gcn) return scale;
  scale.resize(static_cast<std::size_t>(rows));
  ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(rows),
                     aggregate_row_scale<T, Index>{g, kind == graph::aggregation::gcn, raw(scale)});
  return scale;
}

inline aggregate_tiles aggregate_tiles_of(index_t cols) {
  constexpr index_t tile = graph::detail::aggregate_tile;
  return {(cols + tile - 1) / tile, cols};
}

}  // namespace detail

// out = aggregate(graph, x); inputs checked by recfuse::graph::aggregate.
template <class System, class T, class Index>
void aggregate_kernel(const policy<System>& p,
                      const csr_view<T, Index, typename policy<System>::memory_space>& g,
                      matrix_view<const T, typename policy<System>::memory_space> x,
                      matrix_view<T, typename policy<System>::memory_space> out,
                      const graph::aggregate_options& o) {
  const auto ga = detail::aggregate_graph_of<System>(g, o);
  const auto scale = detail::aggregate_scales(p, ga, g.rows(), o.kind);
  const auto tiles = detail::aggregate_tiles_of(x.cols());
  ::thrust::for_each(
      p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
      ::thrust::counting_iterator<index_t>(g.rows() * tiles.tiles),
      detail::aggregate_forward_item<T, Index>{ga, o.kind, detail::raw(scale), x.data(), x.stride(),
                                               out.data(), out.stride(), tiles});
}

// grad_x = d L / d x given grad_out = d L / d out (grad_x overwritten).
template <class System, class T, class Index>
void aggregate_backward_kernel(const policy<System>& p,
                               const csr_view<T, Index, typename policy<System>::memory_space>& g,
                               matrix_view<const T, typename policy<System>::memory_space> x,
                               matrix_view<const T, typename policy<System>::memory_space> grad_out,
                               matrix_view<T, typename policy<System>::memory_space> grad_x,
                               const graph::aggregate_options& o) {
  const auto exec = p.thrust_policy();
  const index_t rows = g.rows(), cols = g.cols(), d = x.cols();
  const auto ga = detail::aggregate_graph_of<System>(g, o);
  const auto scale = detail::aggregate_scales(p, ga, rows, o.kind);
  // nnz = offsets[rows], read where the offsets live (one element copied back from a device).
  index_t nnz = 0;
  if (rows > 0) {
    detail::buffer<System, index_t> last(1);
    ::thrust::copy(exec, g.offsets() + rows, g.offsets() + rows + 1, last.begin());
    nnz = static_cast<index_t>(last[0]);
  }
  // The transpose: edges sorted by column id (stable: (row, position) order within a column).
  detail::buffer<System, index_t> keys(static_cast<std::size_t>(nnz));
  detail::buffer<System, index_t> edges(static_cast<std::size_t>(nnz));
  detail::buffer<System, index_t> source(static_cast<std::size_t>(nnz));
  detail::buffer<System, index_t> t_offsets(static_cast<std::size_t>(cols + 1));
  ::thrust::copy(exec, g.indices(), g.indices() + nnz, keys.begin());
  ::thrust::sequence(exec, edges.begin(), edges.end());
  ::thrust::stable_sort_by_key(exec, keys.begin(), keys.end(), edges.begin());
  ::thrust::lower_bound(exec, keys.begin(), keys.end(), ::thrust::counting_iterator<index_t>(0),
                        ::thrust::counting_iterator<index_t>(cols + 1), t_offsets.begin());
  ::thrust::for_each(exec, ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(rows),
                     detail::aggregate_edge_rows{g.offsets(), detail::raw(source)});
  // The edges' rows and backward multipliers in transposed order (keys reused for the rows).
  detail::buffer<System, double> coef(static_cast<std::size_t>(nnz));
  ::thrust::for_each(exec, ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(cols),
                     detail::aggregate_edge_coef_item<T, Index>{
                         ga, o.kind, detail::raw(scale), detail::raw(t_offsets), detail::raw(edges),
                         detail::raw(source), detail::raw(keys), detail::raw(coef)});
  const auto tiles = detail::aggregate_tiles_of(d);
  detail::buffer<System, index_t> argmax;
  if (o.kind == graph::aggregation::max) {
    argmax.resize(static_cast<std::size_t>(rows * d));
    ::thrust::for_each(exec, ::thrust::counting_iterator<index_t>(0),
                       ::thrust::counting_iterator<index_t>(rows * tiles.tiles),
                       detail::aggregate_argmax_item<T, Index>{ga, x.data(), x.stride(),
                                                               detail::raw(argmax), tiles});
  }
  const graph::detail::aggregate_transpose t{detail::raw(t_offsets), detail::raw(edges),
                                             detail::raw(keys), detail::raw(coef)};
  ::thrust::for_each(exec, ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(cols * tiles.tiles),
                     detail::aggregate_backward_item<T>{
                         o.kind, detail::raw(scale), t, detail::raw(argmax), grad_out.data(),
                         grad_out.stride(), grad_x.data(), grad_x.stride(), tiles});
}

}  // namespace recfuse::thrust_backend
