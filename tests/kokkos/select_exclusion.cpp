// The Kokkos top-k kernels' validation of exclusion patterns where they live
// (recfuse/kokkos/select/detail/check_exclusion.hpp), run here on the host spaces: the same
// Kokkos reductions a device space runs on device patterns, which the host spaces never reach
// through the public functions (host patterns go through check_csr). Every message must be the
// one check_csr gives for the same pattern. Also, at compile time: the Kokkos top-k kernels take
// views in their space's memory only (device views for a device space this Kokkos has).
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "recfuse/kokkos/select/topk.hpp"

using namespace recfuse;

namespace {

// The Kokkos overloads themselves (the policy derives from the reference's, whose kernels take
// host views).
template <class Policy, class T, class Space>
concept has_topk_kernels = requires(const Policy& p, matrix_view<const T, Space> s,
                                    matrix_view<T, Space> v, matrix_view<index_t, Space> i,
                                    const csr_pattern_view<std::int32_t, Space>* e) {
  kokkos_backend::topk_kernel(p, s, index_t{1}, e, v, i);
  kokkos_backend::topk_inner_product_kernel(p, s, s, index_t{1}, e, v, i);
};

template <class ExecSpace>
constexpr bool topk_kernels_take_own_memory() {
  using policy = exec::kokkos<ExecSpace>;
  using own = typename policy::memory_space;
  using other = std::conditional_t<std::is_same_v<own, host_memory>, device_memory, host_memory>;
  static_assert(has_topk_kernels<policy, float, own> && has_topk_kernels<policy, double, own>);
  static_assert(!has_topk_kernels<policy, float, other>);
  return true;
}

template <class ExecSpace>
void check(const std::vector<index_t>& offsets, const std::vector<std::int32_t>& ids,
           index_t cols) {
  const index_t rows = static_cast<index_t>(offsets.size()) - 1;
  const csr_pattern_view<std::int32_t> p(rows, cols, offsets.data(),
                                         ids.empty() ? nullptr : ids.data());
  kokkos_backend::detail::check_exclusion("recfuse::topk_into", exec::kokkos<ExecSpace>{}, p);
}

// What check_csr says about the same pattern ("" when it is valid).
std::string csr_message(const std::vector<index_t>& offsets, const std::vector<std::int32_t>& ids,
                        index_t cols) {
  const index_t rows = static_cast<index_t>(offsets.size()) - 1;
  const csr_pattern_view<std::int32_t> p(rows, cols, offsets.data(),
                                         ids.empty() ? nullptr : ids.data());
  try {
    recfuse::detail::check_csr("recfuse::topk_into", "exclude", p);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

template <class ExecSpace>
void check_all() {
  // Valid: unsorted ids with repeats, empty rows, no rows.
  CHECK_NOTHROW(check<ExecSpace>({0, 3, 3, 5}, {2, 0, 2, 4, 1}, 5));
  CHECK_NOTHROW(check<ExecSpace>({0}, {}, 5));
  CHECK_NOTHROW(check<ExecSpace>({0, 0, 0}, {}, 0));

  const auto same_as_csr = [](const std::vector<index_t>& offsets,
                              const std::vector<std::int32_t>& ids, index_t cols) {
    const std::string expected = csr_message(offsets, ids, cols);
    REQUIRE(expected != "");
    CHECK_THROWS_WITH(check<ExecSpace>(offsets, ids, cols), expected);
  };
  CHECK_THROWS_MATCHES(check<ExecSpace>({1, 3, 4}, {0, 1, 2, 3}, 5), index_error,
                       Catch::Message("recfuse::topk_into: exclude offsets[0] is 1, expected 0"));
  same_as_csr({1, 3, 4}, {0, 1, 2, 3}, 5);
  CHECK_THROWS_AS(check<ExecSpace>({0, 3, 2, 4}, {0, 1, 2, 3}, 5), index_error);
  same_as_csr({0, 3, 2, 4}, {0, 1, 2, 3}, 5);
  same_as_csr({0, 3, 4, 2, 1}, {0, 1, 2, 3}, 5);  // the first of two decreases
  // The first bad row is reported, whichever thread finds which.
  CHECK_THROWS_MATCHES(check<ExecSpace>({0, 1, 2, 3, 4}, {0, 1, 7, -1}, 5), index_error,
                       Catch::Message("recfuse::topk_into: exclude row 2 holds column id 7, "
                                      "outside [0, 5)"));
  same_as_csr({0, 1, 2, 3, 4}, {0, 1, 7, -1}, 5);
  same_as_csr({0, 1, 1, 3}, {3, 1, -2}, 5);
  CHECK_THROWS_AS(check<ExecSpace>({0, 2}, {}, 5), value_error);
  same_as_csr({0, 2}, {}, 5);
  // Many rows, one bad id late: the reduction finds it.
  std::vector<index_t> offsets{0};
  std::vector<std::int32_t> ids;
  for (index_t r = 0; r < 5000; ++r) {
    ids.push_back(static_cast<std::int32_t>(r % 9));
    ids.push_back(static_cast<std::int32_t>(r == 4321 || r == 4999 ? 9 : 0));
    offsets.push_back(static_cast<index_t>(ids.size()));
  }
  CHECK_THROWS_MATCHES(check<ExecSpace>(offsets, ids, 9), index_error,
                       Catch::Message("recfuse::topk_into: exclude row 4321 holds column id 9, "
                                      "outside [0, 9)"));
  same_as_csr(offsets, ids, 9);
}

}  // namespace

TEST_CASE("kokkos topk: exclusion patterns are validated by Kokkos reductions", "[select]") {
#if defined(KOKKOS_ENABLE_SERIAL)
  SECTION("Serial") { check_all<Kokkos::Serial>(); }
#endif
  SECTION("DefaultHostExecutionSpace") { check_all<Kokkos::DefaultHostExecutionSpace>(); }
}

TEST_CASE("kokkos topk: the kernels take views in their space's memory", "[select]") {
  STATIC_REQUIRE(topk_kernels_take_own_memory<Kokkos::DefaultHostExecutionSpace>());
  STATIC_REQUIRE(topk_kernels_take_own_memory<Kokkos::DefaultExecutionSpace>());
#if defined(KOKKOS_ENABLE_SERIAL)
  STATIC_REQUIRE(topk_kernels_take_own_memory<Kokkos::Serial>());
#endif
#if defined(KOKKOS_ENABLE_CUDA)
  STATIC_REQUIRE(topk_kernels_take_own_memory<Kokkos::Cuda>());
#endif
#if defined(KOKKOS_ENABLE_HIP)
  STATIC_REQUIRE(topk_kernels_take_own_memory<Kokkos::HIP>());
#endif
#if defined(KOKKOS_ENABLE_SYCL)
  STATIC_REQUIRE(topk_kernels_take_own_memory<Kokkos::SYCL>());
#endif
}
