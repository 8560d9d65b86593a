// recfuse: serial reference kernels for explicit biased matrix factorization (the oracle the
// backends are tested against), and the pieces every backend shares: the portable random
// numbers, the seeded initial model and the SGD tile schedule.
//
//   auto model = recfuse::fit_biased_sgd(recfuse::exec::reference{}, train.view());
//   (through recfuse/factorize/biased_mf.hpp, which validates and then calls these kernels)
//
// SGD does its arithmetic in T, one rating at a time, in the order biased_sgd_update shows
// (dot product in increasing factor order). ALS accumulates each row's normal equations in
// double, in the row's entry order, and solves them by detail::cholesky_solve in double.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "recfuse/core/execution.hpp"
#include "recfuse/core/sparse.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/factorize/model.hpp"
#include "recfuse/reference/detail/dense.hpp"

namespace recfuse::detail::bmf {

// ---- portable random numbers ---------------------------------------------------------------
// std::mt19937_64's output is fixed by the standard, but the <random> distributions are not
// (normal_distribution and shuffle differ between standard libraries). These helpers turn its
// words into numbers with exactly rounded arithmetic only, so a seed gives the same model on
// every platform.

// Uniform in (0, 1): 53 random bits, centred in their cell so 0 and 1 never occur.
inline double uniform01(std::mt19937_64& g) {
  return (static_cast<double>(g() >> 11) + 0.5) * 0x1.0p-53;
}

// Uniform integer in [0, n), n >= 1, by rejection (no modulo bias).
inline std::uint64_t uniform_below(std::mt19937_64& g, std::uint64_t n) {
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // a multiple of n
  std::uint64_t x = g();
  while (x >= limit) x = g();
  return x % n;
}

// Approximately standard normal: the sum of 12 uniforms minus 6 (mean 0, variance 1, tails
// cut at +-6; plenty for initial factors, and no log / sin whose last bits vary by libm).
inline double normal(std::mt19937_64& g) {
  double s = 0.0;
  for (int j = 0; j < 12; ++j) s += uniform01(g);
  return s - 6.0;
}

// Fisher-Yates shuffle of a[0..n).
template <class V>
void shuffle(V* a, index_t n, std::mt19937_64& g) {
  for (index_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<index_t>(uniform_below(g, static_cast<std::uint64_t>(i) + 1));
    std::swap(a[i], a[j]);
  }
}

// The SGD schedule draws from its own stream, so the initial factors are the same for SGD and
// ALS with one seed.
inline constexpr std::uint64_t schedule_stream = 0x9E3779B97F4A7C15ULL;

// ---- the initial model ---------------------------------------------------------------------

// mu = mean of the values (summed in double), [min_rating, max_rating] = their range, biases
// 0, factors init_scale * normal(): user factors first, row by row, then item factors.
// d must be non-empty and valid (check_interactions).
template <class T>
biased_mf_model<T> initial_model(const interactions_view<T>& d, index_t factors, double init_scale,
                                 std::uint64_t seed) {
  biased_mf_model<T> m;
  m.users = d.users;
  m.items = d.items;
  m.factors = factors;
  double sum = 0.0;
  T lo = d.value[0], hi = d.value[0];
  for (index_t e = 0; e < d.size(); ++e) {
    sum += static_cast<double>(d.value[e]);
    if (d.value[e] < lo) lo = d.value[e];
    if (d.value[e] > hi) hi = d.value[e];
  }
  m.global_mean = static_cast<T>(sum / static_cast<double>(d.size()));
  m.min_rating = lo;
  m.max_rating = hi;
  m.user_bias.assign(static_cast<std::size_t>(d.users), T(0));
  m.item_bias.assign(static_cast<std::size_t>(d.items), T(0));
  m.user_factors.resize(static_cast<std::size_t>(d.users * factors));
  m.item_factors.resize(static_cast<std::size_t>(d.items * factors));
  std::mt19937_64 g(seed);
  for (auto& x : m.user_factors) x = static_cast<T>(init_scale * normal(g));
  for (auto& x : m.item_factors) x = static_cast<T>(init_scale * normal(g));
  return m;
}

// ---- the SGD schedule ----------------------------------------------------------------------

template <class T>
struct sgd_entry {
  std::int32_t user;
  std::int32_t item;
  T value;
};

// Ratings cut into blocks x blocks tiles: a seeded permutation of the users gives user u a
// rank (its position), and puts it in group rank * blocks / users, likewise for items; tile
// (g_u, g_i) = g_u * blocks + g_i holds entries[offsets[t], offsets[t + 1]), in a seeded
// shuffled order (drawn once per fit). Round s of an epoch runs the tiles (b, (b + s) % blocks),
// b = 0..blocks-1: no two of them share a user group or an item group, so they can run at the
// same time. A backend may store the rows in rank order, so that each group's rows are
// contiguous and threads can share a cache line only at group boundaries (the last row of one
// group and the first of the next; groups are not padded to whole lines).
template <class T>
struct sgd_schedule {
  index_t blocks = 1;
  std::vector<index_t> offsets;
  std::vector<sgd_entry<T>> entries;
  std::vector<std::int32_t> user_rank, item_rank;

  index_t tile(index_t round, index_t b) const { return b * blocks + (b + round) % blocks; }
};

// rank[i] = position of i in a seeded random permutation of [0, n).
inline std::vector<std::int32_t> random_ranks(index_t n, std::mt19937_64& g) {
  std::vector<std::int32_t> order(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) order[i] = static_cast<std::int32_t>(i);
  shuffle(order.data(), n, g);
  std::vector<std::int32_t> rank(static_cast<std::size_t>(n));
  for (index_t r = 0; r < n; ++r) rank[order[r]] = static_cast<std::int32_t>(r);
  return rank;
}

template <class T>
sgd_schedule<T> make_sgd_schedule(const interactions_view<T>& d, index_t blocks,
                                  std::uint64_t seed) {
  std::mt19937_64 g(seed ^ schedule_stream);
  sgd_schedule<T> s;
  s.blocks = blocks;
  s.user_rank = random_ranks(d.users, g);
  s.item_rank = random_ranks(d.items, g);
  const index_t tiles = blocks * blocks;
  s.offsets.assign(static_cast<std::size_t>(tiles + 1), 0);
  auto tile_of = [&](index_t e) {
    const index_t gu = static_cast<index_t>(s.user_rank[d.user[e]]) * blocks / d.users;
    const index_t gi = static_cast<index_t>(s.item_rank[d.item[e]]) * blocks / d.items;
    return gu * blocks + gi;
  };
  for (index_t e = 0; e < d.size(); ++e) ++s.offsets[tile_of(e) + 1];
  for (index_t t = 0; t < tiles; ++t) s.offsets[t + 1] += s.offsets[t];
  std::vector<index_t> next(s.offsets.begin(), s.offsets.end() - 1);
  s.entries.resize(static_cast<std::size_t>(d.size()));
  for (index_t e = 0; e < d.size(); ++e) {
    s.entries[next[tile_of(e)]++] = {d.user[e], d.item[e], d.value[e]};
  }
  for (index_t t = 0; t < tiles; ++t) {
    shuffle(s.entries.data() + s.offsets[t], s.offsets[t + 1] - s.offsets[t], g);
  }
  return s;
}

// ---- the ALS row problem -------------------------------------------------------------------

enum class side { users, items };

// One side's parameters being solved for, against the other side's fixed ones.
template <class T>
struct als_side {
  T* factors;  // rows x k
  T* bias;     // rows
  const T* other_factors;
  const T* other_bias;
  index_t k;
  T mu;
};

template <class T>
als_side<T> make_als_side(biased_mf_model<T>& m, side s) {
  if (s == side::users) {
    return {m.user_factors.data(), m.user_bias.data(), m.item_factors.data(),
            m.item_bias.data(),    m.factors,          m.global_mean};
  }
  return {m.item_factors.data(), m.item_bias.data(), m.user_factors.data(),
          m.user_bias.data(),    m.factors,          m.global_mean};
}

// The row's ridge penalty: reg_bias * n on the bias (unknown 0) and reg_factor * n on each
// factor (weighted-lambda), added to the diagonal of the n-rating Gram matrix a (stride lda).
// `jitter` > 0 adds jitter * (1 + mean diagonal) more: the retry when the system was not
// positive definite, which needs zero regularisation and fewer ratings than factors + 1.
// Host and device code (the Kokkos kernels run it per row).
RECFUSE_HOST_DEVICE inline void add_ridge(double* a, index_t m, index_t lda, index_t n,
                                          double reg_bias, double reg_factor, double jitter) {
  double extra = 0.0;
  if (jitter > 0.0) {
    double trace = 0.0;
    for (index_t j = 0; j < m; ++j) trace += a[j * lda + j];
    extra = jitter * (1.0 + trace / static_cast<double>(m));
  }
  a[0] += reg_bias * static_cast<double>(n) + extra;
  for (index_t j = 1; j < m; ++j) a[j * lda + j] += reg_factor * static_cast<double>(n) + extra;
}

inline constexpr double ridge_jitter = 1e-8;

// The doubles of scratch als_solve_row_with_scratch needs: (k + 1)^2 for the system, k + 1 for
// the right-hand side.
inline index_t als_row_scratch(index_t k) { return (k + 1) * (k + 1) + (k + 1); }

// The normal equations of n ratings (other-side ids and values) against the fixed side of s:
// the lower triangle of a (m x m, m = k + 1) and b, each summed in double in entry order.
// Host and device code.
template <class T>
RECFUSE_HOST_DEVICE void als_build_row(const als_side<T>& s, const std::int32_t* ids,
                                       const T* values, index_t n, double* a, double* b) {
  const index_t k = s.k;
  const index_t m = k + 1;
  for (index_t j = 0; j < m * m; ++j) a[j] = 0.0;
  for (index_t j = 0; j < m; ++j) b[j] = 0.0;
  for (index_t j = 0; j < n; ++j) {
    const T* q = s.other_factors + static_cast<index_t>(ids[j]) * k;
    const double y = static_cast<double>(values[j]) - static_cast<double>(s.mu) -
                     static_cast<double>(s.other_bias[ids[j]]);
    for (index_t r = 0; r < m; ++r) {
      const double xr = r == 0 ? 1.0 : static_cast<double>(q[r - 1]);
      b[r] += xr * y;
      for (index_t c = 0; c <= r; ++c) {
        a[r * m + c] += xr * (c == 0 ? 1.0 : static_cast<double>(q[c - 1]));
      }
    }
  }
}

// Solves row r's ridge problem over its n ratings (other-side ids and values): unknowns
// w = [b_r, p_r], features x_j = [1, q_j], targets y_j = value_j - mu - c_j; writes w to the
// row. A row with no ratings gets 0; one whose system is singular even after the jitter retry
// gets 0 too. scratch: als_row_scratch(k) doubles. Host and device code (the Kokkos kernels
// run it per row, on their team scratch).
template <class T>
RECFUSE_HOST_DEVICE void als_solve_row_with_scratch(const als_side<T>& s, const std::int32_t* ids,
                                                    const T* values, index_t n, double reg_bias,
                                                    double reg_factor, T* out_factors, T* out_bias,
                                                    double* scratch) {
  const index_t k = s.k;
  const index_t m = k + 1;
  double* a = scratch;
  double* b = scratch + m * m;
  bool ok = false;
  if (n > 0) {
    als_build_row(s, ids, values, n, a, b);
    add_ridge(a, m, m, n, reg_bias, reg_factor, 0.0);
    ok = cholesky_solve(a, b, m);
    if (!ok) {
      als_build_row(s, ids, values, n, a, b);
      add_ridge(a, m, m, n, reg_bias, reg_factor, ridge_jitter);
      ok = cholesky_solve(a, b, m);
    }
  }
  *out_bias = ok ? static_cast<T>(b[0]) : T(0);
  for (index_t f = 0; f < k; ++f) out_factors[f] = ok ? static_cast<T>(b[f + 1]) : T(0);
}

// The same on a host vector, resized as needed.
template <class T>
void als_solve_row_reference(const als_side<T>& s, const std::int32_t* ids, const T* values,
                             index_t n, double reg_bias, double reg_factor, T* out_factors,
                             T* out_bias, std::vector<double>& scratch) {
  scratch.resize(static_cast<std::size_t>(als_row_scratch(s.k)));
  als_solve_row_with_scratch(s, ids, values, n, reg_bias, reg_factor, out_factors, out_bias,
                             scratch.data());
}

}  // namespace recfuse::detail::bmf

namespace recfuse::reference_backend {

// One SGD update for rating r of (u, i), the "Funk" / Surprise SVD step: with the unclipped
// prediction's error e = r - (mu + b_u + b_i + p.q),
//   b_u += lr (e - reg_bias b_u),  b_i += lr (e - reg_bias b_i),
//   p   += lr (e q - reg_factor p), q += lr (e p_old - reg_factor q)   (p and q at once),
// which is -lr times the gradient of 0.5 e^2 + 0.5 reg_bias (b_u^2 + b_i^2)
// + 0.5 reg_factor (|p|^2 + |q|^2).
// Host and device code (the Thrust kernels run it on the GPU).
template <class T>
RECFUSE_HOST_DEVICE void biased_sgd_update(T* p, T* q, T& bu, T& bi, T mu, T r, T lr, T reg_bias,
                                           T reg_factor, index_t k) {
  T dot = 0;
  for (index_t f = 0; f < k; ++f) dot += p[f] * q[f];
  const T e = r - (mu + bu + bi + dot);
  bu += lr * (e - reg_bias * bu);
  bi += lr * (e - reg_bias * bi);
  for (index_t f = 0; f < k; ++f) {
    const T pf = p[f];
    const T qf = q[f];
    p[f] = pf + lr * (e * qf - reg_factor * pf);
    q[f] = qf + lr * (e * pf - reg_factor * qf);
  }
}

// SGD epochs on an initialised model (::recfuse::detail::bmf::initial_model), serially, tile by
// tile in the schedule's order.
template <class T>
void fit_biased_sgd_kernel(const policy&, const interactions_view<T>& train, const sgd_options& o,
                           biased_mf_model<T>& m) {
  const auto s =
      ::recfuse::detail::bmf::make_sgd_schedule(train, static_cast<index_t>(o.blocks), o.seed);
  const index_t k = m.factors;
  const T rb = static_cast<T>(o.reg_bias);
  const T rf = static_cast<T>(o.reg_factor);
  double lr = o.learning_rate;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    const T lr_t = static_cast<T>(lr);
    for (index_t round = 0; round < s.blocks; ++round) {
      for (index_t b = 0; b < s.blocks; ++b) {
        const index_t t = s.tile(round, b);
        for (index_t e = s.offsets[t]; e < s.offsets[t + 1]; ++e) {
          const auto& x = s.entries[e];
          biased_sgd_update(m.user_factors.data() + static_cast<index_t>(x.user) * k,
                            m.item_factors.data() + static_cast<index_t>(x.item) * k,
                            m.user_bias[x.user], m.item_bias[x.item], m.global_mean, x.value, lr_t,
                            rb, rf, k);
        }
      }
    }
    lr *= o.learning_rate_decay;
  }
}

// Re-solves the listed rows (all rows when `rows` is null) of one side from the CSR of that
// side's ratings.
template <class T>
void biased_als_solve_rows(const policy&, biased_mf_model<T>& m, ::recfuse::detail::bmf::side sd,
                           const csr_matrix<T>& by_row, const vector_view<const std::int32_t>* rows,
                           double reg_bias, double reg_factor) {
  const auto s = ::recfuse::detail::bmf::make_als_side(m, sd);
  std::vector<double> scratch;
  const index_t count = rows ? rows->size() : by_row.rows;
  for (index_t j = 0; j < count; ++j) {
    const index_t r = rows ? static_cast<index_t>((*rows)[j]) : j;
    const index_t begin = by_row.offsets[r];
    ::recfuse::detail::bmf::als_solve_row_reference(
        s, by_row.indices.data() + begin, by_row.values.data() + begin,
        by_row.offsets[r + 1] - begin, reg_bias, reg_factor, s.factors + r * s.k, s.bias + r,
        scratch);
  }
}

// ALS sweeps on an initialised model: users, then items, `iterations` times.
template <class T>
void fit_biased_als_kernel(const policy& p, const interactions_view<T>& train, const als_options& o,
                           biased_mf_model<T>& m) {
  const auto by_user = to_csr(train, csr_by::user);
  const auto by_item = to_csr(train, csr_by::item);
  for (int it = 0; it < o.iterations; ++it) {
    biased_als_solve_rows(p, m, ::recfuse::detail::bmf::side::users, by_user, nullptr, o.reg_bias,
                          o.reg_factor);
    biased_als_solve_rows(p, m, ::recfuse::detail::bmf::side::items, by_item, nullptr, o.reg_bias,
                          o.reg_factor);
  }
}

// Re-solves the listed rows (distinct, in range) of one side from `data`.
template <class T>
void refit_kernel(const policy& p, biased_mf_model<T>& m, ::recfuse::detail::bmf::side sd,
                  const interactions_view<T>& data, vector_view<const std::int32_t> rows,
                  const als_options& o) {
  const auto by_row =
      to_csr(data, sd == ::recfuse::detail::bmf::side::users ? csr_by::user : csr_by::item);
  biased_als_solve_rows(p, m, sd, by_row, &rows, o.reg_bias, o.reg_factor);
}

// One ALS user step for a user outside the model; returns the bias, writes the factors.
template <class T>
T fold_in_user_kernel(const policy&, const biased_mf_model<T>& m,
                      vector_view<const std::int32_t> items, vector_view<const T> ratings,
                      vector_view<T> factors_out, const als_options& o) {
  const ::recfuse::detail::bmf::als_side<T> s{
      nullptr, nullptr, m.item_factors.data(), m.item_bias.data(), m.factors, m.global_mean};
  std::vector<double> scratch;
  T bias = 0;
  ::recfuse::detail::bmf::als_solve_row_reference(s, items.data(), ratings.data(), items.size(),
                                                  o.reg_bias, o.reg_factor, factors_out.data(),
                                                  &bias, scratch);
  return bias;
}

// Clipped predictions, with the unseen-id fallback of biased_mf_model::predict (double sums).
template <class T>
void predict_kernel(const policy&, const biased_mf_model<T>& m,
                    vector_view<const std::int32_t> users, vector_view<const std::int32_t> items,
                    vector_view<T> out) {
  for (index_t j = 0; j < out.size(); ++j) out[j] = m.predict(users[j], items[j]);
}

}  // namespace recfuse::reference_backend
