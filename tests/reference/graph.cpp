// The graph family on the reference backend: builders, aggregation and its backward pass,
// sage_layer, against hand-computed values and central finite differences.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "recfuse/graph/aggregate.hpp"
#include "recfuse/graph/builders.hpp"
#include "recfuse/graph/sage.hpp"
#include "test_support.hpp"

namespace {

using recfuse::index_t;
using recfuse::graph::aggregation;
using recfuse::graph::edge_weight;
namespace test = recfuse::test;
constexpr recfuse::exec::reference ref{};

template <class T>
recfuse::csr_matrix<T> make_graph(index_t n,
                                  const std::vector<std::vector<std::pair<int, T>>>& rows,
                                  index_t cols = -1) {
  recfuse::csr_matrix<T> g;
  g.rows = n;
  g.cols = cols < 0 ? n : cols;
  for (const auto& r : rows) {
    for (const auto& [j, w] : r) {
      g.indices.push_back(j);
      g.values.push_back(w);
    }
    g.offsets.push_back(static_cast<index_t>(g.indices.size()));
  }
  return g;
}

// Row i of g as (index, value) pairs.
template <class T>
std::vector<std::pair<int, double>> row_of(const recfuse::csr_matrix<T>& g, index_t i) {
  std::vector<std::pair<int, double>> r;
  for (index_t e = g.offsets[i]; e < g.offsets[i + 1]; ++e)
    r.emplace_back(g.indices[e], g.values[e]);
  return r;
}

void check_row(const recfuse::csr_matrix<double>& g, index_t i,
               const std::vector<std::pair<int, double>>& expected) {
  CAPTURE(i);
  const auto r = row_of(g, i);
  REQUIRE(r.size() == expected.size());
  for (std::size_t k = 0; k < r.size(); ++k) {
    CAPTURE(k);
    CHECK(r[k].first == expected[k].first);
    CHECK(r[k].second == Approx(expected[k].second).epsilon(1e-14));
  }
}

// 4 nodes: row 0 has a duplicate edge to 1, row 1 a self loop, row 2 is isolated.
recfuse::csr_matrix<double> four_nodes() {
  return make_graph<double>(
      4, {{{1, 1.0}, {1, 2.0}, {2, 0.5}}, {{1, 3.0}, {0, 1.0}}, {}, {{0, 2.0}, {2, 1.0}}});
}
const std::vector<double> four_x = {1, -2, 3, 0.5, -1, 4, 2, 2};

std::vector<double> run_aggregate(const recfuse::csr_matrix<double>& g,
                                  const std::vector<double>& x, index_t d,
                                  recfuse::graph::aggregate_options o) {
  std::vector<double> out(static_cast<std::size_t>(g.rows * d), -7.0);
  recfuse::graph::aggregate(ref, g.view(), {x.data(), g.cols, d}, {out.data(), g.rows, d}, o);
  return out;
}

void check_values(const std::vector<double>& got, const std::vector<double>& expected) {
  REQUIRE(got.size() == expected.size());
  for (std::size_t k = 0; k < got.size(); ++k) {
    CAPTURE(k);
    CHECK(got[k] == Approx(expected[k]).epsilon(1e-14).margin(1e-15));
  }
}

}  // namespace

TEST_CASE("cooccurrence_graph: counts, cosine, jaccard, min_count, top-m", "[graph][reference]") {
  // user 0: items 0, 1 (twice), 2; user 1: items 0, 1; user 2: items 1, 3.
  recfuse::interactions<double> d;
  d.users = 3;
  d.items = 4;
  d.user = {0, 0, 0, 0, 1, 1, 2, 2};
  d.item = {0, 1, 2, 1, 0, 1, 1, 3};
  d.value = {5, 1, std::numeric_limits<double>::quiet_NaN(), 2, 3, 3, 4, 4};  // ignored
  recfuse::graph::cooccurrence_options o;
  o.neighbors = 0;
  o.weight = edge_weight::count;
  auto g = recfuse::graph::cooccurrence_graph(ref, d.view(), o);
  REQUIRE(g.rows == 4);
  REQUIRE(g.cols == 4);
  check_row(g, 0, {{1, 2}, {2, 1}});
  check_row(g, 1, {{0, 2}, {2, 1}, {3, 1}});
  check_row(g, 2, {{0, 1}, {1, 1}});
  check_row(g, 3, {{1, 1}});

  // n = {2, 3, 1, 1} distinct users per item.
  o.weight = edge_weight::cosine;
  g = recfuse::graph::cooccurrence_graph(ref, d.view(), o);
  check_row(g, 0, {{1, 2 / std::sqrt(6.0)}, {2, 1 / std::sqrt(2.0)}});
  check_row(g, 1, {{0, 2 / std::sqrt(6.0)}, {2, 1 / std::sqrt(3.0)}, {3, 1 / std::sqrt(3.0)}});
  check_row(g, 2, {{0, 1 / std::sqrt(2.0)}, {1, 1 / std::sqrt(3.0)}});
  check_row(g, 3, {{1, 1 / std::sqrt(3.0)}});

  o.weight = edge_weight::jaccard;
  g = recfuse::graph::cooccurrence_graph(ref, d.view(), o);
  check_row(g, 0, {{1, 2.0 / 3}, {2, 0.5}});
  check_row(g, 1, {{0, 2.0 / 3}, {2, 1.0 / 3}, {3, 1.0 / 3}});
  check_row(g, 2, {{0, 0.5}, {1, 1.0 / 3}});
  check_row(g, 3, {{1, 1.0 / 3}});

  o.weight = edge_weight::count;
  o.min_count = 2;
  g = recfuse::graph::cooccurrence_graph(ref, d.view(), o);
  check_row(g, 0, {{1, 2}});
  check_row(g, 1, {{0, 2}});
  check_row(g, 2, {});
  check_row(g, 3, {});

  o.min_count = 1;
  o.neighbors = 2;  // row 1's tie between items 2 and 3 goes to the smaller index
  g = recfuse::graph::cooccurrence_graph(ref, d.view(), o);
  check_row(g, 1, {{0, 2}, {2, 1}});
  check_row(g, 0, {{1, 2}, {2, 1}});

  SECTION("defaults: cosine, 50 neighbours; empty input") {
    const auto g2 = recfuse::graph::cooccurrence_graph(ref, d.view());
    check_row(g2, 1, {{0, 2 / std::sqrt(6.0)}, {2, 1 / std::sqrt(3.0)}, {3, 1 / std::sqrt(3.0)}});
    recfuse::interactions<double> empty;
    empty.items = 3;
    const auto g3 = recfuse::graph::cooccurrence_graph(ref, empty.view());
    CHECK(g3.rows == 3);
    CHECK(g3.nnz() == 0);
    CHECK(g3.offsets == std::vector<index_t>{0, 0, 0, 0});
  }
  SECTION("errors") {
    auto bad = d;
    bad.item[3] = 4;
    CHECK_THROWS_MATCHES(recfuse::graph::cooccurrence_graph(ref, bad.view()), recfuse::index_error,
                         test::what_is(Catch::Contains("recfuse::graph::cooccurrence_graph") &&
                                       Catch::Contains("item id 4")));
    o.neighbors = -1;
    CHECK_THROWS_MATCHES(recfuse::graph::cooccurrence_graph(ref, d.view(), o), recfuse::value_error,
                         test::what_is(Catch::Contains("recfuse::graph::cooccurrence_graph")));
  }
}

TEST_CASE("attribute_graph: shared attributes", "[graph][reference]") {
  // item 0: {0, 1}; item 1: {1}; item 2: {0, 1, 1}; item 3: {2}.
  std::vector<index_t> off = {0, 2, 3, 6, 7};
  std::vector<std::int32_t> ids = {1, 0, 1, 0, 1, 1, 2};
  const recfuse::csr_pattern_view<std::int32_t> p{4, 3, off.data(), ids.data()};
  auto g = recfuse::graph::attribute_graph<double>(ref, p);
  check_row(g, 0, {{2, 2}, {1, 1}});
  check_row(g, 1, {{0, 1}, {2, 1}});
  check_row(g, 2, {{0, 2}, {1, 1}});
  check_row(g, 3, {});
  recfuse::graph::attribute_options o;
  o.weight = edge_weight::jaccard;
  g = recfuse::graph::attribute_graph<double>(ref, p, o);
  check_row(g, 0, {{2, 1}, {1, 0.5}});
  check_row(g, 1, {{0, 0.5}, {2, 0.5}});
  o.weight = edge_weight::cosine;
  o.neighbors = 1;
  g = recfuse::graph::attribute_graph<double>(ref, p, o);
  check_row(g, 0, {{2, 1}});
  check_row(g, 1, {{0, 1 / std::sqrt(2.0)}});
  check_row(g, 2, {{0, 1}});
  check_row(g, 3, {});

  std::vector<std::int32_t> bad_ids = {1, 0, 1, 0, 3, 1, 2};
  const recfuse::csr_pattern_view<std::int32_t> bad{4, 3, off.data(), bad_ids.data()};
  CHECK_THROWS_MATCHES(recfuse::graph::attribute_graph<float>(ref, bad), recfuse::index_error,
                       test::what_is(Catch::Contains("recfuse::graph::attribute_graph")));
  std::vector<index_t> bad_off = {0, 2, 1, 6, 7};
  const recfuse::csr_pattern_view<std::int32_t> bad2{4, 3, bad_off.data(), ids.data()};
  CHECK_THROWS_AS(recfuse::graph::attribute_graph<float>(ref, bad2), recfuse::index_error);
}

TEST_CASE("knn_graph: inner product and cosine, self excluded, k clamped", "[graph][reference]") {
  std::vector<double> e = {1, 0, 0, 1, 1, 1, -1, 0};
  const recfuse::matrix_view<const double> ev{e.data(), 4, 2};
  auto g = recfuse::graph::knn_graph(ref, ev, 2, false);
  check_row(g, 0, {{2, 1}, {1, 0}});
  check_row(g, 1, {{2, 1}, {0, 0}});
  check_row(g, 2, {{0, 1}, {1, 1}});
  check_row(g, 3, {{1, 0}, {0, -1}});
  g = recfuse::graph::knn_graph(ref, ev, 10, true);  // clamped to 3
  const double r = 1 / std::sqrt(2.0);
  check_row(g, 0, {{2, r}, {1, 0}, {3, -1}});
  check_row(g, 2, {{0, r}, {1, r}, {3, -r}});
  g = recfuse::graph::knn_graph(ref, ev, 0);
  CHECK(g.nnz() == 0);
  CHECK(g.rows == 4);
  const auto one =
      recfuse::graph::knn_graph(ref, recfuse::matrix_view<const double>{e.data(), 1, 2}, 5);
  CHECK(one.rows == 1);
  CHECK(one.nnz() == 0);
  CHECK_THROWS_MATCHES(recfuse::graph::knn_graph(ref, ev, -1), recfuse::value_error,
                       test::what_is(Catch::Contains("recfuse::graph::knn_graph")));
}

TEST_CASE("aggregate: sum, mean, max, gcn, weighted or not", "[graph][reference]") {
  const auto g = four_nodes();
  using O = recfuse::graph::aggregate_options;
  check_values(run_aggregate(g, four_x, 2, O{aggregation::sum, false}),
               {5, 5, 4, -1.5, 0, 0, 0, 2});
  check_values(run_aggregate(g, four_x, 2, O{aggregation::sum, true}),
               {8.5, 3.5, 10, -0.5, 0, 0, 1, 0});
  check_values(run_aggregate(g, four_x, 2, O{aggregation::mean, false}),
               {5.0 / 3, 5.0 / 3, 2, -0.75, 0, 0, 0, 1});
  check_values(run_aggregate(g, four_x, 2, O{aggregation::mean, true}),
               {17.0 / 7, 1, 2.5, -0.125, 0, 0, 1.0 / 3, 0});
  check_values(run_aggregate(g, four_x, 2, O{aggregation::max, false}), {3, 4, 3, 0.5, 0, 0, 1, 4});
  check_values(run_aggregate(g, four_x, 2, O{aggregation::max, true}), {6, 2, 9, 1.5, 0, 0, 2, 4});
  // d = 1 + degree = {4, 3, 1, 3}; isolated node 2 keeps its own features.
  const double s12 = 1 / std::sqrt(12.0), s3 = 1 / std::sqrt(3.0);
  check_values(run_aggregate(g, four_x, 2, O{aggregation::gcn, false}),
               {0.25 + 2 * s12 * 3 - 0.5, -0.5 + 2 * s12 * 0.5 + 2,  // node 0
                2 + s12, 1.0 / 3 - 2 * s12,  // node 1: x1/3 + x1/3 + x0/sqrt(12)
                -1, 4,                       // node 2
                2.0 / 3 + s12 - s3, 2.0 / 3 - 2 * s12 + 4 * s3});  // node 3
  // weighted: d = {4.5, 5, 1, 4}.
  check_values(run_aggregate(g, four_x, 2, O{aggregation::gcn, true}),
               {1.883886557927734, 0.8145923631544569, 2.610818510677892, -0.02163702135578388, -1,
                4, 0.4714045207910318, 1.5571909584179364});
}

TEST_CASE("aggregate: NaN, ties, empty shapes", "[graph][reference]") {
  const auto g = four_nodes();
  auto x = four_x;
  x[4] = std::numeric_limits<double>::quiet_NaN();  // node 2, feature 0
  const auto out = run_aggregate(g, x, 2, {aggregation::max, false});
  CHECK(std::isnan(out[0]));  // row 0 sees node 2
  CHECK(out[1] == 4);
  CHECK(out[2] == 3);  // row 1 does not
  CHECK(std::isnan(out[6]));
  const auto s = run_aggregate(g, x, 2, {aggregation::sum, false});
  CHECK(std::isnan(s[0]));
  CHECK(s[2] == 4);

  // Max ties go to the first neighbour in the row: nodes 1 and 2 share the maximum.
  const auto t = make_graph<double>(3, {{{2, 1.0}, {1, 1.0}}, {}, {}});
  std::vector<double> tx = {0, 5, 5}, go = {1, 1, 1}, gx(3, -1.0);
  recfuse::graph::aggregate_backward(ref, t.view(), {tx.data(), 3, 1}, {go.data(), 3, 1},
                                     {gx.data(), 3, 1}, {aggregation::max, false});
  CHECK(gx == std::vector<double>{0, 0, 1});

  // 0 nodes, 0 features: nothing to do, no error.
  const recfuse::csr_matrix<double> none;
  std::vector<double> nothing;
  recfuse::graph::aggregate(ref, none.view(), {nothing.data(), 0, 3}, {nothing.data(), 0, 3});
  std::vector<double> o4(8, -1.0);
  recfuse::graph::aggregate(ref, g.view(), {four_x.data(), 4, 0}, {o4.data(), 4, 0});
  CHECK(o4[0] == -1.0);
}

TEST_CASE("aggregate: errors name the function", "[graph][reference]") {
  auto g = four_nodes();
  std::vector<double> out(8);
  const recfuse::matrix_view<const double> x{four_x.data(), 4, 2};
  const recfuse::matrix_view<double> y{out.data(), 4, 2};
  CHECK_THROWS_MATCHES(recfuse::graph::aggregate(ref, g.view(), {four_x.data(), 3, 2}, y),
                       recfuse::shape_error,
                       test::what_is(Catch::Contains("recfuse::graph::aggregate")));
  CHECK_THROWS_MATCHES(
      recfuse::graph::aggregate(ref, g.view(), x, {out.data(), 4, 1}), recfuse::shape_error,
      test::what_is(Catch::Contains("recfuse::graph::aggregate") && Catch::Contains("out")));
  std::vector<double> grad(8);
  CHECK_THROWS_MATCHES(
      recfuse::graph::aggregate_backward(ref, g.view(), x, {out.data(), 3, 2}, {grad.data(), 4, 2}),
      recfuse::shape_error, test::what_is(Catch::Contains("recfuse::graph::aggregate_backward")));
  auto bad = g;
  bad.indices[2] = 4;
  CHECK_THROWS_MATCHES(recfuse::graph::aggregate(ref, bad.view(), x, y), recfuse::index_error,
                       test::what_is(Catch::Contains("recfuse::graph::aggregate") &&
                                     Catch::Contains("column id 4")));
  auto nan = g;
  nan.values[1] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_MATCHES(
      recfuse::graph::aggregate(ref, nan.view(), x, y, {aggregation::mean, true}),
      recfuse::value_error,
      test::what_is(Catch::Contains("recfuse::graph::aggregate") && Catch::Contains("weight nan")));
  auto inf = g;
  inf.values[1] = std::numeric_limits<double>::infinity();
  CHECK_THROWS_MATCHES(
      recfuse::graph::aggregate(ref, inf.view(), x, y, {aggregation::gcn, true}),
      recfuse::value_error,
      test::what_is(Catch::Contains("recfuse::graph::aggregate") && Catch::Contains("weight inf")));
  CHECK_THROWS_AS(recfuse::graph::aggregate(ref, nan.view(), x, y, {aggregation::gcn, true}),
                  recfuse::value_error);
  CHECK_NOTHROW(recfuse::graph::aggregate(ref, nan.view(), x, y, {aggregation::mean, false}));
  auto neg = g;
  neg.values[3] = -5;  // row 1: 1 + (-5 + 1) <= 0
  CHECK_THROWS_AS(recfuse::graph::aggregate(ref, neg.view(), x, y, {aggregation::gcn, true}),
                  recfuse::value_error);
  // Non-square graph: fine for sum, a shape_error for gcn.
  const auto rect = make_graph<double>(2, {{{3, 1.0}}, {{0, 1.0}}}, 4);
  std::vector<double> o2(4);
  recfuse::graph::aggregate(ref, rect.view(), x, {o2.data(), 2, 2}, {aggregation::sum, false});
  CHECK(o2 == std::vector<double>{2, 2, 1, -2});
  CHECK_THROWS_MATCHES(
      recfuse::graph::aggregate(ref, rect.view(), x, {o2.data(), 2, 2}, {aggregation::gcn, false}),
      recfuse::shape_error, test::what_is(Catch::Contains("square")));
}

TEST_CASE("aggregate_backward matches central finite differences", "[graph][reference]") {
  const auto g = four_nodes();
  const index_t n = 4, d = 2;
  const auto r = test::random_vector<double>(n * d, 17);  // L = sum r * out
  auto loss = [&](const std::vector<double>& x, recfuse::graph::aggregate_options o) {
    const auto out = run_aggregate(g, x, d, o);
    double l = 0;
    for (std::size_t k = 0; k < out.size(); ++k) l += r[k] * out[k];
    return l;
  };
  for (const auto kind :
       {aggregation::sum, aggregation::mean, aggregation::max, aggregation::gcn}) {
    for (const bool weighted : {false, true}) {
      const recfuse::graph::aggregate_options o{kind, weighted};
      CAPTURE(static_cast<int>(kind), weighted);
      std::vector<double> gx(static_cast<std::size_t>(n * d), 99.0);
      recfuse::graph::aggregate_backward(ref, g.view(), {four_x.data(), n, d}, {r.data(), n, d},
                                         {gx.data(), n, d}, o);
      for (index_t k = 0; k < n * d; ++k) {
        CAPTURE(k);
        auto xp = four_x, xm = four_x;
        const double h = 1e-6;
        xp[k] += h;
        xm[k] -= h;
        const double fd = (loss(xp, o) - loss(xm, o)) / (2 * h);
        CHECK(test::close(gx[k], fd, 1e-6));
      }
    }
  }
}

TEST_CASE("sage_layer: initialisation and a hand-computed forward", "[graph][reference]") {
  recfuse::graph::sage_layer<double> layer(3, 2, {}, recfuse::nn::activation::relu, 7);
  CHECK(layer.parameter_count() == 2 * 6 + 2);
  CHECK(layer.weight().rows() == 2);
  CHECK(layer.weight().cols() == 6);
  const double bound = 1 / std::sqrt(6.0);
  double lo = 1, hi = -1;
  for (const double p : layer.parameters()) {
    lo = std::min(lo, p);
    hi = std::max(hi, p);
  }
  CHECK(lo >= -bound);
  CHECK(hi < bound);
  CHECK(hi - lo > bound / 2);  // not all equal
  recfuse::graph::sage_layer<double> same(3, 2, {}, recfuse::nn::activation::relu, 7);
  recfuse::graph::sage_layer<double> other(3, 2, {}, recfuse::nn::activation::relu, 8);
  CHECK(std::vector<double>(same.parameters().begin(), same.parameters().end()) ==
        std::vector<double>(layer.parameters().begin(), layer.parameters().end()));
  CHECK(other.parameters()[0] != layer.parameters()[0]);

  // Two nodes linked both ways, 1 feature, mean aggregation: agg(0) = x1, agg(1) = x0.
  recfuse::graph::sage_layer<double> two(1, 2, {aggregation::mean, false},
                                         recfuse::nn::activation::relu);
  const double params[] = {2, 3, 2, -3, 0.5, 0.5};
  std::copy(std::begin(params), std::end(params), two.parameters().begin());
  const auto g = make_graph<double>(2, {{{1, 1.0}}, {{0, 1.0}}});
  std::vector<double> x = {1, 4}, y(4);
  two.forward(ref, g.view(), {x.data(), 2, 1}, {y.data(), 2, 2});
  // node 0: 2*1 + 3*4 + .5 = 14.5, relu(2*1 - 3*4 + .5) = 0; node 1: 2*4 + 3*1 + .5, 2*4 - 3 + .5
  CHECK(y == std::vector<double>{14.5, 0, 11.5, 5.5});

  std::vector<double> gp(6), gx(2);
  CHECK_THROWS_MATCHES(layer.backward(ref, g.view(), {x.data(), 2, 1}, {y.data(), 2, 2},
                                      test::mview(gp), {gx.data(), 2, 1}),
                       recfuse::shape_error,
                       test::what_is(Catch::Contains("recfuse::graph::sage_layer::backward")));
  recfuse::graph::sage_layer<double> fresh(1, 2);
  CHECK_THROWS_MATCHES(fresh.backward(ref, g.view(), {x.data(), 2, 1}, {y.data(), 2, 2},
                                      test::mview(gp), {gx.data(), 2, 1}),
                       recfuse::value_error, test::what_is(Catch::Contains("forward")));
  CHECK_THROWS_MATCHES(two.forward(ref, g.view(), {x.data(), 1, 1}, {y.data(), 1, 2}),
                       recfuse::shape_error,
                       test::what_is(Catch::Contains("recfuse::graph::sage_layer::forward")));
  CHECK_THROWS_AS(recfuse::graph::sage_layer<float>(0, 2), recfuse::value_error);
}

TEST_CASE("sage_layer: backward matches central finite differences", "[graph][reference]") {
  // 5 nodes: a duplicate edge, a self loop, an isolated node.
  const auto g = make_graph<double>(5, {{{1, 0.5}, {1, 1.0}, {3, 2.0}},
                                        {{1, 1.5}, {2, 1.0}},
                                        {},
                                        {{0, 1.0}, {4, 0.25}},
                                        {{2, 3.0}}});
  const index_t n = 5, in = 3, out = 2;
  const auto x0 = test::random_vector<double>(n * in, 3);
  const auto r = test::random_vector<double>(n * out, 4);
  for (const auto kind :
       {aggregation::sum, aggregation::mean, aggregation::max, aggregation::gcn}) {
    for (const bool weighted : {false, true}) {
      CAPTURE(static_cast<int>(kind), weighted);
      recfuse::graph::sage_layer<double> layer(in, out, {kind, weighted},
                                               recfuse::nn::activation::sigmoid, 11);
      std::vector<double> y(static_cast<std::size_t>(n * out));
      auto loss = [&](const std::vector<double>& x) {
        layer.forward(ref, g.view(), {x.data(), n, in}, {y.data(), n, out});
        double l = 0;
        for (std::size_t k = 0; k < y.size(); ++k) l += r[k] * y[k];
        return l;
      };
      loss(x0);
      std::vector<double> gp(static_cast<std::size_t>(layer.parameter_count())), gx(x0.size());
      layer.backward(ref, g.view(), {x0.data(), n, in}, {r.data(), n, out}, test::mview(gp),
                     {gx.data(), n, in});
      const double h = 1e-6;
      for (index_t k = 0; k < layer.parameter_count(); ++k) {
        CAPTURE(k);
        const double keep = layer.parameters()[k];
        layer.parameters()[k] = keep + h;
        const double lp = loss(x0);
        layer.parameters()[k] = keep - h;
        const double lm = loss(x0);
        layer.parameters()[k] = keep;
        CHECK(test::close(gp[k], (lp - lm) / (2 * h), 1e-6));
      }
      for (index_t k = 0; k < n * in; ++k) {
        CAPTURE(k);
        auto xp = x0, xm = x0;
        xp[k] += h;
        xm[k] -= h;
        CHECK(test::close(gx[k], (loss(xp) - loss(xm)) / (2 * h), 1e-6));
      }
      // An empty grad_x skips the input gradient; parameters are still computed.
      loss(x0);
      std::vector<double> gp2(gp.size());
      layer.backward(ref, g.view(), {x0.data(), n, in}, {r.data(), n, out}, test::mview(gp2),
                     recfuse::matrix_view<double>{});
      CHECK(gp2 == gp);
    }
  }
}

TEST_CASE("graph: NaN embeddings, bad user ids, empty layers", "[graph][reference]") {
  // A NaN embedding scores NaN against everyone: it is never selected and selects nobody.
  std::vector<double> e = {1, 0, 0, 1, std::numeric_limits<double>::quiet_NaN(), 1};
  const auto g =
      recfuse::graph::knn_graph(ref, recfuse::matrix_view<const double>{e.data(), 3, 2}, 2, false);
  check_row(g, 0, {{1, 0}});
  check_row(g, 1, {{0, 0}});
  check_row(g, 2, {});

  recfuse::interactions<float> d;
  d.users = 2;
  d.items = 2;
  d.user = {0, 2};
  d.item = {0, 1};
  d.value = {1, 1};
  CHECK_THROWS_MATCHES(recfuse::graph::cooccurrence_graph(ref, d.view()), recfuse::index_error,
                       test::what_is(Catch::Contains("recfuse::graph::cooccurrence_graph") &&
                                     Catch::Contains("user id 2")));

  // 0 nodes: forward and backward run, the parameter gradient is all zeros.
  recfuse::graph::sage_layer<double> layer(2, 3);
  const recfuse::csr_matrix<double> none;
  std::vector<double> nothing, gp(static_cast<std::size_t>(layer.parameter_count()), 5.0);
  layer.forward(ref, none.view(), {nothing.data(), 0, 2}, {nothing.data(), 0, 3});
  layer.backward(ref, none.view(), {nothing.data(), 0, 2}, {nothing.data(), 0, 3}, test::mview(gp),
                 {nothing.data(), 0, 2});
  CHECK(gp == std::vector<double>(gp.size(), 0.0));
}
