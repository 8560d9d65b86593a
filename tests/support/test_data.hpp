// Test data without Catch2, for the Catch2 suites (through test_support.hpp) and the plain CUDA
// programs (tests/cuda/) alike: the sizes every backend test walks, seeded random vectors,
// per-type tolerances and views of whole std::vectors.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/views.hpp"

namespace recfuse::test {

// Sizes every backend test walks through: empty, one, odd tails around SIMD widths, large.
inline const std::vector<index_t> sizes = {0,  1,  2,  3,  7,  8,    15,   16,
                                           17, 31, 33, 63, 65, 1000, 4099, 100003};

template <class T>
std::vector<T> random_vector(index_t n, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<T>(dist(rng));
  return v;
}

// Relative tolerance for comparing a backend's result with the reference's.
template <class T>
constexpr double tolerance() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}

inline bool close(double a, double b, double rel) {
  return std::abs(a - b) <= rel * std::max({1.0, std::abs(a), std::abs(b)});
}

// Views of a whole std::vector: cview read-only, mview writable.
template <class T>
vector_view<const T> cview(const std::vector<T>& v) {
  return {v.data(), static_cast<index_t>(v.size())};
}
template <class T>
vector_view<T> mview(std::vector<T>& v) {
  return {v.data(), static_cast<index_t>(v.size())};
}

// Matrix views of a whole std::vector holding rows x cols, row-major: cmat read-only, mmat
// writable.
template <class T>
matrix_view<const T> cmat(const std::vector<T>& v, index_t rows, index_t cols) {
  return {v.data(), rows, cols};
}
template <class T>
matrix_view<T> mmat(std::vector<T>& v, index_t rows, index_t cols) {
  return {v.data(), rows, cols};
}

}  // namespace recfuse::test
