// recfuse Thrust backend: explicit biased matrix factorization kernels (fit_biased_sgd,
// fit_biased_als, refit_users / refit_items, predict, fold_in_user for biased models).
//
//   auto model = recfuse::fit_biased_sgd(recfuse::exec::thrust<thrust::omp::tag>{}, train.view());
//
// - SGD: the reference's tile schedule (detail::bmf::make_sgd_schedule, built on the host). Round
//   s of an epoch runs the `blocks` tiles (b, (b + s) % blocks), which share no user and no item,
//   as one thrust::for_each over b (DSGD / FPSGD); each tile runs its ratings in the schedule's
//   order, with the reference's update in T in the same operation order. So the model is the
//   reference's up to floating-point contraction (FMA) and never depends on the thread count.
// - ALS and refit: one thrust::for_each over the rows (users, then items); each row builds its
//   (k + 1) x (k + 1) normal equations in double in its entry order and solves them by Cholesky
//   on its own slice of one scratch buffer, as the reference does (rows are run in chunks so
//   the scratch stays under als_scratch_doubles).
// - predict: one thrust::for_each over the pairs, the sum in double as biased_mf_model::predict.
// - fold_in_user: one row's solve, on the policy's system.
//
// Memory: models and interactions_view are host objects. On host systems (cpp, omp, tbb) the
// kernels work on them in place; on CUDA the fits and refit copy the data and the model to the
// device, run there and copy the model back, and predict / fold_in_user take device views for
// their ids, ratings and outputs and copy the model's arrays they read to the device per call.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include <thrust/copy.h>
#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include "recfuse/factorize/biased_mf.hpp"
#include "recfuse/reference/detail/dense.hpp"
#include "recfuse/reference/factorize/biased_mf.hpp"
#include "recfuse/thrust/detail/buffer.hpp"
#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend {
namespace detail::bmf {

using ::recfuse::detail::bmf::side;
template <class T>
using sgd_entry = ::recfuse::detail::bmf::sgd_entry<T>;

template <class System>
inline constexpr bool on_host = std::is_same_v<memory_space_of<System>, host_memory>;

// A host array in the policy's memory: the host array itself on host systems, a copy on the
// device otherwise; store() writes a device copy back to the host array.
template <class System, class T>
class staged {
 public:
  staged(T* host, index_t n) : host_(host) {
    if constexpr (on_host<System>) {
      ptr_ = host;
    } else {
      copy_.assign(host, host + n);
      ptr_ = raw(copy_);
    }
  }
  staged(const staged&) = delete;
  staged& operator=(const staged&) = delete;
  T* get() const { return ptr_; }
  void store() const {
    if constexpr (!on_host<System>) {
      ::thrust::copy(copy_.begin(), copy_.end(), const_cast<std::remove_const_t<T>*>(host_));
    }
  }

 private:
  T* host_;
  T* ptr_ = nullptr;
  buffer<System, std::remove_const_t<T>> copy_;
};

template <class System, class V>
staged<System, typename V::value_type> stage_vector(V& v) {
  return {v.data(), static_cast<index_t>(v.size())};
}
template <class System, class V>
staged<System, const typename V::value_type> stage_const(const V& v) {
  return {v.data(), static_cast<index_t>(v.size())};
}

// One SGD round: tile (b, (b + round) % blocks) for each b; the tiles touch disjoint rows.
template <class T>
struct sgd_round {
  const sgd_entry<T>* entries;
  const index_t* offsets;
  T* user_factors;
  T* item_factors;
  T* user_bias;
  T* item_bias;
  index_t k, blocks, round;
  T mu, lr, reg_bias, reg_factor;

  RECFUSE_HOST_DEVICE void operator()(index_t b) const {
    const index_t t = b * blocks + (b + round) % blocks;
    for (index_t e = offsets[t]; e < offsets[t + 1]; ++e) {
      const sgd_entry<T> x = entries[e];
      const index_t u = x.user, i = x.item;
      ::recfuse::reference_backend::biased_sgd_update(user_factors + u * k, item_factors + i * k,
                                                      user_bias[u], item_bias[i], mu, x.value, lr,
                                                      reg_bias, reg_factor, k);
    }
  }
};

// The reference's Cholesky solve (recfuse/reference/detail/dense.hpp), host and device code; the
// implicit and explain kernels call it through this name too.
using ::recfuse::detail::cholesky_solve;

// One side being solved for (factors, bias) against the other side's fixed parameters, the
// CSR of its ratings, and the rows to solve (all when rows is null).
template <class T>
struct als_rows {
  T* factors;
  T* bias;
  const T* other_factors;
  const T* other_bias;
  index_t k;
  T mu;
  const index_t* offsets;
  const std::int32_t* indices;
  const T* values;
  const std::int32_t* rows;
  index_t first;    // the chunk's first position in rows (or the first row)
  double* scratch;  // (k + 1)^2 + (k + 1) doubles per position in the chunk
  double reg_bias, reg_factor, jitter;

  // The normal equations of the row's n ratings: lower triangle of a (m x m) and b.
  RECFUSE_HOST_DEVICE void build(const std::int32_t* ids, const T* vals, index_t n, double* a,
                                 double* b) const {
    const index_t m = k + 1;
    for (index_t j = 0; j < m * m; ++j) a[j] = 0.0;
    for (index_t j = 0; j < m; ++j) b[j] = 0.0;
    for (index_t j = 0; j < n; ++j) {
      const T* q = other_factors + static_cast<index_t>(ids[j]) * k;
      const double y = static_cast<double>(vals[j]) - static_cast<double>(mu) -
                       static_cast<double>(other_bias[ids[j]]);
      for (index_t r = 0; r < m; ++r) {
        const double xr = r == 0 ? 1.0 : static_cast<double>(q[r - 1]);
        b[r] += xr * y;
        for (index_t c = 0; c <= r; ++c) {
          a[r * m + c] += xr * (c == 0 ? 1.0 : static_cast<double>(q[c - 1]));
        }
      }
    }
  }

  // ::recfuse::detail::bmf::add_ridge.
  RECFUSE_HOST_DEVICE void add_ridge(double* a, index_t n, double jit) const {
    const index_t m = k + 1;
    double extra = 0.0;
    if (jit > 0.0) {
      double trace = 0.0;
      for (index_t j = 0; j < m; ++j) trace += a[j * m + j];
      extra = jit * (1.0 + trace / static_cast<double>(m));
    }
    a[0] += reg_bias * static_cast<double>(n) + extra;
    for (index_t j = 1; j < m; ++j) a[j * m + j] += reg_factor * static_cast<double>(n) + extra;
  }

  RECFUSE_HOST_DEVICE void operator()(index_t j) const {
    const index_t m = k + 1;
    const index_t r = rows ? static_cast<index_t>(rows[first + j]) : first + j;
    double* a = scratch + j * (m * m + m);
    double* b = a + m * m;
    const index_t begin = offsets[r];
    const index_t n = offsets[r + 1] - begin;
    bool ok = false;
    if (n > 0) {
      build(indices + begin, values + begin, n, a, b);
      add_ridge(a, n, 0.0);
      ok = cholesky_solve(a, b, m);
      if (!ok) {
        build(indices + begin, values + begin, n, a, b);
        add_ridge(a, n, jitter);
        ok = cholesky_solve(a, b, m);
      }
    }
    bias[r] = ok ? static_cast<T>(b[0]) : T(0);
    for (index_t f = 0; f < k; ++f) factors[r * k + f] = ok ? static_cast<T>(b[f + 1]) : T(0);
  }
};

// Rows solved at once are limited so that their scratch stays under this many doubles (at least
// one row per chunk): 64 MiB.
inline constexpr index_t als_scratch_doubles = index_t{1} << 23;

// Solves `count` rows (rows[0..count) in the policy's memory, or 0..count when rows is null)
// of the side `rs` describes (its factors, bias and CSR pointers in the policy's memory).
template <class System, class T>
void solve_rows(const policy<System>& p, als_rows<T> rs, index_t count) {
  if (count == 0) return;
  const index_t m = rs.k + 1;
  const index_t per_row = m * m + m;
  const index_t chunk = std::min(count, std::max<index_t>(1, als_scratch_doubles / per_row));
  buffer<System, double> scratch(static_cast<std::size_t>(chunk * per_row));
  rs.scratch = raw(scratch);
  rs.jitter = ::recfuse::detail::bmf::ridge_jitter;
  for (index_t first = 0; first < count; first += chunk) {
    rs.first = first;
    ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                       ::thrust::counting_iterator<index_t>(std::min(chunk, count - first)), rs);
  }
}

// A model's four parameter arrays in the policy's memory (copied there on CUDA).
template <class System, class T>
struct staged_model {
  staged<System, T> user_factors, item_factors, user_bias, item_bias;
  explicit staged_model(biased_mf_model<T>& m)
      : user_factors(stage_vector<System>(m.user_factors)),
        item_factors(stage_vector<System>(m.item_factors)),
        user_bias(stage_vector<System>(m.user_bias)),
        item_bias(stage_vector<System>(m.item_bias)) {}
  void store() const {
    user_factors.store();
    item_factors.store();
    user_bias.store();
    item_bias.store();
  }
};

// A CSR of one side's ratings in the policy's memory.
template <class System, class T>
struct staged_csr {
  staged<System, const index_t> offsets;
  staged<System, const std::int32_t> indices;
  staged<System, const T> values;
  explicit staged_csr(const csr_matrix<T>& c)
      : offsets(stage_const<System>(c.offsets)),
        indices(stage_const<System>(c.indices)),
        values(stage_const<System>(c.values)) {}
};

// The row problem of side `sd` of the staged model, its ratings in `csr`.
template <class System, class T>
als_rows<T> make_rows(const staged_model<System, T>& sm, const biased_mf_model<T>& m, side sd,
                      const staged_csr<System, T>& csr, const std::int32_t* rows, double reg_bias,
                      double reg_factor) {
  const bool users = sd == side::users;
  als_rows<T> rs{};
  rs.factors = users ? sm.user_factors.get() : sm.item_factors.get();
  rs.bias = users ? sm.user_bias.get() : sm.item_bias.get();
  rs.other_factors = users ? sm.item_factors.get() : sm.user_factors.get();
  rs.other_bias = users ? sm.item_bias.get() : sm.user_bias.get();
  rs.k = m.factors;
  rs.mu = m.global_mean;
  rs.offsets = csr.offsets.get();
  rs.indices = csr.indices.get();
  rs.values = csr.values.get();
  rs.rows = rows;
  rs.reg_bias = reg_bias;
  rs.reg_factor = reg_factor;
  return rs;
}

// One clipped prediction per pair, as biased_mf_model::predict.
template <class T>
struct predict_pairs {
  const std::int32_t* users;
  const std::int32_t* items;
  T* out;
  const T* user_factors;
  const T* item_factors;
  const T* user_bias;
  const T* item_bias;
  index_t n_users, n_items, k;
  T mu, lo, hi;

  RECFUSE_HOST_DEVICE void operator()(index_t j) const {
    const index_t u = users[j];
    const index_t i = items[j];
    const bool known_u = u >= 0 && u < n_users;
    const bool known_i = i >= 0 && i < n_items;
    double s = mu;
    if (known_u) s += user_bias[u];
    if (known_i) s += item_bias[i];
    if (known_u && known_i) {
      const T* p = user_factors + u * k;
      const T* q = item_factors + i * k;
      for (index_t f = 0; f < k; ++f) s += static_cast<double>(p[f]) * q[f];
    }
    if (s < lo) s = lo;
    if (s > hi) s = hi;
    out[j] = static_cast<T>(s);
  }
};

}  // namespace detail::bmf

// SGD epochs on an initialised model, round by round, the round's tiles in parallel.
template <class System, class T>
void fit_biased_sgd_kernel(const policy<System>& p, const interactions_view<T>& train,
                           const sgd_options& o, biased_mf_model<T>& m) {
  namespace bmf = detail::bmf;
  const auto s =
      ::recfuse::detail::bmf::make_sgd_schedule(train, static_cast<index_t>(o.blocks), o.seed);
  const bmf::staged_model<System, T> sm(m);
  const auto entries = bmf::stage_const<System>(s.entries);
  const auto offsets = bmf::stage_const<System>(s.offsets);
  bmf::sgd_round<T> step{entries.get(),
                         offsets.get(),
                         sm.user_factors.get(),
                         sm.item_factors.get(),
                         sm.user_bias.get(),
                         sm.item_bias.get(),
                         m.factors,
                         s.blocks,
                         0,
                         m.global_mean,
                         T(0),
                         static_cast<T>(o.reg_bias),
                         static_cast<T>(o.reg_factor)};
  double lr = o.learning_rate;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    step.lr = static_cast<T>(lr);
    for (index_t round = 0; round < s.blocks; ++round) {
      step.round = round;
      ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                         ::thrust::counting_iterator<index_t>(s.blocks), step);
    }
    lr *= o.learning_rate_decay;
  }
  sm.store();
}

// ALS sweeps on an initialised model: all users in parallel, then all items, `iterations` times.
template <class System, class T>
void fit_biased_als_kernel(const policy<System>& p, const interactions_view<T>& train,
                           const als_options& o, biased_mf_model<T>& m) {
  namespace bmf = detail::bmf;
  const auto by_user_host = to_csr(train, csr_by::user);
  const auto by_item_host = to_csr(train, csr_by::item);
  const bmf::staged_csr<System, T> by_user(by_user_host), by_item(by_item_host);
  const bmf::staged_model<System, T> sm(m);
  const auto users =
      bmf::make_rows(sm, m, bmf::side::users, by_user, nullptr, o.reg_bias, o.reg_factor);
  const auto items =
      bmf::make_rows(sm, m, bmf::side::items, by_item, nullptr, o.reg_bias, o.reg_factor);
  for (int it = 0; it < o.iterations; ++it) {
    bmf::solve_rows(p, users, m.users);
    bmf::solve_rows(p, items, m.items);
  }
  sm.store();
}

// Re-solves the listed rows (distinct, in range) of one side from `data`, in parallel.
template <class System, class T>
void refit_kernel(const policy<System>& p, biased_mf_model<T>& m, ::recfuse::detail::bmf::side sd,
                  const interactions_view<T>& data, vector_view<const std::int32_t> rows,
                  const als_options& o) {
  namespace bmf = detail::bmf;
  const auto by_row_host = to_csr(data, sd == bmf::side::users ? csr_by::user : csr_by::item);
  const bmf::staged_csr<System, T> by_row(by_row_host);
  const bmf::staged<System, const std::int32_t> listed(rows.data(), rows.size());
  const bmf::staged_model<System, T> sm(m);
  bmf::solve_rows(p, bmf::make_rows(sm, m, sd, by_row, listed.get(), o.reg_bias, o.reg_factor),
                  rows.size());
  sm.store();
}

// One ALS user step for a user outside the model (items, ratings and factors_out in the policy's
// memory); returns the bias.
template <class System, class T>
T fold_in_user_kernel(const policy<System>& p, const biased_mf_model<T>& m,
                      vector_view<const std::int32_t, typename policy<System>::memory_space> items,
                      vector_view<const T, typename policy<System>::memory_space> ratings,
                      vector_view<T, typename policy<System>::memory_space> factors_out,
                      const als_options& o) {
  namespace bmf = detail::bmf;
  const auto item_factors = bmf::stage_const<System>(m.item_factors);
  const auto item_bias = bmf::stage_const<System>(m.item_bias);
  const index_t host_offsets[2] = {0, items.size()};
  const bmf::staged<System, const index_t> offsets(host_offsets, 2);
  detail::buffer<System, T> bias(1);
  bmf::als_rows<T> rs{};
  rs.factors = factors_out.data();
  rs.bias = detail::raw(bias);
  rs.other_factors = item_factors.get();
  rs.other_bias = item_bias.get();
  rs.k = m.factors;
  rs.mu = m.global_mean;
  rs.offsets = offsets.get();
  rs.indices = items.data();
  rs.values = ratings.data();
  rs.rows = nullptr;
  rs.reg_bias = o.reg_bias;
  rs.reg_factor = o.reg_factor;
  bmf::solve_rows(p, rs, 1);
  return bias[0];
}

// Clipped predictions for the pairs, in parallel (ids and out in the policy's memory).
template <class System, class T>
void predict_kernel(const policy<System>& p, const biased_mf_model<T>& m,
                    vector_view<const std::int32_t, typename policy<System>::memory_space> users,
                    vector_view<const std::int32_t, typename policy<System>::memory_space> items,
                    vector_view<T, typename policy<System>::memory_space> out) {
  namespace bmf = detail::bmf;
  if (out.size() == 0) return;
  const auto uf = bmf::stage_const<System>(m.user_factors);
  const auto itf = bmf::stage_const<System>(m.item_factors);
  const auto ub = bmf::stage_const<System>(m.user_bias);
  const auto ib = bmf::stage_const<System>(m.item_bias);
  const bmf::predict_pairs<T> op{users.data(),  items.data(), out.data(),  uf.get(), itf.get(),
                                 ub.get(),      ib.get(),     m.users,     m.items,  m.factors,
                                 m.global_mean, m.min_rating, m.max_rating};
  ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(out.size()), op);
}

}  // namespace recfuse::thrust_backend
