// recfuse Kokkos backend: the kernel of the graph builders (recfuse/graph/builders.hpp).
//
// - similarity_graph_kernel (cooccurrence_graph, attribute_graph): the rows are split by their
//   work (the sizes of the groups they belong to, summed by a Kokkos::parallel_scan) into chunks,
//   8 per slot of scratch; a Kokkos::parallel_for over the slots runs slot s on chunks s, s + S,
//   s + 2S, ..., each row by the reference's row routine (graph::detail::similarity_rows) with the
//   slot's own dense counter over the nodes (left all zero by every row), each chunk into its own
//   output. The chunks are then appended in row order, so the graph is the reference's bit for
//   bit whatever the thread count. Scratch belongs to a work item, not to a thread id, so a call
//   from inside the caller's own parallel region is safe. Slots: the space's concurrency, fewer
//   when their counters would pass 64 MiB (at least one).
// The builders take and return host objects (the bipartite structure, csr_matrix), and their
// work per row is a sparse accumulation into a dense counter the size of the graph: the kernel is
// host code (its functors use std::vector). On host spaces (Serial, OpenMP, Threads) it runs on
// the policy's instance; with a device space (Cuda, HIP, SYCL) it runs on the host, on
// Kokkos::DefaultHostExecutionSpace, and the graph stays in host memory, as on every backend.
// knn_graph runs on the normalize_rows and topk_inner_product kernels, included here.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include <Kokkos_Core.hpp>

#include "recfuse/graph/builders.hpp"
#include "recfuse/kokkos/policy.hpp"
#include "recfuse/kokkos/scale/normalize.hpp"
#include "recfuse/kokkos/select/topk.hpp"
#include "recfuse/reference/graph/builders.hpp"

namespace recfuse::kokkos_backend {
namespace detail {

// A slot's scratch: its counter (b.nodes zeros between rows), the touched list and the row.
template <class T>
struct similarity_scratch {
  std::vector<std::int32_t> counter, touched;
  std::vector<std::pair<T, std::int32_t>> row;
};

// A chunk's rows of the graph.
template <class T>
struct similarity_part {
  std::vector<index_t> sizes;
  std::vector<std::int32_t> indices;
  std::vector<T> values;
};

// The similarity graph computed on the host execution space instance `exec`.
template <class T, class HostSpace>
csr_matrix<T> similarity_graph_on(const HostSpace& exec, const graph::detail::bipartite& b,
                                  const graph::detail::similarity_params& params) {
  using range = Kokkos::RangePolicy<HostSpace, Kokkos::IndexType<index_t>>;
  const index_t n = b.nodes;
  csr_matrix<T> m;
  m.rows = m.cols = n;
  m.offsets.assign(static_cast<std::size_t>(n + 1), 0);
  if (n == 0) return m;
  // work[i + 1] - work[i]: 1 + the sizes of row i's groups.
  std::vector<index_t> work(static_cast<std::size_t>(n + 1), 0);
  Kokkos::parallel_scan("recfuse::similarity_graph_kernel::work", range(exec, 0, n),
                        [&](index_t i, index_t& sum, bool final) {
                          index_t w = 1;
                          for (index_t e = b.node_offsets[i]; e < b.node_offsets[i + 1]; ++e) {
                            const auto g = static_cast<index_t>(b.node_groups[e]);
                            w += b.group_offsets[g + 1] - b.group_offsets[g];
                          }
                          sum += w;
                          if (final) work[static_cast<std::size_t>(i + 1)] = sum;
                        });
  constexpr index_t budget = index_t{64} << 20;  // bytes of counters
  const index_t counter_bytes = n * static_cast<index_t>(sizeof(std::int32_t));
  const index_t slots =
      std::clamp<index_t>(std::min<index_t>(exec.concurrency(), budget / counter_bytes), 1, n);
  const index_t chunks = std::min<index_t>(n, 8 * slots);
  // Chunk c: rows [bounds[c], bounds[c + 1]), about total / chunks work each.
  std::vector<index_t> bounds(static_cast<std::size_t>(chunks + 1), n);
  bounds[0] = 0;
  const index_t total = work[static_cast<std::size_t>(n)];
  for (index_t c = 1; c < chunks; ++c) {
    const index_t target = static_cast<index_t>(
        static_cast<double>(total) * static_cast<double>(c) / static_cast<double>(chunks));
    bounds[static_cast<std::size_t>(c)] = static_cast<index_t>(
        std::lower_bound(work.begin() + 1, work.end(), target) - (work.begin() + 1));
  }
  std::vector<similarity_scratch<T>> scratch(static_cast<std::size_t>(slots));
  for (auto& s : scratch) s.counter.assign(static_cast<std::size_t>(n), 0);
  std::vector<similarity_part<T>> parts(static_cast<std::size_t>(chunks));
  Kokkos::parallel_for("recfuse::similarity_graph_kernel", range(exec, 0, slots), [&](index_t s) {
    auto& sc = scratch[static_cast<std::size_t>(s)];
    for (index_t c = s; c < chunks; c += slots) {
      auto& out = parts[static_cast<std::size_t>(c)];
      graph::detail::similarity_rows<T>(b, params, bounds[static_cast<std::size_t>(c)],
                                        bounds[static_cast<std::size_t>(c + 1)], sc.counter,
                                        sc.touched, sc.row, out.sizes, out.indices, out.values);
    }
  });
  exec.fence();
  index_t nnz = 0, i = 0;
  for (const auto& pt : parts) nnz += static_cast<index_t>(pt.indices.size());
  m.indices.reserve(static_cast<std::size_t>(nnz));
  m.values.reserve(static_cast<std::size_t>(nnz));
  for (const auto& pt : parts) {
    for (const index_t size : pt.sizes) {
      m.offsets[static_cast<std::size_t>(i + 1)] = m.offsets[static_cast<std::size_t>(i)] + size;
      ++i;
    }
    m.indices.insert(m.indices.end(), pt.indices.begin(), pt.indices.end());
    m.values.insert(m.values.end(), pt.values.begin(), pt.values.end());
  }
  return m;
}

}  // namespace detail

template <class ExecSpace, class T>
csr_matrix<T> similarity_graph_kernel(const policy<ExecSpace>& p, const graph::detail::bipartite& b,
                                      const graph::detail::similarity_params& params,
                                      std::type_identity<T>) {
  if constexpr (std::is_same_v<typename policy<ExecSpace>::memory_space, host_memory>) {
    return detail::similarity_graph_on<T>(p.instance, b, params);
  } else {
    (void)p;  // a device space: the builder runs on the host
    return detail::similarity_graph_on<T>(Kokkos::DefaultHostExecutionSpace{}, b, params);
  }
}

}  // namespace recfuse::kokkos_backend
