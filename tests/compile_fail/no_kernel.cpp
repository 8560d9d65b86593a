// Calls that no kernel serves must stop compilation at RECFUSE_NO_KERNEL, whose message names the
// function. tests/backends.cmake compiles this file once per case and expects that message; case
// 0 is the control, the neighbouring calls that do compile, so a failing case fails for the
// reason it tests and not for a typo.
#include <string_view>
#include <vector>

#include "recfuse/metrics/error.hpp"

#ifndef RECFUSE_COMPILE_FAIL_CASE
#error "define RECFUSE_COMPILE_FAIL_CASE"
#endif

namespace compile_fail {

// Derives from no backend policy: no kernel is found by ADL and there is no parent to fall to.
struct policy_without_parent {
  using memory_space = recfuse::host_memory;
};

// A device policy with an rmse kernel for device views and no mae kernel: mae falls back to the
// reference, whose kernels take host views only.
struct device_policy : recfuse::reference_backend::policy {
  using memory_space = recfuse::device_memory;
};

template <class T>
double rmse_kernel(const device_policy&, recfuse::vector_view<const T, recfuse::device_memory>,
                   recfuse::vector_view<const T, recfuse::device_memory>) {
  return 0.0;  // never run: only compiled
}

// A host backend that lists rmse_kernel and mae_kernel as native but implements rmse only: mae
// would silently run the reference's kernel without RECFUSE_CHECK_NATIVE.
struct claiming_policy : recfuse::reference_backend::policy {
  static constexpr std::string_view native_kernels[] = {"rmse_kernel", "mae_kernel"};
};

template <class T>
double rmse_kernel(const claiming_policy&, recfuse::vector_view<const T> a,
                   recfuse::vector_view<const T>) {
  return 100.0 * static_cast<double>(a.size());  // never the reference's value
}

// A backend whose kernel signature drifted (an extra parameter): the public function's call does
// not match it, so without the check rmse would quietly take the reference's kernel.
struct drifted_policy : recfuse::reference_backend::policy {
  static constexpr std::string_view native_kernels[] = {"rmse_kernel"};
};

template <class T>
double rmse_kernel(const drifted_policy&, recfuse::vector_view<const T>,
                   recfuse::vector_view<const T>, int) {
  return 0.0;
}

}  // namespace compile_fail

int main() {
  std::vector<double> a{1.0, 2.0}, b{1.0, 3.0};
  // Device views over host memory: this program only compiles them (case 0 never runs a kernel on
  // them).
  const recfuse::vector_view<const double, recfuse::device_memory> da(a.data(), 2), db(b.data(), 2);
#if RECFUSE_COMPILE_FAIL_CASE == 0
  const double host = recfuse::rmse(recfuse::exec::reference{}, a, b);
  const double device = recfuse::rmse(compile_fail::device_policy{}, da, db);
  const double fallback = recfuse::mae(compile_fail::device_policy{}, a, b);
  // The claimed kernel that exists is the one that runs (its value is 100 per element).
  const double claimed = recfuse::rmse(compile_fail::claiming_policy{}, a, b);
  return host > 0.0 && device == 0.0 && fallback > 0.0 && claimed == 10.0 ? 0 : 1;
#elif RECFUSE_COMPILE_FAIL_CASE == 1
  return static_cast<int>(recfuse::rmse(compile_fail::policy_without_parent{}, a, b));
#elif RECFUSE_COMPILE_FAIL_CASE == 2
  return static_cast<int>(recfuse::rmse(recfuse::exec::reference{}, da, db));
#elif RECFUSE_COMPILE_FAIL_CASE == 3
  return static_cast<int>(recfuse::mae(compile_fail::device_policy{}, da, db));
#elif RECFUSE_COMPILE_FAIL_CASE == 4
  return static_cast<int>(recfuse::mae(compile_fail::claiming_policy{}, a, b));
#elif RECFUSE_COMPILE_FAIL_CASE == 5
  return static_cast<int>(recfuse::rmse(compile_fail::drifted_policy{}, a, b));
#else
#error "unknown RECFUSE_COMPILE_FAIL_CASE"
#endif
}
