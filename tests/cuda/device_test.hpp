// Helpers for the CUDA test programs (tests/cuda/<family>.cu): move a test's inputs to device
// memory and its outputs back, count checks, and a main() that skips nothing silently.
//
//   auto d = recfuse::test::to_device(host_vector);        // thrust::device_vector<T>
//   std::vector<T> h = recfuse::test::to_host(d);          // back for the comparison
//   recfuse::test::expect(ok, "topk values", "float", n);  // one check
//   int main() { return recfuse::test::run_device_tests("recfuse_cuda_topk", [] { ... }); }
//
// Each program compares the Thrust CUDA kernels on device data with the reference on host copies
// of the same data. CI compiles and links every program (sm_90) and ctest runs each: on a
// machine without an NVIDIA GPU it exits 77 and ctest lists it as skipped (compiled, not run).
#pragma once

#include <cuda_runtime_api.h>
#include <thrust/device_vector.h>
#include <thrust/host_vector.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "recfuse/core/config.hpp"

namespace recfuse::test {

inline int device_checks = 0;
inline int device_failures = 0;

template <class T>
::thrust::device_vector<T> to_device(const std::vector<T>& h) {
  return ::thrust::device_vector<T>(h.begin(), h.end());
}

template <class T>
std::vector<T> to_host(const ::thrust::device_vector<T>& d) {
  const ::thrust::host_vector<T> h = d;
  return std::vector<T>(h.begin(), h.end());
}

// One check; a failure prints what, the element type, the size and the two numbers.
inline bool expect(bool ok, const char* what, const char* type, index_t n, double got = 0,
                   double want = 0) {
  ++device_checks;
  if (!ok) {
    ++device_failures;
    std::printf("FAILED %s<%s> n=%lld: got %.17g, want %.17g\n", what, type,
                static_cast<long long>(n), got, want);
  }
  return ok;
}

// True when `f` throws an E whose message starts with `prefix` (e.g. "recfuse::topk: ").
template <class E, class F>
bool throws_with_prefix(F&& f, const char* prefix) {
  try {
    f();
  } catch (const E& e) {
    return std::string(e.what()).rfind(prefix, 0) == 0;
  } catch (...) {
    return false;
  }
  return false;
}

// The exit status of a program that was compiled but could not run (no GPU): ctest's
// SKIP_RETURN_CODE for every CUDA test (tests/cuda/CMakeLists.txt).
inline constexpr int no_device_status = 77;

// Runs `body` when a CUDA device is present; exit status 0 only when every check passed, and
// no_device_status (ctest: skipped, "compiled, not run") where there is no CUDA device.
template <class Body>
int run_device_tests(const char* name, Body&& body) {
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess || devices == 0) {
    std::printf("%s: compiled, not run: no CUDA device (%s)\n", name,
                status != cudaSuccess ? cudaGetErrorString(status) : "0 devices");
    return no_device_status;
  }
  try {
    body();
  } catch (const std::exception& e) {
    std::printf("%s: unexpected exception: %s\n", name, e.what());
    return 1;
  }
  std::printf("%s: %d checks, %d failures\n", name, device_checks, device_failures);
  return device_failures == 0 && device_checks > 0 ? 0 : 1;
}

}  // namespace recfuse::test
