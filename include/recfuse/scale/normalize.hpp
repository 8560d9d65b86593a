// recfuse: L2 normalisation of rows, so that inner products of rows are cosine similarities.
//
//   recfuse::normalize_rows(recfuse::exec::xsimd{}, x, out);   // out may be x itself
//
// x and out: matrix-like containers of the same floating-point type and shape (out mutable; an
// rvalue matrix_view is fine). out_i = x_i / ||x_i||_2, as scikit-learn's normalize(norm="l2"):
// - a row of zeros stays zeros;
// - a row holding NaN comes out all NaN; a row holding infinity (and no NaN) comes out NaN where
//   the infinities were and zero elsewhere. Nothing is checked: NaN propagates.
// - no overflow or underflow for any finite input: the reference accumulates the norm in double;
//   the xsimd backend accumulates squares in T batches and redoes a row in double when its sum
//   overflowed or came out tiny, so its results match the reference's within a few ulps of T
//   (the float sum's rounding grows like log(cols) to cols times float epsilon).
// Errors: out shaped unlike x is a shape_error; 0 rows or 0 columns are fine (nothing to do).
// Device data: with the Thrust CUDA policy x and out are device views (matrix_view<T,
// device_memory>); only their shapes are checked, as for host views.
#pragma once

#include <type_traits>

#include "recfuse/core/adapt.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/reference/scale/normalize.hpp"
#include "recfuse/scale/detail/checks.hpp"

namespace recfuse {

template <class Policy, matrix_like X, matrix_like Y>
void normalize_rows(const Policy& policy, const X& in, Y&& out) {
  constexpr const char* fn = "recfuse::normalize_rows";
  const auto x = as_const(as_matrix(in));
  const auto y = detail::scale_out_view(std::forward<Y>(out));
  using T = typename decltype(x)::value_type;
  static_assert(std::is_floating_point_v<T>,
                "recfuse::normalize_rows: elements must be float or double");
  detail::check_scale_in_out<T>(fn, x, y);
  if constexpr (requires { normalize_rows_kernel(policy, x, y); }) {
    RECFUSE_CHECK_NATIVE(normalize_rows_kernel, policy, x, y);
    normalize_rows_kernel(policy, x, y);
  } else {
    RECFUSE_NO_KERNEL("recfuse::normalize_rows", Policy);
  }
}

}  // namespace recfuse
