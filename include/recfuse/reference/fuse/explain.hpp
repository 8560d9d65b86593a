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

namespace recfuse::detail::explain {

// The pieces of the reference kernels below, host and device code (the Kokkos kernels run them
// in their own launches): one small solve per call, and each rated entry's contribution from it.

// Biased MF: x_id = [1, q_id] into x (k + 1 doubles).
template <class T>
RECFUSE_HOST_DEVICE void biased_feature(const T* item_factors, index_t k, index_t id, double* x) {
  const T* q = item_factors + id * k;
  x[0] = 1.0;
  for (index_t f = 0; f < k; ++f) x[f + 1] = static_cast<double>(q[f]);
}

// Biased MF: A = sum_e x_e x_e^T over the n rated items plus the fold-in's ridge
// (::recfuse::detail::bmf::add_ridge), solved against z = x_item; with the fold-in's jitter
// retry. a: (k + 1)^2, z and x: k + 1 doubles of scratch. False when A stays singular.
template <class T>
RECFUSE_HOST_DEVICE bool biased_solve(const T* item_factors, index_t k, const std::int32_t* items,
                                      index_t n, index_t item, double reg_bias, double reg_factor,
                                      double* a, double* z, double* x) {
  const index_t dim = k + 1;
  for (int attempt = 0; attempt < 2; ++attempt) {
    for (index_t j = 0; j < dim * dim; ++j) a[j] = 0.0;
    for (index_t e = 0; e < n; ++e) {
      biased_feature(item_factors, k, items[e], x);
      for (index_t r = 0; r < dim; ++r) {
        for (index_t c = 0; c <= r; ++c) a[r * dim + c] += x[r] * x[c];
      }
    }
    ::recfuse::detail::bmf::add_ridge(a, dim, dim, n, reg_bias, reg_factor,
                                      attempt == 0 ? 0.0 : ::recfuse::detail::bmf::ridge_jitter);
    biased_feature(item_factors, k, item, z);
    if (::recfuse::detail::cholesky_solve(a, z, dim)) return true;
  }
  return false;
}

// Biased MF: c = y (A^{-1} x_item) . x_id with y = rating - mu - b_id; z from biased_solve.
template <class T>
RECFUSE_HOST_DEVICE double biased_contribution(const T* item_factors, const T* item_bias, index_t k,
                                               double mu, const double* z, index_t id, T rating) {
  const T* q = item_factors + id * k;
  double d = z[0] * 1.0;
  for (index_t f = 0; f < k; ++f) d += z[f + 1] * static_cast<double>(q[f]);
  const double y = static_cast<double>(rating) - mu - static_cast<double>(item_bias[id]);
  return y * d;
}

// Implicit ALS: A = gram + reg I + sum_e alpha v_e y_e y_e^T, solved against z = y_item.
// a: k^2, z: k doubles of scratch. False when A is not positive definite.
template <class T>
RECFUSE_HOST_DEVICE bool implicit_solve(const T* item_factors, const T* gram, index_t k,
                                        const std::int32_t* items, const T* values, index_t n,
                                        index_t item, double regularization, double alpha,
                                        double* a, double* z) {
  for (index_t j = 0; j < k * k; ++j) a[j] = static_cast<double>(gram[j]);
  for (index_t j = 0; j < k; ++j) a[j * k + j] += regularization;
  for (index_t e = 0; e < n; ++e) {
    const double w = alpha * static_cast<double>(values[e]);
    const T* y = item_factors + static_cast<index_t>(items[e]) * k;
    for (index_t r = 0; r < k; ++r) {
      for (index_t c = 0; c <= r; ++c) {
        a[r * k + c] += w * static_cast<double>(y[r]) * static_cast<double>(y[c]);
      }
    }
  }
  const T* yi = item_factors + item * k;
  for (index_t f = 0; f < k; ++f) z[f] = static_cast<double>(yi[f]);
  return ::recfuse::detail::cholesky_solve(a, z, k);
}

// Implicit ALS: c = (1 + alpha v) (A^{-1} y_item) . y_id, 0 for v <= 0; z from implicit_solve.
template <class T>
RECFUSE_HOST_DEVICE double implicit_contribution(const T* item_factors, index_t k, double alpha,
                                                 const double* z, index_t id, T value) {
  const double v = static_cast<double>(value);
  if (!(v > 0)) return 0.0;
  const T* y = item_factors + id * k;
  double d = 0.0;
  for (index_t f = 0; f < k; ++f) d += z[f] * static_cast<double>(y[f]);
  return (1.0 + alpha * v) * d;
}

}  // namespace recfuse::detail::explain

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
  std::vector<double> a(static_cast<std::size_t>(dim * dim)), z(static_cast<std::size_t>(dim)),
      x(static_cast<std::size_t>(dim));
  if (!::recfuse::detail::explain::biased_solve(m.item_factors.data(), k, items.data(), n, item,
                                                o.reg_bias, o.reg_factor, a.data(), z.data(),
                                                x.data())) {
    return true;
  }
  for (index_t e = 0; e < n; ++e) {
    contributions[e] = ::recfuse::detail::explain::biased_contribution(
        m.item_factors.data(), m.item_bias.data(), k, static_cast<double>(m.global_mean), z.data(),
        items[e], ratings[e]);
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
  if (!::recfuse::detail::explain::implicit_solve(m.item_factors.data(), gram, k, items.data(),
                                                  values.data(), n, item, o.regularization, o.alpha,
                                                  a.data(), z.data())) {
    return false;
  }
  for (index_t e = 0; e < n; ++e) {
    contributions[e] = ::recfuse::detail::explain::implicit_contribution(
        m.item_factors.data(), k, o.alpha, z.data(), items[e], values[e]);
  }
  return true;
}

}  // namespace recfuse::reference_backend
