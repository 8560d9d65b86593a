// recfuse Kokkos backend: top-k selection kernels (recfuse/select/topk.hpp), generic over the
// execution space; the views' memory space must be the policy's (host for Serial/OpenMP, device
// for Cuda/HIP/SYCL).
//
// Both kernels are one Kokkos::parallel_for over a TeamPolicy: each league member takes a tile
// of query rows, one per thread, and each thread keeps a bounded heap of its row's k best in
// per-thread scratch (or, for a k too large for the space's level-0 scratch, in the row's own
// output slots: no k limit), scanning the candidates in increasing index order, then sorts it
// best first and pads (select/detail/topk_rows.hpp, over the heap of
// recfuse/reference/select/detail/topk_row.hpp). Only the exclusion ids are copied (as sorted
// keys, O(nnz)). topk_inner_product_kernel computes each score on the fly as a dot product in T
// in increasing c, like the reference, so the m x n scores never exist; the compiler may contract
// it to FMA, so values can differ from the reference in the last bits. topk_kernel's results are
// the reference's bit for bit. Nothing depends on the thread count.
//
// With device views (only topk_into / topk_inner_product_into take them) the kernels validate
// the exclusion pattern on the device before writing (select/detail/check_exclusion.hpp), so the
// errors name those functions.
#pragma once

#include "recfuse/kokkos/policy.hpp"
#include "recfuse/kokkos/select/detail/topk_rows.hpp"
#include "recfuse/select/topk.hpp"

namespace recfuse::kokkos_backend {

template <class ExecSpace, class T, class Index>
void topk_kernel(const policy<ExecSpace>& p,
                 matrix_view<const T, typename policy<ExecSpace>::memory_space> scores, index_t k,
                 const csr_pattern_view<Index, typename policy<ExecSpace>::memory_space>* exclude,
                 matrix_view<T, typename policy<ExecSpace>::memory_space> out_values,
                 matrix_view<index_t, typename policy<ExecSpace>::memory_space> out_indices) {
  detail::topk_over_rows("recfuse::topk_into", p, scores.rows(), scores.cols(), k,
                         ::recfuse::detail::matrix_scores<T>{scores.data(), scores.stride()},
                         exclude, out_values, out_indices);
}

template <class ExecSpace, class T, class Index>
void topk_inner_product_kernel(
    const policy<ExecSpace>& p,
    matrix_view<const T, typename policy<ExecSpace>::memory_space> queries,
    matrix_view<const T, typename policy<ExecSpace>::memory_space> items, index_t k,
    const csr_pattern_view<Index, typename policy<ExecSpace>::memory_space>* exclude,
    matrix_view<T, typename policy<ExecSpace>::memory_space> out_values,
    matrix_view<index_t, typename policy<ExecSpace>::memory_space> out_indices) {
  detail::topk_over_rows(
      "recfuse::topk_inner_product_into", p, queries.rows(), items.rows(), k,
      ::recfuse::detail::inner_product_scores<T>{queries.data(), queries.stride(), items.data(),
                                                 items.stride(), queries.cols()},
      exclude, out_values, out_indices);
}

}  // namespace recfuse::kokkos_backend
