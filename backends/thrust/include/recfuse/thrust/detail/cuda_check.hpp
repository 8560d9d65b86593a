// recfuse Thrust backend: every CUDA runtime call's return code becomes a recfuse::device_error
// that names the call and the recfuse function it served.
//
//   RECFUSE_CUDA_CHECK("recfuse::gemm", cudaStreamSynchronize(stream));
//   // throws device_error("recfuse::gemm: cudaStreamSynchronize(stream) failed: <CUDA's text>")
//
// Only in translation units compiled as CUDA; a g++ build of the CPU systems never includes it.
#pragma once

#if defined(__CUDACC__)
#include <cuda_runtime_api.h>

#include "recfuse/core/errors.hpp"

namespace recfuse::thrust_backend::detail {

inline void cuda_check(cudaError_t status, const char* function, const char* call) {
  if (status != cudaSuccess) {
    ::recfuse::detail::throw_error<::recfuse::device_error>(function, call,
                                                            " failed: ", cudaGetErrorName(status),
                                                            " (", cudaGetErrorString(status), ")");
  }
}

}  // namespace recfuse::thrust_backend::detail

#define RECFUSE_CUDA_CHECK(function, call) \
  ::recfuse::thrust_backend::detail::cuda_check((call), (function), #call)

#endif
