// recfuse::kokkos: rmse on Kokkos::Views in the default host execution space.
#include <cmath>
#include <cstdio>

#include <Kokkos_Core.hpp>
#include <recfuse/kokkos/all.hpp>
#include <recfuse/metrics/error.hpp>

int main(int argc, char* argv[]) {
  Kokkos::ScopeGuard kokkos(argc, argv);
  Kokkos::View<double*, Kokkos::HostSpace> predictions("predictions", 1000), truth("truth", 1000);
  for (int i = 0; i < 1000; ++i) {
    predictions(i) = i % 7;
    truth(i) = i % 5;
  }
  const double k =
      recfuse::rmse(recfuse::exec::kokkos<Kokkos::DefaultHostExecutionSpace>{}, predictions, truth);
  const double reference = recfuse::rmse(recfuse::exec::reference{}, predictions, truth);
  std::printf("test_package kokkos (%s): rmse %.12f reference %.12f\n",
              Kokkos::DefaultHostExecutionSpace::name(), k, reference);
  return std::abs(k - reference) <= 1e-12 * reference && reference > 0 ? 0 : 1;
}
