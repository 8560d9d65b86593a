// recfuse Kokkos backend: how the column-statistics fits of the scale family (scale/
// standard_scaler.hpp, scale/minmax_scaler.hpp) cut a matrix into work.
//
//   const auto t = kokkos_backend::detail::column_tiles::of(p, rows, cols);
//   for (index_t j0 = 0; j0 < cols; j0 += t.width)   // one parallel_reduce per tile of columns
//     // work item b of t.blocks: rows [t.begin(b), t.end(b)) of columns [j0, j0 + width)
//
// A fit is one Kokkos::parallel_reduce per tile of columns whose work items are blocks of rows,
// each read row by row (contiguous in a row-major matrix); the reduction's value is an array of
// per-column statistics, one entry per column of the tile. The tile bounds that value (which
// every thread, or on a GPU every thread of a block, holds) and the fit's scratch: wide on the
// host, narrow on device spaces. The blocks depend on the shape only, never on the
// thread count.
#pragma once

#include <algorithm>
#include <type_traits>

#include <Kokkos_Core.hpp>

#include "recfuse/core/config.hpp"
#include "recfuse/kokkos/policy.hpp"

namespace recfuse::kokkos_backend::detail {

struct column_tiles {
  // Rows a block gets at least, and blocks a column gets at most (bounding the merges).
  static constexpr index_t min_rows = 64;
  static constexpr index_t max_blocks = 256;
  // Columns per reduction. Every thread holds a reduction value of width x 2 or 3 doubles (on a
  // GPU, every thread of a block, in shared memory: a narrow tile). On the host, wide tiles: a row
  // is read in long stretches (tiles of 256 columns ran the fit twice as slowly as 1024).
  static constexpr index_t host_width = 4096;
  static constexpr index_t device_width = 16;

  index_t rows = 0;
  index_t width = 1;  // columns per tile (the last tile may be narrower)
  index_t rows_per_block = 1;
  index_t blocks = 1;

  // rows >= 1 and cols >= 1.
  template <class ExecSpace>
  static column_tiles of(const policy<ExecSpace>&, index_t rows, index_t cols) {
    constexpr bool host = std::is_same_v<memory_space_of<ExecSpace>, host_memory>;
    const index_t per = std::max(min_rows, (rows + max_blocks - 1) / max_blocks);
    return {rows, std::min(cols, host ? host_width : device_width), per, (rows + per - 1) / per};
  }

  // The rows [begin, end) of block b, in a kernel.
  KOKKOS_INLINE_FUNCTION index_t begin(index_t b) const { return b * rows_per_block; }
  KOKKOS_INLINE_FUNCTION index_t end(index_t b) const {
    const index_t e = (b + 1) * rows_per_block;
    return e < rows ? e : rows;
  }
};

}  // namespace recfuse::kokkos_backend::detail
