// The table of docs/backends.md ("What each backend implements") as data, generated at configure
// time (tests/CMakeLists.txt), and the check of a backend's policy against it: every kernel the
// policy lists in native_kernels is marked native in the backend's column, and every kernel marked
// native there is in native_kernels. A misspelt entry, or a docs table that says "native" for a
// kernel the dispatch check does not enforce, fails the backend's suite.
#pragma once

#include <algorithm>
#include <iterator>
#include <string_view>

namespace recfuse::test {

struct native_row {
  std::string_view kernel;
  bool xsimd, thrust, kokkos;
};

inline constexpr native_row native_table[] = {
#include "native_table.inc"
};

// column: &native_row::xsimd, ::thrust or ::kokkos. Returns the first disagreement, or "".
template <class Policy>
constexpr std::string_view native_mismatch(bool native_row::*column) {
  for (const std::string_view k : Policy::native_kernels) {
    const auto row = std::find_if(std::begin(native_table), std::end(native_table),
                                  [&](const native_row& r) { return r.kernel == k; });
    if (row == std::end(native_table) || !((*row).*column)) return k;
  }
  for (const native_row& r : native_table) {
    if (!(r.*column)) continue;
    if (std::find(std::begin(Policy::native_kernels), std::end(Policy::native_kernels), r.kernel) ==
        std::end(Policy::native_kernels)) {
      return r.kernel;
    }
  }
  return {};
}

}  // namespace recfuse::test
