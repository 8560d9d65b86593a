// Benchmark inputs that bench_gpu.cu and peers.py build bit for bit alike, on the device, from a
// seed and an element index (no file moves between them):
//   u(seed, i) = (splitmix64(seed * 2^32 + i) >> 40) * 2^-24          in [0, 1)
//   value      = lo + (hi - lo) * u                                   (computed in float)
// peers.py computes the same with numpy's uint64 arithmetic.
#pragma once

#include <cstdint>

#include <thrust/device_vector.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/transform.h>

namespace recfuse::gpu_bench {

__host__ __device__ inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

__host__ __device__ inline float uniform01(std::uint64_t seed, std::uint64_t i) {
  return static_cast<float>(splitmix64((seed << 32) + i) >> 40) * (1.0f / 16777216.0f);
}

struct uniform_value {
  std::uint64_t seed;
  float lo, hi;
  __host__ __device__ float operator()(std::uint64_t i) const {
#if defined(__CUDA_ARCH__)
    // rounded multiply, then add: no FMA contraction, so numpy's float32 ops give the same bits
    return __fadd_rn(lo, __fmul_rn(hi - lo, uniform01(seed, i)));
#else
    return lo + (hi - lo) * uniform01(seed, i);
#endif
  }
};

// n floats uniform in [lo, hi) on the device.
inline thrust::device_vector<float> uniform(std::size_t n, std::uint64_t seed, float lo, float hi) {
  thrust::device_vector<float> v(n);
  thrust::transform(thrust::counting_iterator<std::uint64_t>(0),
                    thrust::counting_iterator<std::uint64_t>(n), v.begin(),
                    uniform_value{seed, lo, hi});
  return v;
}

}  // namespace recfuse::gpu_bench
