// The graph family on a backend vs the reference: builders (identical graphs), aggregation and
// its backward pass (within rounding; bit-identical for any thread count), sage_layer.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "backend.hpp"
#include "recfuse/graph/aggregate.hpp"
#include "recfuse/graph/builders.hpp"
#include "recfuse/graph/sage.hpp"
#if defined(RECFUSE_TEST_BACKEND_XSIMD)
#include "recfuse/xsimd/graph/aggregate.hpp"
#include "recfuse/xsimd/graph/builders.hpp"
#include "recfuse/xsimd/graph/sage.hpp"
#elif defined(RECFUSE_TEST_BACKEND_KOKKOS)
#include "recfuse/kokkos/graph/aggregate.hpp"
#include "recfuse/kokkos/graph/builders.hpp"
#include "recfuse/kokkos/graph/sage.hpp"
#endif
#include "test_support.hpp"

namespace {

using recfuse::index_t;
using recfuse::graph::aggregation;
namespace test = recfuse::test;
constexpr recfuse::exec::reference ref{};

// A random graph of n nodes whose out-degrees follow a power law (a few hubs with hundreds of
// edges, many nodes with none), neighbours drawn with a popularity skew too, so duplicates and
// self loops occur. Weights in [0.25, 2).
template <class T>
recfuse::csr_matrix<T> random_graph(index_t n, std::uint64_t seed, index_t max_degree = 300) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  recfuse::csr_matrix<T> g;
  g.rows = g.cols = n;
  for (index_t i = 0; i < n; ++i) {
    const auto deg =
        static_cast<index_t>(std::pow(static_cast<double>(max_degree + 1), unit(rng))) - 1;
    for (index_t e = 0; e < deg && n > 0; ++e) {
      const auto j =
          std::min(n - 1, static_cast<index_t>(std::pow(static_cast<double>(n), unit(rng))) - 1);
      g.indices.push_back(static_cast<std::int32_t>((j * 7919) % n));
      g.values.push_back(static_cast<T>(0.25 + 1.75 * unit(rng)));
    }
    g.offsets.push_back(static_cast<index_t>(g.indices.size()));
  }
  return g;
}

template <class T>
index_t max_degree(const recfuse::csr_matrix<T>& g) {
  index_t m = 0;
  std::vector<index_t> in(static_cast<std::size_t>(g.cols), 0);
  for (index_t i = 0; i < g.rows; ++i) m = std::max(m, g.offsets[i + 1] - g.offsets[i]);
  for (const auto j : g.indices) m = std::max(m, ++in[j]);
  return m;
}

template <class T>
void check_close(const std::vector<T>& got, const std::vector<T>& want, const std::vector<T>& scale,
                 double rel) {
  REQUIRE(got.size() == want.size());
  index_t bad = 0;
  for (std::size_t k = 0; k < got.size(); ++k) {
    const double a = got[k], b = want[k];
    if (std::isnan(b) ? !std::isnan(a)
                      : std::abs(a - b) > rel * std::max(1.0, std::abs(double(scale[k])))) {
      if (bad++ < 5) {
        CAPTURE(k, a, b, scale[k]);
        CHECK(false);
      }
    }
  }
  CHECK(bad == 0);
}

template <class T, class P>
std::vector<T> run_forward(const P& p, const recfuse::csr_matrix<T>& g, const std::vector<T>& x,
                           index_t d, recfuse::graph::aggregate_options o) {
  std::vector<T> out(static_cast<std::size_t>(g.rows * d), T(-7));
  recfuse::graph::aggregate(p, g.view(), {x.data(), g.cols, d}, {out.data(), g.rows, d}, o);
  return out;
}

template <class T, class P>
std::vector<T> run_backward(const P& p, const recfuse::csr_matrix<T>& g, const std::vector<T>& x,
                            const std::vector<T>& go, index_t d,
                            recfuse::graph::aggregate_options o) {
  std::vector<T> gx(static_cast<std::size_t>(g.cols * d), T(-7));
  recfuse::graph::aggregate_backward(p, g.view(), {x.data(), g.cols, d}, {go.data(), g.rows, d},
                                     {gx.data(), g.cols, d}, o);
  return gx;
}

template <class T>
void compare_aggregate(const recfuse::csr_matrix<T>& g, index_t d, std::uint64_t seed) {
  const auto backend = test::backend_policy();
  const auto x = test::random_vector<T>(g.cols * d, seed);
  const auto go = test::random_vector<T>(g.rows * d, seed + 1);
  std::vector<T> ax(x.size()), ago(go.size());
  for (std::size_t k = 0; k < x.size(); ++k) ax[k] = std::abs(x[k]);
  for (std::size_t k = 0; k < go.size(); ++k) ago[k] = std::abs(go[k]);
  const double rel = 8 * std::numeric_limits<T>::epsilon() * static_cast<double>(max_degree(g) + 2);
  for (const auto kind :
       {aggregation::sum, aggregation::mean, aggregation::max, aggregation::gcn}) {
    for (const bool weighted : {false, true}) {
      const recfuse::graph::aggregate_options o{kind, weighted};
      CAPTURE(static_cast<int>(kind), weighted);
      const auto want = run_forward(ref, g, x, d, o);
      const auto got = run_forward(backend, g, x, d, o);
      check_close(got, want, run_forward(ref, g, ax, d, o), rel);
      const auto bwant = run_backward(ref, g, x, go, d, o);
      const auto bgot = run_backward(backend, g, x, go, d, o);
      check_close(bgot, bwant, run_backward(ref, g, x, ago, d, o), rel);
#if defined(RECFUSE_TEST_BACKEND_XSIMD)
      // The thread count never changes a bit.
      CHECK(run_forward(recfuse::exec::xsimd{1}, g, x, d, o) == got);
      CHECK(run_backward(recfuse::exec::xsimd{1}, g, x, go, d, o) == bgot);
      CHECK(run_forward(recfuse::exec::xsimd{3}, g, x, d, o) == got);
#elif defined(RECFUSE_TEST_BACKEND_KOKKOS) && defined(KOKKOS_ENABLE_SERIAL)
      // Deterministic gathers: the same bits on Kokkos::Serial as on the tested space, whatever
      // its thread count (the OpenMP program also runs with 1 thread).
      CHECK(run_forward(recfuse::exec::kokkos<Kokkos::Serial>{}, g, x, d, o) == got);
      CHECK(run_backward(recfuse::exec::kokkos<Kokkos::Serial>{}, g, x, go, d, o) == bgot);
#endif
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("graph aggregate: backend vs reference", "[graph][backend]", float, double) {
  using T = TestType;
  SECTION("0 nodes and 1 node") {
    for (const index_t d : {1, 3, 8, 9}) {
      compare_aggregate(recfuse::csr_matrix<T>{}, d, 1);
      auto one = recfuse::csr_matrix<T>{};
      one.rows = one.cols = 1;
      one.offsets.push_back(0);
      compare_aggregate(one, d, 2);  // isolated
      one.offsets[1] = 2;
      one.indices = {0, 0};
      one.values = {T(0.5), T(1.5)};
      compare_aggregate(one, d, 3);  // a doubled self loop
    }
  }
  SECTION("odd widths on a small random graph") {
    const auto g = random_graph<T>(60, 5, 40);
    for (const index_t d : {1, 3, 7, 9, 16, 17, 33, 64, 65}) {
      CAPTURE(d);
      compare_aggregate(g, d, static_cast<std::uint64_t>(d));
    }
  }
  SECTION("power-law graph with 2000 nodes") {
    const auto g = random_graph<T>(2000, 9);
    for (const index_t d : {9, 64, 65}) {
      CAPTURE(d);
      compare_aggregate(g, d, 100 + static_cast<std::uint64_t>(d));
    }
  }
  SECTION("exact ties, signed zeros and NaN in x: max's tie rule, forward and backward") {
    const auto g = random_graph<T>(200, 13, 30);
    for (const index_t d : {5, 8, 13}) {
      auto x = test::random_vector<T>(g.cols * d, 40 + static_cast<std::uint64_t>(d));
      for (std::size_t k = 0; k < x.size(); ++k) {
        x[k] = std::round(x[k] * T(2)) / T(2);  // a few levels: many exact ties
        if (k % 53 == 0) x[k] = -T(0);
        if (k % 97 == 0) x[k] = std::numeric_limits<T>::quiet_NaN();
      }
      const auto go = test::random_vector<T>(g.rows * d, 41);
      for (const auto kind : {aggregation::max, aggregation::sum}) {
        for (const bool weighted : {false, true}) {
          CAPTURE(d, static_cast<int>(kind), weighted);
          const recfuse::graph::aggregate_options o{kind, weighted};
          const auto want = run_forward(ref, g, x, d, o);
          check_close(run_forward(test::backend_policy(), g, x, d, o), want, want, 1e-5);
          const auto bwant = run_backward(ref, g, x, go, d, o);
          check_close(run_backward(test::backend_policy(), g, x, go, d, o), bwant, bwant, 1e-5);
        }
      }
    }
  }
  SECTION("strided views and NaN") {
    const auto g = random_graph<T>(100, 4, 20);
    const index_t d = 11, ld = 16;
    auto xs = test::random_vector<T>(g.cols * ld, 8);
    xs[5 * ld + 3] = std::numeric_limits<T>::quiet_NaN();
    std::vector<T> x(static_cast<std::size_t>(g.cols * d));
    for (index_t i = 0; i < g.cols; ++i) {
      for (index_t c = 0; c < d; ++c) x[i * d + c] = xs[i * ld + c];
    }
    for (const auto kind : {aggregation::sum, aggregation::max, aggregation::gcn}) {
      const recfuse::graph::aggregate_options o{kind, true};
      std::vector<T> out(static_cast<std::size_t>(g.rows * ld), T(-3));
      recfuse::graph::aggregate(test::backend_policy(), g.view(), {xs.data(), g.cols, d, ld},
                                {out.data(), g.rows, d, ld}, o);
      const auto want = run_forward(ref, g, x, d, o);
      for (index_t i = 0; i < g.rows; ++i) {
        for (index_t c = 0; c < ld; ++c) {
          CAPTURE(i, c, static_cast<int>(kind));
          if (c >= d) {
            CHECK(out[i * ld + c] == T(-3));
          } else if (std::isnan(want[i * d + c])) {
            CHECK(std::isnan(out[i * ld + c]));
          } else {
            CHECK(out[i * ld + c] == Approx(want[i * d + c]).epsilon(1e-4).margin(1e-4));
          }
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("graph builders: backend vs reference", "[graph][backend]", float, double) {
  using T = TestType;
  const auto backend = test::backend_policy();
  // Interactions with power-law users and items, duplicates included.
  recfuse::interactions<T> d;
  d.users = 300;
  d.items = 200;
  std::mt19937_64 rng(21);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int e = 0; e < 6000; ++e) {
    d.user.push_back(static_cast<std::int32_t>(std::min(299.0, std::pow(300.0, unit(rng)) - 1)));
    d.item.push_back(static_cast<std::int32_t>(std::min(199.0, std::pow(200.0, unit(rng)) - 1)));
    d.value.push_back(T(1));
  }
  auto same = [](const recfuse::csr_matrix<T>& a, const recfuse::csr_matrix<T>& b) {
    CHECK(a.rows == b.rows);
    CHECK(a.offsets == b.offsets);
    CHECK(a.indices == b.indices);
    CHECK(a.values == b.values);
  };
  for (const auto w : {recfuse::graph::edge_weight::count, recfuse::graph::edge_weight::cosine,
                       recfuse::graph::edge_weight::jaccard}) {
    for (const index_t m : {0, 5}) {
      for (const index_t min_count : {1, 3}) {
        CAPTURE(static_cast<int>(w), m, min_count);
        const recfuse::graph::cooccurrence_options o{m, w, min_count};
        const auto want = recfuse::graph::cooccurrence_graph(ref, d.view(), o);
        CHECK(want.nnz() > 0);
        same(recfuse::graph::cooccurrence_graph(backend, d.view(), o), want);
#if defined(RECFUSE_TEST_BACKEND_XSIMD)
        same(recfuse::graph::cooccurrence_graph(recfuse::exec::xsimd{1}, d.view(), o), want);
#if defined(_OPENMP)
        // Called from inside the caller's own parallel region with more threads than the
        // policy has (the builder used to index its scratch by the caller's thread number).
        std::vector<recfuse::csr_matrix<T>> nested(4);
#pragma omp parallel for num_threads(4)
        for (int t = 0; t < 4; ++t)
          nested[static_cast<std::size_t>(t)] =
              recfuse::graph::cooccurrence_graph(recfuse::exec::xsimd{1 + t % 2}, d.view(), o);
        for (const auto& g : nested) same(g, want);
#endif
#endif
      }
    }
    const auto by_user = recfuse::to_csr(d.view());  // users as "items" with items as attributes
    const recfuse::graph::attribute_options ao{4, w};
    same(recfuse::graph::attribute_graph<T>(backend, by_user.pattern(), ao),
         recfuse::graph::attribute_graph<T>(ref, by_user.pattern(), ao));
  }
  // knn: same neighbours up to near-ties, weights within rounding.
  const index_t n = 150, dim = 12;
  const auto e = test::random_vector<T>(n * dim, 31);
  for (const bool cosine : {false, true}) {
    for (const index_t k : {0, 1, 10, 200}) {
      CAPTURE(cosine, k);
      const recfuse::matrix_view<const T> ev{e.data(), n, dim};
      const auto want = recfuse::graph::knn_graph(ref, ev, k, cosine);
      const auto got = recfuse::graph::knn_graph(backend, ev, k, cosine);
      REQUIRE(got.offsets == want.offsets);
      for (index_t q = 0; q < got.nnz(); ++q) {
        CHECK(got.values[q] == Approx(want.values[q]).epsilon(1e-4).margin(1e-5));
        // The neighbour itself must agree unless its value ties (within rounding) with the
        // one before or after it in the row.
        const auto tie = [&](index_t a, index_t b) {
          return std::abs(static_cast<double>(want.values[a] - want.values[b])) <= 1e-4;
        };
        const index_t row =
            static_cast<index_t>(std::upper_bound(want.offsets.begin(), want.offsets.end(), q) -
                                 want.offsets.begin() - 1);
        const bool near_tie = (q > want.offsets[row] && tie(q, q - 1)) ||
                              (q + 1 < want.offsets[row + 1] && tie(q, q + 1));
        if (!near_tie) CHECK(got.indices[q] == want.indices[q]);
      }
    }
  }
}

TEMPLATE_TEST_CASE("sage_layer: backend vs reference", "[graph][backend]", float, double) {
  using T = TestType;
  const auto g = random_graph<T>(300, 12, 30);
  const index_t in = 17, out = 9;
  const auto x = test::random_vector<T>(g.rows * in, 1);
  const auto go = test::random_vector<T>(g.rows * out, 2);
  for (const auto kind : {aggregation::mean, aggregation::gcn, aggregation::max}) {
    CAPTURE(static_cast<int>(kind));
    recfuse::graph::sage_layer<T> a(in, out, {kind, true}, recfuse::nn::activation::sigmoid, 5),
        b = a;
    std::vector<T> ya(static_cast<std::size_t>(g.rows * out)), yb(ya.size());
    a.forward(ref, g.view(), {x.data(), g.rows, in}, {ya.data(), g.rows, out});
    b.forward(test::backend_policy(), g.view(), {x.data(), g.rows, in}, {yb.data(), g.rows, out});
    for (std::size_t k = 0; k < ya.size(); ++k)
      CHECK(yb[k] == Approx(ya[k]).epsilon(1e-4).margin(1e-5));
    std::vector<T> pa(static_cast<std::size_t>(a.parameter_count())), pb(pa.size());
    std::vector<T> xa(x.size()), xb(x.size());
    a.backward(ref, g.view(), {x.data(), g.rows, in}, {go.data(), g.rows, out}, test::mview(pa),
               {xa.data(), g.rows, in});
    b.backward(test::backend_policy(), g.view(), {x.data(), g.rows, in}, {go.data(), g.rows, out},
               test::mview(pb), {xb.data(), g.rows, in});
    for (std::size_t k = 0; k < pa.size(); ++k)
      CHECK(pb[k] == Approx(pa[k]).epsilon(1e-3).margin(1e-3));
    for (std::size_t k = 0; k < xa.size(); ++k)
      CHECK(xb[k] == Approx(xa[k]).epsilon(1e-3).margin(1e-4));
  }
}

#if defined(RECFUSE_TEST_BACKEND_KOKKOS)
TEST_CASE("kokkos graph: segment sort and the transposed edge lists", "[graph][backend][kokkos]") {
  namespace kd = recfuse::kokkos_backend::detail;
  const auto p = test::backend_policy();
  SECTION("sort_segments: empty, single, sorted, reversed and shuffled segments") {
    std::mt19937_64 rng(77);
    const std::vector<index_t> sizes = {0, 1, 2, 3, 0, 17, 1000, 4097, 5, 2};
    std::vector<index_t> offsets{0}, values, want;
    for (std::size_t s = 0; s < sizes.size(); ++s) {
      std::vector<index_t> seg(static_cast<std::size_t>(sizes[s]));
      for (std::size_t k = 0; k < seg.size(); ++k) seg[k] = static_cast<index_t>(rng() % 1000000);
      auto sorted = seg;
      std::sort(sorted.begin(), sorted.end());
      if (s % 3 == 0) seg = sorted;
      if (s % 3 == 1) std::reverse_copy(sorted.begin(), sorted.end(), seg.begin());
      values.insert(values.end(), seg.begin(), seg.end());
      want.insert(want.end(), sorted.begin(), sorted.end());
      offsets.push_back(static_cast<index_t>(values.size()));
    }
    const auto segs = static_cast<index_t>(sizes.size());
    auto off = kd::make_buffer<index_t>(p, "off", segs + 1);
    auto val = kd::make_buffer<index_t>(p, "val", static_cast<index_t>(values.size()));
    for (index_t k = 0; k <= segs; ++k) off(k) = offsets[static_cast<std::size_t>(k)];
    for (std::size_t k = 0; k < values.size(); ++k) val(k) = values[k];
    kd::sort_segments(p, off, val, segs);
    p.instance.fence();
    std::vector<index_t> got(values.size());
    for (std::size_t k = 0; k < got.size(); ++k) got[k] = val(k);
    CHECK(got == want);
  }
  SECTION("transpose_edges on a power-law graph and an empty one") {
    for (const index_t n : {0, 1, 2000}) {
      CAPTURE(n);
      const auto g = n == 0 ? recfuse::csr_matrix<float>{} : random_graph<float>(n, 9);
      const index_t rows = g.rows, cols = g.cols, nnz = g.nnz();
      // Serial stable transpose: edges of each column in increasing id order.
      std::vector<index_t> w_off(static_cast<std::size_t>(cols + 1), 0), w_edges, w_source;
      for (const auto j : g.indices) ++w_off[static_cast<std::size_t>(j) + 1];
      for (index_t j = 0; j < cols; ++j) w_off[j + 1] += w_off[j];
      std::vector<index_t> next(w_off.begin(), w_off.end() - 1);
      w_edges.resize(static_cast<std::size_t>(nnz));
      w_source.resize(static_cast<std::size_t>(nnz));
      for (index_t i = 0; i < rows; ++i) {
        for (index_t e = g.offsets[i]; e < g.offsets[i + 1]; ++e) {
          w_edges[static_cast<std::size_t>(next[g.indices[e]]++)] = e;
          w_source[static_cast<std::size_t>(e)] = i;
        }
      }
      const auto t = kd::transpose_edges(p, g.offsets.data(), g.indices.data(), rows, cols);
      p.instance.fence();
      REQUIRE(static_cast<index_t>(t.offsets.extent(0)) == cols + 1);
      REQUIRE(static_cast<index_t>(t.edges.extent(0)) == nnz);
      for (index_t j = 0; j <= cols; ++j) CHECK(t.offsets(j) == w_off[j]);
      index_t bad = 0;
      for (index_t k = 0; k < nnz; ++k) {
        const index_t we = w_edges[static_cast<std::size_t>(k)];
        bad += t.edges(k) != we;
        bad += t.rows(k) != w_source[static_cast<std::size_t>(we)];
      }
      CHECK(bad == 0);
    }
  }
}
#endif
