// recfuse Thrust backend: validation of a CSR exclusion pattern where its memory is, as Thrust
// reductions on the policy's system, so device patterns are checked without copying them to the
// host. The top-k kernels run it on device patterns (host patterns were checked by check_csr in
// the public function), before writing any output; it throws what check_csr throws:
// index_error for offsets not starting at 0 or decreasing, or an id outside [0, cols), and
// value_error for null ids with entries. Messages name the first bad row.
//
//   thrust_backend::detail::check_exclusion("recfuse::topk_into", policy, exclude);
//   index_t nnz = thrust_backend::detail::pattern_nnz(policy, exclude);
#pragma once

#include <thrust/iterator/counting_iterator.h>
#include <thrust/transform_reduce.h>

#include "recfuse/core/errors.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/thrust/policy.hpp"

namespace recfuse::thrust_backend::detail {

// offsets[rows] - offsets[0], read where the offsets live (a one-element reduction).
struct pattern_entries {
  const index_t* offsets;
  index_t rows;
  RECFUSE_HOST_DEVICE index_t operator()(index_t) const { return offsets[rows] - offsets[0]; }
};

struct add_index {
  RECFUSE_HOST_DEVICE index_t operator()(index_t a, index_t b) const { return a + b; }
};

// The number of entries of a pattern with rows > 0 and offsets present.
template <class System, class Index, class Space>
index_t pattern_nnz(const policy<System>& p, const csr_pattern_view<Index, Space>& pattern) {
  return ::thrust::transform_reduce(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                                    ::thrust::counting_iterator<index_t>(1),
                                    pattern_entries{pattern.offsets(), pattern.rows()}, index_t{0},
                                    add_index{});
}

// The first bad row of a pattern, or row == rows when there is none.
struct pattern_problem {
  index_t row;
  int kind;       // 0 none, 1 offsets[0] != 0, 2 offsets decrease after row, 3 id out of range
  index_t value;  // kind 1: offsets[0]; 2: offsets[row + 1]; 3: the id
};

struct first_problem {
  RECFUSE_HOST_DEVICE pattern_problem operator()(const pattern_problem& a,
                                                 const pattern_problem& b) const {
    return b.row < a.row ? b : a;
  }
};

struct offsets_problem {
  const index_t* offsets;
  index_t rows;
  RECFUSE_HOST_DEVICE pattern_problem operator()(index_t r) const {
    if (r == 0 && offsets[0] != 0) return {0, 1, offsets[0]};
    if (offsets[r + 1] < offsets[r]) return {r, 2, offsets[r + 1]};
    return {rows, 0, 0};
  }
};

template <class Index>
struct ids_problem {
  const index_t* offsets;
  const Index* ids;
  index_t rows;
  index_t cols;
  RECFUSE_HOST_DEVICE pattern_problem operator()(index_t r) const {
    for (index_t e = offsets[r]; e < offsets[r + 1]; ++e) {
      const auto id = static_cast<index_t>(ids[e]);
      if (id < 0 || id >= cols) return {r, 3, id};
    }
    return {rows, 0, 0};
  }
};

// Validates `pattern` (rows >= 0; offsets present when rows > 0, as the public function checked)
// in the policy's memory; throws with `fn` as the function name. The ids are read only once the
// offsets are known to be valid.
template <class System, class Index, class Space>
void check_exclusion(const char* fn, const policy<System>& p,
                     const csr_pattern_view<Index, Space>& pattern) {
  const index_t rows = pattern.rows();
  if (rows == 0) return;
  const auto first = [&](auto problem) {
    return ::thrust::transform_reduce(p.thrust_policy(), ::thrust::counting_iterator<index_t>(0),
                                      ::thrust::counting_iterator<index_t>(rows), problem,
                                      pattern_problem{rows, 0, 0}, first_problem{});
  };
  const pattern_problem bad_offsets = first(offsets_problem{pattern.offsets(), rows});
  if (bad_offsets.kind == 1) {
    ::recfuse::detail::throw_error<index_error>(fn, "exclude offsets[0] is ", bad_offsets.value,
                                                ", expected 0");
  }
  if (bad_offsets.kind == 2) {
    ::recfuse::detail::throw_error<index_error>(
        fn, "exclude offsets decrease at row ", bad_offsets.row, ": offsets[", bad_offsets.row + 1,
        "] = ", bad_offsets.value, " is below offsets[", bad_offsets.row, "]");
  }
  const index_t nnz = pattern_nnz(p, pattern);
  if (nnz > 0 && pattern.indices() == nullptr) {
    ::recfuse::detail::throw_error<value_error>(fn, "exclude has ", nnz,
                                                " entries but null indices");
  }
  const pattern_problem bad_id =
      first(ids_problem<Index>{pattern.offsets(), pattern.indices(), rows, pattern.cols()});
  if (bad_id.kind == 3) {
    ::recfuse::detail::throw_error<index_error>(fn, "exclude row ", bad_id.row, " holds column id ",
                                                bad_id.value, ", outside [0, ", pattern.cols(),
                                                ")");
  }
}

}  // namespace recfuse::thrust_backend::detail
