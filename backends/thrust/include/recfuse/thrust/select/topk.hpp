// recfuse Thrust backend: top-k selection kernels (recfuse/select/topk.hpp), generic over every
// Thrust system; the views' memory space must be the policy's (host for cpp/omp/tbb, device for
// cuda).
//
// Both kernels are one thrust::for_each over the rows (queries). Each row's functor keeps a
// bounded heap of its k best directly in that row's output slots, scanning the candidates in
// increasing index order, then sorts them best first and pads (select/detail/topk_row.hpp). No
// scratch grows with the number of items: only the exclusion ids are copied (as sorted keys,
// O(nnz)). topk_inner_product_kernel computes each score on the fly as a dot product in T in
// increasing c, like the reference, so the m x n scores never exist; the compiler may contract
// it to FMA, so values can differ from the reference in the last bits.
//
// With device views (only topk_into / topk_inner_product_into take them) the kernels validate
// the exclusion pattern on the device before writing (select/detail/check_exclusion.hpp), so the
// errors name those functions.
#pragma once

#include "recfuse/select/topk.hpp"
#include "recfuse/thrust/policy.hpp"
#include "recfuse/thrust/select/detail/topk_row.hpp"

namespace recfuse::thrust_backend {

template <class System, class T, class Index>
void topk_kernel(const policy<System>& p,
                 matrix_view<const T, typename policy<System>::memory_space> scores, index_t k,
                 const csr_pattern_view<Index, typename policy<System>::memory_space>* exclude,
                 matrix_view<T, typename policy<System>::memory_space> out_values,
                 matrix_view<index_t, typename policy<System>::memory_space> out_indices) {
  detail::topk_over_rows("recfuse::topk_into", p, scores.rows(), scores.cols(), k,
                         detail::matrix_scores<T>{scores.data(), scores.stride()}, exclude,
                         out_values, out_indices);
}

template <class System, class T, class Index>
void topk_inner_product_kernel(
    const policy<System>& p, matrix_view<const T, typename policy<System>::memory_space> queries,
    matrix_view<const T, typename policy<System>::memory_space> items, index_t k,
    const csr_pattern_view<Index, typename policy<System>::memory_space>* exclude,
    matrix_view<T, typename policy<System>::memory_space> out_values,
    matrix_view<index_t, typename policy<System>::memory_space> out_indices) {
  detail::topk_over_rows(
      "recfuse::topk_inner_product_into", p, queries.rows(), items.rows(), k,
      detail::inner_product_scores<T>{queries.data(), queries.stride(), items.data(),
                                      items.stride(), queries.cols()},
      exclude, out_values, out_indices);
}

}  // namespace recfuse::thrust_backend
