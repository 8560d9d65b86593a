// recfuse: execution policies and dispatch.
//
// Every public call takes a policy first. The policy's type picks the backend: kernels are
// overloads in the backend's namespace, found by argument-dependent lookup on the policy, and
// each backend's policy derives from its parent's, so a backend that lacks a kernel falls back
// to its parent the way Thrust's omp tag falls back to cpp. The serial reference is the root.
//
//   recfuse::exec::reference          serial, the oracle              (this header)
//   recfuse::exec::xsimd              xsimd batches + threads         (recfuse/xsimd/policy.hpp)
//   recfuse::exec::thrust<System>     a Thrust system (cpp/omp/tbb/cuda)
//   (recfuse/thrust/policy.hpp) recfuse::exec::kokkos<Space>      a Kokkos execution space
//   (recfuse/kokkos/policy.hpp)
//
// A kernel is viable only for views in a memory space its policy can reach (a kernel's
// parameters name the space), so handing device views to a host policy, or calling a function
// no backend implements for that policy, stops compilation at RECFUSE_NO_KERNEL with the
// function's name.
#pragma once

#include <string_view>
#include <type_traits>

#include "recfuse/core/memory.hpp"

namespace recfuse {

namespace reference_backend {

// The serial reference backend: plain loops, double accumulation, the test oracle.
struct policy {
  using memory_space = host_memory;
};

}  // namespace reference_backend

namespace exec {
using reference = ::recfuse::reference_backend::policy;
}  // namespace exec

namespace detail {
template <class...>
inline constexpr bool always_false = false;

// ---- Dispatch that cannot fall back silently ----------------------------------------------------
// A backend lists the kernels it implements in its policy (docs/architecture.md names the kernel
// of every public function):
//   static constexpr std::string_view native_kernels[] = {"rmse_kernel", "mae_kernel", ...};
// For those, every dispatch site checks at compile time (RECFUSE_CHECK_NATIVE) that the kernel
// overload the call picks for that policy is the backend's own and not its parent's. The probe is
// a type derived from the policy and, a second time, from the reference policy: the backend's
// kernel still binds it (through the policy, the nearer base), while a reference kernel would
// have to bind an ambiguous base, which makes the call ill-formed. So the probe call compiles
// exactly when the backend's own kernel exists and is viable for these arguments.
// Every kernel of the library, one line per kernel under its family (docs/architecture.md names
// the kernel of every public function). A backend that implements them all (Thrust, Kokkos) lists
// this array as its native_kernels.
inline constexpr std::string_view every_kernel[] = {
    // metrics
    "rmse_kernel",
    "mae_kernel",
    // metrics/ranking
    "evaluate_ranking_kernel",
    "auc_kernel",
    // scale
    "standard_scaler_fit_kernel",
    "minmax_scaler_fit_kernel",
    "scaler_transform_kernel",
    "normalize_rows_kernel",
    // select
    "topk_kernel",
    "topk_inner_product_kernel",
    // factorize/biased_mf
    "fit_biased_sgd_kernel",
    "fit_biased_als_kernel",
    "refit_kernel",
    "predict_kernel",
    "fold_in_user_kernel",
    // factorize/implicit_als
    "fit_implicit_als_kernel",
    "gramian_kernel",
    // graph
    "similarity_graph_kernel",
    "aggregate_kernel",
    "aggregate_backward_kernel",
    // nn
    "gemm_kernel",
    "dense_forward_kernel",
    "activation_backward_kernel",
    "dense_backward_input_kernel",
    "column_sums_kernel",
    "first_non_finite_kernel",
    "adam_step_kernel",
    // fuse
    "blend_kernel",
    "blend_contributions_kernel",
    "explain_factorization_kernel",
};

struct fallback_shadow : reference_backend::policy {};

template <class Policy>
struct native_probe : Policy, fallback_shadow {};

template <class Policy>
constexpr bool claims_native(std::string_view kernel) {
  if constexpr (requires { Policy::native_kernels; }) {
    for (const std::string_view k : Policy::native_kernels) {
      if (k == kernel) return true;
    }
  }
  return false;
}
}  // namespace detail

}  // namespace recfuse

// Used in the `else` branch of a dispatch: `if constexpr (requires { kernel(policy, ...); })`.
#define RECFUSE_NO_KERNEL(function, Policy)                                            \
  static_assert(::recfuse::detail::always_false<Policy>, function                      \
                ": no kernel serves this execution policy with these views; a policy " \
                "falls back to its parent backend, and device views need a device "    \
                "policy")

// Placed before a call `kernel(policy, args...)`: when the policy lists the kernel in its
// native_kernels, its own overload must serve the call, or compilation stops here naming the
// kernel (the compiler's trace names the public function and the policy). A missing include of
// the backend's header for that function is the usual cause.
#define RECFUSE_CHECK_NATIVE(kernel, policy, ...)                                             \
  do {                                                                                        \
    using recfuse_policy_type_ = std::remove_cvref_t<decltype(policy)>;                       \
    static_assert(std::string_view(#kernel).find(':') == std::string_view::npos,              \
                  "RECFUSE_CHECK_NATIVE: name the kernel unqualified (it is found by ADL)");  \
    if constexpr (::recfuse::detail::claims_native<recfuse_policy_type_>(#kernel)) {          \
      static_assert(                                                                          \
          requires(const ::recfuse::detail::native_probe<recfuse_policy_type_>& probe_) {     \
            kernel(probe_, __VA_ARGS__);                                                      \
          },                                                                                  \
          "recfuse: " #kernel                                                                 \
          ": this backend lists it in its policy's native_kernels, but "                      \
          "its own overload is missing or not viable for these arguments, so the call would " \
          "fall back to the parent backend; include the backend's header for this function "  \
          "(recfuse/<backend>/<family>/<file>.hpp, mirroring the public header)");            \
    }                                                                                         \
  } while (false)
