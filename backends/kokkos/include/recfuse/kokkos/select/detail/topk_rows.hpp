// recfuse Kokkos backend: the row loop of the top-k kernels (recfuse/kokkos/select/topk.hpp).
//
// - sort_exclusion: every exclusion id of row r encoded as the key r * cols + id in one buffer
//   (a parallel_for over the rows), sorted once with Kokkos::sort, so each row's ids are a sorted
//   run at the row's own CSR offsets and membership is a binary search (O(nnz) scratch).
// - topk_team: one league member (team) per tile of team_size query rows, one row per thread
//   (TeamThreadRange). Each thread keeps its row's bounded heap (select_row and row_heap of
//   recfuse/reference/select/detail/topk_row.hpp) in per-thread level-0 scratch when the team's
//   k-entry queues fit there (the team shrunk to fit, down to a warp on a GPU; on the host
//   spaces, one thread per team and 32 KiB: k up to 2047 for double, 2729 for float), sorts it
//   best first and writes the row out, padded. When they do not fit (there is no k limit), the
//   heap lives in the row's own output slots, as the Thrust kernel keeps it.
// - topk_over_rows validates a device exclusion pattern first (check_exclusion.hpp), then
//   launches.
// Each row is selected by one thread in increasing candidate order, so the results do not depend
// on the thread count, the team size or the path (scratch or output row).
#pragma once

#include <Kokkos_Core.hpp>
#include <Kokkos_Sort.hpp>

#include <limits>
#include <type_traits>

#include "recfuse/core/views.hpp"
#include "recfuse/kokkos/detail/buffer.hpp"
#include "recfuse/kokkos/detail/range.hpp"
#include "recfuse/kokkos/policy.hpp"
#include "recfuse/kokkos/select/detail/check_exclusion.hpp"
#include "recfuse/reference/select/detail/topk_row.hpp"

namespace recfuse::kokkos_backend::detail {

using ::recfuse::detail::row_heap;
using ::recfuse::detail::sorted_exclusion;

// Builds the sorted keys of `exclude` (which may be null) into `keys`; returns the lookup.
template <class ExecSpace, class Index, class Space>
sorted_exclusion sort_exclusion(const policy<ExecSpace>& p,
                                const csr_pattern_view<Index, Space>* exclude,
                                buffer<ExecSpace, index_t>& keys) {
  if (exclude == nullptr || exclude->rows() == 0) return {};
  const index_t rows = exclude->rows();
  const index_t cols = exclude->cols();
  const index_t* offsets = exclude->offsets();
  const Index* ids = exclude->indices();
  const index_t nnz = read_index(
      p, KOKKOS_LAMBDA() { return offsets[rows] - offsets[0]; });
  keys = make_uninitialized_buffer<index_t>(p, "recfuse::topk exclusion keys", nnz);
  index_t* k = keys.data();
  Kokkos::parallel_for(
      "recfuse::topk exclusion keys", index_range(p, rows), KOKKOS_LAMBDA(index_t r) {
        const index_t base = offsets[0];
        for (index_t e = offsets[r]; e < offsets[r + 1]; ++e) {
          k[e - base] = r * cols + static_cast<index_t>(ids[e]);
        }
      });
  Kokkos::sort(p.instance, keys);
  return {offsets, k, cols};
}

// The top-k kernels' team functor: rows [t * team_size, (t + 1) * team_size) of [0, m) for
// league member t, one per thread.
template <class ExecSpace, class T, class Scores>
struct topk_team {
  using member_type = team_member<ExecSpace>;
  using scratch_space = typename ExecSpace::scratch_memory_space;
  using value_queue = Kokkos::View<T*, scratch_space, Kokkos::MemoryUnmanaged>;
  using id_queue = Kokkos::View<index_t*, scratch_space, Kokkos::MemoryUnmanaged>;

  Scores score;
  index_t m;
  index_t n;
  index_t k;
  sorted_exclusion excluded;
  T* values;
  index_t value_stride;
  index_t* ids;
  index_t id_stride;
  T neutral;        // -infinity, computed on the host
  bool in_scratch;  // per-thread queues of k entries in level-0 scratch

  // Scratch bytes one thread's queue takes.
  static std::size_t queue_bytes(index_t k) {
    return id_queue::shmem_size(static_cast<std::size_t>(k)) +
           value_queue::shmem_size(static_cast<std::size_t>(k));
  }

  KOKKOS_FUNCTION void operator()(const member_type& t) const {
    const index_t first = static_cast<index_t>(t.league_rank()) * t.team_size();
    const index_t last = first + t.team_size() < m ? first + t.team_size() : m;
    if (in_scratch) {
      const id_queue qi(t.thread_scratch(0), static_cast<std::size_t>(k));
      const value_queue qv(t.thread_scratch(0), static_cast<std::size_t>(k));
      Kokkos::parallel_for(Kokkos::TeamThreadRange(t, first, last), [&](index_t r) {
        const row_heap<T> heap{qv.data(), qi.data()};
        const index_t size = ::recfuse::detail::select_row<T>(score, r, n, k, excluded, heap);
        heap.sort(size);
        T* v = values + r * value_stride;
        index_t* id = ids + r * id_stride;
        for (index_t j = 0; j < size; ++j) {
          v[j] = heap.v[j];
          id[j] = heap.id[j];
        }
        for (index_t j = size; j < k; ++j) {
          v[j] = neutral;
          id[j] = -1;
        }
      });
    } else {
      Kokkos::parallel_for(Kokkos::TeamThreadRange(t, first, last), [&](index_t r) {
        const row_heap<T> heap{values + r * value_stride, ids + r * id_stride};
        heap.finish(::recfuse::detail::select_row<T>(score, r, n, k, excluded, heap), k, neutral);
      });
    }
  }
};

// The most scratch a team's queues may take: the space's level-0 limit unless a smaller one is
// given (the tests force the output-row heap with 0).
inline constexpr std::size_t scratch_limit_of_space = std::numeric_limits<std::size_t>::max();

// Runs topk_team over rows [0, m). A device exclusion pattern is validated first (check_csr has
// validated a host one); `fn` names the public function in its errors.
template <class ExecSpace, class T, class Scores, class Index, class Space>
void topk_over_rows(const char* fn, const policy<ExecSpace>& p, index_t m, index_t n, index_t k,
                    Scores score, const csr_pattern_view<Index, Space>* exclude,
                    matrix_view<T, Space> out_values, matrix_view<index_t, Space> out_indices,
                    std::size_t scratch_limit = scratch_limit_of_space) {
  if constexpr (!std::is_same_v<Space, host_memory>) {
    if (exclude != nullptr) check_exclusion(fn, p, *exclude);
  }
  if (m == 0 || k == 0) return;
  buffer<ExecSpace, index_t> keys;
  const sorted_exclusion excluded = sort_exclusion(p, exclude, keys);
  using functor = topk_team<ExecSpace, T, Scores>;
  functor f{score,
            m,
            n,
            k,
            excluded,
            out_values.data(),
            out_values.stride(),
            out_indices.data(),
            out_indices.stride(),
            -std::numeric_limits<T>::infinity(),
            false};
  // The team: what the space recommends for the functor with per-thread queues (1 on the host
  // spaces). The queues go to level-0 scratch when those of at least min(recommended, 32)
  // threads fit there, the team shrunk to what fits (whole warps on a GPU); otherwise the heaps
  // live in the output rows and the team is the recommended one.
  const std::size_t per_thread = functor::queue_bytes(k);
  auto probe = team_range(p, 1);
  probe.set_scratch_size(0, Kokkos::PerThread(per_thread));
  const int recommended = Kokkos::max(probe.team_size_recommended(f, Kokkos::ParallelForTag{}), 1);
  const std::size_t level0 = static_cast<std::size_t>(probe.scratch_size_max(0));
  const std::size_t fit = (scratch_limit < level0 ? scratch_limit : level0) / per_thread;
  int threads = recommended;
  f.in_scratch = fit >= static_cast<std::size_t>(Kokkos::min(recommended, 32));
  if (f.in_scratch && fit < static_cast<std::size_t>(recommended)) {
    threads = static_cast<int>(fit);
    if (threads >= 32) threads -= threads % 32;
  }
  const index_t league = (m + threads - 1) / threads;
  team_policy<ExecSpace> launch(p.instance, static_cast<int>(league), threads);
  if (f.in_scratch) launch.set_scratch_size(0, Kokkos::PerThread(per_thread));
  Kokkos::parallel_for("recfuse::topk", launch, f);
  p.instance.fence();
}

}  // namespace recfuse::kokkos_backend::detail
