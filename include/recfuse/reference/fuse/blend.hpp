// recfuse: serial reference kernels of score blending (recfuse/fuse/blend.hpp), the oracle the
// backends are tested against. The public functions validate their input and then call:
//
//   blend_kernel(policy, scores, weights, out)               out[i] = sum_c weights[c] scores[c][i]
//   blend_contributions_kernel(policy, scores, weights, out) out(i, c) = weights[c] scores[c][i]
//
// Contracts every backend keeps: out may be one of the scores (the same memory, never a partial
// overlap); NaN and infinity propagate; nothing here checks its input. Everything is computed in
// double and rounded to T once.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"

namespace recfuse::reference_backend {

template <class T>
void blend_kernel(const policy&, std::span<const vector_view<const T>> scores,
                  std::span<const double> weights, vector_view<T> out) {
  const index_t n = out.size();
  const std::size_t count = scores.size();
  for (index_t i = 0; i < n; ++i) {
    double s = 0.0;
    for (std::size_t c = 0; c < count; ++c) s += weights[c] * static_cast<double>(scores[c][i]);
    out[i] = static_cast<T>(s);
  }
}

template <class T>
void blend_contributions_kernel(const policy&, std::span<const vector_view<const T>> scores,
                                std::span<const double> weights, matrix_view<T> out) {
  const index_t n = out.rows();
  const std::size_t count = scores.size();
  for (index_t i = 0; i < n; ++i) {
    T* row = out.row(i);
    for (std::size_t c = 0; c < count; ++c) {
      row[c] = static_cast<T>(weights[c] * static_cast<double>(scores[c][i]));
    }
  }
}

}  // namespace recfuse::reference_backend
