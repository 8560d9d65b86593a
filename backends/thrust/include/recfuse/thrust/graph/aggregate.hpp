// recfuse Thrust backend: the kernels of neighbour aggregation and its backward pass
// (recfuse/graph/aggregate.hpp). Generic Thrust code for every system; the views' memory space
// is the policy's (host for cpp/omp/tbb, device for cuda).
//
// - aggregate_kernel: one thrust::for_each item per (output row, tile of up to 8 feature
//   columns); the item gathers its row's neighbours (no atomics). Per-row normalisers (mean,
//   gcn) are computed first, one item per row, into a scratch buffer.
// - aggregate_backward_kernel: the transpose as a gather. The edges are sorted by column id
//   (thrust::stable_sort_by_key, so each column keeps its edges in (row, position) order) and
//   thrust::lower_bound gives the transposed offsets; then one item per (row of grad_x, tile of
//   columns) sums its incoming edges. max first stores each output element's argmax edge
//   (reference tie rule: the first maximum, or the first NaN) and routes the gradient to it.
// Both accumulate in double in the reference's order (the gcn self loop of node j is added
// before the edges of rows >= j, as the reference's row loop does): bit for bit the reference's
// results on the CPU systems; nvcc may contract the device code's products and sums into fmas
// (within a few ulps of T).
#pragma once

#include <type_traits>

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

// Feature columns per work item: each item walks its row's edges once for this many columns.
inline constexpr index_t aggregate_tile = 8;

// A CSR graph as raw pointers (values may be null when unweighted).
template <class T, class Index>
struct aggregate_graph {
  const index_t* offsets;
  const Index* indices;
  const T* values;
  bool weighted;

  RECFUSE_HOST_DEVICE double weight(index_t e) const {
    return weighted ? static_cast<double>(values[e]) : 1.0;
  }
  // The edge of row i attaining the maximum of w * x(j, c) (the first one; a NaN: the first
  // NaN), or -1 for an empty row: graph::detail::max_position's rule, in T as there.
  RECFUSE_HOST_DEVICE index_t max_edge(const T* x, index_t x_stride, index_t i, index_t c) const {
    const index_t b = offsets[i], e = offsets[i + 1];
    if (b == e) return -1;
    index_t best = b;
    T m = (weighted ? values[b] : T(1)) * x[static_cast<index_t>(indices[b]) * x_stride + c];
    for (index_t p = b + 1; p < e && !(m != m); ++p) {
      const T v =
          (weighted ? values[p] : T(1)) * x[static_cast<index_t>(indices[p]) * x_stride + c];
      if (v > m || v != v) {
        m = v;
        best = p;
      }
    }
    return best;
  }
};

// scale[i] = the row normaliser: mean -> 1 / sum of weights (0 when the sum is 0), gcn ->
// 1 / sqrt(1 + sum of weights) (graph::detail::mean_scale and gcn_scale).
template <class T, class Index>
struct aggregate_row_scale {
  aggregate_graph<T, Index> g;
  bool gcn;
  double* scale;

  RECFUSE_HOST_DEVICE void operator()(index_t i) const {
    double s = 0.0;
    if (g.weighted) {
      for (index_t e = g.offsets[i]; e < g.offsets[i + 1]; ++e)
        s += static_cast<double>(g.values[e]);
    } else {
      s = static_cast<double>(g.offsets[i + 1] - g.offsets[i]);
    }
    if (gcn) {
      scale[i] = 1.0 / ::sqrt(1.0 + s);
    } else {
      scale[i] = s == 0.0 ? 0.0 : 1.0 / s;
    }
  }
};

// Item k: row k / tiles of out, columns [c0, c0 + width) with c0 = (k % tiles) * tile.
struct aggregate_tiles {
  index_t tiles;
  index_t cols;
  RECFUSE_HOST_DEVICE void split(index_t k, index_t& row, index_t& c0, index_t& width) const {
    row = k / tiles;
    c0 = (k % tiles) * aggregate_tile;
    width = cols - c0 < aggregate_tile ? cols - c0 : aggregate_tile;
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
    T* y = out + i * out_stride + c0;
    if (kind == graph::aggregation::max) {
      for (index_t c = 0; c < width; ++c) {
        const index_t p = g.max_edge(x, x_stride, i, c0 + c);
        y[c] = p < 0 ? T(0)
                     : (g.weighted ? g.values[p] : T(1)) *
                           x[static_cast<index_t>(g.indices[p]) * x_stride + c0 + c];
      }
      return;
    }
    const bool gcn = kind == graph::aggregation::gcn;
    double acc[aggregate_tile];
    const double si = gcn ? scale[i] : 1.0;
    for (index_t c = 0; c < width; ++c)
      acc[c] = gcn ? si * static_cast<double>(x[i * x_stride + c0 + c]) : 0.0;
    for (index_t p = g.offsets[i]; p < g.offsets[i + 1]; ++p) {
      const auto j = static_cast<index_t>(g.indices[p]);
      double w = g.weight(p);
      if (gcn) w *= scale[j];
      const T* xj = x + j * x_stride + c0;
      for (index_t c = 0; c < width; ++c) acc[c] += w * static_cast<double>(xj[c]);
    }
    const double s = kind == graph::aggregation::mean ? scale[i] : si;
    for (index_t c = 0; c < width; ++c) y[c] = static_cast<T>(acc[c] * s);
  }
};

// argmax[i * cols + c] = the edge of row i that out(i, c) took its maximum from (-1: none).
template <class T, class Index>
struct aggregate_argmax_item {
  aggregate_graph<T, Index> g;
  const T* x;
  index_t x_stride;
  index_t cols;
  index_t* argmax;

  RECFUSE_HOST_DEVICE void operator()(index_t k) const {
    argmax[k] = g.max_edge(x, x_stride, k / cols, k % cols);
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

// grad_x(j, c) for one (row j, tile of columns): the sum over the edges i -> j, in (i, edge)
// order, of the gradient each passes back; for gcn the self loop's term at row i == j.
template <class T, class Index>
struct aggregate_backward_item {
  aggregate_graph<T, Index> g;
  graph::aggregation kind;
  const double* scale;       // mean or gcn normalisers, else null
  const index_t* t_offsets;  // transposed offsets (cols + 1)
  const index_t* t_edges;    // edges sorted by column id
  const index_t* source;     // row of each edge
  const index_t* argmax;     // max only: rows x cols argmax edges
  const T* grad_out;
  index_t go_stride;
  T* grad_x;
  index_t gx_stride;
  aggregate_tiles tiles;

  RECFUSE_HOST_DEVICE void operator()(index_t k) const {
    index_t j = 0, c0 = 0, width = 0;
    tiles.split(k, j, c0, width);
    const bool gcn = kind == graph::aggregation::gcn;
    const bool max = kind == graph::aggregation::max;
    const bool mean = kind == graph::aggregation::mean;
    double acc[aggregate_tile];
    for (index_t c = 0; c < width; ++c) acc[c] = 0.0;
    const double sj = gcn ? scale[j] : 1.0;
    bool self_pending = gcn;
    for (index_t t = t_offsets[j]; t < t_offsets[j + 1]; ++t) {
      const index_t e = t_edges[t];
      const index_t i = source[e];
      if (self_pending && i >= j) {
        self_term(j, c0, width, sj, acc);
        self_pending = false;
      }
      const T* go = grad_out + i * go_stride + c0;
      if (max) {
        const double w = g.weight(e);
        const index_t* am = argmax + i * tiles.cols + c0;
        for (index_t c = 0; c < width; ++c) {
          if (am[c] == e) acc[c] += w * static_cast<double>(go[c]);
        }
        continue;
      }
      const double si = (mean || gcn) ? scale[i] : 1.0;
      double w = g.weight(e) * si;
      if (gcn) w *= sj;
      for (index_t c = 0; c < width; ++c) acc[c] += w * static_cast<double>(go[c]);
    }
    if (self_pending) self_term(j, c0, width, sj, acc);
    T* gx = grad_x + j * gx_stride + c0;
    for (index_t c = 0; c < width; ++c) gx[c] = static_cast<T>(acc[c]);
  }

  RECFUSE_HOST_DEVICE void self_term(index_t j, index_t c0, index_t width, double sj,
                                     double* acc) const {
    const T* go = grad_out + j * go_stride + c0;
    for (index_t c = 0; c < width; ++c) acc[c] += sj * sj * static_cast<double>(go[c]);
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
  return {(cols + aggregate_tile - 1) / aggregate_tile, cols};
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
  detail::buffer<System, index_t> argmax;
  if (o.kind == graph::aggregation::max) {
    argmax.resize(static_cast<std::size_t>(rows * d));
    ::thrust::for_each(
        exec, ::thrust::counting_iterator<index_t>(0),
        ::thrust::counting_iterator<index_t>(rows * d),
        detail::aggregate_argmax_item<T, Index>{ga, x.data(), x.stride(), d, detail::raw(argmax)});
  }
  const auto tiles = detail::aggregate_tiles_of(d);
  ::thrust::for_each(exec, ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(cols * tiles.tiles),
                     detail::aggregate_backward_item<T, Index>{
                         ga, o.kind, detail::raw(scale), detail::raw(t_offsets), detail::raw(edges),
                         detail::raw(source), detail::raw(argmax), grad_out.data(),
                         grad_out.stride(), grad_x.data(), grad_x.stride(), tiles});
}

}  // namespace recfuse::thrust_backend
