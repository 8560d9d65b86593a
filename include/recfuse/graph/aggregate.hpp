// recfuse: neighbour aggregation over a graph, and its backward pass.
//
//   recfuse::graph::aggregate(cpu, g.view(), x, out, {recfuse::graph::aggregation::mean});
//   recfuse::graph::aggregate_backward(cpu, g.view(), x, grad_out, grad_x, options);
//
// graph: a CSR matrix (recfuse/graph/builders.hpp); row i lists the neighbours j of node i and
// the edge weights w_ij. x: graph.cols() x d node features; out: graph.rows() x d. With
// w_ij = 1 unless options.weighted:
//   sum:  out_i = sum_j w_ij x_j
//   mean: out_i = sum_j w_ij x_j / sum_j w_ij           (unweighted: divided by the degree)
//   max:  out_i = elementwise max_j of w_ij x_j
//   gcn:  out_i = sum_{j in N(i) + {i}} w_ij x_j / sqrt(d_i d_j), w_ii = 1 for the added loop,
//         d_i = 1 + sum_j w_ij (unweighted: 1 + degree), with d_j taken from j's OWN row; for a
//         symmetric graph this is Kipf & Welling's D^-1/2 (A + I) D^-1/2 x. gcn needs a square
//         graph.
// - Isolated nodes (empty rows): sum, mean and max give 0 (PyTorch Geometric's convention); gcn
//   gives x_i (d_i = 1). A weighted mean whose weights sum to exactly 0 also gives 0.
// - The graph is a multigraph: a repeated edge counts once per entry; an explicit self loop is an
//   ordinary edge (gcn adds its own loop on top).
// - NaN or infinity in x propagates (max: a NaN among the neighbours gives NaN). With
//   options.weighted, a NaN or infinite weight is a value_error for mean and gcn (the normaliser
//   would be NaN), and so is a gcn row with 1 + sum of weights <= 0; negative weights are otherwise
//   allowed; sum and max use the weights as given.
// - out must not overlap x.
//
// aggregate_backward: grad_x = d L / d x given grad_out = d L / d out (grad_x, shaped like x, is
// overwritten). sum, mean and gcn scatter grad_out through the transposed weights; max routes
// each output gradient (times w_ij when weighted) to the first neighbour in the row that attains
// the maximum (the first NaN when there is one); isolated nodes pass nothing back.
//
// Errors (messages start with the function's name): x.rows() != graph.cols(), out or grad shaped
// wrong, a non-square graph for gcn (shape_error); offsets that do not start at 0 or decrease,
// column ids outside [0, graph.cols()) (index_error); bad weights as above (value_error).
//
// Backends: the reference accumulates in double. xsimd accumulates in T over rows split by
// edge count across threads, vectorised over the features; its backward scatters with each
// thread owning a range of destination rows. Results differ from the reference by rounding
// only, and never depend on the thread count. Thrust gathers in double in the reference's order
// (the backward over the transposed graph): the reference's results on the CPU systems. Kokkos
// gathers the same way on any execution space (graph::detail::aggregate_gather and
// aggregate_backward_gather; its transpose is built with atomics, then sorted): the reference's
// results, the same bits whatever the space's thread count.
//
// Device data: with the Thrust CUDA policy (or a Kokkos device space) the graph and the matrices
// are device views (csr_view<T, Index, device_memory>, matrix_view<T, device_memory>). Only shapes
// are checked then (and null offsets): the offsets, column ids and weights in device memory are not
// validated, so bad offsets or ids, null weights or non-finite mean/gcn weights are the caller's
// to rule out.
#pragma once

#include <cmath>
#include <type_traits>

#include "recfuse/core/errors.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/reference/graph/aggregate.hpp"

namespace recfuse::graph {
namespace detail {

inline const char* aggregation_name(aggregation a) {
  switch (a) {
    case aggregation::sum:
      return "sum";
    case aggregation::mean:
      return "mean";
    case aggregation::max:
      return "max";
    case aggregation::gcn:
      return "gcn";
  }
  return "unknown";
}

// Host graphs: non-null weights when weighted, finite ones for mean and gcn, 1 + sum > 0 for gcn.
template <class T, class Index>
void check_aggregate_weights(const char* fn, const csr_view<T, Index>& g,
                             const aggregate_options& o) {
  using recfuse::detail::throw_error;
  const index_t nnz = g.nnz();
  if (o.weighted && nnz > 0 && g.values() == nullptr) {
    throw_error<value_error>(fn, "weighted aggregation over a graph with ", nnz,
                             " edges but null values");
  }
  if (!o.weighted || (o.kind != aggregation::mean && o.kind != aggregation::gcn)) return;
  for (index_t i = 0; i < g.rows(); ++i) {
    double s = 0.0;
    for (index_t e = g.offsets()[i]; e < g.offsets()[i + 1]; ++e) {
      if (!std::isfinite(g.values()[e])) {
        throw_error<value_error>(fn, "weighted ", aggregation_name(o.kind), ": graph row ", i,
                                 " has weight ", g.values()[e], " at column ", g.indices()[e],
                                 " (need finite weights)");
      }
      s += static_cast<double>(g.values()[e]);
    }
    if (o.kind == aggregation::gcn && !(1.0 + s > 0.0)) {
      throw_error<value_error>(fn, "weighted gcn: graph row ", i,
                               " has 1 + sum of weights = ", 1.0 + s, " (need > 0)");
    }
  }
}

template <class T, class Index, class Space>
void check_aggregate_graph(const char* fn, const csr_view<T, Index, Space>& g, index_t x_rows,
                           const aggregate_options& o) {
  using recfuse::detail::throw_error;
  if constexpr (std::is_same_v<Space, host_memory>) {
    recfuse::detail::check_csr(fn, "graph", g.pattern());
  } else {
    // Device graph: shapes only (its offsets, ids and weights are not read from the host).
    if (g.rows() < 0 || g.cols() < 0) {
      throw_error<shape_error>(fn, "graph has rows = ", g.rows(), ", cols = ", g.cols());
    }
    if (g.rows() > 0 && g.offsets() == nullptr) {
      throw_error<value_error>(fn, "graph has null offsets");
    }
  }
  recfuse::detail::check_same(fn, "x.rows()", x_rows, "graph.cols()", g.cols());
  if (o.kind == aggregation::gcn && g.rows() != g.cols()) {
    throw_error<shape_error>(fn, "gcn aggregation needs a square graph, got ", g.rows(), " x ",
                             g.cols());
  }
  if constexpr (std::is_same_v<Space, host_memory>) check_aggregate_weights(fn, g, o);
}

template <class M>
void check_shape(const char* fn, const char* name, const M& m, index_t rows, index_t cols) {
  recfuse::detail::check_matrix(fn, name, m);
  if (m.rows() != rows || m.cols() != cols) {
    recfuse::detail::throw_error<shape_error>(fn, name, " is ", m.rows(), " x ", m.cols(),
                                              " but must be ", rows, " x ", cols);
  }
}

}  // namespace detail

// out = aggregation of x over graph; see the header comment.
template <class Policy, class T, class Index, class Space>
void aggregate(const Policy& policy, const csr_view<T, Index, Space>& graph,
               std::type_identity_t<matrix_view<const T, Space>> x,
               std::type_identity_t<matrix_view<T, Space>> out,
               const aggregate_options& options = {}) {
  constexpr const char* fn = "recfuse::graph::aggregate";
  static_assert(std::is_floating_point_v<T>,
                "recfuse::graph::aggregate: elements must be float or double");
  recfuse::detail::check_matrix(fn, "x", x);
  detail::check_aggregate_graph(fn, graph, x.rows(), options);
  detail::check_shape(fn, "out", out, graph.rows(), x.cols());
  if (graph.rows() == 0 || x.cols() == 0) return;
  if constexpr (requires { aggregate_kernel(policy, graph, x, out, options); }) {
    RECFUSE_CHECK_NATIVE(aggregate_kernel, policy, graph, x, out, options);
    aggregate_kernel(policy, graph, x, out, options);
  } else {
    RECFUSE_NO_KERNEL("recfuse::graph::aggregate", Policy);
  }
}

// grad_x = d L / d x from grad_out = d L / d out; see the header comment.
template <class Policy, class T, class Index, class Space>
void aggregate_backward(const Policy& policy, const csr_view<T, Index, Space>& graph,
                        std::type_identity_t<matrix_view<const T, Space>> x,
                        std::type_identity_t<matrix_view<const T, Space>> grad_out,
                        std::type_identity_t<matrix_view<T, Space>> grad_x,
                        const aggregate_options& options = {}) {
  constexpr const char* fn = "recfuse::graph::aggregate_backward";
  static_assert(std::is_floating_point_v<T>,
                "recfuse::graph::aggregate_backward: elements must be float or double");
  recfuse::detail::check_matrix(fn, "x", x);
  detail::check_aggregate_graph(fn, graph, x.rows(), options);
  detail::check_shape(fn, "grad_out", grad_out, graph.rows(), x.cols());
  detail::check_shape(fn, "grad_x", grad_x, x.rows(), x.cols());
  if (x.rows() == 0 || x.cols() == 0) return;
  if constexpr (requires {
                  aggregate_backward_kernel(policy, graph, x, grad_out, grad_x, options);
                }) {
    RECFUSE_CHECK_NATIVE(aggregate_backward_kernel, policy, graph, x, grad_out, grad_x, options);
    aggregate_backward_kernel(policy, graph, x, grad_out, grad_x, options);
  } else {
    RECFUSE_NO_KERNEL("recfuse::graph::aggregate_backward", Policy);
  }
}

}  // namespace recfuse::graph
