// recfuse Kokkos backend: implicit ALS kernels (recfuse/factorize/implicit_als.hpp): the gramian,
// the per-row solves of a half sweep (fit_implicit_als_kernel, which fit_implicit_als and the
// implicit refit_users / refit_items run on) and the implicit fold_in_user_kernel. Generic over
// the execution space; every view and pointer is in the policy's memory (host for Serial and
// OpenMP, device for Cuda/HIP/SYCL).
//
// - gramian_kernel: F^T F in double. One Kokkos::parallel_for over (chunk of rows, entry of the
//   upper triangle) pairs, each summing its chunk's products in row order into a double buffer;
//   a second over the entries adds the chunks' partials in chunk order and writes both triangles
//   (so the result is exactly symmetric). The chunks are set by n and k only (at least 1024
//   rows, at most 256 chunks): the result does not depend on the thread count, and with
//   n <= 1024 rows it is the reference's sum, term for term. Computed once per half sweep. The
//   chunk code is shared with the Thrust backend: ::recfuse::detail::gram
//   (recfuse/reference/factorize/detail/gram_chunks.hpp).
// - fit_implicit_als_kernel: a team parallel_reduce over the listed rows, one row per thread,
//   each running the reference's own row solve (CG, or the Cholesky system, in double) on its
//   work area in per-thread scratch, reducing the failing rows with a Min: the smallest failing
//   row, as the reference reports (factorize/detail/implicit_rows.hpp). A row without entries
//   becomes 0.
// - fold_in_user_kernel: the same functor for one row, so a fold-in is bit for bit a fit's row.
// Nothing depends on the thread count or the team size: each row is solved by one thread in the
// reference's order and the gramian's chunks are fixed. Results differ from the reference's only
// by floating-point contraction (FMA) and, for gramians of more than 1024 rows, the chunked sum.
//
// The public functions of implicit_als.hpp take and return host models and std::vectors, so
// they run on host spaces only; with a device space call these kernels on device views.
#pragma once

#include <cstdint>

#include <Kokkos_Core.hpp>

#include "recfuse/factorize/implicit_als.hpp"
#include "recfuse/kokkos/detail/buffer.hpp"
#include "recfuse/kokkos/detail/range.hpp"
#include "recfuse/kokkos/factorize/detail/implicit_rows.hpp"
#include "recfuse/kokkos/policy.hpp"
#include "recfuse/reference/factorize/detail/gram_chunks.hpp"

namespace recfuse::kokkos_backend {

// out = F^T F (k x k, row-major), in double, F n x k with any row stride; out in the policy's
// memory.
template <class ExecSpace, class T>
void gramian_kernel(const policy<ExecSpace>& p,
                    matrix_view<const T, typename policy<ExecSpace>::memory_space> f, T* out) {
  const index_t n = f.rows();
  const index_t k = f.cols();
  if (k == 0) return;
  const index_t kk = k * k;
  if (n == 0) {
    Kokkos::parallel_for(
        "recfuse::gramian_kernel zero", detail::index_range(p, kk),
        KOKKOS_LAMBDA(index_t e) { out[e] = T(0); });
    p.instance.fence();
    return;
  }
  // The shared chunk code (::recfuse::detail::gram): partial[c * kk + j * k + l] = chunk c's sum
  // of f_j f_l for l >= j, then out[j][l] = out[l][j] = the partials added in chunk order.
  auto g = ::recfuse::detail::gram::plan(f.data(), f.stride(), n, k);
  const auto partial =
      detail::make_uninitialized_buffer<double>(p, "recfuse::gramian partials", g.partial_size());
  g.partial = partial.data();
  Kokkos::parallel_for(
      "recfuse::gramian_kernel partials", detail::index_range(p, g.partial_size()),
      KOKKOS_LAMBDA(index_t t) { g.partial_sum(t); });
  Kokkos::parallel_for(
      "recfuse::gramian_kernel combine", detail::index_range(p, g.entries()),
      KOKKOS_LAMBDA(index_t e) { g.combine(e, out); });
  p.instance.fence();
}

// Re-solves rows rows[0..count) (0..count when rows is null) of target, in parallel; -1 or the
// smallest row whose Cholesky system failed. by_row, fixed, gram, target and rows are in the
// policy's memory.
template <class ExecSpace, class T>
index_t fit_implicit_als_kernel(
    const policy<ExecSpace>& p,
    const csr_view<T, std::int32_t, typename policy<ExecSpace>::memory_space>& by_row,
    matrix_view<const T, typename policy<ExecSpace>::memory_space> fixed, const T* gram,
    matrix_view<T, typename policy<ExecSpace>::memory_space> target, const std::int32_t* rows,
    index_t count, const implicit_als_options& o) {
  auto f = detail::ials::make_solve_rows<ExecSpace>(fixed, gram, o);
  f.offsets = by_row.offsets();
  f.indices = by_row.indices();
  f.values = by_row.values();
  f.target = target.data();
  f.target_stride = target.stride();
  f.rows = rows;
  return detail::ials::run_solve_rows(p, f, count);
}

// One row x (k = fixed.cols() long) from its n entries (ids, values); false when its Cholesky
// system failed. Every pointer is in the policy's memory.
template <class ExecSpace, class T>
bool fold_in_user_kernel(const policy<ExecSpace>& p,
                         matrix_view<const T, typename policy<ExecSpace>::memory_space> fixed,
                         const T* gram, const std::int32_t* ids, const T* values, index_t n, T* x,
                         const implicit_als_options& o) {
  auto f = detail::ials::make_solve_rows<ExecSpace>(fixed, gram, o);
  f.offsets = nullptr;  // one row: entries 0 .. n
  f.entries = n;
  f.indices = ids;
  f.values = values;
  f.target = x;
  f.target_stride = fixed.cols();
  f.rows = nullptr;
  return detail::ials::run_solve_rows(p, f, 1) < 0;
}

}  // namespace recfuse::kokkos_backend
