// rmse and mae on a backend against the reference, on random inputs of every test size.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "backend.hpp"
#include "recfuse/metrics/error.hpp"
#include "test_support.hpp"

using namespace recfuse;

TEMPLATE_TEST_CASE("error metrics: backend matches reference", "[metrics][backend]", float,
                   double) {
  const auto policy = test::backend_policy();
  for (index_t n : test::sizes) {
    if (n == 0) continue;  // empty input is an error, tested below
    CAPTURE(n, test::backend_name);
    const auto a = test::random_vector<TestType>(n, 11 + n, 1.0, 5.0);
    const auto b = test::random_vector<TestType>(n, 97 + n, 1.0, 5.0);
    const double ref_rmse = rmse(exec::reference{}, a, b);
    const double ref_mae = mae(exec::reference{}, a, b);
    CHECK(test::close(rmse(policy, a, b), ref_rmse, test::tolerance<TestType>()));
    CHECK(test::close(mae(policy, a, b), ref_mae, test::tolerance<TestType>()));
  }
}

TEMPLATE_TEST_CASE("error metrics: large finite errors are not overflow", "[metrics][backend]",
                   float, double) {
  // A float error of 3e19 squares past FLT_MAX; the sum is kept in double on every backend, so
  // this is a finite RMSE, not a NaN/infinity error.
  const auto policy = test::backend_policy();
  std::vector<TestType> pred(100, TestType(3e19)), truth(100, TestType(0));
  pred[7] = TestType(-2e19);
  const double want = rmse(exec::reference{}, pred, truth);
  CHECK(std::isfinite(want));
  CHECK(test::close(rmse(policy, pred, truth), want, test::tolerance<TestType>()));
  CHECK(test::close(mae(policy, pred, truth), mae(exec::reference{}, pred, truth),
                    test::tolerance<TestType>()));
}

TEMPLATE_TEST_CASE("error metrics: backend rejects bad input", "[metrics][backend]", float,
                   double) {
  const auto policy = test::backend_policy();
  std::vector<TestType> empty;
  CHECK_THROWS_AS(rmse(policy, empty, empty), value_error);
  std::vector<TestType> a{1, 2, 3}, b{1, 2};
  CHECK_THROWS_AS(rmse(policy, a, b), shape_error);
  std::vector<TestType> c{1, std::numeric_limits<TestType>::quiet_NaN(), 3};
  CHECK_THROWS_WITH(mae(policy, a, c),
                    Catch::Contains("recfuse::mae") && Catch::Contains("truth[1]"));
}
