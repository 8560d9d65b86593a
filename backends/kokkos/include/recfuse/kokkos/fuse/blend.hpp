// recfuse Kokkos backend: the kernels of score blending (recfuse/fuse/blend.hpp), generic over the
// execution space.
//
// - blend_kernel: one Kokkos::parallel_for over the items; item i's sum over the scorers is the
//   reference's, in double in scorer order and rounded to T once, so results match the
//   reference's up to floating-point contraction (FMA) in that sum.
// - blend_contributions_kernel: one Kokkos::parallel_for over the n x C entries of out (row-major,
//   so consecutive work items write consecutive entries), T(w_c * double(s_c[i])) as the
//   reference.
// Element-wise work: results never depend on the thread count. Both read every scorer at i
// before writing out at i, so out may be one of the scores. The span of views and the weights
// live on the host: on spaces that read host memory (Serial, OpenMP, Threads) the kernels read
// them in place; on device spaces the scorers' pointers and the weights are copied to the
// space's memory once per call (the scores and out are then device views).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include <Kokkos_Core.hpp>

#include "recfuse/core/views.hpp"
#include "recfuse/fuse/blend.hpp"
#include "recfuse/kokkos/detail/range.hpp"
#include "recfuse/kokkos/detail/staged.hpp"
#include "recfuse/kokkos/policy.hpp"

namespace recfuse::kokkos_backend {
namespace detail {

// One scorer's data (a struct: a Kokkos::View of pointers would be a view of higher rank).
template <class T>
struct blend_scorer {
  const T* data;
};

// The scorers' data pointers and the weights, in the space's memory.
template <class ExecSpace, class T>
class blend_inputs {
 public:
  blend_inputs(const policy<ExecSpace>& p,
               std::span<const vector_view<const T, memory_space_of<ExecSpace>>> s,
               std::span<const double> w)
      : pointers_(make_pointers(s)),
        scores_(p, "recfuse::blend::scores", pointers_.data(),
                static_cast<index_t>(pointers_.size())),
        weights_(p, "recfuse::blend::weights", w.data(), static_cast<index_t>(w.size())) {}

  const blend_scorer<T>* scores() const { return scores_.get(); }
  const double* weights() const { return weights_.get(); }

 private:
  static std::vector<blend_scorer<T>> make_pointers(
      std::span<const vector_view<const T, memory_space_of<ExecSpace>>> s) {
    std::vector<blend_scorer<T>> out(s.size());
    for (std::size_t c = 0; c < s.size(); ++c) out[c].data = s[c].data();
    return out;
  }

  std::vector<blend_scorer<T>> pointers_;
  staged<ExecSpace, const blend_scorer<T>> scores_;
  staged<ExecSpace, const double> weights_;
};

}  // namespace detail

template <class ExecSpace, class T>
void blend_kernel(
    const policy<ExecSpace>& p,
    std::span<const vector_view<const T, typename policy<ExecSpace>::memory_space>> scores,
    std::span<const double> weights, vector_view<T, typename policy<ExecSpace>::memory_space> out) {
  const index_t n = out.size();
  if (n == 0) return;
  const detail::blend_inputs<ExecSpace, T> in(p, scores, weights);
  const detail::blend_scorer<T>* s = in.scores();
  const double* w = in.weights();
  const auto count = static_cast<index_t>(scores.size());
  T* o = out.data();
  Kokkos::parallel_for(
      "recfuse::blend_kernel", detail::index_range(p, n), KOKKOS_LAMBDA(index_t i) {
        double sum = 0.0;
        for (index_t c = 0; c < count; ++c) sum += w[c] * static_cast<double>(s[c].data[i]);
        o[i] = static_cast<T>(sum);
      });
  p.instance.fence();  // the caller reads out; `in` must outlive the kernel
}

template <class ExecSpace, class T>
void blend_contributions_kernel(
    const policy<ExecSpace>& p,
    std::span<const vector_view<const T, typename policy<ExecSpace>::memory_space>> scores,
    std::span<const double> weights, matrix_view<T, typename policy<ExecSpace>::memory_space> out) {
  const auto count = static_cast<index_t>(scores.size());
  const index_t entries = out.rows() * count;
  if (entries == 0) return;
  const detail::blend_inputs<ExecSpace, T> in(p, scores, weights);
  const detail::blend_scorer<T>* s = in.scores();
  const double* w = in.weights();
  T* o = out.data();
  const index_t stride = out.stride();
  Kokkos::parallel_for(
      "recfuse::blend_contributions_kernel", detail::index_range(p, entries),
      KOKKOS_LAMBDA(index_t e) {
        const index_t i = e / count;
        const index_t c = e - i * count;
        o[i * stride + c] = static_cast<T>(w[c] * static_cast<double>(s[c].data[i]));
      });
  p.instance.fence();
}

}  // namespace recfuse::kokkos_backend
