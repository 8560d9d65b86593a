// recfuse Kokkos backend: the row solves of implicit ALS (fit_implicit_als_kernel and the implicit
// fold_in_user_kernel of recfuse/kokkos/factorize/implicit_als.hpp).
//
// One Kokkos::parallel_reduce over a TeamPolicy: each league member takes a tile of the listed
// rows, one per thread, and each thread runs the reference's own row solve
// (reference_backend::detail::implicit_solve_row, host and device code: CG in double, or the
// Cholesky system formed and solved in double) on its row's double work area (the normal
// equations k x k and right-hand side, or the four CG vectors) in per-thread scratch: level 0
// when the team's areas fit there, else level 1, else (large k) a buffer of global memory, in
// launches of at most 64 MiB of it. The reduction is a Kokkos::Min over the failing rows (rows
// whose Cholesky system is not positive definite), so it returns the smallest, which is the
// first in list order (rows[] is increasing): the row the reference reports.
// Every row is solved sequentially by one thread, in the reference's order, so the results do
// not depend on the thread count or the team size, and equal the reference's up to floating-point
// contraction (FMA) by the compiler.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

#include <Kokkos_Core.hpp>

#include "recfuse/factorize/model.hpp"
#include "recfuse/kokkos/detail/buffer.hpp"
#include "recfuse/kokkos/detail/range.hpp"
#include "recfuse/kokkos/policy.hpp"
#include "recfuse/reference/factorize/implicit_als.hpp"  // the row solve, host and device

namespace recfuse::kokkos_backend::detail::ials {

// Doubles of global-memory row scratch per launch at most (64 MiB), when per-thread scratch is
// too small for the rows' work areas.
inline constexpr index_t global_scratch_doubles = index_t{1} << 23;

// Above every row id: the Min reduction's "no failure".
inline constexpr index_t no_failure = std::numeric_limits<index_t>::max();

// Positions [first, last) of one launch; position q is row rows[q] (q when rows is null) of
// `target`, re-solved from its entries offsets[row] .. offsets[row + 1] of (indices, values)
// (0 .. entries when offsets is null: the fold-in's single row) against problem's fixed side.
// League member t takes positions first + t * team_size + (0 .. team_size), one per thread.
template <class ExecSpace, class T>
struct solve_rows {
  using member_type = team_member<ExecSpace>;
  using scratch_area =
      Kokkos::View<double*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryUnmanaged>;

  const index_t* offsets;
  index_t entries;
  const std::int32_t* indices;
  const T* values;
  ::recfuse::reference_backend::detail::implicit_row_problem<T> problem;
  T* target;
  index_t target_stride;
  const std::int32_t* rows;
  index_t first, last;
  index_t per_row;  // doubles of work area per row
  int level;        // per-thread scratch level, or -1: global + (q - first) * per_row
  double* global;

  KOKKOS_FUNCTION void operator()(const member_type& t, index_t& failed) const {
    const index_t q = first + static_cast<index_t>(t.league_rank()) * t.team_size() + t.team_rank();
    if (q >= last) return;
    const index_t row = rows != nullptr ? static_cast<index_t>(rows[q]) : q;
    const index_t begin = offsets != nullptr ? offsets[row] : 0;
    const index_t end = offsets != nullptr ? offsets[row + 1] : entries;
    double* const area = level >= 0 ? scratch_area(t.thread_scratch(level), per_row).data()
                                    : global + (q - first) * per_row;
    if (!::recfuse::reference_backend::detail::implicit_solve_row(
            problem, indices + begin, values + begin, end - begin, target + row * target_stride,
            area)) {
      failed = row < failed ? row : failed;
    }
  }
};

// Where the rows' work areas may go: a team's scratch at most scratch_bytes (besides the space's
// own limits), else global memory, at most global_doubles per launch. The defaults are the
// kernels'; the tests lower them to reach every path.
struct row_scratch_limits {
  std::size_t scratch_bytes = std::numeric_limits<std::size_t>::max();
  index_t global_doubles = global_scratch_doubles;
};

// Runs `f` over positions [0, count) (its pointers in the policy's memory); -1, or the smallest
// row whose Cholesky system failed.
template <class ExecSpace, class T>
index_t run_solve_rows(const policy<ExecSpace>& p, solve_rows<ExecSpace, T> f, index_t count,
                       const row_scratch_limits& limits = {}) {
  if (count == 0) return -1;
  using functor = solve_rows<ExecSpace, T>;
  f.per_row =
      ::recfuse::reference_backend::detail::implicit_row_scratch(f.problem.k, f.problem.cholesky);
  const std::size_t bytes = functor::scratch_area::shmem_size(static_cast<std::size_t>(f.per_row));
  // The team size the space recommends (with per-thread work areas in level 0 if one fits
  // there); the areas go to the lowest scratch level a whole team's fit in, else to global memory.
  auto probe = team_range(p, 1);
  if (bytes <= static_cast<std::size_t>(probe.scratch_size_max(0))) {
    probe.set_scratch_size(0, Kokkos::PerThread(bytes));
  }
  const int team_size = std::max(1, probe.team_size_recommended(f, Kokkos::ParallelReduceTag{}));
  const std::size_t team_bytes = bytes * static_cast<std::size_t>(team_size);
  f.level = -1;
  for (int level = 1; level >= 0; --level) {
    const std::size_t fits =
        std::min(limits.scratch_bytes, static_cast<std::size_t>(probe.scratch_size_max(level)));
    if (team_bytes <= fits) f.level = level;
  }
  const index_t chunk =
      f.level >= 0 ? count
                   : std::min(count, std::max<index_t>(1, limits.global_doubles / f.per_row));
  buffer<ExecSpace, double> global;
  if (f.level < 0) {
    global = make_uninitialized_buffer<double>(p, "recfuse::implicit_als rows", chunk * f.per_row);
  }
  f.global = global.data();
  index_t failed = no_failure;
  for (index_t first = 0; first < count; first += chunk) {
    f.first = first;
    f.last = std::min(count, first + chunk);
    const index_t league = (f.last - first + team_size - 1) / team_size;
    team_policy<ExecSpace> launch(p.instance, static_cast<int>(league), team_size);
    if (f.level >= 0) launch.set_scratch_size(f.level, Kokkos::PerThread(bytes));
    index_t launch_failed = no_failure;
    // Reducing into a host scalar waits for the launch.
    Kokkos::parallel_reduce("recfuse::fit_implicit_als_kernel", launch, f,
                            Kokkos::Min<index_t>(launch_failed));
    failed = std::min(failed, launch_failed);
  }
  return failed == no_failure ? -1 : failed;
}

// A launch functor for the rows of `target` against `fixed` (both in the policy's memory), the
// row problem built by the reference from a host-typed view of the same pointers (only stored).
template <class ExecSpace, class T, class Space>
solve_rows<ExecSpace, T> make_solve_rows(matrix_view<const T, Space> fixed, const T* gram,
                                         const implicit_als_options& o) {
  solve_rows<ExecSpace, T> f{};
  f.problem = ::recfuse::reference_backend::detail::make_implicit_row_problem(
      matrix_view<const T>(fixed.data(), fixed.rows(), fixed.cols(), fixed.stride()), gram, o);
  return f;
}

}  // namespace recfuse::kokkos_backend::detail::ials
