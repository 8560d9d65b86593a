// recfuse reference backend: the kernels of neighbour aggregation and its backward pass
// (recfuse/graph/aggregate.hpp). Serial, double accumulation: the test oracle.
//
// The aggregation option types are declared here, beside the kernels that read them; they are
// documented with the public functions in recfuse/graph/aggregate.hpp.
#pragma once

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

// Per-row normaliser of an aggregation: mean -> 1 / sum of weights (0 for an empty row or a
// zero sum), gcn -> 1 / sqrt(1 + sum of weights). Computed in double.
template <class T, class Index>
double row_weight_sum(const csr_view<T, Index>& g, index_t i, bool weighted) {
  if (!weighted) return static_cast<double>(g.row_size(i));
  double s = 0.0;
  for (index_t e = g.offsets()[i]; e < g.offsets()[i + 1]; ++e)
    s += static_cast<double>(g.values()[e]);
  return s;
}

template <class T, class Index>
double mean_scale(const csr_view<T, Index>& g, index_t i, bool weighted) {
  const double s = row_weight_sum(g, i, weighted);
  return s == 0.0 ? 0.0 : 1.0 / s;
}

template <class T, class Index>
double gcn_scale(const csr_view<T, Index>& g, index_t i, bool weighted) {
  return 1.0 / std::sqrt(1.0 + row_weight_sum(g, i, weighted));
}

// The position (offset into the row's entries) of the first neighbour attaining the maximum of
// w * x_j(c) (NaN: the first NaN), or -1 for an empty row.
template <class T, class Index>
index_t max_position(const csr_view<T, Index>& g, matrix_view<const T> x, index_t i, index_t c,
                     bool weighted) {
  const index_t b = g.offsets()[i], e = g.offsets()[i + 1];
  if (b == e) return -1;
  index_t best = b;
  T m = (weighted ? g.values()[b] : T(1)) * x(g.indices()[b], c);
  for (index_t p = b + 1; p < e && !std::isnan(m); ++p) {
    const T v = (weighted ? g.values()[p] : T(1)) * x(g.indices()[p], c);
    if (v > m || std::isnan(v)) {
      m = v;
      best = p;
    }
  }
  return best - b;
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
