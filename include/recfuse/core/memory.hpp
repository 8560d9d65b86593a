// recfuse: memory-space tags carried by every view.
//
// A view names where its data lives; a policy names which memory it can touch. A kernel is
// only viable for views in a space its policy can access, so a device view handed to a host
// kernel fails to compile instead of dereferencing a device pointer.
#pragma once

#include <type_traits>

namespace recfuse {

// Ordinary host memory: reachable from the reference, xsimd, Thrust CPU systems and Kokkos
// host spaces.
struct host_memory {};

// CUDA device memory (cudaMalloc, thrust::device_vector with the CUDA system, Kokkos::CudaSpace).
struct device_memory {};

template <class Space>
inline constexpr bool is_memory_space_v =
    std::is_same_v<Space, host_memory> || std::is_same_v<Space, device_memory>;

}  // namespace recfuse
