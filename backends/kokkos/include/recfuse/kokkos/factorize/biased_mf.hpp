// recfuse Kokkos backend: explicit biased matrix factorization kernels (fit_biased_sgd,
// fit_biased_als, refit_users / refit_items, predict, fold_in_user for biased models), generic
// over the execution space.
//
//   auto model = recfuse::fit_biased_sgd(recfuse::exec::kokkos<Kokkos::OpenMP>{}, train.view());
//
// - SGD: the reference's tile schedule (::recfuse::detail::bmf::make_sgd_schedule, built on the
//   host). Round s of an epoch runs the `blocks` tiles (b, (b + s) % blocks), which share no user
//   and no item, as one Kokkos::parallel_for over b (dynamic schedule; DSGD / FPSGD); each tile
//   runs its ratings in the schedule's order with the reference's update
//   (reference_backend::biased_sgd_update), in T. No atomics: the model is the reference's up to
//   floating-point contraction, for any concurrency of the space (tested bit for bit on the host
//   spaces), and at most `blocks` threads work at once.
// - ALS and refit: the rows of a side in parallel, one team per row running the reference's row
//   solve on team scratch (detail/biased_rows.hpp): users, then items, `iterations` times. Never
//   depends on the thread count.
// - predict: one work item per pair, the reference's clipped prediction
//   (::recfuse::detail::bmf::model_arrays::predict, the sum in double).
// - fold_in_user: one row's solve, the same launch as a fit's row (so bit for bit a refit's row).
//
// Memory: models, interactions_view and refit's row list are host objects. On spaces that read
// host memory (Serial, OpenMP, Threads) the kernels work on the model's arrays in place and copy
// nothing. On device spaces (Cuda, HIP, SYCL) the fits and refit copy the data and the model to
// the space's memory, run there and copy the model back (detail/staged.hpp); predict and
// fold_in_user take their ids, ratings and outputs in the space's memory and copy the model's
// arrays they read there per call.
#pragma once

#include <cstdint>

#include <Kokkos_Core.hpp>

#include "recfuse/factorize/biased_mf.hpp"
#include "recfuse/kokkos/detail/buffer.hpp"
#include "recfuse/kokkos/detail/range.hpp"
#include "recfuse/kokkos/detail/staged.hpp"
#include "recfuse/kokkos/factorize/detail/biased_rows.hpp"
#include "recfuse/kokkos/policy.hpp"
#include "recfuse/reference/factorize/biased_mf.hpp"

namespace recfuse::kokkos_backend {
namespace detail::bmf {

using ::recfuse::detail::bmf::side;

// A model's four parameter arrays in the space's memory.
template <class ExecSpace, class T>
struct staged_model {
  staged<ExecSpace, T> user_factors, item_factors, user_bias, item_bias;
  staged_model(const policy<ExecSpace>& p, biased_mf_model<T>& m)
      : user_factors(stage(p, "recfuse::bmf::user_factors", m.user_factors)),
        item_factors(stage(p, "recfuse::bmf::item_factors", m.item_factors)),
        user_bias(stage(p, "recfuse::bmf::user_bias", m.user_bias)),
        item_bias(stage(p, "recfuse::bmf::item_bias", m.item_bias)) {}
  // Waits for the kernels and, on device spaces, copies the model back.
  void store(const policy<ExecSpace>& p) const {
    user_factors.store(p);
    item_factors.store(p);
    user_bias.store(p);
    item_bias.store(p);
  }
  // Side sd's parameters against the other side's (::recfuse::detail::bmf::make_als_side).
  ::recfuse::detail::bmf::als_side<T> side_of(const biased_mf_model<T>& m, side sd) const {
    const bool users = sd == side::users;
    return {users ? user_factors.get() : item_factors.get(),
            users ? user_bias.get() : item_bias.get(),
            users ? item_factors.get() : user_factors.get(),
            users ? item_bias.get() : user_bias.get(),
            m.factors,
            m.global_mean};
  }
};

// A host CSR of one side's ratings in the space's memory.
template <class ExecSpace, class T>
struct staged_csr {
  staged<ExecSpace, const index_t> offsets;
  staged<ExecSpace, const std::int32_t> indices;
  staged<ExecSpace, const T> values;
  staged_csr(const policy<ExecSpace>& p, const csr_matrix<T>& c)
      : offsets(stage_const(p, "recfuse::bmf::csr_offsets", c.offsets)),
        indices(stage_const(p, "recfuse::bmf::csr_indices", c.indices)),
        values(stage_const(p, "recfuse::bmf::csr_values", c.values)) {}
  als_rows<T> rows(const std::int32_t* listed, index_t count) const {
    return {offsets.get(), indices.get(), values.get(), listed, count};
  }
};

}  // namespace detail::bmf

// SGD epochs on an initialised model, round by round, the round's tiles in parallel.
template <class ExecSpace, class T>
void fit_biased_sgd_kernel(const policy<ExecSpace>& p, const interactions_view<T>& train,
                           const sgd_options& o, biased_mf_model<T>& m) {
  namespace bmf = detail::bmf;
  const auto s =
      ::recfuse::detail::bmf::make_sgd_schedule(train, static_cast<index_t>(o.blocks), o.seed);
  const bmf::staged_model<ExecSpace, T> sm(p, m);
  const auto staged_entries = detail::stage_const(p, "recfuse::bmf::sgd_entries", s.entries);
  const auto staged_offsets = detail::stage_const(p, "recfuse::bmf::sgd_offsets", s.offsets);
  const ::recfuse::detail::bmf::sgd_entry<T>* entries = staged_entries.get();
  const index_t* offsets = staged_offsets.get();
  T* user_factors = sm.user_factors.get();
  T* item_factors = sm.item_factors.get();
  T* user_bias = sm.user_bias.get();
  T* item_bias = sm.item_bias.get();
  const index_t k = m.factors;
  const index_t blocks = s.blocks;
  const T mu = m.global_mean;
  const T reg_bias = static_cast<T>(o.reg_bias);
  const T reg_factor = static_cast<T>(o.reg_factor);
  using range =
      Kokkos::RangePolicy<ExecSpace, Kokkos::Schedule<Kokkos::Dynamic>, Kokkos::IndexType<index_t>>;
  double lr = o.learning_rate;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    const T rate = static_cast<T>(lr);
    for (index_t round = 0; round < blocks; ++round) {
      // Rounds are ordered: each launch runs after the previous one on the same instance.
      Kokkos::parallel_for(
          "recfuse::fit_biased_sgd_kernel", range(p.instance, 0, blocks, Kokkos::ChunkSize(1)),
          KOKKOS_LAMBDA(index_t b) {
            const index_t t = b * blocks + (b + round) % blocks;
            for (index_t e = offsets[t]; e < offsets[t + 1]; ++e) {
              const auto x = entries[e];
              const index_t u = x.user, i = x.item;
              ::recfuse::reference_backend::biased_sgd_update(
                  user_factors + u * k, item_factors + i * k, user_bias[u], item_bias[i], mu,
                  x.value, rate, reg_bias, reg_factor, k);
            }
          });
    }
    lr *= o.learning_rate_decay;
  }
  sm.store(p);
}

// ALS sweeps on an initialised model: all users in parallel, then all items, `iterations` times.
template <class ExecSpace, class T>
void fit_biased_als_kernel(const policy<ExecSpace>& p, const interactions_view<T>& train,
                           const als_options& o, biased_mf_model<T>& m) {
  namespace bmf = detail::bmf;
  const auto by_user_host = to_csr(train, csr_by::user);
  const auto by_item_host = to_csr(train, csr_by::item);
  const bmf::staged_csr<ExecSpace, T> by_user(p, by_user_host), by_item(p, by_item_host);
  const bmf::staged_model<ExecSpace, T> sm(p, m);
  const auto users = sm.side_of(m, bmf::side::users);
  const auto items = sm.side_of(m, bmf::side::items);
  for (int it = 0; it < o.iterations; ++it) {
    bmf::solve_rows(p, users, by_user.rows(nullptr, m.users), o.reg_bias, o.reg_factor);
    bmf::solve_rows(p, items, by_item.rows(nullptr, m.items), o.reg_bias, o.reg_factor);
  }
  sm.store(p);
}

// Re-solves the listed rows (distinct, in range) of one side from `data`, in parallel.
template <class ExecSpace, class T>
void refit_kernel(const policy<ExecSpace>& p, biased_mf_model<T>& m,
                  ::recfuse::detail::bmf::side sd, const interactions_view<T>& data,
                  vector_view<const std::int32_t> rows, const als_options& o) {
  namespace bmf = detail::bmf;
  const auto by_row_host = to_csr(data, sd == bmf::side::users ? csr_by::user : csr_by::item);
  const bmf::staged_csr<ExecSpace, T> by_row(p, by_row_host);
  const detail::staged<ExecSpace, const std::int32_t> listed(p, "recfuse::bmf::refit_rows",
                                                             rows.data(), rows.size());
  const bmf::staged_model<ExecSpace, T> sm(p, m);
  bmf::solve_rows(p, sm.side_of(m, sd), by_row.rows(listed.get(), rows.size()), o.reg_bias,
                  o.reg_factor);
  sm.store(p);
}

// One ALS user step for a user outside the model (items, ratings and factors_out in the space's
// memory); returns the bias.
template <class ExecSpace, class T>
T fold_in_user_kernel(
    const policy<ExecSpace>& p, const biased_mf_model<T>& m,
    vector_view<const std::int32_t, typename policy<ExecSpace>::memory_space> items,
    vector_view<const T, typename policy<ExecSpace>::memory_space> ratings,
    vector_view<T, typename policy<ExecSpace>::memory_space> factors_out, const als_options& o) {
  namespace bmf = detail::bmf;
  const auto item_factors = detail::stage_const(p, "recfuse::bmf::item_factors", m.item_factors);
  const auto item_bias = detail::stage_const(p, "recfuse::bmf::item_bias", m.item_bias);
  const index_t host_offsets[2] = {0, items.size()};
  const detail::staged<ExecSpace, const index_t> offsets(p, "recfuse::bmf::fold_in_offsets",
                                                         host_offsets, 2);
  auto bias = detail::make_buffer<T>(p, "recfuse::bmf::fold_in_bias", 1);
  const ::recfuse::detail::bmf::als_side<T> s{factors_out.data(), bias.data(), item_factors.get(),
                                              item_bias.get(),    m.factors,   m.global_mean};
  bmf::solve_rows(p, s, bmf::als_rows<T>{offsets.get(), items.data(), ratings.data(), nullptr, 1},
                  o.reg_bias, o.reg_factor);
  const auto host_bias = Kokkos::create_mirror_view(bias);
  Kokkos::deep_copy(p.instance, host_bias, bias);
  p.instance.fence();
  return host_bias(0);
}

// Clipped predictions for the pairs, one work item each (ids and out in the space's memory).
template <class ExecSpace, class T>
void predict_kernel(const policy<ExecSpace>& p, const biased_mf_model<T>& m,
                    vector_view<const std::int32_t, typename policy<ExecSpace>::memory_space> users,
                    vector_view<const std::int32_t, typename policy<ExecSpace>::memory_space> items,
                    vector_view<T, typename policy<ExecSpace>::memory_space> out) {
  if (out.size() == 0) return;
  const auto uf = detail::stage_const(p, "recfuse::bmf::user_factors", m.user_factors);
  const auto itf = detail::stage_const(p, "recfuse::bmf::item_factors", m.item_factors);
  const auto ub = detail::stage_const(p, "recfuse::bmf::user_bias", m.user_bias);
  const auto ib = detail::stage_const(p, "recfuse::bmf::item_bias", m.item_bias);
  const ::recfuse::detail::bmf::model_arrays<T> a{
      uf.get(), itf.get(), ub.get(),      ib.get(),     m.users,
      m.items,  m.factors, m.global_mean, m.min_rating, m.max_rating};
  const std::int32_t* u = users.data();
  const std::int32_t* i = items.data();
  T* y = out.data();
  Kokkos::parallel_for(
      "recfuse::predict_kernel", detail::index_range(p, out.size()),
      KOKKOS_LAMBDA(index_t j) { y[j] = a.predict(u[j], i[j]); });
  p.instance.fence();
}

}  // namespace recfuse::kokkos_backend
