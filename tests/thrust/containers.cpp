// The Thrust backend with Thrust's own containers, on the CPU system this executable is built
// for (tests/backends.cmake: THRUST_DEVICE_SYSTEM is OMP or CPP, so device_vector lives in host
// memory). rmse and mae on thrust::device_vector / thrust::host_vector against the reference on
// std::vector copies.
#include <catch2/catch.hpp>

#include <limits>
#include <type_traits>
#include <vector>

#include "backend.hpp"
#include "recfuse/metrics/error.hpp"
#include "test_support.hpp"

using namespace recfuse;
using system_tag = RECFUSE_TEST_THRUST_SYSTEM;

namespace {

template <class Policy, class View>
concept has_squared_error_kernel = requires(const Policy& p, View v) {
  rmse_kernel(p, v, v);
};

// A Thrust system recfuse does not know (as CUDA is, to a g++ build): treated as device memory,
// so host views never reach its algorithms.
struct unknown_system : ::thrust::execution_policy<unknown_system> {};

}  // namespace

static_assert(std::is_same_v<exec::thrust<system_tag>::memory_space, host_memory>);
static_assert(
    std::is_same_v<thrust_backend::memory_space_of<::thrust::system::cpp::tag>, host_memory>);
static_assert(std::is_same_v<thrust_backend::memory_space_of<unknown_system>, device_memory>);
static_assert(std::is_same_v<exec::thrust<unknown_system>::memory_space, device_memory>);
static_assert(std::is_base_of_v<exec::reference, exec::thrust<system_tag>>);
static_assert(std::is_same_v<vector_view_of<::thrust::device_vector<float>>,
                             vector_view<float, host_memory>>);
static_assert(std::is_same_v<vector_view_of<const ::thrust::device_vector<float>>,
                             vector_view<const float, host_memory>>);
static_assert(std::is_same_v<vector_view_of<::thrust::host_vector<double>>,
                             vector_view<double, host_memory>>);
// A CPU system's kernels take host views; device views reach no kernel (not even the reference).
static_assert(has_squared_error_kernel<exec::thrust<system_tag>, vector_view<const float>>);
static_assert(
    !has_squared_error_kernel<exec::thrust<system_tag>, vector_view<const float, device_memory>>);

TEMPLATE_TEST_CASE("thrust: adapters view the containers' storage", "[thrust][adapt]", float,
                   double) {
  ::thrust::device_vector<TestType> d(5, TestType(1));
  ::thrust::host_vector<TestType> h(3, TestType(2));
  const auto dv = as_vector(d);
  const auto hv = as_vector(h);
  CHECK(dv.size() == 5);
  CHECK(hv.size() == 3);
  CHECK(dv.data() == ::thrust::raw_pointer_cast(d.data()));
  CHECK(hv.data() == ::thrust::raw_pointer_cast(h.data()));
  const ::thrust::device_vector<TestType> empty;
  CHECK(as_vector(empty).size() == 0);
}

TEMPLATE_TEST_CASE("thrust: rmse and mae on device_vector match the reference", "[thrust][metrics]",
                   float, double) {
  const exec::thrust<system_tag> policy;
  for (index_t n : {index_t{1}, index_t{2}, index_t{17}, index_t{1000}, index_t{65537}}) {
    CAPTURE(n);
    const auto a = test::random_vector<TestType>(n, 5 + n, 0.0, 5.0);
    const auto b = test::random_vector<TestType>(n, 50 + n, 0.0, 5.0);
    const ::thrust::device_vector<TestType> da(a.begin(), a.end()), db(b.begin(), b.end());
    const ::thrust::host_vector<TestType> hb(b.begin(), b.end());
    const double ref_rmse = rmse(exec::reference{}, a, b);
    const double ref_mae = mae(exec::reference{}, a, b);
    CHECK(test::close(rmse(policy, da, db), ref_rmse, test::tolerance<TestType>()));
    CHECK(test::close(mae(policy, da, db), ref_mae, test::tolerance<TestType>()));
    // Containers mix freely when they share element type and memory space.
    CHECK(test::close(rmse(policy, a, hb), ref_rmse, test::tolerance<TestType>()));
    // The kernel itself, called directly.
    const double sum =
        thrust_backend::rmse_kernel(policy, as_const(as_vector(da)), as_const(as_vector(db)));
    CHECK(test::close(sum, ref_rmse * ref_rmse * static_cast<double>(n),
                      test::tolerance<TestType>()));
  }
}

TEMPLATE_TEST_CASE("thrust: bad input in Thrust containers", "[thrust][metrics][errors]", float,
                   double) {
  const exec::thrust<system_tag> policy;
  ::thrust::device_vector<TestType> a(4, TestType(1)), b(3, TestType(1));
  CHECK_THROWS_WITH(rmse(policy, a, b), Catch::StartsWith("recfuse::rmse") &&
                                            Catch::Contains("4") && Catch::Contains("3"));
  // Built on the host and copied: Thrust's element assignment through device_reference trips
  // UBSan inside Thrust (a null system pointer bound to a reference).
  std::vector<TestType> host_c(4, TestType(1));
  host_c[2] = std::numeric_limits<TestType>::infinity();
  const ::thrust::device_vector<TestType> c(host_c.begin(), host_c.end());
  // Host memory on this system: the message names the element.
  CHECK_THROWS_WITH(mae(policy, a, c),
                    Catch::StartsWith("recfuse::mae") && Catch::Contains("truth[2]"));
  ::thrust::device_vector<TestType> empty;
  CHECK_THROWS_AS(rmse(policy, empty, empty), value_error);
}
