// recfuse reference backend: the kernel of the graph builders (recfuse/graph/builders.hpp):
// similarity graphs from a bipartite structure (items and users, or items and attributes).
// Serial, double accumulation: the test oracle.
//
// The builders' option types are declared here, beside the kernel that reads them; they are
// documented with the public functions in recfuse/graph/builders.hpp.
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

enum class edge_weight { count, cosine, jaccard };

struct cooccurrence_options {
  index_t neighbors = 50;  // top-m per item by weight; 0 keeps all
  edge_weight weight = edge_weight::cosine;
  index_t min_count = 1;  // pairs with fewer common users are dropped
};

struct attribute_options {
  index_t neighbors = 0;  // top-m per item by weight; 0 keeps all
  edge_weight weight = edge_weight::count;
};

namespace detail {

// A bipartite structure with duplicates removed: node i belongs to the groups
// node_groups[node_offsets[i] .. node_offsets[i + 1]) (sorted, distinct), and group g holds the
// nodes group_nodes[group_offsets[g] .. group_offsets[g + 1]) (sorted, distinct). For
// co-occurrence the nodes are items and the groups users; for attributes the groups are the
// attributes.
struct bipartite {
  index_t nodes = 0;
  index_t groups = 0;
  std::vector<index_t> node_offsets{0};
  std::vector<std::int32_t> node_groups;
  std::vector<index_t> group_offsets{0};
  std::vector<std::int32_t> group_nodes;
};

// Fills the group side from the node side (a stable counting sort keeps group lists sorted).
inline void finish_bipartite(bipartite& b) {
  b.group_offsets.assign(static_cast<std::size_t>(b.groups + 1), 0);
  for (const auto g : b.node_groups) ++b.group_offsets[static_cast<std::size_t>(g) + 1];
  for (index_t g = 0; g < b.groups; ++g) b.group_offsets[g + 1] += b.group_offsets[g];
  std::vector<index_t> next(b.group_offsets.begin(), b.group_offsets.end() - 1);
  b.group_nodes.resize(b.node_groups.size());
  for (index_t i = 0; i < b.nodes; ++i) {
    for (index_t e = b.node_offsets[i]; e < b.node_offsets[i + 1]; ++e) {
      b.group_nodes[next[static_cast<std::size_t>(b.node_groups[e])]++] =
          static_cast<std::int32_t>(i);
    }
  }
}

// Builds the node side from rows of (possibly repeated, unsorted) group ids given by
// group_of(i) -> [begin, end) pointers.
template <class RowOf>
bipartite make_bipartite(index_t nodes, index_t groups, RowOf row_of) {
  bipartite b;
  b.nodes = nodes;
  b.groups = groups;
  b.node_offsets.assign(static_cast<std::size_t>(nodes + 1), 0);
  for (index_t i = 0; i < nodes; ++i) {
    const auto [first, last] = row_of(i);
    const auto begin = b.node_groups.size();
    for (auto p = first; p != last; ++p) b.node_groups.push_back(static_cast<std::int32_t>(*p));
    std::sort(b.node_groups.begin() + static_cast<std::ptrdiff_t>(begin), b.node_groups.end());
    b.node_groups.erase(std::unique(b.node_groups.begin() + static_cast<std::ptrdiff_t>(begin),
                                    b.node_groups.end()),
                        b.node_groups.end());
    b.node_offsets[i + 1] = static_cast<index_t>(b.node_groups.size());
  }
  finish_bipartite(b);
  return b;
}

// Items x users from COO interactions (ids already checked).
template <class T>
bipartite bipartite_from_interactions(const interactions_view<T>& d) {
  // items x users CSR by a counting sort, then per-row dedup.
  std::vector<index_t> off(static_cast<std::size_t>(d.items + 1), 0);
  for (index_t e = 0; e < d.size(); ++e) ++off[static_cast<std::size_t>(d.item[e]) + 1];
  for (index_t i = 0; i < d.items; ++i) off[i + 1] += off[i];
  std::vector<index_t> next(off.begin(), off.end() - 1);
  std::vector<std::int32_t> users(static_cast<std::size_t>(d.size()));
  for (index_t e = 0; e < d.size(); ++e)
    users[next[static_cast<std::size_t>(d.item[e])]++] = d.user[e];
  return make_bipartite(d.items, d.users, [&](index_t i) {
    return std::pair{users.data() + off[i], users.data() + off[i + 1]};
  });
}

// Items x attributes from a checked CSR pattern.
template <class Index>
bipartite bipartite_from_pattern(const csr_pattern_view<Index>& p) {
  return make_bipartite(p.rows(), p.cols(), [&](index_t i) {
    return std::pair{p.row_begin(i), p.row_end(i)};
  });
}

struct similarity_params {
  edge_weight weight = edge_weight::count;
  index_t min_count = 1;
  index_t neighbors = 0;
};

// The rows [begin, end) of the similarity graph, appended to sizes / indices / values.
// `counter` has b.nodes zeros and is left all zero; `touched` and `row` are scratch.
template <class T>
void similarity_rows(const bipartite& b, const similarity_params& params, index_t begin,
                     index_t end, std::vector<std::int32_t>& counter,
                     std::vector<std::int32_t>& touched,
                     std::vector<std::pair<T, std::int32_t>>& row, std::vector<index_t>& sizes,
                     std::vector<std::int32_t>& indices, std::vector<T>& values) {
  const index_t min_count = std::max<index_t>(1, params.min_count);
  for (index_t i = begin; i < end; ++i) {
    touched.clear();
    for (index_t e = b.node_offsets[i]; e < b.node_offsets[i + 1]; ++e) {
      const auto g = static_cast<index_t>(b.node_groups[e]);
      for (index_t f = b.group_offsets[g]; f < b.group_offsets[g + 1]; ++f) {
        const auto j = b.group_nodes[f];
        if (j == i) continue;
        if (counter[j]++ == 0) touched.push_back(j);
      }
    }
    row.clear();
    const auto ni = static_cast<double>(b.node_offsets[i + 1] - b.node_offsets[i]);
    for (const auto j : touched) {
      const index_t c = counter[j];  // common groups: at most groups <= INT32_MAX
      counter[j] = 0;
      if (c < min_count) continue;
      const auto nj = static_cast<double>(b.node_offsets[j + 1] - b.node_offsets[j]);
      const auto cd = static_cast<double>(c);
      double w = cd;
      if (params.weight == edge_weight::cosine) w = cd / std::sqrt(ni * nj);
      if (params.weight == edge_weight::jaccard) w = cd / (ni + nj - cd);
      row.emplace_back(static_cast<T>(w), j);
    }
    auto better = [](const auto& a, const auto& b2) {
      return a.first > b2.first || (a.first == b2.first && a.second < b2.second);
    };
    auto keep = static_cast<index_t>(row.size());
    if (params.neighbors > 0 && params.neighbors < keep) {
      keep = params.neighbors;
      std::partial_sort(row.begin(), row.begin() + keep, row.end(), better);
    } else {
      std::sort(row.begin(), row.end(), better);
    }
    for (index_t r = 0; r < keep; ++r) {
      indices.push_back(row[r].second);
      values.push_back(row[r].first);
    }
    sizes.push_back(keep);
  }
}

}  // namespace detail
}  // namespace recfuse::graph

namespace recfuse::reference_backend {

template <class T>
csr_matrix<T> similarity_graph_kernel(const policy&, const graph::detail::bipartite& b,
                                      const graph::detail::similarity_params& params,
                                      std::type_identity<T>) {
  csr_matrix<T> m;
  m.rows = m.cols = b.nodes;
  std::vector<std::int32_t> counter(static_cast<std::size_t>(b.nodes), 0);
  std::vector<index_t> sizes;
  std::vector<std::int32_t> touched;
  std::vector<std::pair<T, std::int32_t>> row;
  graph::detail::similarity_rows<T>(b, params, 0, b.nodes, counter, touched, row, sizes, m.indices,
                                    m.values);
  m.offsets.assign(static_cast<std::size_t>(b.nodes + 1), 0);
  for (index_t i = 0; i < b.nodes; ++i) m.offsets[i + 1] = m.offsets[i] + sizes[i];
  return m;
}

}  // namespace recfuse::reference_backend
