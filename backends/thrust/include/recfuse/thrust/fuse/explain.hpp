// recfuse Thrust backend: explain_factorization_kernel (recfuse/fuse/explain.hpp), for biased
// and implicit models, and the kernels explain_factorization composes (the implicit overload
// without a gramian computes it with recfuse::gramian).
//
// One call is one small (k + 1 or k)-dimensional solve, which has no parallelism worth a launch
// per step: a single-element thrust::for_each builds the system in double in the reference's
// entry order and solves it by Cholesky (the biased model with the fold-in's jitter retry), into
// a scratch buffer; then one thrust::for_each over the rated entries computes each entry's
// contribution c_e from the solution. The arithmetic is the reference's, so results agree up to
// floating-point contraction (FMA).
//
// Memory: the models are host objects. On host systems (cpp, omp, tbb) the kernels read them in
// place; on CUDA they copy the item factors and biases to the device per call (O(items k)), and
// items, ratings / values, the implicit gramian and `contributions` must be in device memory.
// The public explain_factorization returns a host object and reads its inputs on the host, so
// it serves host data only; a CUDA program calls these kernels directly.
#pragma once

#include <thrust/fill.h>
#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include <cstdint>

#include "recfuse/factorize/model.hpp"
#include "recfuse/fuse/explain.hpp"
#include "recfuse/reference/factorize/biased_mf.hpp"
#include "recfuse/thrust/detail/buffer.hpp"
#include "recfuse/thrust/factorize/biased_mf.hpp"
#include "recfuse/thrust/factorize/implicit_als.hpp"
#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend {
namespace detail {

// The biased fold-in system A = sum_e x_e x_e^T + ridge over w = [b_u, p_u], x_e = [1, q_e]
// (lower triangle), solved against z = x_item; scratch: a (dim^2), z (dim), x (dim), ok (1).
template <class T>
struct explain_biased_solve {
  const T* item_factors;
  const std::int32_t* items;
  index_t n, k, item;
  double reg_bias, reg_factor, jitter;
  double* scratch;

  RECFUSE_HOST_DEVICE void feature(index_t id, double* x) const {
    const T* q = item_factors + id * k;
    x[0] = 1.0;
    for (index_t f = 0; f < k; ++f) x[f + 1] = static_cast<double>(q[f]);
  }

  // The system with ::recfuse::detail::bmf::add_ridge's ridge (and jitter when jit > 0).
  RECFUSE_HOST_DEVICE bool build_and_solve(double jit) const {
    const index_t dim = k + 1;
    double* a = scratch;
    double* z = a + dim * dim;
    double* x = z + dim;
    for (index_t j = 0; j < dim * dim; ++j) a[j] = 0.0;
    for (index_t e = 0; e < n; ++e) {
      feature(items[e], x);
      for (index_t r = 0; r < dim; ++r) {
        for (index_t c = 0; c <= r; ++c) a[r * dim + c] += x[r] * x[c];
      }
    }
    double extra = 0.0;
    if (jit > 0.0) {
      double trace = 0.0;
      for (index_t j = 0; j < dim; ++j) trace += a[j * dim + j];
      extra = jit * (1.0 + trace / static_cast<double>(dim));
    }
    a[0] += reg_bias * static_cast<double>(n) + extra;
    for (index_t j = 1; j < dim; ++j) a[j * dim + j] += reg_factor * static_cast<double>(n) + extra;
    feature(item, z);
    return bmf::cholesky_solve(a, z, dim);
  }

  RECFUSE_HOST_DEVICE void operator()(index_t) const {
    const index_t dim = k + 1;
    const bool ok = build_and_solve(0.0) || build_and_solve(jitter);
    scratch[dim * dim + 2 * dim] = ok ? 1.0 : 0.0;
  }
};

// c_e = y_e (A^{-1} x_item) . x_e with y_e = r_e - mu - b_{item e}; 0 when the solve failed.
template <class T>
struct explain_biased_contribution {
  const T* item_factors;
  const T* item_bias;
  const std::int32_t* items;
  const T* ratings;
  index_t k;
  double mu;
  const double* z;   // the solution, dim = k + 1
  const double* ok;  // 1 when solved
  double* contributions;

  RECFUSE_HOST_DEVICE void operator()(index_t e) const {
    if (*ok == 0.0) {
      contributions[e] = 0.0;
      return;
    }
    const index_t j = items[e];
    const T* q = item_factors + j * k;
    double d = z[0] * 1.0;
    for (index_t f = 0; f < k; ++f) d += z[f + 1] * static_cast<double>(q[f]);
    const double y = static_cast<double>(ratings[e]) - mu - static_cast<double>(item_bias[j]);
    contributions[e] = y * d;
  }
};

// The implicit system A = Y^T Y + reg I + sum_e alpha v_e y_e y_e^T (lower triangle), solved
// against z = y_item; scratch: a (k^2), z (k), ok (1).
template <class T>
struct explain_implicit_solve {
  const T* item_factors;
  const T* gram;
  const std::int32_t* items;
  const T* values;
  index_t n, k, item;
  double regularization, alpha;
  double* scratch;

  RECFUSE_HOST_DEVICE void operator()(index_t) const {
    double* a = scratch;
    double* z = a + k * k;
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
    scratch[k * k + k] = bmf::cholesky_solve(a, z, k) ? 1.0 : 0.0;
  }
};

// c_e = (1 + alpha v_e) (A^{-1} y_item) . y_e, 0 for v_e <= 0 (or when the solve failed).
template <class T>
struct explain_implicit_contribution {
  const T* item_factors;
  const std::int32_t* items;
  const T* values;
  index_t k;
  double alpha;
  const double* z;
  const double* ok;
  double* contributions;

  RECFUSE_HOST_DEVICE void operator()(index_t e) const {
    const double v = static_cast<double>(values[e]);
    if (*ok == 0.0 || !(v > 0)) {
      contributions[e] = 0.0;
      return;
    }
    const T* y = item_factors + static_cast<index_t>(items[e]) * k;
    double d = 0.0;
    for (index_t f = 0; f < k; ++f) d += z[f] * static_cast<double>(y[f]);
    contributions[e] = (1.0 + alpha * v) * d;
  }
};

}  // namespace detail

template <class System, class T>
bool explain_factorization_kernel(
    const policy<System>& p, const biased_mf_model<T>& m,
    vector_view<const std::int32_t, typename policy<System>::memory_space> items,
    vector_view<const T, typename policy<System>::memory_space> ratings, index_t item,
    const als_options& o, double* contributions) {
  const index_t n = items.size();
  if (n == 0) return true;
  const index_t k = m.factors;
  const index_t dim = k + 1;
  const auto factors = detail::bmf::stage_const<System>(m.item_factors);
  const auto bias = detail::bmf::stage_const<System>(m.item_bias);
  detail::buffer<System, double> scratch(static_cast<std::size_t>(dim * dim + 2 * dim + 1));
  double* s = detail::raw(scratch);
  ::thrust::for_each(
      p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
      ::thrust::counting_iterator<index_t>(1),
      detail::explain_biased_solve<T>{factors.get(), items.data(), n, k, item, o.reg_bias,
                                      o.reg_factor, ::recfuse::detail::bmf::ridge_jitter, s});
  ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(n),
                     detail::explain_biased_contribution<T>{
                         factors.get(), bias.get(), items.data(), ratings.data(), k,
                         static_cast<double>(m.global_mean), s + dim * dim, s + dim * dim + 2 * dim,
                         contributions});
  return true;
}

template <class System, class T>
bool explain_factorization_kernel(
    const policy<System>& p, const implicit_mf_model<T>& m, const T* gram,
    vector_view<const std::int32_t, typename policy<System>::memory_space> items,
    vector_view<const T, typename policy<System>::memory_space> values, index_t item,
    const implicit_als_options& o, double* contributions) {
  const index_t n = items.size();
  const index_t k = m.factors;
  if (n == 0) return true;
  if (k == 0) {
    ::thrust::fill(p.thrust_policy(), contributions, contributions + n, 0.0);
    return true;
  }
  const auto factors = detail::bmf::stage_const<System>(m.item_factors);
  detail::buffer<System, double> scratch(static_cast<std::size_t>(k * k + k + 1));
  double* s = detail::raw(scratch);
  ::thrust::for_each(
      p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
      ::thrust::counting_iterator<index_t>(1),
      detail::explain_implicit_solve<T>{factors.get(), gram, items.data(), values.data(), n, k,
                                        item, o.regularization, o.alpha, s});
  ::thrust::for_each(
      p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
      ::thrust::counting_iterator<index_t>(n),
      detail::explain_implicit_contribution<T>{factors.get(), items.data(), values.data(), k,
                                               o.alpha, s + k * k, s + k * k + k, contributions});
  // The solve's flag, read back to the host (a copy from the device with CUDA).
  return static_cast<double>(scratch[static_cast<std::size_t>(k * k + k)]) != 0.0;
}

}  // namespace recfuse::thrust_backend
