// The dispatch machinery with fake policies: a backend kernel is found by ADL on the policy's
// type, the most derived kernel wins, a policy without a kernel falls back to its parent (the
// reference is the root), and device views reach only kernels that take device views.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "recfuse/metrics/error.hpp"

namespace dispatch_test {

using recfuse::device_memory;
using recfuse::vector_view;

// A backend with an rmse kernel (rmse_kernel) and no mae kernel (mae_kernel).
struct counting_policy : recfuse::reference_backend::policy {
  int* calls = nullptr;
};

// Returns a fixed sum so a test can tell it from the reference's.
template <class T>
double rmse_kernel(const counting_policy& p, vector_view<const T> a, vector_view<const T>) {
  ++*p.calls;
  return 4.0 * static_cast<double>(a.size());
}

// A backend deriving from counting_policy with its own, more derived rmse kernel.
struct derived_policy : counting_policy {};

template <class T>
double rmse_kernel(const derived_policy& p, vector_view<const T> a, vector_view<const T>) {
  *p.calls += 100;
  return 9.0 * static_cast<double>(a.size());
}

// A backend deriving from counting_policy without kernels of its own.
struct inheriting_policy : counting_policy {};

// A policy with no kernels at all: everything runs on the reference.
struct plain_policy : recfuse::reference_backend::policy {};

// A "device" backend: its kernel takes device views only. The fake runs on the host.
struct device_policy : recfuse::reference_backend::policy {
  using memory_space = device_memory;
  double result = 0.0;
  int* calls = nullptr;
};

template <class T>
double rmse_kernel(const device_policy& p, vector_view<const T, device_memory> a,
                   vector_view<const T, device_memory>) {
  ++*p.calls;
  return p.result * static_cast<double>(a.size());
}

}  // namespace dispatch_test

using namespace recfuse;

namespace {
const std::vector<double> pred{4, 1, 3, 5};
const std::vector<double> truth{3, 3, 3, 2};  // squared errors 1 4 0 9, absolute 1 2 0 3
}  // namespace

TEST_CASE("dispatch: a backend kernel is found by ADL on the policy", "[core][dispatch]") {
  int calls = 0;
  dispatch_test::counting_policy p;
  p.calls = &calls;
  CHECK(rmse(p, pred, truth) == Approx(2.0));  // sqrt(4n / n), not the reference's sqrt(3.5)
  CHECK(calls == 1);
  // mae has no kernel in this backend: the reference serves it, and the fake is not called.
  CHECK(mae(p, pred, truth) == Approx(mae(exec::reference{}, pred, truth)));
  CHECK(mae(p, pred, truth) == Approx(1.5));
  CHECK(calls == 1);
}

TEST_CASE("dispatch: the most derived kernel wins, and children inherit", "[core][dispatch]") {
  int calls = 0;
  dispatch_test::derived_policy d;
  d.calls = &calls;
  CHECK(rmse(d, pred, truth) == Approx(3.0));
  CHECK(calls == 100);
  calls = 0;
  dispatch_test::inheriting_policy i;
  i.calls = &calls;
  CHECK(rmse(i, pred, truth) == Approx(2.0));  // its parent's kernel
  CHECK(calls == 1);
}

TEST_CASE("dispatch: a policy without kernels falls back to the reference", "[core][dispatch]") {
  CHECK(rmse(dispatch_test::plain_policy{}, pred, truth) == rmse(exec::reference{}, pred, truth));
  CHECK(rmse(dispatch_test::plain_policy{}, pred, truth) == Approx(std::sqrt(3.5)));
  CHECK(mae(dispatch_test::plain_policy{}, pred, truth) == mae(exec::reference{}, pred, truth));
  // The fallback keeps the public function's checks.
  const std::vector<double> shorter{1, 2};
  CHECK_THROWS_AS(rmse(dispatch_test::plain_policy{}, pred, shorter), shape_error);
}

TEST_CASE("dispatch: device views reach the device kernel, host views its parent",
          "[core][dispatch]") {
  int calls = 0;
  dispatch_test::device_policy p;
  p.calls = &calls;
  p.result = 16.0;
  const vector_view<const double, device_memory> dp(pred.data(), 4), dt(truth.data(), 4);
  CHECK(rmse(p, dp, dt) == Approx(4.0));
  CHECK(calls == 1);
  // Host views under the device policy: the device kernel is not viable, the reference runs.
  CHECK(rmse(p, pred, truth) == Approx(std::sqrt(3.5)));
  CHECK(calls == 1);
  // Checks at the boundary apply to device views too.
  const vector_view<const double, device_memory> short_view(truth.data(), 3);
  CHECK_THROWS_AS(rmse(p, dp, short_view), shape_error);
  CHECK(calls == 1);
}

TEST_CASE("dispatch: a non-finite device result throws without an index",
          "[core][dispatch][errors]") {
  int calls = 0;
  dispatch_test::device_policy p;
  p.calls = &calls;
  p.result = std::numeric_limits<double>::quiet_NaN();
  const vector_view<const double, device_memory> dp(pred.data(), 4), dt(truth.data(), 4);
  // Device data cannot be scanned on the host, so the message names no element.
  CHECK_THROWS_AS(rmse(p, dp, dt), value_error);
  CHECK_THROWS_WITH(rmse(p, dp, dt), Catch::StartsWith("recfuse::rmse: ") &&
                                         Catch::Contains("NaN or infinity") &&
                                         !Catch::Contains("["));
  CHECK(calls == 2);
}

// The kernels' overload sets, checked where they are decided: at compile time. The calls are
// unqualified, so they find kernels the way rmse and mae do.
template <class Policy, class View>
concept has_squared_error_kernel = requires(const Policy& p, View v) {
  rmse_kernel(p, v, v);
};
template <class Policy, class View>
concept has_absolute_error_kernel = requires(const Policy& p, View v) {
  mae_kernel(p, v, v);
};

using host_view = vector_view<const float>;
using device_view = vector_view<const float, device_memory>;
static_assert(has_squared_error_kernel<exec::reference, host_view>);
static_assert(!has_squared_error_kernel<exec::reference, device_view>);
static_assert(has_squared_error_kernel<dispatch_test::device_policy, device_view>);
static_assert(
    has_squared_error_kernel<dispatch_test::device_policy, host_view>);  // the reference's
static_assert(!has_absolute_error_kernel<dispatch_test::device_policy, device_view>);
static_assert(has_absolute_error_kernel<dispatch_test::plain_policy, host_view>);
