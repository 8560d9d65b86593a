// rmse and mae on the reference against hand-computed values.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "recfuse/metrics/error.hpp"

using namespace recfuse;

TEST_CASE("rmse and mae: hand-computed", "[metrics][reference]") {
  // errors 1, -2, 0, 3: squares 1 4 0 9 -> mean 3.5; abs 1 2 0 3 -> mean 1.5
  const std::vector<double> pred{4, 1, 3, 5};
  const std::vector<double> truth{3, 3, 3, 2};
  CHECK(rmse(exec::reference{}, pred, truth) == Approx(std::sqrt(3.5)).epsilon(1e-15));
  CHECK(mae(exec::reference{}, pred, truth) == Approx(1.5).epsilon(1e-15));
  const std::vector<float> one_p{2.5f}, one_t{4.0f};
  CHECK(rmse(exec::reference{}, one_p, one_t) == Approx(1.5));
  CHECK(mae(exec::reference{}, one_p, one_t) == Approx(1.5));
}

TEST_CASE("rmse and mae: bad input", "[metrics][reference][errors]") {
  const std::vector<double> a{1, 2, 3};
  const std::vector<double> b{1, 2};
  CHECK_THROWS_AS(rmse(exec::reference{}, a, b), shape_error);
  CHECK_THROWS_WITH(rmse(exec::reference{}, a, b), Catch::Contains("recfuse::rmse") &&
                                                       Catch::Contains("3") &&
                                                       Catch::Contains("2"));
  const std::vector<double> empty;
  CHECK_THROWS_AS(mae(exec::reference{}, empty, empty), value_error);
  const std::vector<double> nan{1, std::numeric_limits<double>::quiet_NaN(), 3};
  CHECK_THROWS_WITH(rmse(exec::reference{}, nan, a), Catch::Contains("predictions[1]"));
  const std::vector<double> inf{1, 2, std::numeric_limits<double>::infinity()};
  CHECK_THROWS_WITH(rmse(exec::reference{}, a, inf), Catch::Contains("truth[2]"));
}
