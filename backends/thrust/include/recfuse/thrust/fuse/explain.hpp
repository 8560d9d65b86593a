// recfuse Thrust backend: explain_factorization_kernel (recfuse/fuse/explain.hpp), for biased
// and implicit models, and the kernels explain_factorization composes (the implicit overload
// without a gramian computes it with recfuse::gramian).
//
// One call is one small (k + 1 or k)-dimensional solve, which has no parallelism worth a launch
// per step: a single-element thrust::for_each runs the reference's solve
// (::recfuse::detail::explain::biased_solve, with the fold-in's jitter retry, or implicit_solve:
// the system built in double in the reference's entry order, then Cholesky) on a scratch buffer;
// then one thrust::for_each over the rated entries computes each entry's contribution c_e from
// the solution (biased_contribution / implicit_contribution). These pieces are shared with the
// reference and the Kokkos backend (recfuse/reference/fuse/explain.hpp, host and device code),
// so results agree with the reference up to floating-point contraction (FMA).
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
#include "recfuse/reference/fuse/explain.hpp"
#include "recfuse/thrust/detail/buffer.hpp"
#include "recfuse/thrust/factorize/biased_mf.hpp"
#include "recfuse/thrust/factorize/implicit_als.hpp"
#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend {
namespace detail {

// The functors run the reference's own pieces (::recfuse::detail::explain, in
// recfuse/reference/fuse/explain.hpp, host and device code) on a scratch buffer in the policy's
// memory: the solve writes its success flag after the system, the contributions read it.

// The biased fold-in system solved against x_item, with the jitter retry (biased_solve);
// scratch: a (dim^2), z (dim: the solution), x (dim), ok (1), dim = k + 1.
template <class T>
struct explain_biased_solve {
  const T* item_factors;
  const std::int32_t* items;
  index_t n, k, item;
  double reg_bias, reg_factor;
  double* scratch;

  RECFUSE_HOST_DEVICE void operator()(index_t) const {
    const index_t dim = k + 1;
    double* a = scratch;
    double* z = a + dim * dim;
    double* x = z + dim;
    const bool ok = ::recfuse::detail::explain::biased_solve(item_factors, k, items, n, item,
                                                             reg_bias, reg_factor, a, z, x);
    x[dim] = ok ? 1.0 : 0.0;
  }
};

// c_e from the solution z (biased_contribution); 0 when the solve failed.
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
    contributions[e] = *ok == 0.0 ? 0.0
                                  : ::recfuse::detail::explain::biased_contribution(
                                        item_factors, item_bias, k, mu, z, items[e], ratings[e]);
  }
};

// The implicit system solved against y_item (implicit_solve); scratch: a (k^2), z (k: the
// solution), ok (1).
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
    const bool ok = ::recfuse::detail::explain::implicit_solve(
        item_factors, gram, k, items, values, n, item, regularization, alpha, a, z);
    z[k] = ok ? 1.0 : 0.0;
  }
};

// c_e from the solution z (implicit_contribution: 0 for v_e <= 0); 0 when the solve failed.
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
    contributions[e] = *ok == 0.0 ? 0.0
                                  : ::recfuse::detail::explain::implicit_contribution(
                                        item_factors, k, alpha, z, items[e], values[e]);
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
  ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(1),
                     detail::explain_biased_solve<T>{factors.get(), items.data(), n, k, item,
                                                     o.reg_bias, o.reg_factor, s});
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
