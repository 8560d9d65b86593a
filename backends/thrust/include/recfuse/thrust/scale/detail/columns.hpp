// recfuse Thrust backend: the row blocks the column-statistics kernels of the scale family share
// (scale/standard_scaler.hpp, scale/minmax_scaler.hpp).
//
//   const auto blocks = thrust_backend::detail::row_blocks::of(rows, cols);
//   // item k of blocks.items(): column k % cols of rows [blocks.begin(k / cols), end(k / cols))
//
// A fit runs one item per (block of rows, column), adjacent items on adjacent columns (so
// neighbouring GPU threads read neighbouring addresses), each writing its block's statistics of
// its column to scratch; a second pass merges the blocks of each column in block order. The
// layout depends on the shape only (not on the system or thread count), so a fit gives the same
// bits on every run and every CPU system.
#pragma once

#include <algorithm>

#include "recfuse/core/config.hpp"
#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend::detail {

struct row_blocks {
  // Rows a block gets at least, items wanted for parallelism, and blocks a column gets at most
  // (bounding the sequential merge and the scratch: 2 doubles per item).
  static constexpr index_t min_rows = 64;
  static constexpr index_t wanted_items = index_t{1} << 16;
  static constexpr index_t max_blocks = 1024;

  index_t rows = 0;
  index_t cols = 0;
  index_t rows_per_block = 1;
  index_t count = 1;  // blocks per column

  // rows >= 1 and cols >= 1.
  static row_blocks of(index_t rows, index_t cols) {
    index_t blocks = std::min((rows + min_rows - 1) / min_rows,
                              std::min(max_blocks, (wanted_items + cols - 1) / cols));
    blocks = std::max<index_t>(1, blocks);
    const index_t per = (rows + blocks - 1) / blocks;
    return {rows, cols, per, (rows + per - 1) / per};
  }

  index_t items() const { return count * cols; }
};

// The rows [begin, end) of block b, for a functor: no member functions of views on the device.
RECFUSE_HOST_DEVICE inline index_t block_begin(index_t b, index_t rows_per_block) {
  return b * rows_per_block;
}
RECFUSE_HOST_DEVICE inline index_t block_end(index_t b, index_t rows_per_block, index_t rows) {
  const index_t e = (b + 1) * rows_per_block;
  return e < rows ? e : rows;
}

}  // namespace recfuse::thrust_backend::detail
