// recfuse Thrust backend: implicit ALS kernels (recfuse/factorize/implicit_als.hpp): the gramian,
// the per-row solves of a half sweep (fit_implicit_als_kernel, which fit_implicit_als and the
// implicit refit_users / refit_items run on) and the implicit fold_in_user_kernel.
//
// - gramian_kernel: F^T F in double. One thrust::for_each over (chunk of rows, entry of the upper
//   triangle) pairs, each summing its chunk's products in row order; a second over the entries
//   adds the chunks' partials in chunk order and writes both triangles (so the result is exactly
//   symmetric). Chunks are set by n and k only: the result never depends on the thread count,
//   and with n <= 1024 rows it is the reference's sum, term for term. The chunk code is shared
//   with the Kokkos backend: ::recfuse::detail::gram (recfuse/reference/factorize/detail/
//   gram_chunks.hpp).
// - fit_implicit_als_kernel: one thrust::for_each over the listed rows (in chunks whose double
//   scratch stays under 64 MiB), one functor call per row, each on its own slice of the scratch,
//   running the reference's own row solve (reference_backend::detail::implicit_solve_row, host
//   and device code): CG in double with A v = (Y^T Y + reg I) v + sum over the row's entries of
//   alpha r (y . v) y, never forming Y^T C_u Y, or the Cholesky system in double. A row without
//   entries becomes 0. Failures are collected per row and the smallest failing row is found by
//   a thrust::reduce (rows[] is increasing): the row the reference reports.
// - fold_in_user_kernel: the same functor for one row (offsets {0, n}) on the policy's system,
//   so a fold-in is bit for bit a fit's row.
// The row solves are the reference's code; results differ from it only by floating-point
// contraction on the GPU and, for gramians of more than 1024 rows, the chunked sum.
//
// Memory: every view and pointer is in the policy's memory (host for cpp/omp/tbb, device for
// cuda). The public functions of implicit_als.hpp take and return host models and std::vectors,
// so they run on the host systems only; on CUDA call these kernels on device views.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

#include <thrust/fill.h>
#include <thrust/for_each.h>
#include <thrust/functional.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/reduce.h>

#include "recfuse/factorize/implicit_als.hpp"
#include "recfuse/reference/factorize/detail/gram_chunks.hpp"  // the gramian's chunks
#include "recfuse/reference/factorize/implicit_als.hpp"        // the row solve, host and device
#include "recfuse/thrust/detail/buffer.hpp"
#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend {
namespace detail::ials {

// Doubles of row-solve scratch per launch at most (64 MiB).
inline constexpr index_t solve_scratch_doubles = index_t{1} << 23;

// The gramian's two launches over ::recfuse::detail::gram::chunked (the shared chunk code,
// recfuse/reference/factorize/detail/gram_chunks.hpp).
template <class T>
struct gram_partials {
  ::recfuse::detail::gram::chunked<T> g;
  RECFUSE_HOST_DEVICE void operator()(index_t t) const { g.partial_sum(t); }
};

template <class T>
struct gram_combine {
  ::recfuse::detail::gram::chunked<T> g;
  T* out;
  RECFUSE_HOST_DEVICE void operator()(index_t e) const { g.combine(e, out); }
};

// One half sweep's row problem: rows (rows[first + j], or first + j when rows is null) of
// `target` re-solved from their entries in the CSR (offsets, indices, values) against `fixed`,
// whose gramian is `gram`. Position j of a launch works on scratch + j * per_row and writes
// failed[j]: its row when its Cholesky system is not positive definite, else no_failure.
template <class T>
struct solve_rows {
  const index_t* offsets;
  const std::int32_t* indices;
  const T* values;
  ::recfuse::reference_backend::detail::implicit_row_problem<T>
      problem;  // the reference's row solve
  T* target;
  index_t target_stride;
  const std::int32_t* rows;
  index_t first;
  double* scratch;
  index_t per_row;
  index_t* failed;
  index_t no_failure;

  RECFUSE_HOST_DEVICE void operator()(index_t j) const {
    const index_t q = first + j;
    const index_t row = rows != nullptr ? static_cast<index_t>(rows[q]) : q;
    const index_t begin = offsets[row];
    const bool ok = ::recfuse::reference_backend::detail::implicit_solve_row(
        problem, indices + begin, values + begin, offsets[row + 1] - begin,
        target + row * target_stride, scratch + j * per_row);
    failed[j] = ok ? no_failure : row;
  }
};

// Runs `count` positions of `rs` (its pointers in the policy's memory) in launches whose scratch
// stays under solve_scratch_doubles; -1, or the smallest row whose Cholesky system failed.
template <class System, class T>
index_t run_solve_rows(const policy<System>& p, solve_rows<T> rs, index_t count) {
  if (count == 0) return -1;
  rs.per_row =
      ::recfuse::reference_backend::detail::implicit_row_scratch(rs.problem.k, rs.problem.cholesky);
  const index_t chunk = std::min(count, std::max<index_t>(1, solve_scratch_doubles / rs.per_row));
  buffer<System, double> scratch(static_cast<std::size_t>(chunk * rs.per_row));
  buffer<System, index_t> failed(static_cast<std::size_t>(chunk));
  rs.scratch = raw(scratch);
  rs.failed = raw(failed);
  rs.no_failure = std::numeric_limits<index_t>::max();  // above every row id
  index_t first_failed = -1;
  for (index_t first = 0; first < count; first += chunk) {
    const index_t m = std::min(chunk, count - first);
    rs.first = first;
    ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                       ::thrust::counting_iterator<index_t>(m), rs);
    if (rs.problem.cholesky && first_failed < 0) {
      const index_t smallest =
          ::thrust::reduce(p.thrust_policy(), failed.begin(), failed.begin() + m, rs.no_failure,
                           ::thrust::minimum<index_t>());
      if (smallest != rs.no_failure) first_failed = smallest;
    }
  }
  return first_failed;
}

template <class T>
solve_rows<T> make_solve_rows(const T* fixed, index_t fixed_stride, index_t k, const T* gram,
                              const implicit_als_options& o) {
  solve_rows<T> rs{};
  rs.problem = {fixed,
                fixed_stride,
                k,
                gram,
                o.regularization,
                o.alpha,
                o.cg_steps,
                o.solver == implicit_solver::cholesky};
  return rs;
}

}  // namespace detail::ials

// out = F^T F (k x k, row-major), in double, F n x k with any row stride; out in the policy's
// memory.
template <class System, class T>
void gramian_kernel(const policy<System>& p,
                    matrix_view<const T, typename policy<System>::memory_space> f, T* out) {
  namespace ials = detail::ials;
  const index_t n = f.rows();
  const index_t k = f.cols();
  if (k == 0) return;
  const index_t kk = k * k;
  if (n == 0) {
    ::thrust::fill_n(p.thrust_policy(), out, kk, T(0));
    return;
  }
  auto g = ::recfuse::detail::gram::plan(f.data(), f.stride(), n, k);
  detail::buffer<System, double> partial(static_cast<std::size_t>(g.partial_size()));
  g.partial = detail::raw(partial);
  ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(g.partial_size()),
                     ials::gram_partials<T>{g});
  ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(g.entries()),
                     ials::gram_combine<T>{g, out});
}

// Re-solves rows rows[0..count) (0..count when rows is null) of target, in parallel; -1 or the
// smallest row whose Cholesky system failed. by_row, fixed, gram, target and rows are in the
// policy's memory.
template <class System, class T>
index_t fit_implicit_als_kernel(
    const policy<System>& p,
    const csr_view<T, std::int32_t, typename policy<System>::memory_space>& by_row,
    matrix_view<const T, typename policy<System>::memory_space> fixed, const T* gram,
    matrix_view<T, typename policy<System>::memory_space> target, const std::int32_t* rows,
    index_t count, const implicit_als_options& o) {
  auto rs = detail::ials::make_solve_rows(fixed.data(), fixed.stride(), fixed.cols(), gram, o);
  rs.offsets = by_row.offsets();
  rs.indices = by_row.indices();
  rs.values = by_row.values();
  rs.target = target.data();
  rs.target_stride = target.stride();
  rs.rows = rows;
  return detail::ials::run_solve_rows(p, rs, count);
}

// One row x (k = fixed.cols() long) from its n entries (ids, values); false when its Cholesky
// system failed. Every pointer is in the policy's memory.
template <class System, class T>
bool fold_in_user_kernel(const policy<System>& p,
                         matrix_view<const T, typename policy<System>::memory_space> fixed,
                         const T* gram, const std::int32_t* ids, const T* values, index_t n, T* x,
                         const implicit_als_options& o) {
  detail::buffer<System, index_t> offsets(2);
  offsets[0] = 0;
  offsets[1] = n;
  auto rs = detail::ials::make_solve_rows(fixed.data(), fixed.stride(), fixed.cols(), gram, o);
  rs.offsets = detail::raw(offsets);
  rs.indices = ids;
  rs.values = values;
  rs.target = x;
  rs.target_stride = fixed.cols();
  rs.rows = nullptr;
  return detail::ials::run_solve_rows(p, rs, 1) < 0;
}

}  // namespace recfuse::thrust_backend
