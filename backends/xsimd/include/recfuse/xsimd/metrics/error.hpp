// recfuse xsimd backend: error-metric kernels. Bandwidth-bound: one streaming pass over both
// inputs, split across threads; float lanes are flushed to a double sum every block so long
// inputs keep double-like accuracy.
#pragma once

#include <cmath>
#include <type_traits>

#include "recfuse/xsimd/detail/xsimd.hpp"

#include "recfuse/metrics/error.hpp"
#include "recfuse/xsimd/detail/parallel.hpp"

namespace recfuse::xsimd_backend {
namespace detail {

// Sum over [begin, end) of op(a[i] - b[i]), in batches, flushed to double every `block`.
template <class T, class Op>
double error_sum(const T* a, const T* b, index_t begin, index_t end, Op op) {
  using batch = ::xsimd::batch<T>;
  constexpr index_t lanes = static_cast<index_t>(batch::size);
  constexpr index_t block = 4096;  // elements per flush to double
  double total = 0.0;
  index_t i = begin;
  while (i + 4 * lanes <= end) {
    const index_t stop = std::min(end, i + block);
    batch s0(T(0)), s1(T(0)), s2(T(0)), s3(T(0));
    for (; i + 4 * lanes <= stop; i += 4 * lanes) {
      s0 += op(batch::load_unaligned(a + i) - batch::load_unaligned(b + i));
      s1 += op(batch::load_unaligned(a + i + lanes) - batch::load_unaligned(b + i + lanes));
      s2 += op(batch::load_unaligned(a + i + 2 * lanes) - batch::load_unaligned(b + i + 2 * lanes));
      s3 += op(batch::load_unaligned(a + i + 3 * lanes) - batch::load_unaligned(b + i + 3 * lanes));
    }
    total += static_cast<double>(::xsimd::reduce_add((s0 + s1) + (s2 + s3)));
  }
  for (; i < end; ++i) {
    const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    total += static_cast<double>(op(d));
  }
  if (!std::isfinite(total) && !std::is_same_v<T, double>) {
    // A float difference or square overflowed (|error| > ~1.8e19): redo this chunk in double,
    // as the reference does, so only NaN or infinity in the input makes the sum non-finite.
    total = 0.0;
    for (index_t j = begin; j < end; ++j) {
      total += static_cast<double>(op(static_cast<double>(a[j]) - static_cast<double>(b[j])));
    }
  }
  return total;
}

}  // namespace detail

template <class T>
double rmse_kernel(const policy& p, vector_view<const T> a, vector_view<const T> b) {
  return detail::reduce_chunks(p, a.size(), index_t{1} << 15, [&](index_t begin, index_t end) {
    return detail::error_sum(a.data(), b.data(), begin, end, [](auto d) { return d * d; });
  });
}

template <class T>
double mae_kernel(const policy& p, vector_view<const T> a, vector_view<const T> b) {
  return detail::reduce_chunks(p, a.size(), index_t{1} << 15, [&](index_t begin, index_t end) {
    return detail::error_sum(a.data(), b.data(), begin, end, [](auto d) {
      using std::abs;
      using ::xsimd::abs;
      return abs(d);
    });
  });
}

}  // namespace recfuse::xsimd_backend
