// recfuse: serial reference kernels of explain_factorization (recfuse/fuse/explain.hpp):
//
//   explain_factorization_kernel(policy, biased_model, items, ratings, item, options, c)
//   explain_factorization_kernel(policy, implicit_model, gram, items, values, item, options, c)
//       c[e] = the part of the fold-in score of `item` that rated entry e carries (see
//       recfuse/fuse/explain.hpp for the math); returns false when the fold-in system is not
//       positive definite (implicit only).
//
// Computed in double and rounded to T once; nothing here checks its input.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/factorize/model.hpp"
#include "recfuse/reference/detail/dense.hpp"
#include "recfuse/reference/factorize/biased_mf.hpp"

namespace recfuse::reference_backend {

// Biased MF: the fold-in's ridge problem over w = [b_u, p_u] with features x_j = [1, q_j],
// targets y_j = r_j - mu - b_j and A = sum_j x_j x_j^T + diag(reg_bias n, reg_factor n, ...)
// (the library's weighted lambda, with the same jitter retry as the fold-in). Then
// x_i^T w = sum_j y_j x_i^T A^{-1} x_j, so c_j = y_j (A^{-1} x_i) . x_j. A system that stays
// singular gives zero factors in the fold-in, hence zero contributions here.
template <class T>
bool explain_factorization_kernel(const policy&, const biased_mf_model<T>& m,
                                  vector_view<const std::int32_t> items,
                                  vector_view<const T> ratings, index_t item, const als_options& o,
                                  double* contributions) {
  const index_t n = items.size();
  const index_t k = m.factors;
  const index_t dim = k + 1;
  for (index_t e = 0; e < n; ++e) contributions[e] = 0.0;
  if (n == 0) return true;
  auto feature = [&](index_t id, double* x) {
    const T* q = m.item_factors.data() + id * k;
    x[0] = 1.0;
    for (index_t f = 0; f < k; ++f) x[f + 1] = static_cast<double>(q[f]);
  };
  std::vector<double> a, z(static_cast<std::size_t>(dim)), x(static_cast<std::size_t>(dim));
  auto build = [&](double jitter) {
    a.assign(static_cast<std::size_t>(dim * dim), 0.0);
    for (index_t e = 0; e < n; ++e) {
      feature(items[e], x.data());
      for (index_t r = 0; r < dim; ++r) {
        for (index_t c = 0; c <= r; ++c) a[r * dim + c] += x[r] * x[c];
      }
    }
    ::recfuse::detail::bmf::add_ridge(a.data(), dim, dim, n, o.reg_bias, o.reg_factor, jitter);
    feature(item, z.data());
    return ::recfuse::detail::cholesky_solve(a.data(), z.data(), dim);
  };
  if (!build(0.0) && !build(::recfuse::detail::bmf::ridge_jitter)) return true;
  for (index_t e = 0; e < n; ++e) {
    const index_t j = items[e];
    feature(j, x.data());
    double d = 0.0;
    for (index_t r = 0; r < dim; ++r) d += z[r] * x[r];
    const double y = static_cast<double>(ratings[e]) - static_cast<double>(m.global_mean) -
                     static_cast<double>(m.item_bias[j]);
    contributions[e] = y * d;
  }
  return true;
}

// Implicit ALS (Hu, Koren and Volinsky): A = Y^T Y + reg I + sum_e alpha v_e y_e y_e^T and
// p_u = A^{-1} sum_{v_e > 0} (1 + alpha v_e) y_e, so y_i . p_u = sum_e c_e with
// c_e = (1 + alpha v_e) (A^{-1} y_i) . y_e (0 for an entry of value 0). False when A is not
// positive definite.
template <class T>
bool explain_factorization_kernel(const policy&, const implicit_mf_model<T>& m, const T* gram,
                                  vector_view<const std::int32_t> items,
                                  vector_view<const T> values, index_t item,
                                  const implicit_als_options& o, double* contributions) {
  const index_t n = items.size();
  const index_t k = m.factors;
  for (index_t e = 0; e < n; ++e) contributions[e] = 0.0;
  if (n == 0 || k == 0) return true;
  std::vector<double> a(static_cast<std::size_t>(k * k)), z(static_cast<std::size_t>(k));
  for (index_t j = 0; j < k * k; ++j) a[j] = static_cast<double>(gram[j]);
  for (index_t j = 0; j < k; ++j) a[j * k + j] += o.regularization;
  for (index_t e = 0; e < n; ++e) {
    const double w = o.alpha * static_cast<double>(values[e]);
    const T* y = m.item_factors.data() + static_cast<index_t>(items[e]) * k;
    for (index_t r = 0; r < k; ++r) {
      for (index_t c = 0; c <= r; ++c) {
        a[r * k + c] += w * static_cast<double>(y[r]) * static_cast<double>(y[c]);
      }
    }
  }
  const T* yi = m.item_factors.data() + item * k;
  for (index_t f = 0; f < k; ++f) z[f] = static_cast<double>(yi[f]);
  if (!::recfuse::detail::cholesky_solve(a.data(), z.data(), k)) return false;
  for (index_t e = 0; e < n; ++e) {
    const double v = static_cast<double>(values[e]);
    if (!(v > 0)) continue;
    const T* y = m.item_factors.data() + static_cast<index_t>(items[e]) * k;
    double d = 0.0;
    for (index_t f = 0; f < k; ++f) d += z[f] * static_cast<double>(y[f]);
    contributions[e] = (1.0 + o.alpha * v) * d;
  }
  return true;
}

}  // namespace recfuse::reference_backend
