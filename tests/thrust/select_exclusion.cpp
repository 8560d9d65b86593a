// The Thrust top-k kernels' on-device validation of exclusion patterns
// (recfuse/thrust/select/detail/check_exclusion.hpp), run here on the CPU system this executable
// is built for: the same Thrust reductions the CUDA kernels run on device patterns, which the
// CPU systems never reach through the public functions (host patterns go through check_csr).
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "backend.hpp"
#include "recfuse/thrust/select/topk.hpp"

using namespace recfuse;

namespace {

using policy_type = exec::thrust<RECFUSE_TEST_THRUST_SYSTEM>;

void check(const std::vector<index_t>& offsets, const std::vector<std::int32_t>& ids,
           index_t cols) {
  const index_t rows = static_cast<index_t>(offsets.size()) - 1;
  const csr_pattern_view<std::int32_t> p(rows, cols, offsets.data(),
                                         ids.empty() ? nullptr : ids.data());
  thrust_backend::detail::check_exclusion("recfuse::topk_into", policy_type{}, p);
}

}  // namespace

TEST_CASE("thrust topk: exclusion patterns are validated by Thrust reductions", "[select]") {
  // Valid: unsorted ids with repeats, empty rows, no rows.
  CHECK_NOTHROW(check({0, 3, 3, 5}, {2, 0, 2, 4, 1}, 5));
  CHECK_NOTHROW(check({0}, {}, 5));
  CHECK_NOTHROW(check({0, 0, 0}, {}, 0));

  CHECK_THROWS_MATCHES(check({1, 3, 4}, {0, 1, 2, 3}, 5), index_error,
                       Catch::Message("recfuse::topk_into: exclude offsets[0] is 1, expected 0"));
  CHECK_THROWS_MATCHES(check({0, 3, 2, 4}, {0, 1, 2, 3}, 5), index_error,
                       Catch::Message("recfuse::topk_into: exclude offsets decrease at row 1: "
                                      "offsets[2] = 2 is below offsets[1]"));
  // The first bad row is reported, whichever thread finds which.
  CHECK_THROWS_MATCHES(check({0, 1, 2, 3, 4}, {0, 1, 7, -1}, 5), index_error,
                       Catch::Message("recfuse::topk_into: exclude row 2 holds column id 7, "
                                      "outside [0, 5)"));
  CHECK_THROWS_MATCHES(check({0, 1, 1, 2}, {3, -2}, 5), index_error,
                       Catch::Message("recfuse::topk_into: exclude row 2 holds column id -2, "
                                      "outside [0, 5)"));
  CHECK_THROWS_MATCHES(
      check({0, 2}, {}, 5), value_error,
      Catch::Message("recfuse::topk_into: exclude has 2 entries but null indices"));
  // Many rows, one bad id late: the reduction finds it.
  std::vector<index_t> offsets{0};
  std::vector<std::int32_t> ids;
  for (index_t r = 0; r < 5000; ++r) {
    ids.push_back(static_cast<std::int32_t>(r % 9));
    ids.push_back(static_cast<std::int32_t>(r == 4321 ? 9 : 0));
    offsets.push_back(static_cast<index_t>(ids.size()));
  }
  CHECK_THROWS_MATCHES(check(offsets, ids, 9), index_error,
                       Catch::Message("recfuse::topk_into: exclude row 4321 holds column id 9, "
                                      "outside [0, 9)"));
}
