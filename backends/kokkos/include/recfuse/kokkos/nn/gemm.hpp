// recfuse Kokkos backend: the dense matrix product (recfuse::gemm), and the tiled GEMM loop that
// the fused dense-layer kernels (recfuse/kokkos/nn/mlp.hpp) run with their own epilogue.
//
// One Kokkos::TeamPolicy launch, one team per mc x nc tile of c. For each block of kc inner
// indices the team packs its rows of op(a) into micro-panels of mr rows (kc x mr, contiguous)
// and its columns of op(b) into micro-panels of nr columns (kc x nr) in team scratch, zero-padded
// to whole panels; then each thread of the team takes mr x nr micro-tiles of the tile and
// multiplies a row panel by a column panel with mr x nr accumulators in registers (fixed trip
// counts, so the compiler vectorises over the nr columns and keeps the tile in registers).
// Between kc blocks the partial sums wait in a tile of c in team scratch; at the last block
// the epilogue gets each entry's sum: plain gemm applies alpha and beta (in double, rounded to T
// once; beta == 0 never reads c, as the reference), the dense layers add the bias and the
// activation. No Kokkos Kernels, no BLAS: the same generic code runs on every execution space.
// The tile sizes depend on the space: host spaces (Serial, OpenMP, Threads) take a 6 x (two
// SIMD registers) micro-tile, 96 x 256 (float) or 96 x 128 (double) tiles, halved (down to
// 24 x 2 micro-tile columns) until there are two tiles per thread, and kc = 256 / 128, staged
// in level-1 scratch, teams of Kokkos::AUTO threads (one on CPUs); device spaces 4 x 4
// micro-tiles in 32 x 32 tiles, kc = 32, in level-0 (shared) memory, one thread per micro-tile.
// Device spaces are compiled-for only (no CUDA build here); the tests run the device tiling on
// the host spaces, with teams of 1 and 2 threads.
//
// Accumulation: in T, as the xsimd backend does (the reference sums in double), so results
// differ from the reference by rounding (relative error about inner * epsilon(T) at worst).
// Each entry's sum runs over the inner dimension in order, in one thread, partial sums between
// kc blocks kept in T, whatever the tiles: the result does not depend on the thread count (which
// sizes the host tiles), nor on the team size, nor on Serial vs OpenMP.
#pragma once

#include <cstddef>
#include <type_traits>

#include <Kokkos_Core.hpp>

#include "recfuse/core/config.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/kokkos/detail/range.hpp"
#include "recfuse/kokkos/policy.hpp"
#include "recfuse/nn/gemm.hpp"
#include "recfuse/reference/nn/detail/gemm_parts.hpp"

// GCC (host code only): keep the micro-kernel's column loop a loop for the vectoriser. Left to
// itself GCC unrolls short ones completely and then vectorises some tile shapes badly (6 x 16
// doubles ran at a tenth of the speed of 6 x 32 floats); with the loop kept, every shape becomes
// mr x nr / lanes FMAs on register accumulators.
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__) && !defined(__HIPCC__)
#define RECFUSE_KOKKOS_GEMM_VECTOR_LOOP _Pragma("GCC unroll 1")
#else
#define RECFUSE_KOKKOS_GEMM_VECTOR_LOOP
#endif

namespace recfuse::kokkos_backend {
namespace detail {

// The operands and the epilogues are shared with the Thrust GEMM
// (recfuse/reference/nn/detail/gemm_parts.hpp).
using ::recfuse::detail::dense_backward_input_epilogue;
using ::recfuse::detail::dense_forward_epilogue;
using ::recfuse::detail::gemm_operands;
using ::recfuse::detail::gemm_scale_epilogue;
using ::recfuse::detail::make_gemm_operands;

// Tile sizes: mr x nr micro-tiles (registers), mc x nc tiles of c per team, kc inner indices per
// packed block, in scratch level `level`, teams of `team` threads (0: Kokkos::AUTO). mc is a
// multiple of mr, nc of nr. With `shrink`, tiles are halved (down to 4 x 2 micro-tiles) until
// there are two teams per thread of the space: the tile size never changes a result, as every
// entry's sum runs over the inner dimension in order whatever the tiles (partial sums between
// kc blocks are kept in T).
template <index_t Mr, index_t Nr, index_t Mc, index_t Nc, index_t Kc, int Level, int Team = 0,
          bool Shrink = false>
struct gemm_tiling {
  static constexpr index_t mr = Mr, nr = Nr, mc = Mc, nc = Nc, kc = Kc;
  static constexpr int level = Level, team = Team;
  static constexpr bool shrink = Shrink;
  static_assert(mc % mr == 0 && nc % nr == 0, "gemm_tiling: tiles must be whole micro-tiles");
};

// Bytes of the host's SIMD registers the compiler targets (for nr: two registers per row).
#if defined(__AVX512F__)
inline constexpr index_t host_simd_bytes = 64;
#elif defined(__AVX__)
inline constexpr index_t host_simd_bytes = 32;
#else
inline constexpr index_t host_simd_bytes = 16;
#endif

// nr: two SIMD registers of T; nc and kc: 1 KiB of T (a multiple of nr).
template <class T>
using host_gemm_tiling = gemm_tiling<6, 2 * host_simd_bytes / static_cast<index_t>(sizeof(T)), 96,
                                     1024 / static_cast<index_t>(sizeof(T)),
                                     1024 / static_cast<index_t>(sizeof(T)), 1, 0, true>;
// One thread per micro-tile of a 32 x 32 tile.
template <class T>
using device_gemm_tiling = gemm_tiling<4, 4, 32, 32, 32, 0, 64>;

template <class ExecSpace, class T>
using default_gemm_tiling =
    std::conditional_t<Kokkos::SpaceAccessibility<ExecSpace, Kokkos::HostSpace>::accessible,
                       host_gemm_tiling<T>, device_gemm_tiling<T>>;

// Runs the tiled product over all of c (m x n), handing each entry's sum to the epilogue
// ep(i, j, sum); Tiling is a gemm_tiling, team_size 0 means the tiling's (the tests ask for
// other tilings and team sizes on host spaces, to run the device path's code).
template <class Tiling, class ExecSpace, class T, class Epilogue>
void gemm_run_tiled(const policy<ExecSpace>& p, const gemm_operands<T>& o, const Epilogue& ep,
                    int team_size = 0) {
  constexpr index_t mr = Tiling::mr, nr = Tiling::nr, kc = Tiling::kc;
  constexpr int level = Tiling::level;
  if (o.m == 0 || o.n == 0) return;
  if (team_size == 0) team_size = Tiling::team;
  index_t mc = Tiling::mc, nc = Tiling::nc;
  if constexpr (Tiling::shrink) {
    const index_t threads = p.instance.concurrency();
    const index_t want = threads > 1 ? 2 * threads : 1;
    const auto teams = [&] { return ((o.m + mc - 1) / mc) * ((o.n + nc - 1) / nc); };
    while (teams() < want) {
      const bool can_n = nc >= 4 * nr && nc < 2 * o.n, can_m = mc >= 8 * mr && mc < 2 * o.m;
      if (can_n && (nc >= mc || !can_m)) {
        nc = nc / 2 / nr * nr;
      } else if (can_m) {
        mc = mc / 2 / mr * mr;
      } else {
        break;
      }
    }
  }
  using scratch =
      Kokkos::View<T*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryUnmanaged>;
  const index_t tiles_m = (o.m + mc - 1) / mc, tiles_n = (o.n + nc - 1) / nc;
  // Scratch extents, shrunk to the shape (a 1 x 1000 product does not pack 96 rows).
  const index_t tile_rows = o.m < mc ? (o.m + mr - 1) / mr * mr : mc;
  const index_t tile_cols = o.n < nc ? (o.n + nr - 1) / nr * nr : nc;
  const index_t block = o.inner < kc ? o.inner : kc;
  const bool multi_block = o.inner > kc;  // partial sums kept between blocks
  const index_t a_size = tile_rows * block, b_size = block * tile_cols;
  const index_t c_size = multi_block ? tile_rows * tile_cols : 0;
  const std::size_t bytes =
      scratch::shmem_size(a_size) + scratch::shmem_size(b_size) + scratch::shmem_size(c_size);
  const gemm_operands<T> ops = o;
  Kokkos::parallel_for(
      "recfuse::gemm_kernel",
      (team_size > 0 ? team_policy<ExecSpace>(p.instance, tiles_m * tiles_n, team_size)
                     : team_range(p, tiles_m * tiles_n))
          .set_scratch_size(level, Kokkos::PerTeam(bytes)),
      KOKKOS_LAMBDA(const team_member<ExecSpace>& team) {
        const index_t t = team.league_rank();
        const index_t i0 = (t / tiles_n) * mc, j0 = (t % tiles_n) * nc;
        const index_t rows = ops.m - i0 < mc ? ops.m - i0 : mc;
        const index_t cols = ops.n - j0 < nc ? ops.n - j0 : nc;
        const index_t panels_m = (rows + mr - 1) / mr, panels_n = (cols + nr - 1) / nr;
        scratch ap(team.team_scratch(level), a_size);
        scratch bp(team.team_scratch(level), b_size);
        scratch cp(team.team_scratch(level), c_size);
        const index_t ldcp = panels_n * nr;
        if (ops.inner == 0) {  // c = epilogue(0)
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, rows * cols),
                               [&](index_t e) { ep(i0 + e / cols, j0 + e % cols, T(0)); });
          return;
        }
        for (index_t k0 = 0; k0 < ops.inner; k0 += kc) {
          const index_t kb = ops.inner - k0 < kc ? ops.inner - k0 : kc;
          const bool first = k0 == 0, last = k0 + kb == ops.inner;
          // Pack: ap[(panel * kb + k) * mr + r] = op(a)(i0 + panel * mr + r, k0 + k), 0 past m.
          // Each source line is read along its contiguous direction.
          if (ops.a_col == 1) {  // rows of op(a) contiguous: one row at a time
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, panels_m * mr), [&](index_t r) {
              T* dst = ap.data() + (r / mr) * kb * mr + r % mr;
              if (r < rows) {
                const T* src = ops.a + (i0 + r) * ops.a_row + k0;
                for (index_t k = 0; k < kb; ++k) dst[k * mr] = src[k];
              } else {
                for (index_t k = 0; k < kb; ++k) dst[k * mr] = T(0);
              }
            });
          } else {  // op(a) = a^T: columns of op(a) contiguous, one inner index at a time
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, kb), [&](index_t k) {
              const T* src = ops.a + (k0 + k) * ops.a_col + i0 * ops.a_row;
              for (index_t r = 0; r < panels_m * mr; ++r) {
                ap[(r / mr) * kb * mr + k * mr + r % mr] = r < rows ? src[r * ops.a_row] : T(0);
              }
            });
          }
          // bp[(panel * kb + k) * nr + s] = op(b)(k0 + k, j0 + panel * nr + s), 0 past n.
          if (ops.b_col == 1) {  // rows of op(b) contiguous: copy along them
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, panels_n * kb), [&](index_t e) {
              const index_t panel = e / kb, k = e % kb;
              T* dst = bp.data() + (panel * kb + k) * nr;
              const index_t j = panel * nr;
              const T* src = ops.b + (k0 + k) * ops.b_row + j0 + j;
              const index_t valid = cols - j < nr ? cols - j : nr;
              for (index_t s = 0; s < valid; ++s) dst[s] = src[s];
              for (index_t s = valid; s < nr; ++s) dst[s] = T(0);
            });
          } else {  // op(b) = b^T: columns of op(b) contiguous, read 16 inner indices at a time
            constexpr index_t kq = 16;
            const index_t chunks = (kb + kq - 1) / kq, width = panels_n * nr;
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, chunks * width), [&](index_t e) {
              const index_t q = e / width, s = e % width;
              const index_t kend = (q + 1) * kq < kb ? (q + 1) * kq : kb;
              T* dst = bp.data() + (s / nr) * kb * nr + s % nr;
              if (s < cols) {
                const T* src = ops.b + k0 * ops.b_row + (j0 + s) * ops.b_col;
                for (index_t k = q * kq; k < kend; ++k) dst[k * nr] = src[k * ops.b_row];
              } else {
                for (index_t k = q * kq; k < kend; ++k) dst[k * nr] = T(0);
              }
            });
          }
          team.team_barrier();
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, panels_m * panels_n), [&](index_t u) {
            const index_t pi = u / panels_n, pj = u % panels_n;
            const T* pa = ap.data() + pi * kb * mr;
            const T* pb = bp.data() + pj * kb * nr;
            T* pc = multi_block ? cp.data() + pi * mr * ldcp + pj * nr : nullptr;
            T acc[mr][nr];
            for (index_t r = 0; r < mr; ++r) {
              for (index_t s = 0; s < nr; ++s) acc[r][s] = first ? T(0) : pc[r * ldcp + s];
            }
            for (index_t k = 0; k < kb; ++k) {
              const T* x = pa + k * mr;
              const T* y = pb + k * nr;
              for (index_t r = 0; r < mr; ++r) {
                const T xr = x[r];
                RECFUSE_KOKKOS_GEMM_VECTOR_LOOP
                for (index_t s = 0; s < nr; ++s) acc[r][s] += xr * y[s];
              }
            }
            if (last) {
              const index_t i = pi * mr, j = pj * nr;
              const index_t vr = rows - i < mr ? rows - i : mr;
              const index_t vc = cols - j < nr ? cols - j : nr;
              for (index_t r = 0; r < vr; ++r) {
                for (index_t s = 0; s < vc; ++s) ep(i0 + i + r, j0 + j + s, acc[r][s]);
              }
            } else {
              for (index_t r = 0; r < mr; ++r) {
                for (index_t s = 0; s < nr; ++s) pc[r * ldcp + s] = acc[r][s];
              }
            }
          });
          team.team_barrier();  // the panels are repacked for the next block
        }
      });
}

template <class ExecSpace, class T, class Epilogue>
void gemm_run(const policy<ExecSpace>& p, const gemm_operands<T>& o, const Epilogue& ep) {
  gemm_run_tiled<default_gemm_tiling<ExecSpace, T>>(p, o, ep);
}

}  // namespace detail

template <class ExecSpace, class T>
void gemm_kernel(const policy<ExecSpace>& p, bool trans_a, bool trans_b, T alpha,
                 matrix_view<const T, typename policy<ExecSpace>::memory_space> a,
                 matrix_view<const T, typename policy<ExecSpace>::memory_space> b, T beta,
                 matrix_view<T, typename policy<ExecSpace>::memory_space> c) {
  const index_t inner = trans_a ? a.rows() : a.cols();
  const auto o = detail::make_gemm_operands(trans_a, trans_b, a.data(), a.stride(), b.data(),
                                            b.stride(), c.rows(), c.cols(), inner);
  detail::gemm_run(p, o,
                   detail::gemm_scale_epilogue<T>{c.data(), c.stride(), static_cast<double>(alpha),
                                                  static_cast<double>(beta), beta != T(0)});
  p.instance.fence();
}

}  // namespace recfuse::kokkos_backend
