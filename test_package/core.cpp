// recfuse::core: rmse on the serial reference.
#include <cmath>
#include <cstdio>
#include <vector>

#include <recfuse/metrics/error.hpp>

int main() {
  const std::vector<double> predictions{1.0, 2.0, 3.0, 4.0};
  const std::vector<double> truth{1.0, 2.0, 3.0, 6.0};
  const double rmse = recfuse::rmse(recfuse::exec::reference{}, predictions, truth);
  std::printf("test_package core: rmse reference %.12f\n", rmse);
  return std::abs(rmse - 1.0) <= 1e-12 ? 0 : 1;  // sqrt(4 / 4)
}
