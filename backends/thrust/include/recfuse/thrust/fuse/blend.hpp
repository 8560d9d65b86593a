// recfuse Thrust backend: the kernels of score blending (recfuse/fuse/blend.hpp).
//
// - blend_kernel: one thrust::for_each over the items; item i's sum over the scorers is the
//   reference's, in double in scorer order and rounded to T once, so results match the
//   reference's up to floating-point contraction (FMA) in that sum.
// - blend_contributions_kernel: one thrust::for_each over the n x C entries of out (row-major,
//   so consecutive threads write consecutive entries), T(w_c * double(s_c[i])) as the reference.
// Both read every scorer at i before writing out at i, so out may be one of the scores. The
// scorers' pointers and the weights are copied into the policy's memory once per call (the
// std::span of views lives on the host; with CUDA the views' data is device memory).
#pragma once

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include <cstddef>
#include <span>
#include <vector>

#include "recfuse/core/views.hpp"
#include "recfuse/fuse/blend.hpp"
#include "recfuse/thrust/detail/buffer.hpp"
#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend {
namespace detail {

// The scorers' data pointers and the weights, in the policy's memory.
template <class System, class T>
struct blend_inputs {
  buffer<System, const T*> scores;
  buffer<System, double> weights;

  blend_inputs(std::span<const vector_view<const T, memory_space_of<System>>> s,
               std::span<const double> w) {
    std::vector<const T*> pointers(s.size());
    for (std::size_t c = 0; c < s.size(); ++c) pointers[c] = s[c].data();
    scores.assign(pointers.begin(), pointers.end());
    weights.assign(w.begin(), w.end());
  }
};

template <class T>
struct blend_item {
  const T* const* scores;
  const double* weights;
  index_t count;
  T* out;

  RECFUSE_HOST_DEVICE void operator()(index_t i) const {
    double s = 0.0;
    for (index_t c = 0; c < count; ++c) s += weights[c] * static_cast<double>(scores[c][i]);
    out[i] = static_cast<T>(s);
  }
};

template <class T>
struct blend_contribution {
  const T* const* scores;
  const double* weights;
  index_t count;
  T* out;
  index_t stride;

  RECFUSE_HOST_DEVICE void operator()(index_t e) const {
    const index_t i = e / count;
    const index_t c = e - i * count;
    out[i * stride + c] = static_cast<T>(weights[c] * static_cast<double>(scores[c][i]));
  }
};

}  // namespace detail

template <class System, class T>
void blend_kernel(
    const policy<System>& p,
    std::span<const vector_view<const T, typename policy<System>::memory_space>> scores,
    std::span<const double> weights, vector_view<T, typename policy<System>::memory_space> out) {
  const index_t n = out.size();
  if (n == 0) return;
  const detail::blend_inputs<System, T> in(scores, weights);
  ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(n),
                     detail::blend_item<T>{detail::raw(in.scores), detail::raw(in.weights),
                                           static_cast<index_t>(scores.size()), out.data()});
}

template <class System, class T>
void blend_contributions_kernel(
    const policy<System>& p,
    std::span<const vector_view<const T, typename policy<System>::memory_space>> scores,
    std::span<const double> weights, matrix_view<T, typename policy<System>::memory_space> out) {
  const auto count = static_cast<index_t>(scores.size());
  const index_t entries = out.rows() * count;
  if (entries == 0) return;
  const detail::blend_inputs<System, T> in(scores, weights);
  ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(entries),
                     detail::blend_contribution<T>{detail::raw(in.scores), detail::raw(in.weights),
                                                   count, out.data(), out.stride()});
}

}  // namespace recfuse::thrust_backend
