// recfuse: the Thrust backend's policy.
//
//   recfuse::exec::thrust<thrust::system::omp::tag> omp;     // OpenMP threads, host memory
//   recfuse::exec::thrust<thrust::system::cpp::tag> serial;  // the calling thread, host memory
//   recfuse::exec::thrust<thrust::system::tbb::tag> tbb;     // TBB, host memory
//   recfuse::exec::thrust<thrust::system::cuda::tag> gpu{stream};  // CUDA, device memory (nvcc)
//
// System is a Thrust system tag. The CPU systems (cpp, and omp and tbb, whose policies derive
// from cpp's) work on host memory; any other system, CUDA included, on device memory, so a host
// view is never handed to a GPU algorithm and a device view never to a host loop. The CUDA
// policy, which carries a stream, exists only in translation units compiled as CUDA (nvcc or
// clang -x cuda): a g++ build of the CPU systems includes no CUDA header.
//
// The policy derives from the reference policy, but every kernel of the library has a Thrust
// version (recfuse/thrust/<family>/<file>.hpp), listed in native_kernels: a call never falls back
// to the reference (RECFUSE_CHECK_NATIVE), so with the CUDA system host views do not compile
// rather than run on the host (docs/backends.md lists the public functions that take device data).
//
// CUDA streams: the kernels run their algorithms on `stream`, but the scratch memory some of them
// allocate (detail::buffer, a thrust::device_vector) is initialised on the default stream. That is
// ordered with streams created by cudaStreamCreate (blocking streams, the usual kind); streams
// created with cudaStreamNonBlocking are not supported yet.
#pragma once

#include <string_view>
#include <type_traits>

#include <thrust/system/cpp/execution_policy.h>

#if defined(__CUDACC__)
#include <cuda_runtime_api.h>
#include <thrust/system/cuda/execution_policy.h>
#endif

#include "recfuse/core/config.hpp"  // RECFUSE_HOST_DEVICE: functors Thrust may run on the GPU
#include "recfuse/core/execution.hpp"

namespace recfuse::thrust_backend {

// The memory a Thrust system's algorithms can dereference: host memory for the systems whose
// execution policies derive from cpp's (cpp, omp, tbb), device memory for any other (cuda).
template <class System>
using memory_space_of =
    std::conditional_t<std::is_base_of_v<::thrust::system::cpp::execution_policy<System>, System>,
                       host_memory, device_memory>;

template <class System>
struct policy : ::recfuse::reference_backend::policy {
  using system = System;
  using memory_space = memory_space_of<System>;

  // The Thrust execution policy the kernels pass to Thrust algorithms.
  constexpr System thrust_policy() const { return System{}; }
  // The kernels this backend implements (docs/backends.md): all of them, each in
  // recfuse/thrust/<family>/<file>.hpp. RECFUSE_CHECK_NATIVE stops a call that would reach the
  // reference's kernel instead of one of these. The CUDA policy shares the list.
  static constexpr const auto& native_kernels = ::recfuse::detail::every_kernel;
};

#if defined(__CUDACC__)
// CUDA: algorithms run on `stream` (0, the default stream, unless given). Thrust's reductions
// return their value to the host, so a kernel that returns a number synchronizes the stream.
template <>
struct policy<::thrust::system::cuda::tag> : ::recfuse::reference_backend::policy {
  using system = ::thrust::system::cuda::tag;
  using memory_space = device_memory;

  constexpr policy() = default;
  constexpr explicit policy(cudaStream_t s) : stream(s) {}

  cudaStream_t stream = nullptr;

  auto thrust_policy() const { return ::thrust::cuda::par.on(stream); }

  // As the host systems'; the CUDA kernels take device views only, so host data handed to the
  // CUDA policy stops compiling instead of running the reference on the host.
  static constexpr const auto& native_kernels = policy<::thrust::system::cpp::tag>::native_kernels;
};
#endif

}  // namespace recfuse::thrust_backend

namespace recfuse::exec {
template <class System>
using thrust = ::recfuse::thrust_backend::policy<System>;
}  // namespace recfuse::exec
