// recfuse: serial reference kernels for implicit ALS (the oracle the backends are tested
// against), plus the training objective for tests and diagnostics.
//
// Kernels (found by ADL on the policy; the public API is in recfuse/factorize/implicit_als.hpp):
//   gramian_kernel(policy, f, out)           out = F^T F (k x k row-major, symmetric)
//   fit_implicit_als_kernel(policy, by_row, fixed, gram, target, rows, count, options)
//       re-solves rows rows[0..count) of target (0..count when rows is null) from their
//       entries in the CSR by_row against the fixed factors, whose gramian is gram (without
//       the regularization); returns -1, or the first row (in list order) whose Cholesky
//       system failed (rows[] is increasing, so the smallest: a backend must report the same)
//   fold_in_user_kernel(policy, fixed, gram, ids, values, n, x, options)
//       the same for one row given as (ids, values) pairs; false when Cholesky failed
//   implicit_als_objective(model, data, options) the loss L of implicit_als.hpp, in double
// Contracts every backend keeps: a row without entries becomes 0; the CG solver runs
// options.cg_steps steps from the row's current value and stops early only when p.Ap <= 0 or
// the residual is exactly 0; Cholesky forms the system in double. Everything here is computed
// in double, entries in CSR order: the accurate, slow oracle.
#pragma once

#include <cstdint>
#include <vector>

#include "recfuse/core/execution.hpp"
#include "recfuse/core/sparse.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/factorize/model.hpp"
#include "recfuse/reference/detail/dense.hpp"

namespace recfuse::reference_backend {
namespace detail {

// One row's problem against the fixed side: its factors (k columns, rows `stride` apart), their
// gramian (k x k) and the options' constants. Host and device code: the Thrust kernels solve
// their rows with these same functions, on the GPU too.
template <class T>
struct implicit_row_problem {
  const T* y;
  index_t stride;
  index_t k;
  const T* gram;
  double reg, alpha;
  int cg_steps;
  bool cholesky;
};

template <class T>
implicit_row_problem<T> make_implicit_row_problem(matrix_view<const T> y, const T* gram,
                                                  const implicit_als_options& o) {
  return {y.data(),         y.stride(), y.cols(),   gram,
          o.regularization, o.alpha,    o.cg_steps, o.solver == implicit_solver::cholesky};
}

// The doubles of scratch implicit_solve_row needs: k * k + k for Cholesky, 4 k for CG.
inline index_t implicit_row_scratch(index_t k, bool cholesky) {
  return cholesky ? k * k + k : 4 * k;
}

// A = gram + reg I + sum_e (c_e - 1) y_e y_e^T applied to v (all double).
template <class T>
RECFUSE_HOST_DEVICE void implicit_apply(const implicit_row_problem<T>& pr, const std::int32_t* ids,
                                        const T* values, index_t n, const double* v, double* out) {
  const index_t k = pr.k;
  for (index_t j = 0; j < k; ++j) {
    double s = pr.reg * v[j];
    for (index_t l = 0; l < k; ++l) s += static_cast<double>(pr.gram[j * k + l]) * v[l];
    out[j] = s;
  }
  for (index_t e = 0; e < n; ++e) {
    const T* yi = pr.y + static_cast<index_t>(ids[e]) * pr.stride;
    double d = 0;
    for (index_t j = 0; j < k; ++j) d += static_cast<double>(yi[j]) * v[j];
    const double w = pr.alpha * static_cast<double>(values[e]) * d;
    for (index_t j = 0; j < k; ++j) out[j] += w * static_cast<double>(yi[j]);
  }
}

// b = sum_e c_e p_e y_e (entries with value <= 0 have preference 0).
template <class T>
RECFUSE_HOST_DEVICE void implicit_rhs(const implicit_row_problem<T>& pr, const std::int32_t* ids,
                                      const T* values, index_t n, double* b) {
  for (index_t j = 0; j < pr.k; ++j) b[j] = 0.0;
  for (index_t e = 0; e < n; ++e) {
    const double v = static_cast<double>(values[e]);
    if (!(v > 0)) continue;
    const T* yi = pr.y + static_cast<index_t>(ids[e]) * pr.stride;
    for (index_t j = 0; j < pr.k; ++j) b[j] += (1.0 + pr.alpha * v) * static_cast<double>(yi[j]);
  }
}

// Solves one row in place, using implicit_row_scratch(k, cholesky) doubles of scratch; false when
// the Cholesky system is not positive definite.
template <class T>
RECFUSE_HOST_DEVICE bool implicit_solve_row(const implicit_row_problem<T>& pr,
                                            const std::int32_t* ids, const T* values, index_t n,
                                            T* x, double* scratch) {
  const index_t k = pr.k;
  if (n == 0) {
    for (index_t j = 0; j < k; ++j) x[j] = T(0);
    return true;
  }
  if (pr.cholesky) {
    // The system in double; only its lower triangle, which is all the solve reads.
    double* a = scratch;
    double* b = scratch + k * k;
    implicit_rhs(pr, ids, values, n, b);
    for (index_t j = 0; j < k; ++j) {
      for (index_t l = 0; l <= j; ++l) a[j * k + l] = static_cast<double>(pr.gram[j * k + l]);
      a[j * k + j] += pr.reg;
    }
    for (index_t e = 0; e < n; ++e) {
      const double w = pr.alpha * static_cast<double>(values[e]);
      const T* yi = pr.y + static_cast<index_t>(ids[e]) * pr.stride;
      for (index_t j = 0; j < k; ++j) {
        for (index_t l = 0; l <= j; ++l) {
          a[j * k + l] += w * static_cast<double>(yi[j]) * static_cast<double>(yi[l]);
        }
      }
    }
    if (!::recfuse::detail::cholesky_solve(a, b, k)) return false;
    for (index_t j = 0; j < k; ++j) x[j] = static_cast<T>(b[j]);
    return true;
  }
  // Conjugate gradient from the current x: r = b - A x, p = r.
  double* xd = scratch;
  double* r = scratch + k;
  double* p = scratch + 2 * k;
  double* ap = scratch + 3 * k;
  implicit_rhs(pr, ids, values, n, r);
  for (index_t j = 0; j < k; ++j) xd[j] = static_cast<double>(x[j]);
  implicit_apply(pr, ids, values, n, xd, ap);
  double rs = 0;
  for (index_t j = 0; j < k; ++j) {
    r[j] -= ap[j];
    p[j] = r[j];
    rs += r[j] * r[j];
  }
  for (int step = 0; step < pr.cg_steps && rs > 0; ++step) {
    implicit_apply(pr, ids, values, n, p, ap);
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
  return true;
}

}  // namespace detail

template <class T>
void gramian_kernel(const policy&, matrix_view<const T> f, T* out) {
  const index_t k = f.cols();
  std::vector<double> g(static_cast<std::size_t>(k * k), 0.0);
  for (index_t i = 0; i < f.rows(); ++i) {
    const T* row = f.row(i);
    for (index_t j = 0; j < k; ++j) {
      for (index_t l = 0; l < k; ++l) {
        g[j * k + l] += static_cast<double>(row[j]) * static_cast<double>(row[l]);
      }
    }
  }
  for (index_t j = 0; j < k * k; ++j) out[j] = static_cast<T>(g[j]);
}

template <class T>
index_t fit_implicit_als_kernel(const policy&, const csr_view<T>& by_row,
                                matrix_view<const T> fixed, const T* gram, matrix_view<T> target,
                                const std::int32_t* rows, index_t count,
                                const implicit_als_options& o) {
  const auto pr = detail::make_implicit_row_problem(fixed, gram, o);
  std::vector<double> scratch(
      static_cast<std::size_t>(detail::implicit_row_scratch(pr.k, pr.cholesky)));
  index_t failed = -1;
  for (index_t q = 0; q < count; ++q) {
    const index_t row = rows == nullptr ? q : rows[q];
    const index_t begin = by_row.offsets()[row];
    if (!detail::implicit_solve_row(pr, by_row.indices() + begin, by_row.values() + begin,
                                    by_row.row_size(row), target.row(row), scratch.data()) &&
        failed < 0) {
      failed = row;
    }
  }
  return failed;
}

template <class T>
bool fold_in_user_kernel(const policy&, matrix_view<const T> fixed, const T* gram,
                         const std::int32_t* ids, const T* values, index_t n, T* x,
                         const implicit_als_options& o) {
  const auto pr = detail::make_implicit_row_problem(fixed, gram, o);
  std::vector<double> scratch(
      static_cast<std::size_t>(detail::implicit_row_scratch(pr.k, pr.cholesky)));
  return detail::implicit_solve_row(pr, ids, values, n, x, scratch.data());
}

// L = sum over all (u, i) of c (p - x_u . y_i)^2 + reg (|X|^2 + |Y|^2), computed as
// sum_u x_u^T (Y^T Y) x_u + sum over entries of [c (p - s)^2 - s^2] + reg (...), s = x_u . y_i.
// data's ids must be inside the model.
template <class T>
double implicit_als_objective(const implicit_mf_model<T>& m, const interactions_view<T>& data,
                              const implicit_als_options& o) {
  const index_t k = m.factors;
  std::vector<double> g(static_cast<std::size_t>(k * k), 0.0);
  double reg_sum = 0;
  for (index_t i = 0; i < m.items; ++i) {
    const T* y = m.item_factors.data() + i * k;
    for (index_t j = 0; j < k; ++j) {
      reg_sum += static_cast<double>(y[j]) * y[j];
      for (index_t l = 0; l < k; ++l) g[j * k + l] += static_cast<double>(y[j]) * y[l];
    }
  }
  double loss = 0;
  for (index_t u = 0; u < m.users; ++u) {
    const T* x = m.user_factors.data() + u * k;
    for (index_t j = 0; j < k; ++j) {
      reg_sum += static_cast<double>(x[j]) * x[j];
      for (index_t l = 0; l < k; ++l) loss += static_cast<double>(x[j]) * g[j * k + l] * x[l];
    }
  }
  for (index_t e = 0; e < data.size(); ++e) {
    const T* x = m.user_factors.data() + static_cast<index_t>(data.user[e]) * k;
    const T* y = m.item_factors.data() + static_cast<index_t>(data.item[e]) * k;
    double s = 0;
    for (index_t j = 0; j < k; ++j) s += static_cast<double>(x[j]) * y[j];
    const double v = static_cast<double>(data.value[e]);
    const double pref = v > 0 ? 1.0 : 0.0;
    loss += (1.0 + o.alpha * v) * (pref - s) * (pref - s) - s * s;
  }
  return loss + o.regularization * reg_sum;
}

}  // namespace recfuse::reference_backend
