// rmse and mae on the GPU: thrust::device_vector data under exec::thrust<thrust::cuda::tag>,
// against the reference on host copies. A plain program (device_test.hpp: exit status 1 on any
// mismatch, 77 where there is no GPU, which ctest shows as skipped).
#include <cuda_runtime_api.h>
#include <thrust/device_vector.h>
#include <thrust/host_vector.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "device_test.hpp"
#include "recfuse/metrics/error.hpp"
#include "recfuse/thrust/all.hpp"
#include "test_data.hpp"

using gpu_policy = recfuse::exec::thrust<thrust::cuda::tag>;

static_assert(std::is_same_v<gpu_policy::memory_space, recfuse::device_memory>);
static_assert(std::is_same_v<recfuse::vector_view_of<thrust::device_vector<float>>,
                             recfuse::vector_view<float, recfuse::device_memory>>);
static_assert(std::is_same_v<recfuse::vector_view_of<thrust::host_vector<float>>,
                             recfuse::vector_view<float, recfuse::host_memory>>);

namespace {

using recfuse::test::expect;

template <class T>
void run(const char* type, cudaStream_t stream) {
  const gpu_policy gpu{stream};
  for (recfuse::index_t n : recfuse::test::sizes) {
    if (n == 0) continue;
    const auto a = recfuse::test::random_vector<T>(n, 11 + n, 1.0, 5.0);
    const auto b = recfuse::test::random_vector<T>(n, 97 + n, 1.0, 5.0);
    const thrust::device_vector<T> da(a.begin(), a.end()), db(b.begin(), b.end());
    // The reference on host copies of the device data.
    const thrust::host_vector<T> ha = da, hb = db;
    const double want_rmse = recfuse::rmse(recfuse::exec::reference{}, ha, hb);
    const double want_mae = recfuse::mae(recfuse::exec::reference{}, ha, hb);
    const double got_rmse = recfuse::rmse(gpu, da, db);
    const double got_mae = recfuse::mae(gpu, da, db);
    const double tol = recfuse::test::tolerance<T>();
    expect(recfuse::test::close(got_rmse, want_rmse, tol), "rmse", type, n, got_rmse, want_rmse);
    expect(recfuse::test::close(got_mae, want_mae, tol), "mae", type, n, got_mae, want_mae);
    // Host data under the CUDA policy does not compile: the policy lists rmse_kernel as native,
    // and its kernel takes device views (RECFUSE_CHECK_NATIVE), so nothing falls back silently.
  }
  // Non-finite device data: detected from the sum, reported without an index (device memory is
  // not scanned from the host).
  std::vector<T> host_y(100, T(2));
  host_y[42] = std::numeric_limits<T>::quiet_NaN();
  const thrust::device_vector<T> x(100, T(1)), y(host_y.begin(), host_y.end());
  bool threw = false;
  try {
    (void)recfuse::rmse(gpu, x, y);
  } catch (const recfuse::value_error& e) {
    threw = std::string(e.what()).rfind("recfuse::rmse: ", 0) == 0;
  }
  expect(threw, "rmse NaN -> value_error", type, 100, 0, 0);
  threw = false;
  thrust::device_vector<T> shorter(99, T(1));
  try {
    (void)recfuse::mae(gpu, x, shorter);
  } catch (const recfuse::shape_error&) {
    threw = true;
  }
  expect(threw, "mae sizes -> shape_error", type, 100, 0, 0);
}

}  // namespace

int main() {
  return recfuse::test::run_device_tests("recfuse_cuda_rmse", [] {
    cudaStream_t stream = nullptr;
    if (!recfuse::test::expect(cudaStreamCreate(&stream) == cudaSuccess, "cudaStreamCreate", "-",
                               0)) {
      return;
    }
    run<float>("float", stream);
    run<double>("double", stream);
    run<float>("float", nullptr);  // the default stream
    cudaStreamDestroy(stream);
  });
}
