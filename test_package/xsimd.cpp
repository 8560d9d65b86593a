// recfuse::xsimd: rmse on the xsimd backend against the reference.
#include <cmath>
#include <cstdio>
#include <vector>

#include <recfuse/metrics/error.hpp>
#include <recfuse/xsimd/all.hpp>

int main() {
  std::vector<float> predictions(1000), truth(1000);
  for (int i = 0; i < 1000; ++i) {
    predictions[i] = static_cast<float>(i % 7);
    truth[i] = static_cast<float>(i % 5);
  }
  const double simd = recfuse::rmse(recfuse::exec::xsimd{}, predictions, truth);
  const double reference = recfuse::rmse(recfuse::exec::reference{}, predictions, truth);
  std::printf("test_package xsimd: rmse xsimd %.9f reference %.9f\n", simd, reference);
  return std::abs(simd - reference) <= 1e-6 * reference && reference > 0 ? 0 : 1;
}
