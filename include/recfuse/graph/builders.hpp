// recfuse: graphs over items, as CSR matrices for neighbour aggregation.
//
//   auto g = recfuse::graph::cooccurrence_graph(cpu, data.view());            // items x items
//   auto a = recfuse::graph::attribute_graph<float>(cpu, genres.pattern());  // item-genre-item
//   auto k = recfuse::graph::knn_graph(cpu, item_factors, 20);               // cosine kNN
//
// A graph is a square csr_matrix<T> (rows == cols == nodes). Row i lists the neighbours j whose
// features node i aggregates (recfuse/graph/aggregate.hpp), with the edge weights w_ij in values.
//
// cooccurrence_graph: items i != j co-occur when some user interacted with both. Values are
// ignored and a duplicate (user, item) pair counts once. With count = the number of users common
// to i and j and n_i = the number of distinct users of item i, the weight is
//   count:   count
//   cosine:  count / sqrt(n_i n_j)
//   jaccard: count / (n_i + n_j - count)
// Pairs with count < min_count are dropped (min_count <= 1 keeps every co-occurring pair). Each
// row keeps its `neighbors` largest weights (0 keeps all); rows are sorted by weight descending,
// equal weights by smaller index, and weights are compared after rounding to T. No self loops.
// The graph is symmetric when neighbors == 0. Cost: the sum over users of (their distinct
// items)^2, with one dense counter array of `items` entries per thread.
//
// attribute_graph: items i != j are linked when they share at least one attribute (a column of
// the items x attributes pattern, e.g. genres); count = the number of shared attributes, n_i =
// the number of distinct attributes of item i; weights, top-m and order as above (repeated ids
// in a row count once).
//
// knn_graph: the k nearest neighbours of each row of `embeddings` (nodes x dims) by inner
// product, or by cosine similarity (rows L2-normalised first, recfuse::normalize_rows) when
// cosine is true, found by recfuse::topk_inner_product with each node excluded from its own
// list. Weights are the similarities; rows are sorted by weight descending, ties by smaller
// index. k larger than nodes - 1 is clamped; a node whose similarities are NaN (a NaN
// embedding) gets fewer neighbours. Not symmetric in general.
//
// Errors (messages start with the function's name): an id outside its range or CSR offsets that
// do not start at 0 or decrease (index_error); negative neighbors, min_count or k (value_error);
// more than 2^31 - 1 nodes (shape_error).
//
// Backends: the xsimd builders split the rows over threads, the Thrust ones run rows in parallel
// on the CPU systems and on the host (sequentially) under the CUDA policy, the Kokkos ones run
// chunks of rows in parallel on a host space and on Kokkos::DefaultHostExecutionSpace under a
// device space: the builders take and return host objects on every backend. Every backend returns
// the same graph as the reference (bit for bit for the co-occurrence and attribute graphs;
// knn_graph follows recfuse::topk_inner_product's contract).
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "recfuse/core/adapt.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/sparse.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/reference/graph/builders.hpp"
#include "recfuse/scale/normalize.hpp"
#include "recfuse/select/topk.hpp"

namespace recfuse::graph {
namespace detail {

template <class Policy, class T>
csr_matrix<T> run_similarity(const char* fn, const Policy& policy, const bipartite& b,
                             const similarity_params& params) {
  if constexpr (requires { similarity_graph_kernel(policy, b, params, std::type_identity<T>{}); }) {
    RECFUSE_CHECK_NATIVE(similarity_graph_kernel, policy, b, params, std::type_identity<T>{});
    return similarity_graph_kernel(policy, b, params, std::type_identity<T>{});
  } else {
    (void)fn;
    RECFUSE_NO_KERNEL("recfuse::graph builders", Policy);
  }
}

inline void check_neighbors(const char* fn, index_t neighbors) {
  if (neighbors < 0) {
    recfuse::detail::throw_error<value_error>(fn, "neighbors is ", neighbors,
                                              " (need neighbors >= 0; 0 keeps all)");
  }
}

}  // namespace detail

// Item-item co-occurrence graph (items x items) from interactions; see the header comment.
template <class Policy, class T>
csr_matrix<T> cooccurrence_graph(const Policy& policy, const interactions_view<T>& data,
                                 const cooccurrence_options& options = {}) {
  constexpr const char* fn = "recfuse::graph::cooccurrence_graph";
  static_assert(std::is_floating_point_v<T>,
                "recfuse::graph::cooccurrence_graph: values must be float or double");
  recfuse::detail::check_interactions(fn, "data", data, /*allow_non_finite=*/true);
  detail::check_neighbors(fn, options.neighbors);
  if (options.min_count < 0) {
    recfuse::detail::throw_error<value_error>(fn, "min_count is ", options.min_count,
                                              " (need min_count >= 0)");
  }
  const auto b = detail::bipartite_from_interactions(data);
  return detail::run_similarity<Policy, T>(fn, policy, b,
                                           {options.weight, options.min_count, options.neighbors});
}

// Item-attribute-item graph (items x items) from an items x attributes pattern.
template <class T, class Policy, class Index>
csr_matrix<T> attribute_graph(const Policy& policy, const csr_pattern_view<Index>& item_attributes,
                              const attribute_options& options = {}) {
  constexpr const char* fn = "recfuse::graph::attribute_graph";
  static_assert(std::is_floating_point_v<T>,
                "recfuse::graph::attribute_graph: weights must be float or double");
  recfuse::detail::check_csr(fn, "item_attributes", item_attributes);
  if (item_attributes.rows() > INT32_MAX || item_attributes.cols() > INT32_MAX) {
    recfuse::detail::throw_error<shape_error>(fn, "item_attributes is ", item_attributes.rows(),
                                              " x ", item_attributes.cols(), "; ids are 32-bit");
  }
  detail::check_neighbors(fn, options.neighbors);
  const auto b = detail::bipartite_from_pattern(item_attributes);
  return detail::run_similarity<Policy, T>(fn, policy, b, {options.weight, 1, options.neighbors});
}

// k-nearest-neighbour graph (nodes x nodes) of the rows of `embeddings`.
template <class Policy, matrix_like E>
auto knn_graph(const Policy& policy, const E& embeddings, index_t k, bool cosine = true) {
  constexpr const char* fn = "recfuse::graph::knn_graph";
  const auto x = as_const(as_matrix(embeddings));
  using T = typename decltype(x)::value_type;
  static_assert(std::is_floating_point_v<T>,
                "recfuse::graph::knn_graph: embeddings must be float or double");
  recfuse::detail::check_matrix(fn, "embeddings", x);
  if (k < 0) recfuse::detail::throw_error<value_error>(fn, "k is ", k, " (need k >= 0)");
  const index_t n = x.rows();
  if (n > INT32_MAX) {
    recfuse::detail::throw_error<shape_error>(fn, "embeddings has ", n,
                                              " rows; node ids are 32-bit");
  }
  csr_matrix<T> g;
  g.rows = g.cols = n;
  g.offsets.assign(static_cast<std::size_t>(n + 1), 0);
  const index_t kk = std::min(k, n > 0 ? n - 1 : 0);
  if (kk == 0) return g;
  std::vector<T> normalised;
  matrix_view<const T> e = x;
  if (cosine) {
    normalised.resize(static_cast<std::size_t>(n * x.cols()));
    const matrix_view<T> nv{normalised.data(), n, x.cols()};
    normalize_rows(policy, x, nv);
    e = nv;
  }
  std::vector<index_t> self_offsets(static_cast<std::size_t>(n + 1));
  std::vector<std::int32_t> self(static_cast<std::size_t>(n));
  for (index_t i = 0; i <= n; ++i) self_offsets[i] = i;
  for (index_t i = 0; i < n; ++i) self[i] = static_cast<std::int32_t>(i);
  const csr_pattern_view<std::int32_t> exclude{n, n, self_offsets.data(), self.data()};
  const auto top = topk_inner_product(policy, e, e, kk, exclude);
  g.indices.reserve(static_cast<std::size_t>(n * kk));
  g.values.reserve(static_cast<std::size_t>(n * kk));
  for (index_t i = 0; i < n; ++i) {
    for (index_t r = 0; r < kk; ++r) {
      const index_t j = top.index(i, r);
      if (j < 0) break;
      g.indices.push_back(static_cast<std::int32_t>(j));
      g.values.push_back(top.value(i, r));
    }
    g.offsets[i + 1] = static_cast<index_t>(g.indices.size());
  }
  return g;
}

}  // namespace recfuse::graph
