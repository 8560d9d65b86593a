// Owning interactions and CSR: the COO -> CSR conversion, the transpose and the boundary check.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "recfuse/core/sparse.hpp"

using namespace recfuse;
using Catch::Contains;

namespace {

interactions<float> small() {
  // 3 users x 4 items; (user 0, item 2) appears twice and both copies are kept.
  interactions<float> d;
  d.users = 3;
  d.items = 4;
  d.user = {2, 0, 1, 0, 2, 0};
  d.item = {3, 2, 0, 1, 0, 2};
  d.value = {1.f, 2.f, 3.f, 4.f, 5.f, 6.f};
  return d;
}

}  // namespace

TEST_CASE("sparse: to_csr by user keeps input order within a row", "[core][sparse]") {
  const auto d = small();
  const auto m = to_csr(d.view());
  CHECK(m.rows == 3);
  CHECK(m.cols == 4);
  CHECK(m.offsets == std::vector<index_t>{0, 3, 4, 6});
  CHECK(m.indices == std::vector<std::int32_t>{2, 1, 2, 0, 3, 0});
  CHECK(m.values == std::vector<float>{2.f, 4.f, 6.f, 3.f, 1.f, 5.f});
  CHECK(m.nnz() == 6);
  CHECK(m.view().row_size(0) == 3);
}

TEST_CASE("sparse: to_csr by item and transpose agree", "[core][sparse]") {
  const auto d = small();
  const auto by_item = to_csr(d.view(), csr_by::item);
  CHECK(by_item.rows == 4);
  CHECK(by_item.cols == 3);
  CHECK(by_item.offsets == std::vector<index_t>{0, 2, 3, 5, 6});
  CHECK(by_item.indices == std::vector<std::int32_t>{1, 2, 0, 0, 0, 2});
  CHECK(by_item.values == std::vector<float>{3.f, 5.f, 4.f, 2.f, 6.f, 1.f});
  // transpose of the user-major CSR lists each item's users in user order.
  const auto t = transpose(to_csr(d.view()));
  CHECK(t.offsets == by_item.offsets);
  CHECK(t.indices == std::vector<std::int32_t>{1, 2, 0, 0, 0, 2});
  CHECK(t.values == std::vector<float>{3.f, 5.f, 4.f, 2.f, 6.f, 1.f});
  const auto back = transpose(t);
  CHECK(back.offsets == to_csr(d.view()).offsets);
}

TEST_CASE("sparse: empty interactions and rows without entries", "[core][sparse]") {
  interactions<double> d;
  d.users = 2;
  d.items = 5;
  const auto m = to_csr(d.view());
  CHECK(m.offsets == std::vector<index_t>{0, 0, 0});
  CHECK(m.nnz() == 0);
  CHECK(transpose(m).offsets == std::vector<index_t>(6, 0));
  interactions<double> none;
  CHECK(to_csr(none.view()).offsets == std::vector<index_t>{0});
  CHECK_NOTHROW(detail::check_interactions("recfuse::test", "data", d.view()));
}

TEST_CASE("sparse: check_interactions names the offending entry", "[core][sparse][errors]") {
  auto d = small();
  CHECK_NOTHROW(detail::check_interactions("recfuse::f", "train", d.view()));
  auto bad_user = d;
  bad_user.user[4] = 3;
  CHECK_THROWS_AS(detail::check_interactions("recfuse::f", "train", bad_user.view()), index_error);
  CHECK_THROWS_WITH(detail::check_interactions("recfuse::f", "train", bad_user.view()),
                    Contains("recfuse::f") && Contains("entry 4") && Contains("user id 3"));
  auto negative_item = d;
  negative_item.item[1] = -1;
  CHECK_THROWS_AS(detail::check_interactions("recfuse::f", "train", negative_item.view()),
                  index_error);
  CHECK_THROWS_WITH(detail::check_interactions("recfuse::f", "train", negative_item.view()),
                    Contains("item id -1"));
  auto nan = d;
  nan.value[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(detail::check_interactions("recfuse::f", "train", nan.view()), value_error);
  CHECK_THROWS_WITH(detail::check_interactions("recfuse::f", "train", nan.view()),
                    Contains("entry 5") && Contains("nan"));
  CHECK_NOTHROW(detail::check_interactions("recfuse::f", "train", nan.view(), true));
  auto short_ids = d;
  short_ids.item.pop_back();
  CHECK_THROWS_AS(detail::check_interactions("recfuse::f", "train", short_ids.view()), shape_error);
  CHECK_THROWS_WITH(detail::check_interactions("recfuse::f", "train", short_ids.view()),
                    Contains("item ids size is 5"));
  auto huge = d;
  huge.items = index_t{1} << 40;
  REQUIRE_THROWS_AS(detail::check_interactions("recfuse::f", "train", huge.view()), shape_error);
}
