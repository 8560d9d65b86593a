// recfuse xsimd backend: the kernels of score blending (recfuse/fuse/blend.hpp).
//
// Both are bandwidth-bound streams over the items, split into contiguous chunks, one per thread
// (detail::for_chunks); every element's arithmetic is the same whatever the chunking, so
// results do not depend on the thread count.
//
// - blend_kernel: weights rounded to T once per call; per batch of items,
//   acc = w_0 s_0, then acc = fma(w_c, s_c, acc) for c = 1, 2, ... (the scalar tail does the
//   same with std::fma). The error against the reference's double sum is a few eps(T) times
//   sum_c |w_c s_c[i]|. out may be one of the scores: each batch reads every scorer before it
//   stores.
// - blend_contributions_kernel: the reference's arithmetic (T(w_c * double(s_c[i]))), threaded over
//   rows; the n x C output is written row by row, so it gains from threads, not from batches.
// explain_factorization keeps the reference kernels (one small Cholesky per call); learned_fusion
// runs on the MLP kernels (recfuse/xsimd/fuse/learned.hpp).
#pragma once

#include "recfuse/xsimd/detail/xsimd.hpp"

#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

#include "recfuse/core/views.hpp"
#include "recfuse/fuse/blend.hpp"
#include "recfuse/reference/fuse/blend.hpp"
#include "recfuse/xsimd/detail/parallel.hpp"
#include "recfuse/xsimd/policy.hpp"

namespace recfuse::xsimd_backend {
namespace detail {

// Items a chunk gets at least before a second thread joins in.
inline constexpr index_t fuse_min_chunk = index_t{1} << 14;

}  // namespace detail

template <class T>
void blend_kernel(const policy& p, std::span<const vector_view<const T>> scores,
                  std::span<const double> weights, vector_view<T> out) {
  using batch = ::xsimd::batch<T>;
  constexpr index_t width = static_cast<index_t>(batch::size);
  const index_t n = out.size();
  const std::size_t count = scores.size();
  std::vector<T> w(count);
  std::vector<const T*> s(count);
  for (std::size_t c = 0; c < count; ++c) {
    w[c] = static_cast<T>(weights[c]);
    s[c] = scores[c].data();
  }
  T* o = out.data();
  // Chunks hold whole batches and the tail is done last, so an item takes the same path (batch
  // or scalar) whatever the thread count.
  const index_t batches = n / width;
  const int chunks = detail::chunk_count(p, n, detail::fuse_min_chunk);
  detail::for_chunks(chunks, batches, [&](int, index_t begin, index_t end) {
    for (index_t i = begin * width; i < end * width; i += width) {
      batch acc = batch(w[0]) * batch::load_unaligned(s[0] + i);
      for (std::size_t c = 1; c < count; ++c) {
        acc = ::xsimd::fma(batch(w[c]), batch::load_unaligned(s[c] + i), acc);
      }
      acc.store_unaligned(o + i);
    }
  });
  for (index_t i = batches * width; i < n; ++i) {
    T acc = w[0] * s[0][i];
    for (std::size_t c = 1; c < count; ++c) acc = std::fma(w[c], s[c][i], acc);
    o[i] = acc;
  }
}

template <class T>
void blend_contributions_kernel(const policy& p, std::span<const vector_view<const T>> scores,
                                std::span<const double> weights, matrix_view<T> out) {
  const index_t n = out.rows();
  const std::size_t count = scores.size();
  const int chunks =
      detail::chunk_count(p, n, detail::fuse_min_chunk / static_cast<index_t>(count));
  detail::for_chunks(chunks, n, [&](int, index_t begin, index_t end) {
    for (index_t i = begin; i < end; ++i) {
      T* row = out.row(i);
      for (std::size_t c = 0; c < count; ++c) {
        row[c] = static_cast<T>(weights[c] * static_cast<double>(scores[c][i]));
      }
    }
  });
}

}  // namespace recfuse::xsimd_backend
