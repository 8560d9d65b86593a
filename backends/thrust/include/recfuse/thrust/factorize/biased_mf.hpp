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
// - ALS and refit: one thrust::for_each over the rows (users, then items); each row runs the
//   reference's row solve (::recfuse::detail::bmf::als_solve_row_with_scratch: its
//   (k + 1) x (k + 1) normal equations in double in its entry order, the ridge and the jitter
//   retry, Cholesky) on its own slice of one scratch buffer (rows are run in chunks so the
//   scratch stays under als_scratch_doubles).
// - predict: one thrust::for_each over the pairs, the model's own clipped prediction
//   (::recfuse::detail::bmf::model_arrays::predict, the sum in double).
// - fold_in_user: one row's solve, on the policy's system.
// The row solve and the prediction are the reference's code (recfuse/reference/factorize/
// biased_mf.hpp and recfuse/factorize/model.hpp, host and device code), shared with the Kokkos
// backend.
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

// One side being solved for (side.factors, side.bias) against the other side's fixed
// parameters, the CSR of its ratings, and the rows to solve (all when rows is null). Each
// position runs the reference's row solve (::recfuse::detail::bmf::als_solve_row_with_scratch,
// host and device code) on its own slice of the scratch.
template <class T>
struct als_rows {
  ::recfuse::detail::bmf::als_side<T> side;
  const index_t* offsets;
  const std::int32_t* indices;
  const T* values;
  const std::int32_t* rows;
  index_t first;    // the chunk's first position in rows (or the first row)
  double* scratch;  // per_row doubles per position in the chunk
  index_t per_row;  // ::recfuse::detail::bmf::als_row_scratch(k)
  double reg_bias, reg_factor;

  RECFUSE_HOST_DEVICE void operator()(index_t j) const {
    const index_t r = rows ? static_cast<index_t>(rows[first + j]) : first + j;
    const index_t begin = offsets[r];
    ::recfuse::detail::bmf::als_solve_row_with_scratch(
        side, indices + begin, values + begin, offsets[r + 1] - begin, reg_bias, reg_factor,
        side.factors + r * side.k, side.bias + r, scratch + j * per_row);
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
  rs.per_row = ::recfuse::detail::bmf::als_row_scratch(rs.side.k);
  const index_t chunk = std::min(count, std::max<index_t>(1, als_scratch_doubles / rs.per_row));
  buffer<System, double> scratch(static_cast<std::size_t>(chunk * rs.per_row));
  rs.scratch = raw(scratch);
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
  rs.side = {users ? sm.user_factors.get() : sm.item_factors.get(),
             users ? sm.user_bias.get() : sm.item_bias.get(),
             users ? sm.item_factors.get() : sm.user_factors.get(),
             users ? sm.item_bias.get() : sm.user_bias.get(),
             m.factors,
             m.global_mean};
  rs.offsets = csr.offsets.get();
  rs.indices = csr.indices.get();
  rs.values = csr.values.get();
  rs.rows = rows;
  rs.reg_bias = reg_bias;
  rs.reg_factor = reg_factor;
  return rs;
}

// One clipped prediction per pair: the model's own predict (::recfuse::detail::bmf::model_arrays,
// host and device code), on arrays in the policy's memory.
template <class T>
struct predict_pairs {
  ::recfuse::detail::bmf::model_arrays<T> model;
  const std::int32_t* users;
  const std::int32_t* items;
  T* out;

  RECFUSE_HOST_DEVICE void operator()(index_t j) const {
    out[j] = model.predict(users[j], items[j]);
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
  rs.side = {factors_out.data(), detail::raw(bias), item_factors.get(),
             item_bias.get(),    m.factors,         m.global_mean};
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
  const bmf::predict_pairs<T> op{{uf.get(), itf.get(), ub.get(), ib.get(), m.users, m.items,
                                  m.factors, m.global_mean, m.min_rating, m.max_rating},
                                 users.data(),
                                 items.data(),
                                 out.data()};
  ::thrust::for_each(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                     ::thrust::counting_iterator<index_t>(out.size()), op);
}

}  // namespace recfuse::thrust_backend
