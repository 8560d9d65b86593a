// recfuse Thrust backend: the kernel of the graph builders (recfuse/graph/builders.hpp).
//
// - similarity_graph_kernel (cooccurrence_graph, attribute_graph): the rows in chunks of up to
//   256 (fewer for large graphs: 64 MiB of counters, but at least 8); a chunk's rows run in
//   parallel, one thrust::for_each item per row, each with its own slot of scratch (a dense counter
//   over the nodes, left all zero by every row, and the row's output) and the reference's row
//   routine (graph::detail::similarity_rows); the slots are then appended in row order, so the
//   graph is the reference's bit for bit.
// The builders take and return host objects (the bipartite structure, csr_matrix), and their
// work per row is a sparse accumulation into a dense counter the size of the graph: the kernel is
// host code. On the host systems (cpp, omp, tbb) it runs on the policy's system; with the CUDA
// policy it runs on the host with thrust::cpp (sequentially), and the graph stays in host memory.
// Its functor therefore is host-only (it calls the reference's std::vector-based row routine).
// knn_graph runs on the normalize_rows and topk_inner_product kernels, included here.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/system/cpp/execution_policy.h>

#include "recfuse/graph/builders.hpp"
#include "recfuse/reference/graph/builders.hpp"
#include "recfuse/thrust/policy.hpp"
#include "recfuse/thrust/scale/normalize.hpp"
#include "recfuse/thrust/select/topk.hpp"

namespace recfuse::thrust_backend {
namespace detail {

// Scratch of one row in flight: its counter (b.nodes zeros between rows) and its output.
template <class T>
struct similarity_slot {
  std::vector<std::int32_t> counter, touched;
  std::vector<std::pair<T, std::int32_t>> row;
  std::vector<index_t> sizes;
  std::vector<std::int32_t> indices;
  std::vector<T> values;
};

// Item k: row first + k into slot k. Host only.
template <class T>
struct similarity_row {
  const graph::detail::bipartite* b;
  const graph::detail::similarity_params* params;
  similarity_slot<T>* slots;
  index_t first;

  void operator()(index_t k) const {
    auto& s = slots[k];
    s.sizes.clear();
    s.indices.clear();
    s.values.clear();
    graph::detail::similarity_rows<T>(*b, *params, first + k, first + k + 1, s.counter, s.touched,
                                      s.row, s.sizes, s.indices, s.values);
  }
};

// Rows in flight at once: up to 256, as many as 64 MiB of counters allow, at least 8.
inline index_t similarity_slots(index_t nodes) {
  constexpr index_t budget = index_t{64} << 20;
  const index_t per_slot = std::max<index_t>(1, nodes) * static_cast<index_t>(sizeof(std::int32_t));
  return std::min(nodes, std::clamp<index_t>(budget / per_slot, 8, 256));
}

// The similarity graph computed with the host execution policy `exec`.
template <class T, class HostExec>
csr_matrix<T> similarity_graph_on(const HostExec& exec, const graph::detail::bipartite& b,
                                  const graph::detail::similarity_params& params) {
  csr_matrix<T> m;
  m.rows = m.cols = b.nodes;
  m.offsets.assign(static_cast<std::size_t>(b.nodes + 1), 0);
  const index_t slots = similarity_slots(b.nodes);
  std::vector<similarity_slot<T>> scratch(static_cast<std::size_t>(slots));
  for (auto& s : scratch) s.counter.assign(static_cast<std::size_t>(b.nodes), 0);
  for (index_t first = 0; first < b.nodes; first += slots) {
    const index_t count = std::min(slots, b.nodes - first);
    ::thrust::for_each(exec, ::thrust::counting_iterator<index_t>(0),
                       ::thrust::counting_iterator<index_t>(count),
                       similarity_row<T>{&b, &params, scratch.data(), first});
    for (index_t k = 0; k < count; ++k) {
      const auto& s = scratch[static_cast<std::size_t>(k)];
      m.offsets[first + k + 1] = m.offsets[first + k] + s.sizes[0];
      m.indices.insert(m.indices.end(), s.indices.begin(), s.indices.end());
      m.values.insert(m.values.end(), s.values.begin(), s.values.end());
    }
  }
  return m;
}

}  // namespace detail

template <class System, class T>
csr_matrix<T> similarity_graph_kernel(const policy<System>& p, const graph::detail::bipartite& b,
                                      const graph::detail::similarity_params& params,
                                      std::type_identity<T>) {
  if constexpr (std::is_same_v<memory_space_of<System>, host_memory>) {
    return detail::similarity_graph_on<T>(p.thrust_policy(), b, params);
  } else {
    (void)p;  // a device system: the builder runs on the host
    return detail::similarity_graph_on<T>(::thrust::cpp::par, b, params);
  }
}

}  // namespace recfuse::thrust_backend
