// recfuse::thrust: rmse on thrust::device_vector with Thrust's OpenMP device system.
#include <cmath>
#include <cstdio>
#include <vector>

#include <thrust/device_vector.h>
#include <thrust/system/omp/execution_policy.h>
#include <recfuse/metrics/error.hpp>
#include <recfuse/thrust/all.hpp>

int main() {
  std::vector<double> predictions(1000), truth(1000);
  for (int i = 0; i < 1000; ++i) {
    predictions[i] = i % 7;
    truth[i] = i % 5;
  }
  const thrust::device_vector<double> dp(predictions.begin(), predictions.end());
  const thrust::device_vector<double> dt(truth.begin(), truth.end());
  const double omp = recfuse::rmse(recfuse::exec::thrust<thrust::system::omp::tag>{}, dp, dt);
  const double reference = recfuse::rmse(recfuse::exec::reference{}, predictions, truth);
  std::printf("test_package thrust (OMP system): rmse %.12f reference %.12f\n", omp, reference);
  return std::abs(omp - reference) <= 1e-12 * reference && reference > 0 ? 0 : 1;
}
