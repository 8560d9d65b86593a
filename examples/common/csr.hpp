// Small CSR helpers the example programs share.
//
// - keep_targets(g, keep): g without the edges that point at columns j where keep[j] == 0
//   (e.g. cold items, which have no factors to aggregate). Rows, columns and the order of the
//   kept edges are unchanged. keep must hold g.cols entries. O(nnz).
#pragma once

#include <cstddef>
#include <vector>

#include "recfuse/core/sparse.hpp"

namespace examples {

inline recfuse::csr_matrix<float> keep_targets(const recfuse::csr_matrix<float>& g,
                                               const std::vector<char>& keep) {
  recfuse::csr_matrix<float> out;
  out.rows = g.rows;
  out.cols = g.cols;
  for (recfuse::index_t r = 0; r < g.rows; ++r) {
    for (recfuse::index_t e = g.offsets[r]; e < g.offsets[r + 1]; ++e) {
      if (!keep[static_cast<std::size_t>(g.indices[e])]) continue;
      out.indices.push_back(g.indices[e]);
      out.values.push_back(g.values[e]);
    }
    out.offsets.push_back(static_cast<recfuse::index_t>(out.indices.size()));
  }
  return out;
}

}  // namespace examples
