// recfuse xsimd backend: the kernel of the graph builders (recfuse/graph/builders.hpp).
//
// - similarity_graph_kernel (cooccurrence_graph, attribute_graph): rows split by their work (the
//   sum of the sizes of the groups they belong to) into more chunks than threads, scheduled
//   dynamically; each thread has its own dense counter array, each chunk its own output,
//   concatenated in chunk order, so the graph is the reference's bit for bit.
// knn_graph runs on the xsimd normalize_rows and topk_inner_product kernels, included here.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#include "recfuse/graph/builders.hpp"
#include "recfuse/reference/graph/builders.hpp"
#include "recfuse/xsimd/graph/detail/partition.hpp"
#include "recfuse/xsimd/policy.hpp"
#include "recfuse/xsimd/scale/normalize.hpp"
#include "recfuse/xsimd/select/topk.hpp"

namespace recfuse::xsimd_backend {

template <class T>
csr_matrix<T> similarity_graph_kernel(const policy& p, const graph::detail::bipartite& b,
                                      const graph::detail::similarity_params& params,
                                      std::type_identity<T>) {
  // Work of row i: the sizes of its groups summed; prefix sums over rows.
  std::vector<index_t> work(static_cast<std::size_t>(b.nodes + 1), 0);
  for (index_t i = 0; i < b.nodes; ++i) {
    index_t w = 1;
    for (index_t e = b.node_offsets[i]; e < b.node_offsets[i + 1]; ++e) {
      const auto g = b.node_groups[e];
      w += b.group_offsets[g + 1] - b.group_offsets[g];
    }
    work[i + 1] = work[i] + w;
  }
  const int chunks = detail::graph_chunks(p, work[b.nodes]);
  const auto bounds =
      detail::graph_balanced_bounds(b.nodes, chunks, [&](index_t i) { return work[i]; });
  struct part {
    std::vector<index_t> sizes;
    std::vector<std::int32_t> indices;
    std::vector<T> values;
  };
  std::vector<part> parts(static_cast<std::size_t>(chunks));
  // One counter array per concurrently running chunk (not per chunk): each row leaves it all
  // zero again. Chunks take a scratch from a pool rather than indexing by omp_get_thread_num(),
  // which inside a caller's own parallel region is the caller's thread number, unrelated to
  // this call's thread count.
  struct scratch {
    std::vector<std::int32_t> counter, touched;
    std::vector<std::pair<T, std::int32_t>> row;
  };
  std::vector<std::unique_ptr<scratch>> pool;
  std::mutex pool_lock;
  detail::graph_for_bounds(p, bounds, [&](index_t c, index_t begin, index_t end) {
    if (begin == end) return;
    std::unique_ptr<scratch> sc;
    {
      const std::lock_guard<std::mutex> hold(pool_lock);
      if (!pool.empty()) {
        sc = std::move(pool.back());
        pool.pop_back();
      }
    }
    if (!sc) sc = std::make_unique<scratch>();
    if (sc->counter.empty()) sc->counter.assign(static_cast<std::size_t>(b.nodes), 0);
    auto& out = parts[c];
    graph::detail::similarity_rows<T>(b, params, begin, end, sc->counter, sc->touched, sc->row,
                                      out.sizes, out.indices, out.values);
    const std::lock_guard<std::mutex> hold(pool_lock);
    pool.push_back(std::move(sc));
  });
  csr_matrix<T> m;
  m.rows = m.cols = b.nodes;
  m.offsets.assign(static_cast<std::size_t>(b.nodes + 1), 0);
  index_t nnz = 0, i = 0;
  for (const auto& pt : parts) nnz += static_cast<index_t>(pt.indices.size());
  m.indices.reserve(static_cast<std::size_t>(nnz));
  m.values.reserve(static_cast<std::size_t>(nnz));
  for (const auto& pt : parts) {
    for (const index_t s : pt.sizes) {
      m.offsets[i + 1] = m.offsets[i] + s;
      ++i;
    }
    m.indices.insert(m.indices.end(), pt.indices.begin(), pt.indices.end());
    m.values.insert(m.values.end(), pt.values.begin(), pt.values.end());
  }
  return m;
}

}  // namespace recfuse::xsimd_backend
