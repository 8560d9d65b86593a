// recfuse: the xsimd CPU backend's policy.
//
//   recfuse::exec::xsimd cpu;       // every OpenMP thread
//   recfuse::exec::xsimd cpu{2};    // two threads
//
// Kernels use xsimd::batch<T> of xsimd::default_arch, the widest instruction set the
// consumer's compiler flags enable (-mavx2, -march=native, ...); recfuse adds no -march flag.
// Threads come from OpenMP when the consumer compiles with it (recfuse::xsimd links
// OpenMP::OpenMP_CXX when CMake finds it) and are 1 otherwise. The xsimd policy derives from
// the reference one: a function without an xsimd kernel runs the reference kernel.
#pragma once

#include "recfuse/core/execution.hpp"

namespace recfuse::simd {

struct policy : ::recfuse::reference::policy {
  constexpr policy() = default;
  constexpr explicit policy(int thread_count) : threads(thread_count) {}
  // Threads to use; 0 means OpenMP's default (omp_get_max_threads()).
  int threads = 0;
};

}  // namespace recfuse::simd

namespace recfuse::exec {
using xsimd = ::recfuse::simd::policy;
}  // namespace recfuse::exec
