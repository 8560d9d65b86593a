// recfuse: the chunked gramian F^T F of the parallel backends' gramian_kernel (the Thrust and
// Kokkos backends both run these functions, host and device code; the reference's own
// gramian_kernel in recfuse/reference/factorize/implicit_als.hpp is one plain sum).
//
// F (n x k, rows `stride` apart) is cut into chunks of consecutive rows, set by n and k only (at
// least min_chunk_rows rows each, at most max_chunks chunks, at most max_partial_doubles
// partials): one work item per (chunk, entry of the upper triangle) sums its chunk's products in
// row order, in double (partial_sum); then one per entry adds the chunks' partials in chunk
// order and writes both triangles (combine), so the result is exactly symmetric and never
// depends on the thread count. With n <= min_chunk_rows there is one chunk: the reference's sum,
// term for term.
#pragma once

#include "recfuse/core/config.hpp"

namespace recfuse::detail::gram {

// Rows of one chunk at least (up to this many rows the sum is the reference's), chunks at most,
// and doubles of partials at most (64 MiB; fewer chunks for large k).
inline constexpr index_t min_chunk_rows = 1024;
inline constexpr index_t max_chunks = 256;
inline constexpr index_t max_partial_doubles = index_t{1} << 23;

// One gramian's chunks: partial holds chunks * k * k doubles (the caller's buffer, in the memory
// the kernels run in); entry t = c * k * k + j * k + l is chunk c's sum of f_j f_l (l >= j only).
template <class T>
struct chunked {
  const T* f;
  index_t stride, n, k;
  index_t chunk_rows, chunks;
  double* partial;

  // The doubles of `partial`, and the work items of partial_sum and of combine.
  RECFUSE_HOST_DEVICE index_t partial_size() const { return chunks * k * k; }
  RECFUSE_HOST_DEVICE index_t entries() const { return k * k; }

  // partial[t] = sum over chunk t / (k k)'s rows of f_j f_l, in row order, for entry
  // (j, l) = t mod (k k) with l >= j (nothing for the lower triangle).
  RECFUSE_HOST_DEVICE void partial_sum(index_t t) const {
    const index_t kk = k * k;
    const index_t c = t / kk;
    const index_t e = t - c * kk;
    const index_t j = e / k;
    const index_t l = e - j * k;
    if (l < j) return;
    const index_t begin = c * chunk_rows;
    const index_t end = begin + chunk_rows < n ? begin + chunk_rows : n;
    double s = 0.0;
    for (index_t i = begin; i < end; ++i) {
      const T* row = f + i * stride;
      s += static_cast<double>(row[j]) * static_cast<double>(row[l]);
    }
    partial[t] = s;
  }

  // out[j][l] = out[l][j] = the chunks' partials of entry e = (j, l), l >= j, added in chunk
  // order (nothing for the lower triangle).
  RECFUSE_HOST_DEVICE void combine(index_t e, T* out) const {
    const index_t j = e / k;
    const index_t l = e - j * k;
    if (l < j) return;
    double s = 0.0;
    for (index_t c = 0; c < chunks; ++c) s += partial[c * k * k + e];
    out[j * k + l] = static_cast<T>(s);
    out[l * k + j] = static_cast<T>(s);
  }
};

// The chunks of an n x k F (n, k >= 1); partial is left null for the caller to set.
template <class T>
RECFUSE_HOST_DEVICE chunked<T> plan(const T* f, index_t stride, index_t n, index_t k) {
  const index_t kk = k * k;
  index_t most = max_partial_doubles / (kk > 1 ? kk : 1);
  if (most < 1) most = 1;
  if (most > max_chunks) most = max_chunks;
  index_t rows = (n + most - 1) / most;
  if (rows < min_chunk_rows) rows = min_chunk_rows;
  return {f, stride, n, k, rows, (n + rows - 1) / rows, nullptr};
}

}  // namespace recfuse::detail::gram
