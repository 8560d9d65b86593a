// recfuse xsimd backend: the thread helpers. Work is split into contiguous chunks, one per
// thread, in a fixed way for a given thread count, so reductions combine partial results in
// chunk order and are reproducible run to run.
#pragma once

#include <algorithm>
#include <atomic>
#include <exception>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/xsimd/policy.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace recfuse::xsimd_backend::detail {

inline int max_threads(const policy& p) {
  if (p.threads > 0) return p.threads;
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// Number of chunks for n items so that each chunk holds at least min_chunk items.
inline int chunk_count(const policy& p, index_t n, index_t min_chunk) {
  const index_t by_size = std::max<index_t>(1, n / std::max<index_t>(1, min_chunk));
  return static_cast<int>(std::min<index_t>(max_threads(p), by_size));
}

// An exception must not leave an OpenMP region (the runtime would call std::terminate): each
// parallel helper catches the first one, lets the other iterations finish or skip, and rethrows
// it on the calling thread once the region has ended.
class first_exception {
 public:
  template <class F>
  void run(F&& f) noexcept {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      f();
    } catch (...) {
      bool expected = false;
      if (failed_.compare_exchange_strong(expected, true)) error_ = std::current_exception();
    }
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
};

// Calls f(chunk, begin, end) for `chunks` contiguous pieces of [0, n), in parallel.
template <class F>
void for_chunks(int chunks, index_t n, F&& f) {
  auto body = [&](int c) {
    const index_t begin = n * c / chunks;
    const index_t end = n * (c + 1) / chunks;
    f(c, begin, end);
  };
  if (chunks <= 1) {
    body(0);
    return;
  }
#ifdef _OPENMP
  first_exception error;
#pragma omp parallel for num_threads(chunks) schedule(static, 1)
  for (int c = 0; c < chunks; ++c) error.run([&] { body(c); });
  error.rethrow();
#else
  for (int c = 0; c < chunks; ++c) body(c);
#endif
}

// Calls f(i) for every i in [0, n), dynamically scheduled in blocks of `grain`.
template <class F>
void for_each_index(const policy& p, index_t n, index_t grain, F&& f) {
  const int threads = chunk_count(p, n, grain);
  if (threads <= 1) {
    for (index_t i = 0; i < n; ++i) f(i);
    return;
  }
#ifdef _OPENMP
  first_exception error;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (index_t b = 0; b < (n + grain - 1) / grain; ++b) {
    error.run([&] {
      const index_t end = std::min(n, (b + 1) * grain);
      for (index_t i = b * grain; i < end; ++i) f(i);
    });
  }
  error.rethrow();
#else
  for (index_t i = 0; i < n; ++i) f(i);
#endif
}

// Parallel sum of per-chunk partial results, combined in chunk order.
template <class F>
double reduce_chunks(const policy& p, index_t n, index_t min_chunk, F&& partial) {
  const int chunks = chunk_count(p, n, min_chunk);
  std::vector<double> parts(static_cast<std::size_t>(chunks), 0.0);
  for_chunks(chunks, n, [&](int c, index_t b, index_t e) { parts[c] = partial(b, e); });
  double sum = 0.0;
  for (double v : parts) sum += v;
  return sum;
}

}  // namespace recfuse::xsimd_backend::detail
