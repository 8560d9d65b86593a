// recfuse Kokkos backend: the ALS row solves of explicit biased MF (fit_biased_als, refit,
// fold_in_user). One team per row, of one thread, runs the reference's row solve
// (::recfuse::detail::bmf::als_solve_row_with_scratch: the (k + 1) x (k + 1) normal equations in
// double, in the row's entry order, then Cholesky, with the jitter retry) on a work area of
// (k + 1)^2 + (k + 1) doubles in the team's scratch: level 0 when it fits there, else level 1.
// Rows too big even for level 1 (k > about 1580) take their work areas from one buffer in the
// space's memory instead, in chunks of rows whose areas stay under 64 MiB. Each row is the
// reference's computation alone, so the result never depends on the thread count.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include <Kokkos_Core.hpp>

#include "recfuse/kokkos/detail/buffer.hpp"
#include "recfuse/kokkos/policy.hpp"
#include "recfuse/reference/factorize/biased_mf.hpp"

namespace recfuse::kokkos_backend::detail::bmf {

// Doubles of work area at most in the buffer used when a row's area does not fit in team
// scratch (at least one row): 64 MiB.
inline constexpr index_t als_buffer_doubles = index_t{1} << 23;

// The ratings of the rows being solved, as a CSR in the space's memory (offsets of the rows,
// other-side ids, values), and the rows: rows[0..count) (distinct), or 0..count when null.
template <class T>
struct als_rows {
  const index_t* offsets;
  const std::int32_t* indices;
  const T* values;
  const std::int32_t* rows;
  index_t count;
};

template <class ExecSpace>
using als_team_policy =
    Kokkos::TeamPolicy<ExecSpace, Kokkos::Schedule<Kokkos::Dynamic>, Kokkos::IndexType<index_t>>;
template <class ExecSpace>
using als_scratch_view =
    Kokkos::View<double*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryUnmanaged>;

// The team scratch level a row's work area for k factors fits in (0, else 1), or -1 when it
// fits in neither (the rows then take their areas from a buffer).
template <class ExecSpace>
int als_scratch_level(index_t k) {
  const std::size_t bytes = als_scratch_view<ExecSpace>::shmem_size(
      static_cast<std::size_t>(::recfuse::detail::bmf::als_row_scratch(k)));
  for (int level : {0, 1}) {
    if (bytes <= static_cast<std::size_t>(als_team_policy<ExecSpace>::scratch_size_max(level))) {
      return level;
    }
  }
  return -1;
}

// Solves the rows of side s (its pointers in the space's memory) against the fixed other side,
// the work areas in team scratch `level` (0 or 1, where they fit) or, with level -1, in a buffer
// of at most buffer_doubles doubles (at least one row's), the rows in chunks that fit in it.
template <class ExecSpace, class T>
void solve_rows(const policy<ExecSpace>& p, const ::recfuse::detail::bmf::als_side<T>& s,
                const als_rows<T>& rs, double reg_bias, double reg_factor, int level,
                index_t buffer_doubles) {
  if (rs.count == 0) return;
  using team_policy = als_team_policy<ExecSpace>;
  using member = typename team_policy::member_type;
  using scratch_view = als_scratch_view<ExecSpace>;
  const index_t per_row = ::recfuse::detail::bmf::als_row_scratch(s.k);
  const std::size_t bytes = scratch_view::shmem_size(static_cast<std::size_t>(per_row));
  const index_t chunk =
      level >= 0 ? rs.count : std::min(rs.count, std::max<index_t>(1, buffer_doubles / per_row));
  const auto area = make_uninitialized_buffer<double>(p, "recfuse::bmf::als_area",
                                                      level >= 0 ? 0 : chunk * per_row);
  for (index_t first = 0; first < rs.count; first += chunk) {
    team_policy tp(p.instance, std::min(chunk, rs.count - first), 1);
    if (level >= 0) tp.set_scratch_size(level, Kokkos::PerTeam(bytes));
    Kokkos::parallel_for(
        "recfuse::bmf::als_solve_rows", tp, KOKKOS_LAMBDA(const member& team) {
          const index_t j = team.league_rank();
          const index_t r = rs.rows ? static_cast<index_t>(rs.rows[first + j]) : first + j;
          double* w = level >= 0 ? scratch_view(team.team_scratch(level), per_row).data()
                                 : area.data() + j * per_row;
          const index_t begin = rs.offsets[r];
          ::recfuse::detail::bmf::als_solve_row_with_scratch(
              s, rs.indices + begin, rs.values + begin, rs.offsets[r + 1] - begin, reg_bias,
              reg_factor, s.factors + r * s.k, s.bias + r, w);
        });
  }
}

// The same with the work areas where they fit best: team scratch, else a 64 MiB buffer.
template <class ExecSpace, class T>
void solve_rows(const policy<ExecSpace>& p, const ::recfuse::detail::bmf::als_side<T>& s,
                const als_rows<T>& rs, double reg_bias, double reg_factor) {
  solve_rows(p, s, rs, reg_bias, reg_factor, als_scratch_level<ExecSpace>(s.k), als_buffer_doubles);
}

}  // namespace recfuse::kokkos_backend::detail::bmf
