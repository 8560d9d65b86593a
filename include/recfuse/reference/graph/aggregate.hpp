// recfuse reference backend: the kernels of neighbour aggregation and its backward pass
// (recfuse/graph/aggregate.hpp). Serial, double accumulation: the test oracle.
//
// graph::detail also holds the device-callable per-row code the parallel backends share: the raw
// graph (aggregate_graph: weights, row sums, the max tie rule), the row normaliser, and the
// per-(row, tile of columns) gathers of the forward pass and of the backward pass over the
// transposed graph, which the Thrust and Kokkos kernels launch.
//
// The aggregation option types are declared here, beside the kernels that read them; they are
// documented with the public functions in recfuse/graph/aggregate.hpp.
#pragma once

#include <math.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/sparse.hpp"
#include "recfuse/core/views.hpp"

namespace recfuse::graph {

enum class aggregation { sum, mean, max, gcn };

struct aggregate_options {
  aggregation kind = aggregation::mean;
  bool weighted = false;
};

namespace detail {

// Feature columns per gather of the parallel backends: each call walks its row's edges once for
// this many columns.
inline constexpr index_t aggregate_tile = 8;

// A CSR graph as raw pointers (values may be null when unweighted), with the per-row rules every
// backend shares: device-callable, so the Thrust and Kokkos kernels run the same code as the
// reference's helpers below.
template <class T, class Index>
struct aggregate_graph {
  const index_t* offsets;
  const Index* indices;
  const T* values;
  bool weighted;

  RECFUSE_HOST_DEVICE double weight(index_t e) const {
    return weighted ? static_cast<double>(values[e]) : 1.0;
  }
  // The sum of row i's weights (its degree when unweighted), in double.
  RECFUSE_HOST_DEVICE double weight_sum(index_t i) const {
    if (!weighted) return static_cast<double>(offsets[i + 1] - offsets[i]);
    double s = 0.0;
    for (index_t e = offsets[i]; e < offsets[i + 1]; ++e) s += static_cast<double>(values[e]);
    return s;
  }
  // The edge of row i attaining the maximum of w * x(j, c) (the first one; a NaN: the first NaN),
  // or -1 for an empty row. Compared in T; x has row stride x_stride.
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
  // max_edge for the columns c0 .. c0 + n in one walk over row i: best[c] = max_edge(x,
  // x_stride, i, c0 + c), with n = Width (a compile-time count) or, for Width = 0, width (at
  // most aggregate_tile). A column stops at its first NaN, as in max_edge.
  template <index_t Width>
  RECFUSE_HOST_DEVICE void max_edges(const T* x, index_t x_stride, index_t i, index_t c0,
                                     index_t width, index_t* best) const {
    const index_t n = Width > 0 ? Width : width;
    const index_t b = offsets[i], e = offsets[i + 1];
    if (b == e) {
      for (index_t c = 0; c < n; ++c) best[c] = -1;
      return;
    }
    T m[aggregate_tile];
    {
      const T w = weighted ? values[b] : T(1);
      const T* xb = x + static_cast<index_t>(indices[b]) * x_stride + c0;
      for (index_t c = 0; c < n; ++c) {
        m[c] = w * xb[c];
        best[c] = b;
      }
    }
    for (index_t p = b + 1; p < e; ++p) {
      const T w = weighted ? values[p] : T(1);
      const T* xp = x + static_cast<index_t>(indices[p]) * x_stride + c0;
      for (index_t c = 0; c < n; ++c) {
        const T v = w * xp[c];
        if ((m[c] == m[c]) & ((v > m[c]) | (v != v))) {
          m[c] = v;
          best[c] = p;
        }
      }
    }
  }
  // The values max_edges picks: value[c] = w * x(j, c0 + c) at edge best[c] (the maximum, or the
  // first NaN; the first of equal values, so -0 and +0 as the reference keeps them), 0 for an
  // empty row. Read as they are compared, not loaded again from the rows they came from.
  template <index_t Width>
  RECFUSE_HOST_DEVICE void max_values(const T* x, index_t x_stride, index_t i, index_t c0,
                                      index_t width, T* value) const {
    const index_t n = Width > 0 ? Width : width;
    const index_t b = offsets[i], e = offsets[i + 1];
    if (b == e) {
      for (index_t c = 0; c < n; ++c) value[c] = T(0);
      return;
    }
    T m[aggregate_tile];
    {
      const T w = weighted ? values[b] : T(1);
      const T* xb = x + static_cast<index_t>(indices[b]) * x_stride + c0;
      for (index_t c = 0; c < n; ++c) m[c] = w * xb[c];
    }
    for (index_t p = b + 1; p < e; ++p) {
      const T w = weighted ? values[p] : T(1);
      const T* xp = x + static_cast<index_t>(indices[p]) * x_stride + c0;
      for (index_t c = 0; c < n; ++c) {
        const T v = w * xp[c];
        m[c] = (m[c] == m[c]) & ((v > m[c]) | (v != v)) ? v : m[c];
      }
    }
    for (index_t c = 0; c < n; ++c) value[c] = m[c];
  }
  // max_edges with the width dispatched: a full tile at compile time.
  RECFUSE_HOST_DEVICE void max_edges(const T* x, index_t x_stride, index_t i, index_t c0,
                                     index_t width, index_t* best) const {
    if (width == aggregate_tile) {
      max_edges<aggregate_tile>(x, x_stride, i, c0, width, best);
    } else {
      max_edges<0>(x, x_stride, i, c0, width, best);
    }
  }
  // max_values with the width dispatched.
  RECFUSE_HOST_DEVICE void max_values(const T* x, index_t x_stride, index_t i, index_t c0,
                                      index_t width, T* value) const {
    if (width == aggregate_tile) {
      max_values<aggregate_tile>(x, x_stride, i, c0, width, value);
    } else {
      max_values<0>(x, x_stride, i, c0, width, value);
    }
  }
};

template <class T, class Index>
aggregate_graph<T, Index> aggregate_graph_of(const csr_view<T, Index>& g, bool weighted) {
  return {g.offsets(), g.indices(), g.values(), weighted};
}

// The row normaliser from the row's weight sum s: mean -> 1 / s (0 when s is 0), gcn ->
// 1 / sqrt(1 + s). Device-callable.
RECFUSE_HOST_DEVICE inline double aggregate_scale(double s, bool gcn) {
  if (gcn) return 1.0 / ::sqrt(1.0 + s);
  return s == 0.0 ? 0.0 : 1.0 / s;
}

// Per-row normaliser of an aggregation: mean -> 1 / sum of weights (0 for an empty row or a
// zero sum), gcn -> 1 / sqrt(1 + sum of weights). Computed in double.
template <class T, class Index>
double row_weight_sum(const csr_view<T, Index>& g, index_t i, bool weighted) {
  return aggregate_graph_of(g, weighted).weight_sum(i);
}

template <class T, class Index>
double mean_scale(const csr_view<T, Index>& g, index_t i, bool weighted) {
  return aggregate_scale(row_weight_sum(g, i, weighted), false);
}

template <class T, class Index>
double gcn_scale(const csr_view<T, Index>& g, index_t i, bool weighted) {
  return aggregate_scale(row_weight_sum(g, i, weighted), true);
}

// The position (offset into the row's entries) of the first neighbour attaining the maximum of
// w * x_j(c) (NaN: the first NaN), or -1 for an empty row.
template <class T, class Index>
index_t max_position(const csr_view<T, Index>& g, matrix_view<const T> x, index_t i, index_t c,
                     bool weighted) {
  const index_t p = aggregate_graph_of(g, weighted).max_edge(x.data(), x.stride(), i, c);
  return p < 0 ? -1 : p - g.offsets()[i];
}

// ---- The gathers the parallel backends (Thrust, Kokkos) run, device-callable --------------------
// Each call computes one row of the result for a tile of up to aggregate_tile feature columns,
// accumulating in double in the reference's order, so the results are the reference's bit for bit
// (up to the compiler contracting products and sums into fmas differently).

// The sum, mean or gcn row of aggregate_gather over Width columns (a compile-time count, so the
// loops unroll and vectorise) or, with Width = 0, over `width` columns.
template <index_t Width, class T, class Index>
RECFUSE_HOST_DEVICE void aggregate_gather_sum(const aggregate_graph<T, Index>& g, aggregation kind,
                                              const double* scale, const T* x, index_t x_stride,
                                              index_t i, index_t c0, index_t width, T* y) {
  const index_t n = Width > 0 ? Width : width;
  const bool gcn = kind == aggregation::gcn;
  double acc[aggregate_tile];
  const double si = gcn ? scale[i] : 1.0;
  for (index_t c = 0; c < n; ++c)
    acc[c] = gcn ? si * static_cast<double>(x[i * x_stride + c0 + c]) : 0.0;
  for (index_t p = g.offsets[i]; p < g.offsets[i + 1]; ++p) {
    const auto j = static_cast<index_t>(g.indices[p]);
    double w = g.weight(p);
    if (gcn) w *= scale[j];
    const T* xj = x + j * x_stride + c0;
    for (index_t c = 0; c < n; ++c) acc[c] += w * static_cast<double>(xj[c]);
  }
  const double s = kind == aggregation::mean ? scale[i] : si;
  for (index_t c = 0; c < n; ++c) y[c] = static_cast<T>(acc[c] * s);
}

// out(i, c0 .. c0 + width) for width <= aggregate_tile; y points at out(i, c0). scale: the row
// normalisers (aggregate_scale of every row) for mean and gcn, unused (may be null) otherwise.
template <class T, class Index>
RECFUSE_HOST_DEVICE void aggregate_gather(const aggregate_graph<T, Index>& g, aggregation kind,
                                          const double* scale, const T* x, index_t x_stride,
                                          index_t i, index_t c0, index_t width, T* y) {
  if (kind == aggregation::max) {
    g.max_values(x, x_stride, i, c0, width, y);
  } else if (width == aggregate_tile) {
    aggregate_gather_sum<aggregate_tile>(g, kind, scale, x, x_stride, i, c0, width, y);
  } else {
    aggregate_gather_sum<0>(g, kind, scale, x, x_stride, i, c0, width, y);
  }
}

// The graph's transpose as edge lists: the edges i -> j of column j sit at the positions
// offsets[j] .. offsets[j + 1), in increasing edge order (so by row i, then position in the row);
// at position k, edges[k] is the edge's id, rows[k] its row i and coef[k] its backward
// multiplier (aggregate_edge_coef).
struct aggregate_transpose {
  const index_t* offsets;
  const index_t* edges;
  const index_t* rows;
  const double* coef;
};

// The factor by which edge e: i -> j passes grad_out(i, .) back to grad_x(j, .), as the
// reference's backward computes it (same operations, same order): w_e for sum and max, w_e * s_i
// for mean, w_e * s_i * s_j for gcn (s: the row normalisers, aggregate_scale).
template <class T, class Index>
RECFUSE_HOST_DEVICE double aggregate_edge_coef(const aggregate_graph<T, Index>& g, aggregation kind,
                                               const double* scale, index_t e, index_t i,
                                               index_t j) {
  if (kind == aggregation::sum || kind == aggregation::max) return g.weight(e);
  double w = g.weight(e) * scale[i];
  if (kind == aggregation::gcn) w *= scale[j];
  return w;
}

// aggregate_backward_gather over Width columns (a compile-time count) or, with Width = 0, over
// `width` columns.
template <index_t Width, class T>
RECFUSE_HOST_DEVICE void aggregate_backward_gather_cols(aggregation kind, const double* scale,
                                                        const aggregate_transpose& t,
                                                        const index_t* argmax,
                                                        index_t argmax_stride, const T* grad_out,
                                                        index_t go_stride, index_t j, index_t c0,
                                                        index_t width, T* gx) {
  const index_t n = Width > 0 ? Width : width;
  double acc[aggregate_tile];
  for (index_t c = 0; c < n; ++c) acc[c] = 0.0;
  const bool max = kind == aggregation::max;
  const double sj = kind == aggregation::gcn ? scale[j] : 1.0;
  bool self_pending = kind == aggregation::gcn;
  for (index_t k = t.offsets[j]; k < t.offsets[j + 1]; ++k) {
    const index_t i = t.rows[k];
    if (self_pending && i >= j) {
      const T* go = grad_out + j * go_stride + c0;
      for (index_t c = 0; c < n; ++c) acc[c] += sj * sj * static_cast<double>(go[c]);
      self_pending = false;
    }
    const T* go = grad_out + i * go_stride + c0;
    const double w = t.coef[k];
    if (max) {
      const index_t e = t.edges[k];
      const index_t* am = argmax + i * argmax_stride + c0;
      for (index_t c = 0; c < n; ++c) {
        if (am[c] == e) acc[c] += w * static_cast<double>(go[c]);
      }
    } else {
      for (index_t c = 0; c < n; ++c) acc[c] += w * static_cast<double>(go[c]);
    }
  }
  if (self_pending) {
    const T* go = grad_out + j * go_stride + c0;
    for (index_t c = 0; c < n; ++c) acc[c] += sj * sj * static_cast<double>(go[c]);
  }
  for (index_t c = 0; c < n; ++c) gx[c] = static_cast<T>(acc[c]);
}

// grad_x(j, c0 .. c0 + width) for width <= aggregate_tile; gx points at grad_x(j, c0): the sum
// over the edges i -> j, in (i, edge) order, of the gradient each passes back (for gcn the self
// loop's term comes at row i == j, where the reference's row loop adds it). scale: the row
// normalisers for gcn (else unused). argmax (max only): the edge each out(i, c) took its maximum
// from, row-major with row stride argmax_stride (-1: none).
template <class T>
RECFUSE_HOST_DEVICE void aggregate_backward_gather(aggregation kind, const double* scale,
                                                   const aggregate_transpose& t,
                                                   const index_t* argmax, index_t argmax_stride,
                                                   const T* grad_out, index_t go_stride, index_t j,
                                                   index_t c0, index_t width, T* gx) {
  if (width == aggregate_tile) {
    aggregate_backward_gather_cols<aggregate_tile>(kind, scale, t, argmax, argmax_stride, grad_out,
                                                   go_stride, j, c0, width, gx);
  } else {
    aggregate_backward_gather_cols<0>(kind, scale, t, argmax, argmax_stride, grad_out, go_stride, j,
                                      c0, width, gx);
  }
}

}  // namespace detail
}  // namespace recfuse::graph

namespace recfuse::reference_backend {

// out = aggregate(graph, x); inputs checked by recfuse::graph::aggregate.
template <class T, class Index>
void aggregate_kernel(const policy&, const csr_view<T, Index>& g, matrix_view<const T> x,
                      matrix_view<T> out, const graph::aggregate_options& o) {
  using graph::aggregation;
  const index_t d = x.cols();
  std::vector<double> acc(static_cast<std::size_t>(d));
  for (index_t i = 0; i < g.rows(); ++i) {
    const index_t b = g.offsets()[i], e = g.offsets()[i + 1];
    T* y = out.row(i);
    if (o.kind == aggregation::max) {
      for (index_t c = 0; c < d; ++c) {
        const index_t p = graph::detail::max_position(g, x, i, c, o.weighted);
        y[c] = p < 0 ? T(0) : (o.weighted ? g.values()[b + p] : T(1)) * x(g.indices()[b + p], c);
      }
      continue;
    }
    std::fill(acc.begin(), acc.end(), 0.0);
    const double si = o.kind == aggregation::gcn ? graph::detail::gcn_scale(g, i, o.weighted) : 1.0;
    if (o.kind == aggregation::gcn) {
      for (index_t c = 0; c < d; ++c) acc[c] = si * static_cast<double>(x(i, c));
    }
    for (index_t p = b; p < e; ++p) {
      const auto j = static_cast<index_t>(g.indices()[p]);
      double w = o.weighted ? static_cast<double>(g.values()[p]) : 1.0;
      if (o.kind == aggregation::gcn) w *= graph::detail::gcn_scale(g, j, o.weighted);
      const T* xj = x.row(j);
      for (index_t c = 0; c < d; ++c) acc[c] += w * static_cast<double>(xj[c]);
    }
    double scale = si;
    if (o.kind == aggregation::mean) scale = graph::detail::mean_scale(g, i, o.weighted);
    for (index_t c = 0; c < d; ++c) y[c] = static_cast<T>(acc[c] * scale);
  }
}

// grad_x = d L / d x given grad_out = d L / d out (grad_x overwritten).
template <class T, class Index>
void aggregate_backward_kernel(const policy&, const csr_view<T, Index>& g, matrix_view<const T> x,
                               matrix_view<const T> grad_out, matrix_view<T> grad_x,
                               const graph::aggregate_options& o) {
  using graph::aggregation;
  const index_t d = x.cols();
  std::vector<double> acc(static_cast<std::size_t>(x.rows() * d), 0.0);
  for (index_t i = 0; i < g.rows(); ++i) {
    const index_t b = g.offsets()[i], e = g.offsets()[i + 1];
    const T* go = grad_out.row(i);
    if (o.kind == aggregation::max) {
      for (index_t c = 0; c < d; ++c) {
        const index_t p = graph::detail::max_position(g, x, i, c, o.weighted);
        if (p < 0) continue;
        const double w = o.weighted ? static_cast<double>(g.values()[b + p]) : 1.0;
        acc[static_cast<std::size_t>(g.indices()[b + p] * d + c)] += w * static_cast<double>(go[c]);
      }
      continue;
    }
    double si = 1.0;
    if (o.kind == aggregation::mean) si = graph::detail::mean_scale(g, i, o.weighted);
    if (o.kind == aggregation::gcn) {
      si = graph::detail::gcn_scale(g, i, o.weighted);
      for (index_t c = 0; c < d; ++c) acc[static_cast<std::size_t>(i * d + c)] += si * si * go[c];
    }
    for (index_t p = b; p < e; ++p) {
      const auto j = static_cast<index_t>(g.indices()[p]);
      double w = (o.weighted ? static_cast<double>(g.values()[p]) : 1.0) * si;
      if (o.kind == aggregation::gcn) w *= graph::detail::gcn_scale(g, j, o.weighted);
      for (index_t c = 0; c < d; ++c) {
        acc[static_cast<std::size_t>(j * d + c)] += w * static_cast<double>(go[c]);
      }
    }
  }
  for (index_t j = 0; j < x.rows(); ++j) {
    for (index_t c = 0; c < d; ++c)
      grad_x(j, c) = static_cast<T>(acc[static_cast<std::size_t>(j * d + c)]);
  }
}

}  // namespace recfuse::reference_backend
