// recfuse: factorization models and their settings.
//
// biased_mf_model   explicit ratings: r(u, i) ~ mu + b_u + b_i + p_u . q_i, clipped to
//                   [min_rating, max_rating]; trained by fit_biased_sgd or fit_biased_als
//                   (recfuse/factorize/biased_mf.hpp).
// implicit_mf_model implicit feedback (Hu, Koren and Volinsky 2008): preference
//                   p(u, i) ~ x_u . y_i; trained by fit_implicit_als
//                   (recfuse/factorize/implicit_als.hpp).
//
// Factors are dense row-major: user u's factors are user_factors[u * factors .. +factors).
// A user or item id outside the model (a user who arrived after training, say) is "unseen":
// explicit predictions fall back to mu + the biases that are known, implicit scores to 0.
#pragma once

#include <cstdint>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/views.hpp"

namespace recfuse {

namespace detail::bmf {

// A biased model's parameters as raw arrays (in host or device memory) and its clipped
// prediction; unseen ids (outside [0, users) or [0, items)) drop their terms, and the sum is in
// double. Host and device code: biased_mf_model::predict and the backends' predict kernels.
template <class T>
struct model_arrays {
  const T* user_factors;
  const T* item_factors;
  const T* user_bias;
  const T* item_bias;
  index_t users, items, factors;
  T global_mean, min_rating, max_rating;

  RECFUSE_HOST_DEVICE T predict(index_t u, index_t i) const {
    const bool known_u = u >= 0 && u < users;
    const bool known_i = i >= 0 && i < items;
    double s = global_mean;
    if (known_u) s += user_bias[u];
    if (known_i) s += item_bias[i];
    if (known_u && known_i) {
      const T* p = user_factors + u * factors;
      const T* q = item_factors + i * factors;
      for (index_t f = 0; f < factors; ++f) s += static_cast<double>(p[f]) * q[f];
    }
    if (s < min_rating) s = min_rating;
    if (s > max_rating) s = max_rating;
    return static_cast<T>(s);
  }
};

}  // namespace detail::bmf

template <class T = float>
struct biased_mf_model {
  index_t users = 0;
  index_t items = 0;
  index_t factors = 0;
  T global_mean = 0;
  T min_rating = 0;  // predictions are clipped to [min_rating, max_rating]
  T max_rating = 0;
  std::vector<T> user_bias;     // users
  std::vector<T> item_bias;     // items
  std::vector<T> user_factors;  // users x factors
  std::vector<T> item_factors;  // items x factors

  matrix_view<const T> user_matrix() const { return {user_factors.data(), users, factors}; }
  matrix_view<const T> item_matrix() const { return {item_factors.data(), items, factors}; }
  matrix_view<T> user_matrix() { return {user_factors.data(), users, factors}; }
  matrix_view<T> item_matrix() { return {item_factors.data(), items, factors}; }

  // One prediction, clipped; unseen ids (outside [0, users) or [0, items)) drop their terms.
  T predict(index_t u, index_t i) const {
    const detail::bmf::model_arrays<T> a{user_factors.data(),
                                         item_factors.data(),
                                         user_bias.data(),
                                         item_bias.data(),
                                         users,
                                         items,
                                         factors,
                                         global_mean,
                                         min_rating,
                                         max_rating};
    return a.predict(u, i);
  }
};

template <class T = float>
struct implicit_mf_model {
  index_t users = 0;
  index_t items = 0;
  index_t factors = 0;
  std::vector<T> user_factors;  // users x factors
  std::vector<T> item_factors;  // items x factors

  matrix_view<const T> user_matrix() const { return {user_factors.data(), users, factors}; }
  matrix_view<const T> item_matrix() const { return {item_factors.data(), items, factors}; }
  matrix_view<T> user_matrix() { return {user_factors.data(), users, factors}; }
  matrix_view<T> item_matrix() { return {item_factors.data(), items, factors}; }

  // x_u . y_i; 0 for unseen ids.
  T score(index_t u, index_t i) const {
    if (u < 0 || u >= users || i < 0 || i >= items) return T(0);
    double s = 0;
    const T* x = user_factors.data() + u * factors;
    const T* y = item_factors.data() + i * factors;
    for (index_t f = 0; f < factors; ++f) s += static_cast<double>(x[f]) * y[f];
    return static_cast<T>(s);
  }
};

// Real-valued options must be finite in double and in the model's T (1e39 is rejected for
// float); every option is checked before any work, with the option's name in the message.

// Explicit biased MF by SGD. The ratings are cut into blocks x blocks tiles by a seeded
// random permutation of users and of items; each epoch runs `blocks` rounds, and round s
// updates the tiles (b, (b + s) % blocks), which share no user and no item, in parallel
// (LIBMF's FPSGD idea with a fixed schedule). Within a tile, ratings run in a seeded shuffled
// order (drawn once per fit). The result depends on the seed and `blocks`, never on the thread
// count. The defaults give a mean RMSE of 0.910 on MovieLens 100K's folds u1..u5
// (docs/factorize.md).
struct sgd_options {
  index_t factors = 64;  // 1..65536 (detail::mf::max_factors)
  int epochs = 50;
  double learning_rate = 0.015;
  double learning_rate_decay = 0.98;  // per epoch: lr_e = learning_rate * decay^e, 0 < decay <= 1
  double reg_bias = 0.05;
  double reg_factor = 0.1;
  double init_scale = 0.05;  // factors start ~ N(0, init_scale^2) (portable approximation)
  int blocks = 8;            // tiles per side (1..1024); >= threads for parallelism
  std::uint64_t seed = 42;
};

// Explicit biased MF by ALS with weighted-lambda regularisation (Zhou et al. 2008): user u's
// ridge penalty is reg_factor * n_u on p_u and reg_bias * n_u on b_u. The defaults give a mean
// RMSE of 0.913 on MovieLens 100K's folds u1..u5 (docs/factorize.md).
struct als_options {
  index_t factors = 64;  // 1..65536 (detail::mf::max_factors)
  int iterations = 10;
  double reg_bias = 0.05;
  double reg_factor = 0.12;
  double init_scale = 0.05;  // item factors start ~ N(0, init_scale^2); users are solved first
  std::uint64_t seed = 42;
};

enum class implicit_solver { conjugate_gradient, cholesky };

// Implicit ALS (Hu, Koren and Volinsky 2008): confidence c = 1 + alpha * r, preference 1 for
// every entry with r > 0 (values must be >= 0; an entry of value 0 is as if absent). Each half
// sweep computes Y^T Y once; then every user (item) is solved by `cg_steps` conjugate-gradient
// steps warm-started from its current factors (Takacs et al. 2011), or exactly by Cholesky.
// The regularization is not scaled by the number of interactions (as in the Python package
// implicit), so it is much larger than in explicit ALS; too large a value for the data
// collapses the factors to 0. The defaults give ndcg@10 0.443 and precision@10 0.376 on
// MovieLens 100K's u1 split, value 1 per interaction (docs/implicit_als.md).
struct implicit_als_options {
  index_t factors = 64;  // 1..65536 (detail::mf::max_factors)
  int iterations = 15;
  double regularization = 30.0;
  double alpha = 2.0;
  int cg_steps = 3;
  implicit_solver solver = implicit_solver::conjugate_gradient;
  double init_scale = 0.01;  // factors start uniform in [0, init_scale)
  std::uint64_t seed = 42;
};

}  // namespace recfuse
