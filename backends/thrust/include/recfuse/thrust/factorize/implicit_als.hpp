// recfuse Thrust backend: implicit ALS kernels (recfuse/factorize/implicit_als.hpp): the gramian,
// the per-row solves of a half sweep (fit_implicit_als_kernel, which fit_implicit_als and the
// implicit refit_users / refit_items run on) and the implicit fold_in_user_kernel.
//
// - gramian_kernel: F^T F in double. One thrust::for_each over (chunk of rows, entry of the upper
//   triangle) pairs, each summing its chunk's products in row order; a second over the entries
//   adds the chunks' partials in chunk order and writes both triangles (so the result is exactly
//   symmetric). Chunks are set by n and k only: the result never depends on the thread count,
//   and with n <= 1024 rows it is the reference's sum, term for term.
// - fit_implicit_als_kernel: one thrust::for_each over the listed rows (in chunks whose double
//   scratch stays under 64 MiB), one functor call per row, each on its own slice of the scratch.
//   CG: the reference's conjugate gradient in double, A v = (Y^T Y + reg I) v + sum over the
//   row's entries of alpha r (y . v) y, never forming Y^T C_u Y. Cholesky: the reference's
//   system in double (lower triangle), solved by detail::bmf::cholesky_solve (the reference's
//   detail::cholesky_solve with ::sqrt, shared with the biased kernels). A row without entries
//   becomes 0. Failures are collected per row and the smallest failing row is found by a
//   thrust::reduce (rows[] is increasing): the row the reference reports.
// - fold_in_user_kernel: the same functor for one row (offsets {0, n}) on the policy's system,
//   so a fold-in is bit for bit a fit's row.
// The arithmetic is the reference's, operation for operation; results differ from it only by
// floating-point contraction and, for gramians of more than 1024 rows, the chunked sum.
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
#include "recfuse/thrust/detail/buffer.hpp"
#include "recfuse/thrust/factorize/biased_mf.hpp"  // detail::bmf::cholesky_solve
#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend {
namespace detail::ials {

// Rows of one gramian chunk (at least): up to this many rows the sum is the reference's.
inline constexpr index_t gram_chunk_rows = 1024;
// Chunks of a gramian at most, and doubles of row-solve scratch per launch at most (64 MiB).
inline constexpr index_t gram_max_chunks = 256;
inline constexpr index_t solve_scratch_doubles = index_t{1} << 23;

// partial[c * k * k + j * k + l] = sum over chunk c's rows of f_j f_l, for l >= j.
template <class T>
struct gram_partials {
  const T* f;
  index_t stride, n, k, chunk_rows;
  double* partial;

  RECFUSE_HOST_DEVICE void operator()(index_t t) const {
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
};

// out[j][l] = out[l][j] = the chunks' partials of (j, l), l >= j, added in chunk order.
template <class T>
struct gram_combine {
  const double* partial;
  index_t chunks, k;
  T* out;

  RECFUSE_HOST_DEVICE void operator()(index_t e) const {
    const index_t j = e / k;
    const index_t l = e - j * k;
    if (l < j) return;
    double s = 0.0;
    for (index_t c = 0; c < chunks; ++c) s += partial[c * k * k + e];
    out[j * k + l] = static_cast<T>(s);
    out[l * k + j] = static_cast<T>(s);
  }
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
  const T* fixed;
  index_t fixed_stride;
  const T* gram;
  T* target;
  index_t target_stride;
  const std::int32_t* rows;
  index_t first;
  index_t k;
  double reg, alpha;
  int cg_steps;
  bool cholesky;
  double* scratch;
  index_t per_row;
  index_t* failed;
  index_t no_failure;

  // out = (gram + reg I + sum_e alpha value_e y_e y_e^T) v: the reference's implicit_apply.
  RECFUSE_HOST_DEVICE void apply(const std::int32_t* ids, const T* vals, index_t n, const double* v,
                                 double* out) const {
    for (index_t j = 0; j < k; ++j) {
      double s = reg * v[j];
      for (index_t l = 0; l < k; ++l) s += static_cast<double>(gram[j * k + l]) * v[l];
      out[j] = s;
    }
    for (index_t e = 0; e < n; ++e) {
      const T* yi = fixed + static_cast<index_t>(ids[e]) * fixed_stride;
      double d = 0;
      for (index_t j = 0; j < k; ++j) d += static_cast<double>(yi[j]) * v[j];
      const double w = alpha * static_cast<double>(vals[e]) * d;
      for (index_t j = 0; j < k; ++j) out[j] += w * static_cast<double>(yi[j]);
    }
  }

  // b = sum_e c_e p_e y_e.
  RECFUSE_HOST_DEVICE void rhs(const std::int32_t* ids, const T* vals, index_t n, double* b) const {
    for (index_t j = 0; j < k; ++j) b[j] = 0.0;
    for (index_t e = 0; e < n; ++e) {
      const double v = static_cast<double>(vals[e]);
      if (!(v > 0)) continue;
      const T* yi = fixed + static_cast<index_t>(ids[e]) * fixed_stride;
      for (index_t j = 0; j < k; ++j) b[j] += (1.0 + alpha * v) * static_cast<double>(yi[j]);
    }
  }

  // The reference's CG from x (scratch: 4 k doubles).
  RECFUSE_HOST_DEVICE void conjugate_gradient(const std::int32_t* ids, const T* vals, index_t n,
                                              T* x, double* s) const {
    double* xd = s;
    double* r = s + k;
    double* p = s + 2 * k;
    double* ap = s + 3 * k;
    rhs(ids, vals, n, r);
    for (index_t j = 0; j < k; ++j) xd[j] = static_cast<double>(x[j]);
    apply(ids, vals, n, xd, ap);
    double rs = 0;
    for (index_t j = 0; j < k; ++j) {
      r[j] = r[j] - ap[j];
      p[j] = r[j];
      rs += r[j] * r[j];
    }
    for (int step = 0; step < cg_steps && rs > 0; ++step) {
      apply(ids, vals, n, p, ap);
      double pap = 0;
      for (index_t j = 0; j < k; ++j) pap += p[j] * ap[j];
      if (!(pap > 0)) break;
      const double step_size = rs / pap;
      double rs_new = 0;
      for (index_t j = 0; j < k; ++j) {
        xd[j] += step_size * p[j];
        r[j] -= step_size * ap[j];
        rs_new += r[j] * r[j];
      }
      const double beta = rs_new / rs;
      for (index_t j = 0; j < k; ++j) p[j] = r[j] + beta * p[j];
      rs = rs_new;
    }
    for (index_t j = 0; j < k; ++j) x[j] = static_cast<T>(xd[j]);
  }

  // The reference's Cholesky system in double (the lower triangle, which is all the solve
  // reads); scratch: k * k + k doubles. False when it is not positive definite.
  RECFUSE_HOST_DEVICE bool cholesky_row(const std::int32_t* ids, const T* vals, index_t n, T* x,
                                        double* s) const {
    double* a = s;
    double* b = s + k * k;
    rhs(ids, vals, n, b);
    for (index_t j = 0; j < k; ++j) {
      for (index_t l = 0; l <= j; ++l) a[j * k + l] = static_cast<double>(gram[j * k + l]);
      a[j * k + j] += reg;
    }
    for (index_t e = 0; e < n; ++e) {
      const double w = alpha * static_cast<double>(vals[e]);
      const T* yi = fixed + static_cast<index_t>(ids[e]) * fixed_stride;
      for (index_t j = 0; j < k; ++j) {
        for (index_t l = 0; l <= j; ++l) {
          a[j * k + l] += w * static_cast<double>(yi[j]) * static_cast<double>(yi[l]);
        }
      }
    }
    if (!bmf::cholesky_solve(a, b, k)) return false;
    for (index_t j = 0; j < k; ++j) x[j] = static_cast<T>(b[j]);
    return true;
  }

  RECFUSE_HOST_DEVICE void operator()(index_t j) const {
    const index_t q = first + j;
    const index_t row = rows != nullptr ? static_cast<index_t>(rows[q]) : q;
    const index_t begin = offsets[row];
    const index_t n = offsets[row + 1] - begin;
    T* x = target + row * target_stride;
    bool ok = true;
    if (n == 0) {
      for (index_t c = 0; c < k; ++c) x[c] = T(0);
    } else if (cholesky) {
      ok = cholesky_row(indices + begin, values + begin, n, x, scratch + j * per_row);
    } else {
      conjugate_gradient(indices + begin, values + begin, n, x, scratch + j * per_row);
    }
    failed[j] = ok ? no_failure : row;
  }
};

// Runs `count` positions of `rs` (its pointers in the policy's memory) in launches whose scratch
// stays under solve_scratch_doubles; -1, or the smallest row whose Cholesky system failed.
template <class System, class T>
index_t run_solve_rows(const policy<System>& p, solve_rows<T> rs, index_t count) {
  if (count == 0) return -1;
  rs.per_row = rs.cholesky ? rs.k * rs.k + rs.k : 4 * rs.k;
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
    if (rs.cholesky && first_failed < 0) {
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
  rs.fixed = fixed;
  rs.fixed_stride = fixed_stride;
  rs.gram = gram;
  rs.k = k;
  rs.reg = o.regularization;
  rs.alpha = o.alpha;
  rs.cg_steps = o.cg_steps;
  rs.cholesky = o.solver == implicit_solver::cholesky;
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
  // Chunks depend on n and k only, with at most about 64 MiB of double partials.
  const index_t max_chunks = std::clamp<index_t>(
      ials::solve_scratch_doubles / std::max<index_t>(1, kk), 1, ials::gram_max_chunks);
  const index_t chunk_rows = std::max(ials::gram_chunk_rows, (n + max_chunks - 1) / max_chunks);
  const index_t chunks = (n + chunk_rows - 1) / chunk_rows;
  detail::buffer<System, double> partial(static_cast<std::size_t>(chunks * kk));
  ::thrust::for_each(
      p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
      ::thrust::counting_iterator<index_t>(chunks * kk),
      ials::gram_partials<T>{f.data(), f.stride(), n, k, chunk_rows, detail::raw(partial)});
  ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(kk),
                     ials::gram_combine<T>{detail::raw(partial), chunks, k, out});
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
