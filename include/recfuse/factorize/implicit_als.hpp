// recfuse: implicit-feedback matrix factorization by alternating least squares (Hu, Koren and
// Volinsky 2008), each least-squares row solved by a few conjugate-gradient steps (Takacs,
// Pilaszy and Tikk 2011) or exactly by Cholesky.
//
//   auto model = recfuse::fit_implicit_als(recfuse::exec::xsimd{}, train.view(), options);
//   auto gram = recfuse::gramian(policy, model.item_matrix());         // once per model
//   recfuse::fold_in_user(policy, model, gram_view, items, values, x); // a new user (views)
//   recfuse::refit_users(policy, model, data, users, options);         // re-solve some rows
//
// Model. For user u and item i with an interaction of value r >= 0 the preference is
// p = 1 if r > 0 (else 0) and the confidence c = 1 + alpha * r; every other pair has p = 0 and
// c = 1. The fit minimises
//   L = sum over all (u, i) of c_ui (p_ui - x_u . y_i)^2 + regularization (|X|^2 + |Y|^2),
// with `regularization` NOT scaled by the number of interactions (as in the Python package
// implicit; it needs larger values than weighted-lambda ALS). An entry of value 0 therefore
// changes nothing. Duplicate (user, item) entries each add their own term (c - 1) on top of the
// pair's unobserved one: give a pair once, with its summed value, to mean "r = the sum".
//
// Each iteration solves every user against the fixed item factors Y, then every item against
// the fixed user factors X. User u's row is the solution of
//   (Y^T Y + sum_i (c_ui - 1) y_i y_i^T + regularization I) x_u = sum_i c_ui p_ui y_i
// (sums over u's entries). Y^T Y is computed once per half sweep (`gramian`).
// - implicit_solver::conjugate_gradient: `cg_steps` CG steps warm-started from the row's current
//   value; the matrix is never formed (A v = Y^T Y v + sum (c - 1)(y_i . v) y_i + reg v). No
//   step increases the row's quadratic, so L does not increase either (up to rounding).
// - implicit_solver::cholesky: the matrix is formed and factorised in double: the exact row
//   minimiser.
// A row without interactions is set to 0 by both solvers (its exact solution).
//
// Initialisation: user and item factors are uniform in [0, init_scale) from a splitmix64
// stream seeded with `seed` (users first, then items, row-major), the same on every platform
// and backend. The fit is deterministic, and on the xsimd backend does not depend on the thread
// count either (rows are solved independently; the gramian is summed in fixed chunks).
//
// fit_implicit_als: train is COO interactions (duplicates allowed, see above); users and items
// come from train.users and train.items; a user or item with no entry gets zero factors.
// gramian(policy, F): F^T F of an n x k factor matrix, k x k row-major, summed in double by the
// reference and in T flushed to double every 1024 rows by xsimd.
// fold_in_user: the user step of one ALS iteration for one user (a new user, or a known one
// whose interactions changed) against the model's fixed item factors: item_gram must be
// gramian(policy, model.item_matrix()) (computed once and reused across calls); items/values
// are the user's interactions. The CG solver warm-starts from factors_out's content (zero it
// for a new user); Cholesky ignores it. Runs on the calling thread only. The result is exactly
// (bit for bit) the user's row after one more fit iteration given the same starting row and
// entries in the same order.
// refit_users / refit_items: the user (item) half of one iteration restricted to the listed
// rows: each listed row is re-solved from its entries in `data` against the other side, whose
// gramian is computed once; other rows are untouched. Listing a row twice solves it once.
// data.users and data.items must equal the model's (grow the model first for new ids); data may
// be empty, and a listed row without entries in it becomes 0 (as in fit).
// options.factors, iterations, init_scale and seed are used by fit only; fold-in and refit use
// the model's factor count.
// Host data only: every function here takes or returns a host model or std::vector, so none
// accepts device views; with a device policy (exec::thrust<thrust::cuda::tag>) call the
// backend's kernels (gramian_kernel, fit_implicit_als_kernel, fold_in_user_kernel) directly on
// device views (see recfuse/thrust/factorize/implicit_als.hpp).
//
// Errors (messages start with the public function's name): train or data with an id out of
// range (index_error) or a NaN, infinite or negative value (value_error naming the entry);
// empty train (value_error; refit's data may be empty: the listed rows become 0); factors
// outside [1, 65536] (detail::mf::max_factors), iterations < 0, cg_steps < 1 with the CG
// solver, regularization, alpha or init_scale negative, not finite, or not finite once
// converted to T, an unknown solver (value_error naming the option and its value, as
// "options.alpha is -2 ..."); a value whose confidence 1 + alpha * r overflows T
// (value_error); a model whose vectors disagree with its sizes or with more than 65536
// factors, a gramian input with more than 65536 columns, item_gram not k x k, items and
// values of different lengths, factors_out not k long, data.users/items different from the
// model's (shape_error); an item or row id outside the model (index_error); a Cholesky system
// that is not positive definite, in practice only with regularization 0 (value_error naming
// the first such row).
//
// Complexity per iteration: CG: (cg_steps + 1) * (8 k nnz + 2 k^2 (users + items)) flops plus
// the two gramians (about k^2 (users + items)); Cholesky: 2 k^2 nnz + k^3 / 3 (users + items).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "recfuse/core/errors.hpp"
#include "recfuse/core/execution.hpp"
#include "recfuse/core/sparse.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/factorize/detail/checks.hpp"
#include "recfuse/factorize/model.hpp"
#include "recfuse/reference/factorize/implicit_als.hpp"

namespace recfuse {
namespace detail {

template <class T>
void check_implicit_options(const char* fn, const implicit_als_options& o, bool for_fit) {
  if (for_fit) {
    mf::check_factors(fn, o.factors);
    if (o.iterations < 0) {
      throw_error<value_error>(fn, "options.iterations is ", o.iterations, " (need >= 0)");
    }
    mf::check_real_option<T>(fn, "init_scale", o.init_scale);
  }
  mf::check_real_option<T>(fn, "regularization", o.regularization);
  mf::check_real_option<T>(fn, "alpha", o.alpha);
  if (o.solver != implicit_solver::conjugate_gradient && o.solver != implicit_solver::cholesky) {
    throw_error<value_error>(fn, "options.solver is ", static_cast<int>(o.solver),
                             ", not an implicit_solver value");
  }
  if (o.solver == implicit_solver::conjugate_gradient && o.cg_steps < 1) {
    throw_error<value_error>(fn, "options.cg_steps is ", o.cg_steps,
                             " (need >= 1 with the CG solver)");
  }
}

// Implicit feedback values: finite (checked by check_interactions) and >= 0, with a finite
// confidence 1 + alpha * value in T.
template <class T>
void check_implicit_value(const char* fn, const char* name, index_t e, index_t u, index_t i, T v,
                          double alpha) {
  if (!(v >= T(0))) {
    throw_error<value_error>(fn, name, " entry ", e, " (user ", u, ", item ", i, ") has value ", v,
                             " (implicit feedback values must be >= 0)");
  }
  if (!std::isfinite(static_cast<T>(1.0 + alpha * static_cast<double>(v)))) {
    throw_error<value_error>(fn, name, " entry ", e, " (user ", u, ", item ", i, ") has value ", v,
                             ": its confidence 1 + alpha * value overflows (alpha = ", alpha, ")");
  }
}

template <class T>
void check_implicit_data(const char* fn, const char* name, const interactions_view<T>& d,
                         double alpha) {
  check_interactions(fn, name, d);
  for (index_t e = 0; e < d.size(); ++e) {
    check_implicit_value(fn, name, e, d.user[e], d.item[e], d.value[e], alpha);
  }
}

// splitmix64 (Steele, Lea and Flood 2014): a portable stream, the same on every platform.
class implicit_splitmix64 {
 public:
  explicit implicit_splitmix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

template <class T>
void implicit_init(implicit_mf_model<T>& m, double scale, std::uint64_t seed) {
  implicit_splitmix64 rng(seed);
  for (auto& v : m.user_factors) v = static_cast<T>(scale * rng.uniform());
  for (auto& v : m.item_factors) v = static_cast<T>(scale * rng.uniform());
}

// ---- dispatch to the kernels (found by ADL on the policy) ----
// Each public function checks that the policy has the kernels it needs and names itself in
// RECFUSE_NO_KERNEL when it has not; the helpers below then call the kernels directly.

template <class Policy, class T>
concept has_implicit_gramian = requires(const Policy& policy, matrix_view<const T> f, T* out) {
  gramian_kernel(policy, f, out);
};

template <class Policy, class T>
concept has_implicit_fit_kernel = requires(const Policy& policy, const csr_view<T>& by_row,
                                           matrix_view<const T> fixed, const T* gram,
                                           matrix_view<T> target, const std::int32_t* rows,
                                           index_t count, const implicit_als_options& o) {
  fit_implicit_als_kernel(policy, by_row, fixed, gram, target, rows, count, o);
};

// What fit_implicit_als and refit_* need.
template <class Policy, class T>
concept has_implicit_sweep = has_implicit_gramian<Policy, T> && has_implicit_fit_kernel<Policy, T>;

// Solves rows (rows[0..count) or, when rows is null, 0..count) of `target`; throws, naming the
// first failing row (the smallest id: rows are listed in increasing order), on a Cholesky
// failure.
template <class Policy, class T>
void implicit_run_solve_rows(const char* fn, const char* side, const Policy& policy,
                             const csr_view<T>& by_row, matrix_view<const T> fixed, const T* gram,
                             matrix_view<T> target, const std::int32_t* rows, index_t count,
                             const implicit_als_options& o) {
  RECFUSE_CHECK_NATIVE(fit_implicit_als_kernel, policy, by_row, fixed, gram, target, rows, count,
                       o);
  const index_t failed =
      fit_implicit_als_kernel(policy, by_row, fixed, gram, target, rows, count, o);
  if (failed >= 0) {
    throw_error<value_error>(fn, "the Cholesky system of ", side, " ", failed,
                             " is not positive definite (regularization = ", o.regularization,
                             "; use regularization > 0)");
  }
}

template <class Policy, class T>
void implicit_half_sweep(const char* fn, const char* side, const Policy& policy,
                         const csr_matrix<T>& by_row,
                         std::type_identity_t<matrix_view<const T>> fixed, matrix_view<T> target,
                         std::vector<T>& gram, const std::vector<std::int32_t>* rows,
                         const implicit_als_options& o) {
  gram.resize(static_cast<std::size_t>(fixed.cols() * fixed.cols()));
  RECFUSE_CHECK_NATIVE(gramian_kernel, policy, fixed, gram.data());
  gramian_kernel(policy, fixed, gram.data());
  if (rows == nullptr) {
    implicit_run_solve_rows(fn, side, policy, by_row.view(), fixed, gram.data(), target, nullptr,
                            target.rows(), o);
  } else {
    implicit_run_solve_rows(fn, side, policy, by_row.view(), fixed, gram.data(), target,
                            rows->data(), static_cast<index_t>(rows->size()), o);
  }
}

template <class Policy, class T>
void implicit_refit(const char* fn, const Policy& policy, implicit_mf_model<T>& model,
                    const interactions_view<T>& data, vector_view<const std::int32_t> ids,
                    const implicit_als_options& o, bool users_side) {
  check_implicit_options<T>(fn, o, false);
  mf::check_model(fn, model);
  check_implicit_data(fn, "data", data, o.alpha);
  check_same(fn, "data.users", data.users, "model.users", model.users);
  check_same(fn, "data.items", data.items, "model.items", model.items);
  const auto rows = mf::checked_rows(fn, users_side ? "users" : "items", ids,
                                     users_side ? model.users : model.items);
  if (rows.empty() || model.factors == 0) return;
  const auto by_row = to_csr(data, users_side ? csr_by::user : csr_by::item);
  std::vector<T> gram;
  if (users_side) {
    implicit_half_sweep(fn, "user", policy, by_row, model.item_matrix(), model.user_matrix(), gram,
                        &rows, o);
  } else {
    implicit_half_sweep(fn, "item", policy, by_row, model.user_matrix(), model.item_matrix(), gram,
                        &rows, o);
  }
}

// The checks of both fit_implicit_als overloads (the plain one here, the validated one in
// recfuse/factorize/validation.hpp): the options, then train's ids and values, then emptiness.
template <class T>
void check_implicit_fit(const char* fn, const interactions_view<T>& train,
                        const implicit_als_options& options) {
  check_implicit_options<T>(fn, options, true);
  check_implicit_data(fn, "train", train, options.alpha);
  if (train.size() == 0) {
    throw_error<value_error>(fn, "train is empty (", train.users, " users, ", train.items,
                             " items, 0 interactions)");
  }
}

}  // namespace detail

// Fits an implicit_mf_model to `train` (see the header comment for the model and the options).
template <class Policy, class T>
implicit_mf_model<T> fit_implicit_als(const Policy& policy, const interactions_view<T>& train,
                                      const implicit_als_options& options = {}) {
  constexpr const char* fn = "recfuse::fit_implicit_als";
  static_assert(std::is_floating_point_v<T>,
                "recfuse::fit_implicit_als: T must be float or double");
  detail::check_implicit_fit(fn, train, options);
  if constexpr (!detail::has_implicit_sweep<Policy, T>) {
    RECFUSE_NO_KERNEL("recfuse::fit_implicit_als", Policy);
  } else {
    implicit_mf_model<T> model;
    model.users = train.users;
    model.items = train.items;
    model.factors = options.factors;
    model.user_factors.resize(static_cast<std::size_t>(model.users * model.factors));
    model.item_factors.resize(static_cast<std::size_t>(model.items * model.factors));
    detail::implicit_init(model, options.init_scale, options.seed);
    if (options.iterations == 0) return model;
    const auto by_user = to_csr(train, csr_by::user);
    const auto by_item = to_csr(train, csr_by::item);
    std::vector<T> gram;
    for (int it = 0; it < options.iterations; ++it) {
      detail::implicit_half_sweep(fn, "user", policy, by_user, model.item_matrix(),
                                  model.user_matrix(), gram, nullptr, options);
      detail::implicit_half_sweep(fn, "item", policy, by_item, model.user_matrix(),
                                  model.item_matrix(), gram, nullptr, options);
    }
    return model;
  }
}

// F^T F for an n x k factor matrix F (any row stride): k x k, row-major, symmetric.
template <class Policy, class T>
std::vector<T> gramian(const Policy& policy, matrix_view<const T> factors) {
  constexpr const char* fn = "recfuse::gramian";
  static_assert(std::is_floating_point_v<T>, "recfuse::gramian: T must be float or double");
  detail::check_matrix(fn, "factors", factors);
  if (factors.cols() > detail::mf::max_factors) {
    detail::throw_error<shape_error>(fn, "factors has cols = ", factors.cols(),
                                     " (need <= ", detail::mf::max_factors, ")");
  }
  if constexpr (!detail::has_implicit_gramian<Policy, T>) {
    RECFUSE_NO_KERNEL("recfuse::gramian", Policy);
  } else {
    std::vector<T> out(static_cast<std::size_t>(factors.cols() * factors.cols()));
    RECFUSE_CHECK_NATIVE(gramian_kernel, policy, factors, out.data());
    if (!out.empty()) gramian_kernel(policy, factors, out.data());
    return out;
  }
}

// The same for a view of mutable factors (e.g. a non-const model's item_matrix()).
template <class Policy, class T>
requires(!std::is_const_v<T>) std::vector<T> gramian(const Policy& policy, matrix_view<T> factors) {
  return gramian(policy, matrix_view<const T>(factors));
}

// One user's factors against the model's fixed item factors (see the header comment).
template <class Policy, class T>
void fold_in_user(const Policy& policy, const implicit_mf_model<T>& model,
                  vector_view<const T> item_gram, vector_view<const std::int32_t> items,
                  vector_view<const T> values, vector_view<T> factors_out,
                  const implicit_als_options& options = {}) {
  constexpr const char* fn = "recfuse::fold_in_user";
  detail::check_implicit_options<T>(fn, options, false);
  detail::mf::check_model(fn, model);
  detail::check_vector(fn, "item_gram", item_gram);
  detail::check_vector(fn, "items", items);
  detail::check_vector(fn, "values", values);
  detail::check_vector(fn, "factors_out", factors_out);
  detail::check_same(fn, "item_gram.size()", item_gram.size(), "model.factors^2",
                     model.factors * model.factors);
  detail::check_same(fn, "items.size()", items.size(), "values.size()", values.size());
  detail::check_same(fn, "factors_out.size()", factors_out.size(), "model.factors", model.factors);
  for (index_t e = 0; e < items.size(); ++e) {
    if (items[e] < 0 || items[e] >= model.items) {
      detail::throw_error<index_error>(fn, "items[", e, "] is ", items[e], ", outside [0, ",
                                       model.items, ")");
    }
    const T v = values[e];
    if (!std::isfinite(v) || !(v >= T(0))) {
      detail::throw_error<value_error>(fn, "values[", e, "] (item ", items[e], ") is ", v,
                                       " (implicit feedback values must be finite and >= 0)");
    }
    if (!std::isfinite(static_cast<T>(1.0 + options.alpha * static_cast<double>(v)))) {
      detail::throw_error<value_error>(
          fn, "values[", e, "] (item ", items[e], ") is ", v,
          ": its confidence 1 + alpha * value overflows (alpha = ", options.alpha, ")");
    }
  }
  if (model.factors == 0) return;
  const matrix_view<const T> y = model.item_matrix();
  if constexpr (requires {
                  fold_in_user_kernel(policy, y, item_gram.data(), items.data(), values.data(),
                                      items.size(), factors_out.data(), options);
                }) {
    RECFUSE_CHECK_NATIVE(fold_in_user_kernel, policy, y, item_gram.data(), items.data(),
                         values.data(), items.size(), factors_out.data(), options);
    if (!fold_in_user_kernel(policy, y, item_gram.data(), items.data(), values.data(), items.size(),
                             factors_out.data(), options)) {
      detail::throw_error<value_error>(fn, "the Cholesky system is not positive definite ",
                                       "(regularization = ", options.regularization,
                                       "; use regularization > 0)");
    }
  } else {
    RECFUSE_NO_KERNEL("recfuse::fold_in_user", Policy);
  }
}

// Re-solves the listed users against the model's fixed item factors from their entries in data.
template <class Policy, class T>
void refit_users(const Policy& policy, implicit_mf_model<T>& model,
                 const interactions_view<T>& data, vector_view<const std::int32_t> users,
                 const implicit_als_options& options = {}) {
  if constexpr (!detail::has_implicit_sweep<Policy, T>) {
    RECFUSE_NO_KERNEL("recfuse::refit_users", Policy);
  } else {
    detail::implicit_refit("recfuse::refit_users", policy, model, data, users, options, true);
  }
}

// Re-solves the listed items against the model's fixed user factors from their entries in data.
template <class Policy, class T>
void refit_items(const Policy& policy, implicit_mf_model<T>& model,
                 const interactions_view<T>& data, vector_view<const std::int32_t> items,
                 const implicit_als_options& options = {}) {
  if constexpr (!detail::has_implicit_sweep<Policy, T>) {
    RECFUSE_NO_KERNEL("recfuse::refit_items", Policy);
  } else {
    detail::implicit_refit("recfuse::refit_items", policy, model, data, items, options, false);
  }
}

}  // namespace recfuse
