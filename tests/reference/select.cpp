// topk, topk_into, topk_inner_product and topk_inner_product_into on the reference against
// hand-computed values, and every bad-input error with its message.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "recfuse/select/topk.hpp"

using namespace recfuse;

namespace {

template <class Index = std::int32_t>
struct csr {
  index_t rows = 0, cols = 0;
  std::vector<index_t> offsets{0};
  std::vector<Index> ids;
  csr(index_t c, const std::vector<std::vector<Index>>& lists) : rows(0), cols(c) {
    for (const auto& l : lists) {
      ids.insert(ids.end(), l.begin(), l.end());
      offsets.push_back(static_cast<index_t>(ids.size()));
      ++rows;
    }
  }
  csr_pattern_view<Index> view() const { return {rows, cols, offsets.data(), ids.data()}; }
};

template <class T>
void check_row(const topk_result<T>& r, index_t row, const std::vector<T>& values,
               const std::vector<index_t>& indices) {
  CAPTURE(row);
  REQUIRE(r.k == static_cast<index_t>(values.size()));
  for (index_t j = 0; j < r.k; ++j) {
    CAPTURE(j);
    CHECK(r.index(row, j) == indices[static_cast<std::size_t>(j)]);
    const T want = values[static_cast<std::size_t>(j)];
    if (std::isinf(want)) {
      CHECK(r.value(row, j) == want);
    } else {
      CHECK(r.value(row, j) == Approx(want));
    }
  }
}

template <class T>
constexpr T pinf = std::numeric_limits<T>::infinity();
template <class T>
constexpr T qnan = std::numeric_limits<T>::quiet_NaN();

}  // namespace

TEMPLATE_TEST_CASE("topk: ties, NaN, -inf and padding", "[select][reference]", float, double) {
  using T = TestType;
  const std::vector<T> s{3,        1,        3,       2,        3,  //
                         qnan<T>,  -pinf<T>, T(0.5),  qnan<T>,  1,  //
                         -pinf<T>, -pinf<T>, qnan<T>, -pinf<T>, qnan<T>};
  const matrix_view<const T> scores(s.data(), 3, 5);

  const auto top2 = topk(exec::reference{}, scores, 2);
  CHECK(top2.rows == 3);
  CHECK(top2.k == 2);
  check_row<T>(top2, 0, {3, 3}, {0, 2});  // three 3s: the smaller indices win
  check_row<T>(top2, 1, {1, T(0.5)}, {4, 2});
  check_row<T>(top2, 2, {-pinf<T>, -pinf<T>}, {0, 1});  // -inf is a valid item

  const auto top4 = topk(exec::reference{}, scores, 4);
  check_row<T>(top4, 0, {3, 3, 3, 2}, {0, 2, 4, 3});
  check_row<T>(top4, 1, {1, T(0.5), -pinf<T>, -pinf<T>}, {4, 2, 1, -1});  // NaN never, then pad
  check_row<T>(top4, 2, {-pinf<T>, -pinf<T>, -pinf<T>, -pinf<T>}, {0, 1, 3, -1});

  const std::vector<T> with_inf{1, pinf<T>, qnan<T>, pinf<T>};  // +inf is a value like any other
  const auto inf2 = topk(exec::reference{}, matrix_view<const T>(with_inf.data(), 1, 4), 3);
  check_row<T>(inf2, 0, {pinf<T>, pinf<T>, 1}, {1, 3, 0});

  const auto top7 = topk(exec::reference{}, scores, 7);  // k > cols
  check_row<T>(top7, 0, {3, 3, 3, 2, 1, -pinf<T>, -pinf<T>}, {0, 2, 4, 3, 1, -1, -1});
}

TEMPLATE_TEST_CASE("topk: exclusion", "[select][reference]", float, double) {
  using T = TestType;
  const std::vector<T> s{3, 1, 3, 2, 3,  //
                         5, 4, 3, 2, 1};
  const matrix_view<const T> scores(s.data(), 2, 5);
  // Unsorted, with a duplicate; row 1 excludes its best and an item that would not be chosen.
  const csr<> ex(5, {{4, 0, 4}, {0, 3}});
  const auto r = topk(exec::reference{}, scores, 3, ex.view());
  check_row<T>(r, 0, {3, 2, 1}, {2, 3, 1});
  check_row<T>(r, 1, {4, 3, 1}, {1, 2, 4});

  // Everything excluded: all padding.
  const csr<std::int64_t> all(5, {{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0, 0}});
  const auto none = topk(exec::reference{}, scores, 2, all.view());
  check_row<T>(none, 0, {-pinf<T>, -pinf<T>}, {-1, -1});
  check_row<T>(none, 1, {-pinf<T>, -pinf<T>}, {-1, -1});

  // A csr_view (pattern plus values) is accepted as an exclusion pattern.
  const std::vector<T> unused{1, 1, 1, 1, 1};
  const csr_view<T> with_values(2, 5, ex.offsets.data(), ex.ids.data(), unused.data());
  const auto same = topk(exec::reference{}, scores, 3, with_values);
  CHECK(same.indices == r.indices);
}

TEMPLATE_TEST_CASE("topk: k = 0, empty rows, no rows", "[select][reference]", float, double) {
  using T = TestType;
  const std::vector<T> s{1, 2, 3, 4};
  const auto k0 = topk(exec::reference{}, matrix_view<const T>(s.data(), 2, 2), 0);
  CHECK(k0.rows == 2);
  CHECK(k0.k == 0);
  CHECK(k0.values.empty());
  CHECK(k0.indices.empty());

  const auto no_cols = topk(exec::reference{}, matrix_view<const T>(nullptr, 3, 0), 2);
  CHECK(no_cols.rows == 3);
  for (index_t r = 0; r < 3; ++r) check_row<T>(no_cols, r, {-pinf<T>, -pinf<T>}, {-1, -1});

  const auto no_rows = topk(exec::reference{}, matrix_view<const T>(nullptr, 0, 5), 3);
  CHECK(no_rows.rows == 0);
  CHECK(no_rows.k == 3);
  CHECK(no_rows.values.empty());

  const csr<> empty_ex(5, {});
  CHECK(topk(exec::reference{}, matrix_view<const T>(nullptr, 0, 5), 3, empty_ex.view()).rows == 0);
}

TEMPLATE_TEST_CASE("topk_into: strided outputs", "[select][reference]", float, double) {
  using T = TestType;
  const std::vector<T> s{0, 9, 4, 9,  //
                         1, 1, 1, 1};
  std::vector<T> values(2 * 3, T(-7));
  std::vector<index_t> indices(2 * 4, -7);
  topk_into(exec::reference{}, matrix_view<const T>(s.data(), 2, 4), 2,
            matrix_view<T>(values.data(), 2, 2, 3), matrix_view<index_t>(indices.data(), 2, 2, 4));
  CHECK(values == std::vector<T>{9, 9, -7, 1, 1, -7});
  CHECK(indices == std::vector<index_t>{1, 3, -7, -7, 0, 1, -7, -7});

  const csr<> ex(4, {{1}, {0, 1, 2}});
  topk_into(exec::reference{}, matrix_view<const T>(s.data(), 2, 4), 2,
            matrix_view<T>(values.data(), 2, 2, 3), matrix_view<index_t>(indices.data(), 2, 2, 4),
            ex.view());
  CHECK(values == std::vector<T>{9, 4, -7, 1, -pinf<T>, -7});
  CHECK(indices == std::vector<index_t>{3, 2, -7, -7, 3, -1, -7, -7});
}

TEMPLATE_TEST_CASE("topk_inner_product: hand-computed", "[select][reference]", float, double) {
  using T = TestType;
  // Scores: user 0 -> 1 2 3 3, user 1 -> 0 -1 -1 -2.
  const std::vector<T> q{1, 2,  //
                         0, -1};
  const std::vector<T> x{1,  0,  //
                         0,  1,  //
                         1,  1,  //
                         -1, 2};
  const matrix_view<const T> users(q.data(), 2, 2);
  const matrix_view<const T> items(x.data(), 4, 2);
  const auto r = topk_inner_product(exec::reference{}, users, items, 3);
  check_row<T>(r, 0, {3, 3, 2}, {2, 3, 1});
  check_row<T>(r, 1, {0, -1, -1}, {0, 1, 2});

  const csr<> ex(4, {{2}, {0, 0}});
  const auto e = topk_inner_product(exec::reference{}, users, items, 5, ex.view());
  check_row<T>(e, 0, {3, 2, 1, -pinf<T>, -pinf<T>}, {3, 1, 0, -1, -1});
  check_row<T>(e, 1, {-1, -1, -2, -pinf<T>, -pinf<T>}, {1, 2, 3, -1, -1});

  // NaN in an item's factors: that item's scores are NaN and never selected.
  std::vector<T> xn = x;
  xn[2 * 1 + 1] = qnan<T>;
  const auto n =
      topk_inner_product(exec::reference{}, users, matrix_view<const T>(xn.data(), 4, 2), 4);
  check_row<T>(n, 0, {3, 3, 1, -pinf<T>}, {2, 3, 0, -1});
  check_row<T>(n, 1, {0, -1, -2, -pinf<T>}, {0, 2, 3, -1});

  std::vector<T> values(2 * 2);
  std::vector<index_t> indices(2 * 2);
  topk_inner_product_into(exec::reference{}, users, items, 2, matrix_view<T>(values.data(), 2, 2),
                          matrix_view<index_t>(indices.data(), 2, 2), ex.view());
  CHECK(indices == std::vector<index_t>{3, 1, 1, 2});
  CHECK(values == std::vector<T>{3, 2, -1, -1});

  // No items, no queries, d = 0 (every score is 0).
  const auto no_items =
      topk_inner_product(exec::reference{}, users, matrix_view<const T>(nullptr, 0, 2), 2);
  check_row<T>(no_items, 1, {-pinf<T>, -pinf<T>}, {-1, -1});
  CHECK(topk_inner_product(exec::reference{}, matrix_view<const T>(nullptr, 0, 2), items, 2).rows ==
        0);
  const auto d0 = topk_inner_product(exec::reference{}, matrix_view<const T>(nullptr, 1, 0),
                                     matrix_view<const T>(nullptr, 3, 0), 2);
  check_row<T>(d0, 0, {0, 0}, {0, 1});
}

TEST_CASE("topk: bad input", "[select][reference][errors]") {
  const std::vector<float> s(6, 1.0f);
  const matrix_view<const float> scores(s.data(), 2, 3);
  const auto ref = exec::reference{};

  CHECK_THROWS_AS(topk(ref, scores, -1), value_error);
  CHECK_THROWS_WITH(topk(ref, scores, -1),
                    Catch::StartsWith("recfuse::topk:") && Catch::Contains("-1"));

  const csr<> three_rows(3, {{0}, {1}, {2}});
  CHECK_THROWS_AS(topk(ref, scores, 1, three_rows.view()), shape_error);
  CHECK_THROWS_WITH(topk(ref, scores, 1, three_rows.view()),
                    Catch::StartsWith("recfuse::topk:") && Catch::Contains("exclude.rows() is 3") &&
                        Catch::Contains("2"));
  const csr<> four_cols(4, {{0}, {1}});
  CHECK_THROWS_AS(topk(ref, scores, 1, four_cols.view()), shape_error);
  CHECK_THROWS_WITH(topk(ref, scores, 1, four_cols.view()),
                    Catch::Contains("exclude.cols() is 4") && Catch::Contains("3"));

  csr<> out_of_range(3, {{0, 7}, {1}});
  CHECK_THROWS_AS(topk(ref, scores, 1, out_of_range.view()), index_error);
  CHECK_THROWS_WITH(topk(ref, scores, 1, out_of_range.view()),
                    Catch::StartsWith("recfuse::topk:") && Catch::Contains("column id 7"));
  csr<> negative_id(3, {{0}, {-2}});
  CHECK_THROWS_WITH(topk(ref, scores, 1, negative_id.view()), Catch::Contains("column id -2"));

  csr<> bad_offsets(3, {{0}, {1}});
  bad_offsets.offsets = {0, 2, 1};
  CHECK_THROWS_AS(topk(ref, scores, 1, bad_offsets.view()), index_error);
  CHECK_THROWS_WITH(topk(ref, scores, 1, bad_offsets.view()),
                    Catch::Contains("offsets decrease at row 1"));
  bad_offsets.offsets = {1, 1, 2};
  CHECK_THROWS_WITH(topk(ref, scores, 1, bad_offsets.view()), Catch::Contains("offsets[0] is 1"));

  std::vector<float> values(6);
  std::vector<index_t> indices(6);
  CHECK_THROWS_AS(topk_into(ref, scores, -4, matrix_view<float>(values.data(), 2, 3),
                            matrix_view<index_t>(indices.data(), 2, 3)),
                  value_error);
  CHECK_THROWS_WITH(
      topk_into(ref, scores, 2, matrix_view<float>(values.data(), 2, 3),
                matrix_view<index_t>(indices.data(), 2, 2)),
      Catch::StartsWith("recfuse::topk_into:") && Catch::Contains("out_values is 2 x 3"));
  CHECK_THROWS_AS(topk_into(ref, scores, 2, matrix_view<float>(values.data(), 2, 2),
                            matrix_view<index_t>(indices.data(), 3, 2)),
                  shape_error);
  CHECK_THROWS_WITH(topk_into(ref, scores, 2, matrix_view<float>(values.data(), 2, 2),
                              matrix_view<index_t>(indices.data(), 3, 2)),
                    Catch::Contains("out_indices is 3 x 2") && Catch::Contains("2 x 2"));
  CHECK_THROWS_AS(topk_into(ref, scores, 2, matrix_view<float>(values.data(), 2, 2),
                            matrix_view<index_t>(indices.data(), 2, 2), four_cols.view()),
                  shape_error);
  CHECK_THROWS_AS(topk(ref, matrix_view<const float>(s.data(), 2, 4, 3), 1), shape_error);
}

TEST_CASE("topk_inner_product: bad input", "[select][reference][errors]") {
  const std::vector<double> q(2 * 3, 1.0), x(5 * 3, 1.0);
  const matrix_view<const double> users(q.data(), 2, 3);
  const matrix_view<const double> items(x.data(), 5, 3);
  const auto ref = exec::reference{};

  CHECK_THROWS_AS(topk_inner_product(ref, users, matrix_view<const double>(x.data(), 3, 5), 1),
                  shape_error);
  CHECK_THROWS_WITH(topk_inner_product(ref, users, matrix_view<const double>(x.data(), 3, 5), 1),
                    Catch::StartsWith("recfuse::topk_inner_product:") &&
                        Catch::Contains("queries.cols() is 3") &&
                        Catch::Contains("items.cols() is 5"));
  CHECK_THROWS_AS(topk_inner_product(ref, users, items, -2), value_error);
  CHECK_THROWS_WITH(topk_inner_product(ref, users, items, -2),
                    Catch::StartsWith("recfuse::topk_inner_product:") && Catch::Contains("-2"));

  const csr<> ex_rows(5, {{1}});
  CHECK_THROWS_AS(topk_inner_product(ref, users, items, 1, ex_rows.view()), shape_error);
  CHECK_THROWS_WITH(topk_inner_product(ref, users, items, 1, ex_rows.view()),
                    Catch::Contains("exclude.rows() is 1") && Catch::Contains("2"));
  const csr<> ex_cols(3, {{1}, {2}});  // cols must be the number of items (5), not d (3)
  CHECK_THROWS_WITH(topk_inner_product(ref, users, items, 1, ex_cols.view()),
                    Catch::Contains("exclude.cols() is 3") && Catch::Contains("5"));
  const csr<std::int64_t> ex_id(5, {{1}, {5}});
  CHECK_THROWS_AS(topk_inner_product(ref, users, items, 1, ex_id.view()), index_error);
  CHECK_THROWS_WITH(
      topk_inner_product(ref, users, items, 1, ex_id.view()),
      Catch::StartsWith("recfuse::topk_inner_product:") && Catch::Contains("column id 5"));

  std::vector<double> values(4);
  std::vector<index_t> indices(4);
  CHECK_THROWS_AS(
      topk_inner_product_into(ref, users, items, 2, matrix_view<double>(values.data(), 1, 2),
                              matrix_view<index_t>(indices.data(), 2, 2)),
      shape_error);
  CHECK_THROWS_WITH(
      topk_inner_product_into(ref, users, items, 2, matrix_view<double>(values.data(), 1, 2),
                              matrix_view<index_t>(indices.data(), 2, 2)),
      Catch::StartsWith("recfuse::topk_inner_product_into:") &&
          Catch::Contains("out_values is 1 x 2"));
  CHECK_THROWS_AS(
      topk_inner_product_into(ref, users, items, -1, matrix_view<double>(values.data(), 2, 2),
                              matrix_view<index_t>(indices.data(), 2, 2)),
      value_error);
}
