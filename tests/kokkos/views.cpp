// The Kokkos backend with Kokkos::View: adapters (rank 1 and rank 2, layouts, strides, memory
// spaces) and rmse / mae on Views against the reference on std::vector copies.
#include <catch2/catch.hpp>

#include <limits>
#include <type_traits>
#include <vector>

#include "recfuse/kokkos/all.hpp"
#include "recfuse/metrics/error.hpp"
#include "test_support.hpp"

using namespace recfuse;
using host_exec = Kokkos::DefaultHostExecutionSpace;

namespace {

template <class Policy, class View>
concept has_squared_error_kernel = requires(const Policy& p, View v) {
  rmse_kernel(p, v, v);
};

template <class T>
Kokkos::View<T*> to_view(const std::vector<T>& v) {
  Kokkos::View<T*> out("recfuse test vector", v.size());
  auto mirror = Kokkos::create_mirror_view(out);
  for (std::size_t i = 0; i < v.size(); ++i) mirror(i) = v[i];
  Kokkos::deep_copy(out, mirror);
  return out;
}

}  // namespace

static_assert(std::is_same_v<exec::kokkos<host_exec>::memory_space, host_memory>);
static_assert(std::is_base_of_v<exec::reference, exec::kokkos<host_exec>>);
static_assert(
    std::is_same_v<vector_view_of<Kokkos::View<float*>>, vector_view<float, host_memory>>);
static_assert(std::is_same_v<vector_view_of<Kokkos::View<const double*>>,
                             vector_view<const double, host_memory>>);
static_assert(std::is_same_v<matrix_view_of<Kokkos::View<float**, Kokkos::LayoutRight>>,
                             matrix_view<float, host_memory>>);
static_assert(vector_like<Kokkos::View<float*>> && !matrix_like<Kokkos::View<float*>>);
static_assert(matrix_like<Kokkos::View<float**>> && !vector_like<Kokkos::View<float**>>);
static_assert(!vector_like<Kokkos::View<float***>> && !matrix_like<Kokkos::View<float***>>);
static_assert(has_squared_error_kernel<exec::kokkos<host_exec>, vector_view<const float>>);
static_assert(
    !has_squared_error_kernel<exec::kokkos<host_exec>, vector_view<const float, device_memory>>);

TEST_CASE("kokkos: rank-1 View adapter", "[kokkos][adapt]") {
  Kokkos::View<double*> v("v", 7);
  const auto view = as_vector(v);
  CHECK(view.size() == 7);
  CHECK(view.data() == v.data());
  // An unmanaged View over existing memory adapts the same way.
  std::vector<float> storage(5, 1.0f);
  Kokkos::View<float*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> unmanaged(
      storage.data(), 5);
  CHECK(as_vector(unmanaged).data() == storage.data());
  // A column of a row-major matrix has stride 3: not one contiguous vector.
  Kokkos::View<double**, Kokkos::LayoutRight> m("m", 4, 3);
  auto column = Kokkos::subview(m, Kokkos::ALL, 1);
  CHECK_THROWS_AS(as_vector(column), shape_error);
  CHECK_THROWS_WITH(as_vector(column),
                    Catch::StartsWith("recfuse::as_vector") && Catch::Contains("stride 3"));
  // A row of it is contiguous.
  auto row = Kokkos::subview(m, 2, Kokkos::ALL);
  CHECK(as_vector(row).data() == &m(2, 0));
  CHECK(as_vector(row).size() == 3);
}

TEST_CASE("kokkos: rank-2 View adapter", "[kokkos][adapt]") {
  Kokkos::View<float**, Kokkos::LayoutRight> m("m", 4, 3);
  m(2, 1) = 5.0f;
  const auto view = as_matrix(m);
  CHECK(view.rows() == 4);
  CHECK(view.cols() == 3);
  CHECK(view.stride() == static_cast<index_t>(m.stride(0)));
  CHECK(view(2, 1) == 5.0f);
  // Column-major with more than one column is rejected; with one column it is row-major too.
  Kokkos::View<float**, Kokkos::LayoutLeft> left("left", 4, 3);
  CHECK_THROWS_WITH(as_matrix(left),
                    Catch::StartsWith("recfuse::as_matrix") && Catch::Contains("row-major"));
  Kokkos::View<float**, Kokkos::LayoutLeft> one_column("one column", 4, 1);
  one_column(3, 0) = 2.0f;
  CHECK(as_matrix(one_column)(3, 0) == 2.0f);
  // A block of rows and columns of a row-major matrix keeps the parent's row stride.
  Kokkos::View<double**, Kokkos::LayoutRight> big("big", 6, 5);
  big(3, 2) = 7.0;
  auto block = Kokkos::subview(big, Kokkos::make_pair(1, 5), Kokkos::make_pair(1, 4));
  const auto bv = as_matrix(block);
  CHECK(bv.rows() == 4);
  CHECK(bv.cols() == 3);
  CHECK(bv.stride() == 5);
  CHECK(bv(2, 1) == 7.0);
}

TEMPLATE_TEST_CASE("kokkos: rmse and mae on Views match the reference", "[kokkos][metrics]", float,
                   double) {
  const exec::kokkos<host_exec> policy;
  for (index_t n : {index_t{1}, index_t{2}, index_t{17}, index_t{1000}, index_t{65537}}) {
    CAPTURE(n);
    const auto a = test::random_vector<TestType>(n, 7 + n, 0.0, 5.0);
    const auto b = test::random_vector<TestType>(n, 70 + n, 0.0, 5.0);
    const auto va = to_view(a);
    const auto vb = to_view(b);
    const Kokkos::View<const TestType*> cb = vb;
    const double ref_rmse = rmse(exec::reference{}, a, b);
    const double ref_mae = mae(exec::reference{}, a, b);
    CHECK(test::close(rmse(policy, va, vb), ref_rmse, test::tolerance<TestType>()));
    CHECK(test::close(mae(policy, va, cb), ref_mae, test::tolerance<TestType>()));
    CHECK(test::close(rmse(policy, a, cb), ref_rmse, test::tolerance<TestType>()));
    // The kernel itself, on an explicit execution-space instance.
    const exec::kokkos<host_exec> on_instance{host_exec{}};
    const double sum =
        kokkos_backend::mae_kernel(on_instance, as_const(as_vector(va)), as_const(as_vector(vb)));
    CHECK(test::close(sum, ref_mae * static_cast<double>(n), test::tolerance<TestType>()));
  }
}

TEMPLATE_TEST_CASE("kokkos: bad input in Views", "[kokkos][metrics][errors]", float, double) {
  const exec::kokkos<host_exec> policy;
  Kokkos::View<TestType*> a("a", 4), b("b", 3);
  CHECK_THROWS_WITH(rmse(policy, a, b), Catch::StartsWith("recfuse::rmse") &&
                                            Catch::Contains("4") && Catch::Contains("3"));
  Kokkos::View<TestType*> c("c", 4);
  c(1) = std::numeric_limits<TestType>::quiet_NaN();
  CHECK_THROWS_WITH(mae(policy, c, a),
                    Catch::StartsWith("recfuse::mae") && Catch::Contains("predictions[1]"));
  Kokkos::View<TestType*> empty("empty", 0);
  CHECK_THROWS_AS(rmse(policy, empty, empty), value_error);
}
