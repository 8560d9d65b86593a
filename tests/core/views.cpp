// Views, adapters and the boundary checks every component relies on.
#include <catch2/catch.hpp>

#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "recfuse/core/adapt.hpp"
#include "recfuse/core/views.hpp"

#if defined(RECFUSE_TEST_XTENSOR)
#include <xtensor/containers/xadapt.hpp>
#include <xtensor/containers/xarray.hpp>
#include <xtensor/containers/xtensor.hpp>
#include <xtensor/views/xview.hpp>
#endif

using namespace recfuse;

TEST_CASE("views: extents, strides and const conversion", "[core][views]") {
  std::vector<float> data{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  const matrix_view<float> m(data.data(), 3, 3, 4);  // 3 x 3 inside a 3 x 4 buffer
  CHECK(m.rows() == 3);
  CHECK(m.cols() == 3);
  CHECK(m.stride() == 4);
  CHECK_FALSE(m.contiguous());
  CHECK(m(2, 1) == 9.0f);
  CHECK(m.row(1)[0] == 4.0f);
  const matrix_view<const float> c = m;  // T -> const T
  CHECK(c(1, 2) == 6.0f);
  STATIC_REQUIRE(std::is_same_v<decltype(as_const(m)), matrix_view<const float>>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<matrix_view<const float>, matrix_view<float>>);

  const vector_view<float> v(data.data(), 5);
  CHECK(v.size() == 5);
  CHECK(v[4] == 4.0f);
  CHECK(vector_view<float>().empty());
}

TEST_CASE("adapters: std::vector, std::span and views", "[core][adapt]") {
  std::vector<double> v{1, 2, 3};
  auto mv = as_vector(v);
  STATIC_REQUIRE(std::is_same_v<decltype(mv), vector_view<double>>);
  CHECK(mv.data() == v.data());
  CHECK(mv.size() == 3);
  const std::vector<double>& cv = v;
  STATIC_REQUIRE(std::is_same_v<decltype(as_vector(cv)), vector_view<const double>>);
  std::span<double> s(v.data(), 2);
  CHECK(as_vector(s).size() == 2);

  std::vector<float> buf(12);
  const matrix_view<float> packed(buf.data(), 3, 4);
  CHECK(as_vector(packed).size() == 12);
  const matrix_view<float> strided(buf.data(), 3, 3, 4);
  CHECK_THROWS_AS(as_vector(strided), shape_error);
  CHECK_THROWS_WITH(as_vector(strided),
                    Catch::Contains("recfuse::as_vector") && Catch::Contains("stride 4"));
  STATIC_REQUIRE_FALSE(matrix_like<std::vector<float>>);  // a vector has no shape of its own
}

#if defined(RECFUSE_TEST_XTENSOR)
TEST_CASE("adapters: xtensor containers and xt::adapt", "[core][adapt][xtensor]") {
  xt::xtensor<float, 2> t = {{1, 2, 3}, {4, 5, 6}};
  const auto m = as_matrix(t);
  CHECK(m.rows() == 2);
  CHECK(m.cols() == 3);
  CHECK(m.stride() == 3);
  CHECK(m(1, 2) == 6.0f);
  CHECK(m.data() == t.data());

  xt::xtensor<double, 1> one = {1.0, 2.0, 3.0, 4.0};
  CHECK(as_vector(one).size() == 4);
  CHECK(as_vector(one)[3] == 4.0);

  std::vector<float> storage{1, 2, 3, 4, 5, 6};
  auto adapted =
      xt::adapt(storage.data(), storage.size(), xt::no_ownership(), std::vector<std::size_t>{3, 2});
  const auto am = as_matrix(adapted);
  CHECK(am.rows() == 3);
  CHECK(am.cols() == 2);
  CHECK(am(2, 0) == 5.0f);
  CHECK(am.data() == storage.data());

  // Views into a parent start data_offset() elements into the parent's data().
  xt::xtensor<float, 2> rows3 = {{1, 2}, {3, 4}, {5, 6}};
  auto tail = xt::view(rows3, xt::range(1, 3), xt::all());
  const auto tm = as_matrix(tail);
  CHECK(tm.rows() == 2);
  CHECK(tm(0, 0) == 3.0f);
  CHECK(tm(1, 1) == 6.0f);
  auto last = xt::row(rows3, 2);
  CHECK(as_vector(last)[0] == 5.0f);
  CHECK(as_vector(last).size() == 2);
  auto every_other = xt::view(rows3, xt::range(0, 3, 2), xt::all());  // rows 0 and 2
  const auto em = as_matrix(every_other);
  CHECK(em.stride() == 4);
  CHECK(em(1, 0) == 5.0f);
  CHECK_THROWS_AS(as_vector(xt::col(rows3, 1)), shape_error);  // stride 2 between elements

  xt::xarray<float> three = xt::zeros<float>({2, 2, 2});
  CHECK_THROWS_WITH(as_matrix(three),
                    Catch::Contains("recfuse::as_matrix") && Catch::Contains("3 dimensions"));
  CHECK_THROWS_AS(as_vector(t), shape_error);
  xt::xtensor<float, 2, xt::layout_type::column_major> col = {{1, 2}, {3, 4}};
  CHECK_THROWS_WITH(as_matrix(col), Catch::Contains("row-major"));
}
#endif

TEST_CASE("checks: matrices and vectors", "[core][errors]") {
  std::vector<float> buf(6);
  CHECK_NOTHROW(detail::check_matrix("f", "x", matrix_view<float>(buf.data(), 2, 3)));
  CHECK_THROWS_WITH(
      detail::check_matrix("recfuse::f", "x", matrix_view<float>(buf.data(), 2, 3, 2)),
      Catch::StartsWith("recfuse::f: x has rows = 2, cols = 3, stride = 2"));
  CHECK_THROWS_AS(detail::check_matrix("f", "x", matrix_view<float>(nullptr, 2, 3)), value_error);
  CHECK_NOTHROW(detail::check_matrix("f", "x", matrix_view<float>(nullptr, 0, 3)));
  CHECK_THROWS_AS(detail::check_vector("f", "v", vector_view<float>(nullptr, 4)), value_error);
  CHECK_THROWS_WITH(detail::check_same("recfuse::g", "a.size()", 3, "b.size()", 4),
                    Catch::Equals("recfuse::g: a.size() is 3 but b.size() is 4"));
}

TEST_CASE("checks: CSR patterns", "[core][errors][csr]") {
  const std::vector<index_t> offsets{0, 2, 2, 3};
  const std::vector<std::int32_t> ids{4, 0, 3};
  CHECK_NOTHROW(detail::check_csr(
      "f", "exclude", csr_pattern_view<std::int32_t>(3, 5, offsets.data(), ids.data())));
  // id 4 outside [0, 4)
  CHECK_THROWS_WITH(
      detail::check_csr("recfuse::f", "exclude",
                        csr_pattern_view<std::int32_t>(3, 4, offsets.data(), ids.data())),
      Catch::Contains("row 0 holds column id 4, outside [0, 4)"));
  const std::vector<index_t> decreasing{0, 2, 1, 3};
  CHECK_THROWS_WITH(
      detail::check_csr("f", "exclude",
                        csr_pattern_view<std::int32_t>(3, 5, decreasing.data(), ids.data())),
      Catch::Contains("offsets decrease at row 1"));
  const std::vector<index_t> shifted{1, 2, 2, 3};
  CHECK_THROWS_AS(
      detail::check_csr("f", "exclude",
                        csr_pattern_view<std::int32_t>(3, 5, shifted.data(), ids.data())),
      index_error);
  const std::vector<std::int32_t> negative{-1, 0, 3};
  CHECK_THROWS_AS(
      detail::check_csr("f", "exclude",
                        csr_pattern_view<std::int32_t>(3, 5, offsets.data(), negative.data())),
      index_error);
  // a csr_view (pattern + values) is accepted where a pattern is expected
  const std::vector<float> values{1, 2, 3};
  const csr_view<float> with_values(3, 5, offsets.data(), ids.data(), values.data());
  CHECK_NOTHROW(detail::check_csr("f", "relevant", with_values.pattern()));
  CHECK(with_values.nnz() == 3);
  CHECK(with_values.row_size(1) == 0);
}
