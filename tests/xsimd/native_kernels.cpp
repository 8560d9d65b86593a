// The xsimd policy's native_kernels: every name is a kernel of the table in
// docs/architecture.md (a misspelt entry would check nothing), and RECFUSE_CHECK_NATIVE reads it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <string_view>

#include "recfuse/xsimd/policy.hpp"

namespace {
constexpr std::array<std::string_view, 30> known_kernels = {"rmse_kernel",
                                                            "mae_kernel",
                                                            "evaluate_ranking_kernel",
                                                            "auc_kernel",
                                                            "topk_kernel",
                                                            "topk_inner_product_kernel",
                                                            "standard_scaler_fit_kernel",
                                                            "minmax_scaler_fit_kernel",
                                                            "scaler_transform_kernel",
                                                            "normalize_rows_kernel",
                                                            "fit_biased_sgd_kernel",
                                                            "fit_biased_als_kernel",
                                                            "refit_kernel",
                                                            "predict_kernel",
                                                            "fold_in_user_kernel",
                                                            "gramian_kernel",
                                                            "fit_implicit_als_kernel",
                                                            "similarity_graph_kernel",
                                                            "aggregate_kernel",
                                                            "aggregate_backward_kernel",
                                                            "gemm_kernel",
                                                            "dense_forward_kernel",
                                                            "activation_backward_kernel",
                                                            "dense_backward_input_kernel",
                                                            "column_sums_kernel",
                                                            "first_non_finite_kernel",
                                                            "adam_step_kernel",
                                                            "blend_kernel",
                                                            "blend_contributions_kernel",
                                                            "explain_factorization_kernel"};

template <class Policy>
constexpr bool all_known() {
  for (const std::string_view k : Policy::native_kernels) {
    if (std::find(known_kernels.begin(), known_kernels.end(), k) == known_kernels.end()) {
      return false;
    }
  }
  return true;
}
}  // namespace

TEST_CASE("dispatch: native_kernels lists only real kernels", "[core][dispatch]") {
  STATIC_REQUIRE(all_known<recfuse::exec::xsimd>());
  STATIC_REQUIRE(std::size(recfuse::exec::xsimd::native_kernels) == 29);
  STATIC_REQUIRE(!recfuse::detail::claims_native<recfuse::exec::reference>("rmse_kernel"));
  STATIC_REQUIRE(recfuse::detail::claims_native<recfuse::exec::xsimd>("rmse_kernel"));
  STATIC_REQUIRE(
      !recfuse::detail::claims_native<recfuse::exec::xsimd>("explain_factorization_kernel"));
}
