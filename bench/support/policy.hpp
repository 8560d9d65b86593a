// The execution policy a CPU benchmark runs, from its "threads" argument, so every bench_*.cpp
// registers the same backends the same way:
//
//    0   the serial reference
//    n   xsimd with n threads
//   -n   Thrust's OMP system with n OpenMP threads (only where the benchmarks were built with the
//        Thrust backend: RECFUSE_BENCH_THRUST, bench/CMakeLists.txt)
//
//   with_policy(static_cast<int>(state.range(1)), [&](const auto& p) { return fit(p, data); });
//   BENCHMARK(f)->ArgsProduct({{1000}, recfuse::bench::policies()});   // 0, 1, 2 (and -2)
//
// The Thrust OMP column is the Thrust backend's test vehicle on the CPU, not a speed goal.
#pragma once

#include <cstdint>
#include <vector>

#include "recfuse/xsimd/policy.hpp"

#if defined(RECFUSE_BENCH_THRUST)
#include <omp.h>
#include <thrust/system/omp/execution_policy.h>

#include "recfuse/thrust/all.hpp"
#endif

namespace recfuse::bench {

template <class F>
decltype(auto) with_policy(int threads, F&& f) {
#if defined(RECFUSE_BENCH_THRUST)
  if (threads < 0) {
    omp_set_num_threads(-threads);
    return f(recfuse::exec::thrust<::thrust::system::omp::tag>{});
  }
#endif
  if (threads == 0) return f(recfuse::exec::reference{});
  return f(recfuse::exec::xsimd{threads});
}

// The "threads" values a benchmark sweeps: the reference (when asked), xsimd on 1 and 2 threads,
// and Thrust OMP on 2 threads where it is built.
inline std::vector<std::int64_t> policies(bool with_reference = true) {
  std::vector<std::int64_t> v;
  if (with_reference) v.push_back(0);
  v.push_back(1);
  v.push_back(2);
#if defined(RECFUSE_BENCH_THRUST)
  v.push_back(-2);
#endif
  return v;
}

}  // namespace recfuse::bench
