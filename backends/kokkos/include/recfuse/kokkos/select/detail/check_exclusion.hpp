// recfuse Kokkos backend: validation of a CSR exclusion pattern where its memory is, as Kokkos
// reductions on the policy's instance, so device patterns are checked without copying them to the
// host. The top-k kernels run it on device patterns (host patterns were checked by check_csr in
// the public function), before writing any output. It throws what check_csr throws, with the same
// messages: index_error for offsets not starting at 0 or decreasing, or an id outside [0, cols),
// and value_error for null ids with entries. A Min reduction finds the first bad row, so the
// message does not depend on which thread saw which row.
//
//   kokkos_backend::detail::check_exclusion("recfuse::topk_into", policy, exclude);
#pragma once

#include <Kokkos_Core.hpp>

#include "recfuse/core/errors.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/kokkos/detail/range.hpp"
#include "recfuse/kokkos/policy.hpp"

namespace recfuse::kokkos_backend::detail {

// f() evaluated once on the policy's instance (where the memory it reads is), returned to the
// host: a one-iteration sum, which waits for the kernel.
template <class ExecSpace, class F>
index_t read_index(const policy<ExecSpace>& p, F f) {
  index_t out = 0;
  Kokkos::parallel_reduce(
      "recfuse::topk exclusion check", index_range(p, 1),
      KOKKOS_LAMBDA(index_t, index_t & acc) { acc += f(); }, out);
  return out;
}

// Validates `pattern` (rows >= 0; offsets present when rows > 0, as the public function checked)
// in the policy's memory; throws with `fn` as the function name. The ids are read only once the
// offsets are known to be valid.
template <class ExecSpace, class Index, class Space>
void check_exclusion(const char* fn, const policy<ExecSpace>& p,
                     const csr_pattern_view<Index, Space>& pattern) {
  const index_t rows = pattern.rows();
  const index_t cols = pattern.cols();
  if (rows == 0) return;
  const index_t* offsets = pattern.offsets();
  const Index* ids = pattern.indices();

  const index_t first = read_index(
      p, KOKKOS_LAMBDA() { return offsets[0]; });
  if (first != 0) {
    ::recfuse::detail::throw_error<index_error>(fn, "exclude offsets[0] is ", first,
                                                ", expected 0");
  }
  index_t bad_row = rows;
  Kokkos::parallel_reduce(
      "recfuse::topk exclusion check", index_range(p, rows),
      KOKKOS_LAMBDA(index_t r, index_t & acc) {
        if (offsets[r + 1] < offsets[r] && r < acc) acc = r;
      },
      Kokkos::Min<index_t>(bad_row));
  if (bad_row < rows) {
    const index_t r = bad_row;
    const index_t a = read_index(
        p, KOKKOS_LAMBDA() { return offsets[r]; });
    const index_t b = read_index(
        p, KOKKOS_LAMBDA() { return offsets[r + 1]; });
    ::recfuse::detail::throw_error<index_error>(fn, "exclude offsets decrease at row ", r,
                                                ": offsets[", r, "] = ", a, ", offsets[", r + 1,
                                                "] = ", b);
  }
  const index_t nnz = read_index(
      p, KOKKOS_LAMBDA() { return offsets[rows]; });
  if (nnz == 0) return;
  if (ids == nullptr) {
    ::recfuse::detail::throw_error<value_error>(fn, "exclude has ", nnz,
                                                " entries but null indices");
  }
  index_t bad_id_row = rows;
  Kokkos::parallel_reduce(
      "recfuse::topk exclusion check", index_range(p, rows),
      KOKKOS_LAMBDA(index_t r, index_t & acc) {
        for (index_t e = offsets[r]; e < offsets[r + 1]; ++e) {
          const auto c = static_cast<index_t>(ids[e]);
          if ((c < 0 || c >= cols) && r < acc) {
            acc = r;
            break;
          }
        }
      },
      Kokkos::Min<index_t>(bad_id_row));
  if (bad_id_row < rows) {
    const index_t r = bad_id_row;
    const index_t c = read_index(
        p, KOKKOS_LAMBDA() {
          for (index_t e = offsets[r]; e < offsets[r + 1]; ++e) {
            const auto id = static_cast<index_t>(ids[e]);
            if (id < 0 || id >= cols) return id;
          }
          return index_t{0};  // not reached: row r holds a bad id
        });
    ::recfuse::detail::throw_error<index_error>(fn, "exclude row ", r, " holds column id ", c,
                                                ", outside [0, ", cols, ")");
  }
}

}  // namespace recfuse::kokkos_backend::detail
