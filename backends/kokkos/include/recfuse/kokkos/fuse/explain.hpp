// recfuse Kokkos backend: explain_factorization_kernel (recfuse/fuse/explain.hpp), for biased
// models and for implicit models with their gramian given (the implicit overload without a
// gramian computes it with recfuse::gramian, then calls this one), generic over the execution
// space.
//
// One call is one small (k + 1 or k)-dimensional solve, which has no parallelism worth more
// than one launch: a single-iteration Kokkos::parallel_reduce runs the reference's solve
// (::recfuse::detail::explain::biased_solve, with the fold-in's jitter retry, or
// implicit_solve: the system built in double in the reference's entry order, then Cholesky) on
// a scratch buffer in the space's memory and hands its success back to the host; then, when it
// succeeded, one Kokkos::parallel_for over the rated entries computes each entry's contribution
// from the solution (biased_contribution / implicit_contribution). The arithmetic is the
// reference's, so results agree up to floating-point contraction (FMA), and never depend on the
// thread count.
//
// Memory: the models are host objects. On spaces that read host memory (Serial, OpenMP,
// Threads) the kernels read them in place; on device spaces they copy the item factors (and
// biases) to the space's memory per call (O(items k)), and items, ratings / values, the implicit
// gramian and `contributions` must be in the space's memory. The public explain_factorization
// returns a host object and reads its inputs on the host, so it serves host data only; a device
// program calls these kernels directly.
#pragma once

#include <cstdint>

#include <Kokkos_Core.hpp>

#include "recfuse/factorize/model.hpp"
#include "recfuse/fuse/explain.hpp"
#include "recfuse/kokkos/detail/buffer.hpp"
#include "recfuse/kokkos/detail/range.hpp"
#include "recfuse/kokkos/detail/staged.hpp"
#include "recfuse/kokkos/policy.hpp"
#include "recfuse/reference/fuse/explain.hpp"

namespace recfuse::kokkos_backend {
namespace detail {

// contributions[0, n) = 0 (a system that stays singular, or no factors).
template <class ExecSpace>
void explain_zero(const policy<ExecSpace>& p, double* contributions, index_t n) {
  Kokkos::parallel_for(
      "recfuse::explain_factorization_kernel::zero", index_range(p, n),
      KOKKOS_LAMBDA(index_t e) { contributions[e] = 0.0; });
  p.instance.fence();
}

}  // namespace detail

template <class ExecSpace, class T>
bool explain_factorization_kernel(
    const policy<ExecSpace>& p, const biased_mf_model<T>& m,
    vector_view<const std::int32_t, typename policy<ExecSpace>::memory_space> items,
    vector_view<const T, typename policy<ExecSpace>::memory_space> ratings, index_t item,
    const als_options& o, double* contributions) {
  const index_t n = items.size();
  if (n == 0) return true;
  const index_t k = m.factors;
  const index_t dim = k + 1;
  const auto factors_staged =
      detail::stage_const(p, "recfuse::explain::item_factors", m.item_factors);
  const auto bias_staged = detail::stage_const(p, "recfuse::explain::item_bias", m.item_bias);
  const T* factors = factors_staged.get();
  const T* bias = bias_staged.get();
  const std::int32_t* ids = items.data();
  const T* r = ratings.data();
  const double reg_bias = o.reg_bias;
  const double reg_factor = o.reg_factor;
  // a (dim^2), z (dim: the solution), x (dim).
  const auto scratch =
      detail::make_uninitialized_buffer<double>(p, "recfuse::explain::system", dim * dim + 2 * dim);
  double* a = scratch.data();
  double* z = a + dim * dim;
  double* x = z + dim;
  int solved = 0;  // reducing into a host scalar waits for the solve
  Kokkos::parallel_reduce(
      "recfuse::explain_factorization_kernel::solve", detail::index_range(p, 1),
      KOKKOS_LAMBDA(index_t, int& ok) {
        ok += ::recfuse::detail::explain::biased_solve(factors, k, ids, n, item, reg_bias,
                                                       reg_factor, a, z, x)
                  ? 1
                  : 0;
      },
      solved);
  if (solved == 0) {
    detail::explain_zero(p, contributions, n);
    return true;
  }
  const double mu = static_cast<double>(m.global_mean);
  Kokkos::parallel_for(
      "recfuse::explain_factorization_kernel::contributions", detail::index_range(p, n),
      KOKKOS_LAMBDA(index_t e) {
        contributions[e] =
            ::recfuse::detail::explain::biased_contribution(factors, bias, k, mu, z, ids[e], r[e]);
      });
  p.instance.fence();  // the caller reads contributions; the staged arrays must outlive the kernel
  return true;
}

template <class ExecSpace, class T>
bool explain_factorization_kernel(
    const policy<ExecSpace>& p, const implicit_mf_model<T>& m, const T* gram,
    vector_view<const std::int32_t, typename policy<ExecSpace>::memory_space> items,
    vector_view<const T, typename policy<ExecSpace>::memory_space> values, index_t item,
    const implicit_als_options& o, double* contributions) {
  const index_t n = items.size();
  const index_t k = m.factors;
  if (n == 0) return true;
  if (k == 0) {
    detail::explain_zero(p, contributions, n);
    return true;
  }
  const auto factors_staged =
      detail::stage_const(p, "recfuse::explain::item_factors", m.item_factors);
  const T* factors = factors_staged.get();
  const std::int32_t* ids = items.data();
  const T* v = values.data();
  const double regularization = o.regularization;
  const double alpha = o.alpha;
  // a (k^2), z (k: the solution).
  const auto scratch =
      detail::make_uninitialized_buffer<double>(p, "recfuse::explain::system", k * k + k);
  double* a = scratch.data();
  double* z = a + k * k;
  int solved = 0;
  Kokkos::parallel_reduce(
      "recfuse::explain_factorization_kernel::solve", detail::index_range(p, 1),
      KOKKOS_LAMBDA(index_t, int& ok) {
        ok += ::recfuse::detail::explain::implicit_solve(factors, gram, k, ids, v, n, item,
                                                         regularization, alpha, a, z)
                  ? 1
                  : 0;
      },
      solved);
  if (solved == 0) {
    detail::explain_zero(p, contributions, n);
    return false;
  }
  Kokkos::parallel_for(
      "recfuse::explain_factorization_kernel::contributions", detail::index_range(p, n),
      KOKKOS_LAMBDA(index_t e) {
        contributions[e] =
            ::recfuse::detail::explain::implicit_contribution(factors, k, alpha, z, ids[e], v[e]);
      });
  p.instance.fence();
  return true;
}

}  // namespace recfuse::kokkos_backend
