// recfuse: error types and the checks that raise them.
//
// Two tiers, as in kokkos-kernels and FAISS: checks on what a caller passed throw one of the
// typed exceptions below, with a message that starts with the public function's name and
// prints the offending sizes, ids or values; internal invariants (a kernel's documented
// preconditions, view indices within their extents) are RECFUSE_ASSERT, compiled out with
// NDEBUG. The sanitizer preset builds without NDEBUG, so its suite runs them.
#pragma once

#include <cassert>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace recfuse {

// Base of every error raised for bad input; also a std::invalid_argument.
class invalid_argument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Two extents that must agree do not (rows of A vs rows of B, a vector's length vs columns).
class shape_error : public invalid_argument {
 public:
  using invalid_argument::invalid_argument;
};

// An id or index outside its range, or CSR offsets that are not a valid row partition.
class index_error : public invalid_argument {
 public:
  using invalid_argument::invalid_argument;
};

// A value that is not allowed: NaN or infinity where finite input is required, negative k,
// empty input where data is required, a scaler used before it was fitted.
class value_error : public invalid_argument {
 public:
  using invalid_argument::invalid_argument;
};

// Reading or writing a file failed, or its content is malformed.
class io_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A backend's runtime failed (a CUDA call returned an error, a device ran out of memory); the
// message names the call and the runtime's own description.
class device_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

template <class... Args>
std::string concat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

// throw_error<E>("recfuse::rmse", ": predictions has ", n, " elements but ...")
template <class E, class... Args>
[[noreturn]] void throw_error(const char* function, Args&&... args) {
  throw E(concat(function, ": ", std::forward<Args>(args)...));
}

}  // namespace detail
}  // namespace recfuse

#ifndef NDEBUG
#define RECFUSE_ASSERT(cond) assert(cond)
#else
#define RECFUSE_ASSERT(cond) ((void)0)
#endif
