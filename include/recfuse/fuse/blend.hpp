// recfuse: blending of scorers, and the per-scorer contributions of a blended score.
//
//   std::vector<recfuse::vector_view<const float>> scores{cf, content, popularity};
//   std::vector<double> weights{0.6, 0.3, 0.1};
//   recfuse::fuse::blend(cpu, scores, weights, out);            // out[i] = sum_c w_c s_c[i]
//   recfuse::fuse::blend(cpu, 0.7, cf, content, out);           // 0.7 cf + 0.3 content
//   recfuse::fuse::blend_contributions(cpu, scores, weights, m); // m(i, c) = w_c s_c[i]
//
// - blend: out[i] = sum_c weights[c] * scores[c][i]. The reference accumulates in double and
//   rounds once; the xsimd backend accumulates in T with FMA, so its error is a few eps(T) times
//   sum_c |weights[c] * scores[c][i]| (the terms, not the result, when they cancel).
// - the two-scorer form: out = a * s_cf + (1 - a) * s_content, i.e. weights {a, 1 - a}. Any
//   finite a is accepted; a in [0, 1] is the convex blend, outside it one scorer is subtracted.
// - blend_contributions: out is n x C (scorers in columns): out(i, c) = weights[c] * scores[c][i]
//   (in double, rounded once), so a row sums to blend's out[i] up to the rounding of the terms.
//   This is the explanation of a blended score: how much each scorer brought to it.
// - out may be one of the scores (the same memory; blend in place), never a partial overlap.
// - NaN and infinity in the scores propagate, and a zero weight does not mask them
//   (0 * NaN and 0 * inf are NaN). Nothing in the scores is checked.
// - Device data: with exec::thrust<thrust::cuda::tag>, the scores and out are device views
//   (vector_view<const T, device_memory>; the span of views and the weights stay on the host).
//   Nothing here reads the scores, so the checks are the same for host and device data.
//
// Errors (messages start with "recfuse::fuse::blend" or "recfuse::fuse::blend_contributions"):
// no scorer (value_error); scores and weights of different counts (shape_error); scorer c's
// length unlike out's (shape_error naming c and both lengths); out of blend_contributions not
// n x C (shape_error); a weight (or a) that is NaN or infinite, also once converted to T
// (value_error).
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <type_traits>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/reference/fuse/blend.hpp"

namespace recfuse {
namespace detail {

// Checks the scorers and weights of a blend against n items.
template <class T, class Space>
void check_blend(const char* fn, std::span<const vector_view<const T, Space>> scores,
                 std::span<const double> weights, index_t n, const char* n_name) {
  static_assert(std::is_floating_point_v<T>, "recfuse::fuse: scores must be float or double");
  if (scores.empty()) throw_error<value_error>(fn, "no scorer given (scores is empty)");
  if (scores.size() != weights.size()) {
    throw_error<shape_error>(fn, "scores has ", scores.size(), " scorers but weights has ",
                             weights.size());
  }
  for (std::size_t c = 0; c < scores.size(); ++c) {
    const double w = weights[c];
    if (!std::isfinite(w) || !std::isfinite(static_cast<T>(w))) {
      throw_error<value_error>(fn, "weights[", c, "] is ", w, " (need a finite weight, also in ",
                               std::is_same_v<T, float> ? "float" : "double", ")");
    }
    if (scores[c].size() < 0 || (scores[c].data() == nullptr && scores[c].size() > 0)) {
      throw_error<value_error>(fn, "scores[", c, "] has ", scores[c].size(),
                               " elements and a null pointer");
    }
    if (scores[c].size() != n) {
      throw_error<shape_error>(fn, "scores[", c, "] has ", scores[c].size(), " elements but ",
                               n_name, " is ", n);
    }
  }
}

}  // namespace detail

namespace fuse {

// out[i] = sum_c weights[c] * scores[c][i].
template <class Policy, class T, class Space>
void blend(const Policy& policy,
           std::span<const std::type_identity_t<vector_view<const T, Space>>> scores,
           std::span<const double> weights, vector_view<T, Space> out) {
  constexpr const char* fn = "recfuse::fuse::blend";
  static_assert(!std::is_const_v<T>, "recfuse::fuse::blend: out must be a mutable vector_view");
  detail::check_vector(fn, "out", out);
  detail::check_blend<T, Space>(fn, scores, weights, out.size(), "out.size()");
  if (out.size() == 0) return;
  if constexpr (requires { blend_kernel(policy, scores, weights, out); }) {
    RECFUSE_CHECK_NATIVE(blend_kernel, policy, scores, weights, out);
    blend_kernel(policy, scores, weights, out);
  } else {
    RECFUSE_NO_KERNEL("recfuse::fuse::blend", Policy);
  }
}

// out = a * s_cf + (1 - a) * s_content.
template <class Policy, class T, class Space>
void blend(const Policy& policy, double a, std::type_identity_t<vector_view<const T, Space>> s_cf,
           std::type_identity_t<vector_view<const T, Space>> s_content, vector_view<T, Space> out) {
  constexpr const char* fn = "recfuse::fuse::blend";
  if (!std::isfinite(a) || !std::isfinite(static_cast<T>(a)) ||
      !std::isfinite(static_cast<T>(1.0 - a))) {
    detail::throw_error<value_error>(fn, "a is ", a, " (need a finite value; [0, 1] blends)");
  }
  // std::vector rather than arrays: GCC 12 reports the arrays "may be used uninitialized" once
  // the xsimd kernel is inlined here (a false positive).
  const std::vector<vector_view<const T, Space>> scores = {s_cf, s_content};
  const std::vector<double> weights = {a, 1.0 - a};
  blend(policy, std::span<const vector_view<const T, Space>>(scores),
        std::span<const double>(weights), out);
}

// out(i, c) = weights[c] * scores[c][i]: out is items x scorers.
template <class Policy, class T, class Space>
void blend_contributions(const Policy& policy,
                         std::span<const std::type_identity_t<vector_view<const T, Space>>> scores,
                         std::span<const double> weights, matrix_view<T, Space> out) {
  constexpr const char* fn = "recfuse::fuse::blend_contributions";
  static_assert(!std::is_const_v<T>,
                "recfuse::fuse::blend_contributions: out must be a mutable matrix_view");
  detail::check_matrix(fn, "out", out);
  detail::check_blend<T, Space>(fn, scores, weights, out.rows(), "out.rows()");
  if (out.cols() != static_cast<index_t>(scores.size())) {
    detail::throw_error<shape_error>(fn, "out is ", out.rows(), " x ", out.cols(), " but needs ",
                                     out.rows(), " x ", scores.size(), " (items x scorers)");
  }
  if (out.rows() == 0) return;
  if constexpr (requires { blend_contributions_kernel(policy, scores, weights, out); }) {
    RECFUSE_CHECK_NATIVE(blend_contributions_kernel, policy, scores, weights, out);
    blend_contributions_kernel(policy, scores, weights, out);
  } else {
    RECFUSE_NO_KERNEL("recfuse::fuse::blend_contributions", Policy);
  }
}

}  // namespace fuse
}  // namespace recfuse
