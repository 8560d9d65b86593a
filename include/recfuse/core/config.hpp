// recfuse: version and the few build-wide types.
#pragma once

#include <cstdint>

#define RECFUSE_VERSION_MAJOR 0
#define RECFUSE_VERSION_MINOR 1
#define RECFUSE_VERSION_PATCH 0

// Functions a device backend (Thrust on CUDA, Kokkos on Cuda or HIP) may call from its kernels as
// well as the host: the reference's small pure helpers (a Cholesky solve, the SGD step, a top-k
// row heap) and the backends' functors.
#ifndef RECFUSE_HOST_DEVICE
#if defined(__CUDACC__) || defined(__HIPCC__)
#define RECFUSE_HOST_DEVICE __host__ __device__
#else
#define RECFUSE_HOST_DEVICE
#endif
#endif

namespace recfuse {

// Sizes, offsets and ids that can pass 2^31 (CSR offsets, users x items) are 64-bit.
using index_t = std::int64_t;

}  // namespace recfuse
