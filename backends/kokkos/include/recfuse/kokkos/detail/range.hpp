// recfuse Kokkos backend: the execution policies the kernels launch with, on the recfuse policy's
// execution-space instance, indexed by recfuse's index_t.
#pragma once

#include <Kokkos_Core.hpp>

#include "recfuse/core/config.hpp"
#include "recfuse/kokkos/policy.hpp"

namespace recfuse::kokkos_backend::detail {

// [0, n) as a flat range.
template <class ExecSpace>
auto index_range(const policy<ExecSpace>& p, index_t n) {
  return Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<index_t>>(p.instance, 0, n);
}

template <class ExecSpace>
using team_policy = Kokkos::TeamPolicy<ExecSpace, Kokkos::IndexType<index_t>>;

template <class ExecSpace>
using team_member = typename team_policy<ExecSpace>::member_type;

// `league` teams of Kokkos::AUTO threads on the policy's instance (add .set_scratch_size for
// per-team or per-thread scratch).
template <class ExecSpace>
team_policy<ExecSpace> team_range(const policy<ExecSpace>& p, index_t league) {
  return team_policy<ExecSpace>(p.instance, league, Kokkos::AUTO);
}

}  // namespace recfuse::kokkos_backend::detail
