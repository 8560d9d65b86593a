// Calls that no kernel serves must stop compilation at RECFUSE_NO_KERNEL, whose message names the
// function. tests/backends.cmake compiles this file once per case and expects that message; case
// 0 is the control, the neighbouring calls that do compile, so a failing case fails for the
// reason it tests and not for a typo.
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
struct device_policy : recfuse::reference::policy {
  using memory_space = recfuse::device_memory;
};

template <class T>
double sum_squared_error(const device_policy&,
                         recfuse::vector_view<const T, recfuse::device_memory>,
                         recfuse::vector_view<const T, recfuse::device_memory>) {
  return 0.0;  // never run: only compiled
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
  return host > 0.0 && device == 0.0 && fallback > 0.0 ? 0 : 1;
#elif RECFUSE_COMPILE_FAIL_CASE == 1
  return static_cast<int>(recfuse::rmse(compile_fail::policy_without_parent{}, a, b));
#elif RECFUSE_COMPILE_FAIL_CASE == 2
  return static_cast<int>(recfuse::rmse(recfuse::exec::reference{}, da, db));
#elif RECFUSE_COMPILE_FAIL_CASE == 3
  return static_cast<int>(recfuse::mae(compile_fail::device_policy{}, da, db));
#else
#error "unknown RECFUSE_COMPILE_FAIL_CASE"
#endif
}
