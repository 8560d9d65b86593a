// recfuse xsimd backend: how the graph kernels split rows over threads (graph/builders.hpp,
// graph/aggregate.hpp): chunks of about equal work on power-law graphs, scheduled dynamically.
#pragma once

#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/xsimd/detail/parallel.hpp"
#include "recfuse/xsimd/policy.hpp"

namespace recfuse::xsimd_backend::detail {

// Splits [0, n) into `chunks` pieces of about equal cost(i) = prefix(i) (non-decreasing,
// prefix(0) = 0); bounds has chunks + 1 entries.
template <class Prefix>
std::vector<index_t> graph_balanced_bounds(index_t n, int chunks, Prefix prefix) {
  std::vector<index_t> bounds(static_cast<std::size_t>(chunks) + 1, n);
  bounds[0] = 0;
  const double total = static_cast<double>(prefix(n));
  for (int c = 1; c < chunks; ++c) {
    const double target = total * c / chunks;
    index_t lo = bounds[c - 1], hi = n;
    while (lo < hi) {
      const index_t mid = lo + (hi - lo) / 2;
      if (static_cast<double>(prefix(mid)) < target)
        lo = mid + 1;
      else
        hi = mid;
    }
    bounds[c] = lo;
  }
  return bounds;
}

// Runs f(begin, end) over the chunks [bounds[c], bounds[c + 1]), dynamically scheduled.
template <class F>
void graph_for_bounds(const policy& p, const std::vector<index_t>& bounds, F&& f) {
  const auto chunks = static_cast<index_t>(bounds.size()) - 1;
  for_each_index(p, chunks, 1, [&](index_t c) { f(c, bounds[c], bounds[c + 1]); });
}

inline int graph_chunks(const policy& p, index_t work) {
  const int threads = chunk_count(p, work, index_t{1} << 14);
  return threads <= 1 ? 1 : threads * 8;
}

}  // namespace recfuse::xsimd_backend::detail
