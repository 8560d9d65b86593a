// recfuse Kokkos backend: the kernel of normalize_rows (recfuse/scale/normalize.hpp). Generic
// over the execution space; the views' memory space is the policy's.
//
// - normalize_rows_kernel: one Kokkos::parallel_for item per row, which runs the reference's row
//   (reference_backend::detail::normalize_row: the norm with squares summed in double, double
//   input whose sum overflowed or came out below 2^-600 rescaled by a power of two at least its
//   largest magnitude, then the row divided by it). Each row is one item's sequential work, so
//   the results are the reference's, bit for bit, whatever the thread count (a device compiler
//   may contract the sum of squares into fmas: within an ulp of T).
#pragma once

#include <Kokkos_Core.hpp>

#include "recfuse/kokkos/detail/range.hpp"
#include "recfuse/kokkos/policy.hpp"
#include "recfuse/reference/scale/normalize.hpp"
#include "recfuse/scale/normalize.hpp"

namespace recfuse::kokkos_backend {

template <class ExecSpace, class T>
void normalize_rows_kernel(const policy<ExecSpace>& p,
                           matrix_view<const T, typename policy<ExecSpace>::memory_space> in,
                           matrix_view<T, typename policy<ExecSpace>::memory_space> out) {
  if (in.rows() == 0) return;
  const T* const x = in.data();
  const index_t xs = in.stride();
  T* const y = out.data();
  const index_t ys = out.stride();
  const index_t cols = in.cols();
  Kokkos::parallel_for(
      "recfuse::normalize_rows_kernel", detail::index_range(p, in.rows()),
      KOKKOS_LAMBDA(index_t i) {
        ::recfuse::reference_backend::detail::normalize_row(x + i * xs, y + i * ys, cols);
      });
  p.instance.fence();
}

}  // namespace recfuse::kokkos_backend
