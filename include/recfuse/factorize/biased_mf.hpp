// recfuse: explicit-rating matrix factorization with biases, trained by SGD or by ALS.
//
//   recfuse::exec::xsimd cpu;
//   auto model = recfuse::fit_biased_sgd(cpu, train.view());        // or fit_biased_als
//   recfuse::predict(cpu, model, users, items, out);                 // clipped ratings
//   float b_u = recfuse::fold_in_user(cpu, model, items, ratings, p_u);  // a user not in model
//   recfuse::refit_users(cpu, model, data.view(), users);            // re-solve some rows
//
// Model: r(u, i) = mu + b_u + b_i + p_u . q_i, clipped to [min_rating, max_rating]; mu is the
// mean of the training values and [min_rating, max_rating] their range. Factors start as
// init_scale times an approximately standard normal number from a portable generator seeded by
// options.seed (bit-identical on every platform); biases start at 0.
//
// - fit_biased_sgd: per rating, the Funk / Surprise SVD step (reference_backend::biased_sgd_update)
//   with learning rate learning_rate * learning_rate_decay^epoch. Ratings are cut into
//   blocks x blocks tiles by seeded permutations of users and items and each tile's order is
//   shuffled once; each epoch runs `blocks` rounds of tiles that share no user and no item
//   (sgd_options). The model depends on the seed and `blocks`, never on the thread count.
// - fit_biased_als: `iterations` sweeps, each solving every user's [b_u, p_u] against fixed
//   items, then every item's [b_i, q_i] against fixed users: a ridge problem over the row's
//   ratings with features [1, q_i], targets r - mu - b_i and penalty reg_bias * n_u on b_u,
//   reg_factor * n_u on p_u (weighted lambda), solved by Cholesky in double. mu is fixed.
// - A user or item with no training ratings gets zero factors and a zero bias (ALS), or keeps
//   its initial factors and a zero bias (SGD); either way its factors add about nothing.
// - predict: ids outside [0, users) or [0, items), negative ones included, are unseen and
//   drop their terms (mu + the known bias); never an error.
// - fold_in_user: the ALS user step for a new user's (item, rating) list against the model's
//   fixed items; returns b_u and writes p_u. An empty list gives 0 and zero factors.
// - refit_users / refit_items: the ALS step for the listed rows (duplicates allowed) from
//   `data`, which must have the model's users and items; the other rows are untouched. data
//   may be empty: a listed row without ratings in it gets zero factors and a zero bias, as in
//   fit_biased_als. fold_in_user and refit_* use options.reg_bias and reg_factor only.
// - Device data: predict and fold_in_user also take device views (ids, ratings and outputs in
//   device memory) with a device policy (exec::thrust<thrust::cuda::tag>); fold_in_user then
//   checks only the shapes, not the ids' range or the ratings' finiteness. The fits and refits
//   take host data and return or update a host model (a device policy copies them itself).
//
// Errors (messages start with the function's name): bad options, each naming the option and
// its value, as "options.factors is 0 (need 1 <= factors <= 65536)" (value_error; factors
// must be in [1, 65536] (detail::mf::max_factors), and every real option finite, also once
// converted to T); empty training data in a fit (value_error); a rating list whose lengths
// differ, factors_out not of length model.factors, predict inputs of different lengths, data
// whose users / items differ from the model's, a model whose arrays do not match its sizes or
// with more than 65536 factors (shape_error); an id outside its range in the data, in
// fold_in_user's items or in refit's list (index_error); NaN or infinite ratings (value_error,
// naming the entry).
//
// Complexity: SGD O(epochs * ratings * k); ALS per sweep O(ratings * k^2 + (users + items) *
// k^3). See docs/factorize.md.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "recfuse/core/execution.hpp"
#include "recfuse/core/sparse.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/factorize/detail/checks.hpp"
#include "recfuse/factorize/model.hpp"
#include "recfuse/reference/factorize/biased_mf.hpp"

namespace recfuse {
namespace detail::bmf {

inline constexpr int max_blocks = 1024;

template <class T>
void check_regularization(const char* fn, double reg_bias, double reg_factor) {
  mf::check_real_option<T>(fn, "reg_bias", reg_bias);
  mf::check_real_option<T>(fn, "reg_factor", reg_factor);
}

template <class T>
void check_options(const char* fn, const sgd_options& o) {
  mf::check_factors(fn, o.factors);
  if (o.epochs < 0) throw_error<value_error>(fn, "options.epochs is ", o.epochs, " (need >= 0)");
  mf::check_real_option<T>(fn, "learning_rate", o.learning_rate, mf::bound::positive);
  if (!(o.learning_rate_decay > 0.0 && o.learning_rate_decay <= 1.0)) {
    throw_error<value_error>(fn, "options.learning_rate_decay is ", o.learning_rate_decay,
                             " (need 0 < decay <= 1)");
  }
  check_regularization<T>(fn, o.reg_bias, o.reg_factor);
  mf::check_real_option<T>(fn, "init_scale", o.init_scale);
  if (o.blocks < 1 || o.blocks > max_blocks) {
    throw_error<value_error>(fn, "options.blocks is ", o.blocks,
                             " (need 1 <= blocks <= ", max_blocks, ")");
  }
}

template <class T>
void check_options(const char* fn, const als_options& o) {
  mf::check_factors(fn, o.factors);
  if (o.iterations < 0) {
    throw_error<value_error>(fn, "options.iterations is ", o.iterations, " (need >= 0)");
  }
  check_regularization<T>(fn, o.reg_bias, o.reg_factor);
  mf::check_real_option<T>(fn, "init_scale", o.init_scale);
}

template <class T>
void check_data(const char* fn, const char* name, const interactions_view<T>& d) {
  static_assert(std::is_floating_point_v<T>, "recfuse biased MF: ratings must be float or double");
  check_interactions(fn, name, d);
  if (d.size() == 0) throw_error<value_error>(fn, name, " is empty (0 ratings)");
}

template <class Policy, class T>
void refit(const char* fn, const Policy& policy, biased_mf_model<T>& model,
           const interactions_view<T>& data, vector_view<const std::int32_t> ids, side sd,
           const als_options& o) {
  check_regularization<T>(fn, o.reg_bias, o.reg_factor);
  mf::check_model(fn, model);
  if (data.users != model.users || data.items != model.items) {
    throw_error<shape_error>(fn, "data has users = ", data.users, ", items = ", data.items,
                             " but the model has users = ", model.users, ", items = ", model.items);
  }
  check_interactions(fn, "data", data);  // may be empty: the listed rows then get zeros
  const bool users = sd == side::users;
  const auto rows =
      mf::checked_rows(fn, users ? "users" : "items", ids, users ? model.users : model.items);
  const vector_view<const std::int32_t> rv(rows.data(), static_cast<index_t>(rows.size()));
  RECFUSE_CHECK_NATIVE(refit_kernel, policy, model, sd, data, rv, o);
  refit_kernel(policy, model, sd, data, rv, o);
}

// The kernel refit_users and refit_items need (each names itself when it is missing).
template <class Policy, class T>
concept has_biased_refit = requires(const Policy& policy, biased_mf_model<T>& model, side sd,
                                    const interactions_view<T>& data,
                                    vector_view<const std::int32_t> rows, const als_options& o) {
  refit_kernel(policy, model, sd, data, rows, o);
};

}  // namespace detail::bmf

template <class Policy, class T>
biased_mf_model<T> fit_biased_sgd(const Policy& policy, const interactions_view<T>& train,
                                  const sgd_options& options = {}) {
  constexpr const char* fn = "recfuse::fit_biased_sgd";
  detail::bmf::check_options<T>(fn, options);
  detail::bmf::check_data(fn, "train", train);
  auto model = detail::bmf::initial_model(train, options.factors, options.init_scale, options.seed);
  if constexpr (requires { fit_biased_sgd_kernel(policy, train, options, model); }) {
    RECFUSE_CHECK_NATIVE(fit_biased_sgd_kernel, policy, train, options, model);
    fit_biased_sgd_kernel(policy, train, options, model);
  } else {
    RECFUSE_NO_KERNEL("recfuse::fit_biased_sgd", Policy);
  }
  return model;
}

template <class Policy, class T>
biased_mf_model<T> fit_biased_als(const Policy& policy, const interactions_view<T>& train,
                                  const als_options& options = {}) {
  constexpr const char* fn = "recfuse::fit_biased_als";
  detail::bmf::check_options<T>(fn, options);
  detail::bmf::check_data(fn, "train", train);
  auto model = detail::bmf::initial_model(train, options.factors, options.init_scale, options.seed);
  if constexpr (requires { fit_biased_als_kernel(policy, train, options, model); }) {
    RECFUSE_CHECK_NATIVE(fit_biased_als_kernel, policy, train, options, model);
    fit_biased_als_kernel(policy, train, options, model);
  } else {
    RECFUSE_NO_KERNEL("recfuse::fit_biased_als", Policy);
  }
  return model;
}

namespace detail::bmf {

template <class Policy, class T, class Space>
void predict_views(const Policy& policy, const biased_mf_model<T>& model,
                   vector_view<const std::int32_t, Space> users,
                   vector_view<const std::int32_t, Space> items, vector_view<T, Space> out) {
  constexpr const char* fn = "recfuse::predict";
  mf::check_model(fn, model);
  check_vector(fn, "users", users);
  check_vector(fn, "items", items);
  check_vector(fn, "out", out);
  check_same(fn, "users.size()", users.size(), "items.size()", items.size());
  check_same(fn, "out.size()", out.size(), "users.size()", users.size());
  if constexpr (requires { predict_kernel(policy, model, users, items, out); }) {
    RECFUSE_CHECK_NATIVE(predict_kernel, policy, model, users, items, out);
    predict_kernel(policy, model, users, items, out);
  } else {
    RECFUSE_NO_KERNEL("recfuse::predict", Policy);
  }
}

// The checks fold_in_user makes of its items and ratings on the host; on device views, only
// their shapes (the ids and ratings are not read on the host).
template <class T, class Space>
void check_fold_in(const char* fn, const biased_mf_model<T>& model,
                   vector_view<const std::int32_t, Space> items,
                   vector_view<const T, Space> ratings, vector_view<T, Space> factors_out) {
  check_vector(fn, "items", items);
  check_vector(fn, "ratings", ratings);
  check_vector(fn, "factors_out", factors_out);
  check_same(fn, "items.size()", items.size(), "ratings.size()", ratings.size());
  check_same(fn, "factors_out.size()", factors_out.size(), "model.factors", model.factors);
  if constexpr (std::is_same_v<Space, host_memory>) {
    for (index_t j = 0; j < items.size(); ++j) {
      if (items[j] < 0 || items[j] >= model.items) {
        throw_error<index_error>(fn, "items[", j, "] is ", items[j], ", outside [0, ", model.items,
                                 ")");
      }
      if (!std::isfinite(ratings[j])) {
        throw_error<value_error>(fn, "ratings[", j, "] (item ", items[j], ") is ", ratings[j]);
      }
    }
  }
}

template <class Policy, class T, class Space>
T fold_in_user_views(const Policy& policy, const biased_mf_model<T>& model,
                     vector_view<const std::int32_t, Space> items,
                     vector_view<const T, Space> ratings, vector_view<T, Space> factors_out,
                     const als_options& options) {
  constexpr const char* fn = "recfuse::fold_in_user";
  check_regularization<T>(fn, options.reg_bias, options.reg_factor);
  mf::check_model(fn, model);
  check_fold_in(fn, model, items, ratings, factors_out);
  if constexpr (requires {
                  fold_in_user_kernel(policy, model, items, ratings, factors_out, options);
                }) {
    RECFUSE_CHECK_NATIVE(fold_in_user_kernel, policy, model, items, ratings, factors_out, options);
    return fold_in_user_kernel(policy, model, items, ratings, factors_out, options);
  } else {
    RECFUSE_NO_KERNEL("recfuse::fold_in_user", Policy);
  }
}

}  // namespace detail::bmf

// out[j] = the clipped prediction for (users[j], items[j]); unseen ids fall back to the biases.
// Host views for a host policy, device views for a device policy (the overload is picked by the
// policy's memory space, so braced lists such as {ids.data(), n} stay unambiguous).
template <class Policy, class T>
requires std::is_same_v<typename Policy::memory_space, host_memory>
void predict(const Policy& policy, const biased_mf_model<T>& model,
             vector_view<const std::int32_t> users, vector_view<const std::int32_t> items,
             std::type_identity_t<vector_view<T>> out) {
  detail::bmf::predict_views(policy, model, users, items, out);
}

// The same on device views (ids and out in device memory, for a device policy such as
// exec::thrust<thrust::cuda::tag>); the host model's arrays are copied to the device per call.
template <class Policy, class T>
requires std::is_same_v<typename Policy::memory_space, device_memory>
void predict(const Policy& policy, const biased_mf_model<T>& model,
             vector_view<const std::int32_t, device_memory> users,
             vector_view<const std::int32_t, device_memory> items,
             std::type_identity_t<vector_view<T, device_memory>> out) {
  detail::bmf::predict_views(policy, model, users, items, out);
}

// The ALS user step for a user outside the model: returns b_u, writes p_u to factors_out.
template <class Policy, class T>
requires std::is_same_v<typename Policy::memory_space, host_memory> T fold_in_user(
    const Policy& policy, const biased_mf_model<T>& model, vector_view<const std::int32_t> items,
    std::type_identity_t<vector_view<const T>> ratings,
    std::type_identity_t<vector_view<T>> factors_out, const als_options& options = {}) {
  return detail::bmf::fold_in_user_views(policy, model, items, ratings, factors_out, options);
}

// The same on device views (for a device policy). Only the shapes are checked: ids outside
// [0, model.items) and non-finite ratings are not detected on device data (the caller's duty).
template <class Policy, class T>
requires std::is_same_v<typename Policy::memory_space, device_memory> T
fold_in_user(const Policy& policy, const biased_mf_model<T>& model,
             vector_view<const std::int32_t, device_memory> items,
             std::type_identity_t<vector_view<const T, device_memory>> ratings,
             std::type_identity_t<vector_view<T, device_memory>> factors_out,
             const als_options& options = {}) {
  return detail::bmf::fold_in_user_views(policy, model, items, ratings, factors_out, options);
}

// Re-solves the listed users' [b_u, p_u] from data (an ALS user step); other rows untouched.
template <class Policy, class T>
void refit_users(const Policy& policy, biased_mf_model<T>& model, const interactions_view<T>& data,
                 vector_view<const std::int32_t> users, const als_options& options = {}) {
  if constexpr (!detail::bmf::has_biased_refit<Policy, T>) {
    RECFUSE_NO_KERNEL("recfuse::refit_users", Policy);
  } else {
    detail::bmf::refit("recfuse::refit_users", policy, model, data, users, detail::bmf::side::users,
                       options);
  }
}

// Re-solves the listed items' [b_i, q_i] from data (an ALS item step); other rows untouched.
template <class Policy, class T>
void refit_items(const Policy& policy, biased_mf_model<T>& model, const interactions_view<T>& data,
                 vector_view<const std::int32_t> items, const als_options& options = {}) {
  if constexpr (!detail::bmf::has_biased_refit<Policy, T>) {
    RECFUSE_NO_KERNEL("recfuse::refit_items", Policy);
  } else {
    detail::bmf::refit("recfuse::refit_items", policy, model, data, items, detail::bmf::side::items,
                       options);
  }
}

}  // namespace recfuse
