// recfuse: the xsimd CPU backend's policy.
//
//   recfuse::exec::xsimd cpu;       // every OpenMP thread
//   recfuse::exec::xsimd cpu{2};    // two threads
//
// Kernels use xsimd::batch<T> of xsimd::default_arch, the widest instruction set the
// consumer's compiler flags enable (-mavx2, -march=native, ...); recfuse adds no -march flag.
// Threads come from OpenMP when the consumer compiles with it (recfuse::xsimd links
// OpenMP::OpenMP_CXX when CMake finds it) and are 1 otherwise. The xsimd policy derives from
// the reference one: a function without an xsimd kernel runs the reference kernel.
#pragma once

#include <string_view>

#include "recfuse/core/execution.hpp"

namespace recfuse::xsimd_backend {

struct policy : ::recfuse::reference_backend::policy {
  constexpr policy() = default;
  constexpr explicit policy(int thread_count) : threads(thread_count) {}
  // Threads to use; 0 means OpenMP's default (omp_get_max_threads()).
  int threads = 0;

  // The kernels this backend implements (docs/backends.md): a call that needs one of them and
  // would reach the reference's instead stops compiling (RECFUSE_CHECK_NATIVE). Each lives in
  // recfuse/xsimd/<family>/<file>.hpp, mirroring the public header that calls it.
  static constexpr std::string_view native_kernels[] = {
      // metrics
      "rmse_kernel", "mae_kernel", "evaluate_ranking_kernel", "auc_kernel",
      // select
      "topk_kernel", "topk_inner_product_kernel",
      // scale
      "standard_scaler_fit_kernel", "minmax_scaler_fit_kernel", "scaler_transform_kernel",
      "normalize_rows_kernel",
      // factorize
      "fit_biased_sgd_kernel", "fit_biased_als_kernel", "refit_kernel", "predict_kernel",
      "fold_in_user_kernel", "gramian_kernel", "fit_implicit_als_kernel",
      // graph
      "similarity_graph_kernel", "aggregate_kernel", "aggregate_backward_kernel",
      // nn
      "gemm_kernel", "dense_forward_kernel", "activation_backward_kernel",
      "dense_backward_input_kernel", "column_sums_kernel", "first_non_finite_kernel",
      "adam_step_kernel",
      // fuse (explain_factorization_kernel stays on the reference: one small solve per call)
      "blend_kernel", "blend_contributions_kernel",
      // search
      "bm25_topk_kernel"};
};

}  // namespace recfuse::xsimd_backend

namespace recfuse::exec {
using xsimd = ::recfuse::xsimd_backend::policy;
}  // namespace recfuse::exec
