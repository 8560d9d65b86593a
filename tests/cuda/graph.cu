// The graph family on the GPU: the public graph::aggregate and graph::aggregate_backward on
// device views (csr_view / matrix_view in device_memory) under exec::thrust<thrust::cuda::tag>,
// against the reference on host copies, for float and double, every aggregation, weighted or
// not, graphs of 0, 1, 37 (odd) and 3000 (power-law) nodes and feature widths 1, 9 (a partial
// tile) and 64; a strided output; and the builders (cooccurrence_graph, attribute_graph), which
// run on the host under the CUDA policy and must return the reference's graph bit for bit. A
// plain program (exit status 1 on any mismatch); without a GPU it exits 77
// (ctest: skipped).
#include <cuda_runtime_api.h>
#include <thrust/device_vector.h>

#include <algorithm>  // test_data.hpp uses std::max without including it
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "device_test.hpp"
#include "recfuse/thrust/all.hpp"
#include "test_data.hpp"

namespace {

using recfuse::device_memory;
using recfuse::index_t;
using recfuse::graph::aggregation;
using gpu_policy = recfuse::exec::thrust<thrust::cuda::tag>;
constexpr recfuse::exec::reference ref{};

template <class T>
T* raw(thrust::device_vector<T>& d) {
  return thrust::raw_pointer_cast(d.data());
}

// n nodes with power-law out-degrees up to max_degree, duplicates and self loops included;
// weights in [0.25, 2).
template <class T>
recfuse::csr_matrix<T> random_graph(index_t n, std::uint64_t seed, index_t max_degree) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  recfuse::csr_matrix<T> g;
  g.rows = g.cols = n;
  for (index_t i = 0; i < n; ++i) {
    const auto deg =
        static_cast<index_t>(std::pow(static_cast<double>(max_degree + 1), unit(rng))) - 1;
    for (index_t e = 0; e < deg; ++e) {
      const auto j =
          std::min(n - 1, static_cast<index_t>(std::pow(static_cast<double>(n), unit(rng))) - 1);
      g.indices.push_back(static_cast<std::int32_t>((j * 7919) % n));
      g.values.push_back(static_cast<T>(0.25 + 1.75 * unit(rng)));
    }
    g.offsets.push_back(static_cast<index_t>(g.indices.size()));
  }
  return g;
}

bool same_or_close(double a, double b, double tol) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return recfuse::test::close(a, b, tol);
}

// Counts one check per comparison; prints the first mismatching element.
template <class T>
void expect_all_close(const std::vector<T>& got, const std::vector<T>& want, const char* what,
                      const char* type, index_t n) {
  const double tol = recfuse::test::tolerance<T>();
  bool ok = got.size() == want.size();
  for (std::size_t k = 0; ok && k < got.size(); ++k) {
    if (!same_or_close(got[k], want[k], tol)) {
      recfuse::test::expect(false, what, type, n, got[k], want[k]);
      return;
    }
  }
  recfuse::test::expect(ok, what, type, n);
}

template <class T>
void compare_aggregate(const gpu_policy& gpu, const recfuse::csr_matrix<T>& g, index_t d,
                       const char* type) {
  const index_t n = g.rows;
  const auto x = recfuse::test::random_vector<T>(n * d, 7 + n + d);
  auto go = recfuse::test::random_vector<T>(n * d, 9 + n + d);
  thrust::device_vector<index_t> doff(g.offsets.begin(), g.offsets.end());
  thrust::device_vector<std::int32_t> didx(g.indices.begin(), g.indices.end());
  thrust::device_vector<T> dval(g.values.begin(), g.values.end());
  auto dx = recfuse::test::to_device(x), dgo = recfuse::test::to_device(go);
  thrust::device_vector<T> dout(static_cast<std::size_t>(n * d), T(-7)), dgx(dout.size(), T(-7));
  const recfuse::csr_view<T, std::int32_t, device_memory> dg{n, n, raw(doff), raw(didx),
                                                             dval.empty() ? nullptr : raw(dval)};
  const recfuse::matrix_view<const T, device_memory> dxv{raw(dx), n, d}, dgov{raw(dgo), n, d};
  const recfuse::matrix_view<T, device_memory> doutv{raw(dout), n, d}, dgxv{raw(dgx), n, d};
  for (const auto kind :
       {aggregation::sum, aggregation::mean, aggregation::max, aggregation::gcn}) {
    for (const bool weighted : {false, true}) {
      const recfuse::graph::aggregate_options o{kind, weighted};
      std::vector<T> want(static_cast<std::size_t>(n * d)), bwant(want.size());
      recfuse::graph::aggregate(ref, g.view(), {x.data(), n, d}, {want.data(), n, d}, o);
      recfuse::graph::aggregate_backward(ref, g.view(), {x.data(), n, d}, {go.data(), n, d},
                                         {bwant.data(), n, d}, o);
      recfuse::graph::aggregate(gpu, dg, dxv, doutv, o);
      recfuse::graph::aggregate_backward(gpu, dg, dxv, dgov, dgxv, o);
      const bool run = n > 0 && d > 0;
      expect_all_close(run ? recfuse::test::to_host(dout) : want, want, "aggregate", type, n * d);
      expect_all_close(run ? recfuse::test::to_host(dgx) : bwant, bwant, "aggregate_backward", type,
                       n * d);
    }
  }
}

// A strided output (stride 13 for 9 columns): padding untouched.
template <class T>
void strided_output(const gpu_policy& gpu, const char* type) {
  const auto g = random_graph<T>(37, 3, 12);
  const index_t n = g.rows, d = 9, ld = 13;
  const auto x = recfuse::test::random_vector<T>(n * d, 5);
  thrust::device_vector<index_t> doff(g.offsets.begin(), g.offsets.end());
  thrust::device_vector<std::int32_t> didx(g.indices.begin(), g.indices.end());
  thrust::device_vector<T> dval(g.values.begin(), g.values.end());
  auto dx = recfuse::test::to_device(x);
  thrust::device_vector<T> dout(static_cast<std::size_t>(n * ld), T(-3));
  const recfuse::csr_view<T, std::int32_t, device_memory> dg{n, n, raw(doff), raw(didx), raw(dval)};
  const recfuse::graph::aggregate_options o{aggregation::gcn, true};
  recfuse::graph::aggregate(gpu, dg, {raw(dx), n, d}, {raw(dout), n, d, ld}, o);
  std::vector<T> want(static_cast<std::size_t>(n * d));
  recfuse::graph::aggregate(ref, g.view(), {x.data(), n, d}, {want.data(), n, d}, o);
  const auto got = recfuse::test::to_host(dout);
  std::vector<T> packed(want.size());
  bool padding = true;
  for (index_t i = 0; i < n; ++i) {
    for (index_t c = 0; c < ld; ++c) {
      if (c < d) packed[i * d + c] = got[i * ld + c];
      if (c >= d) padding = padding && got[i * ld + c] == T(-3);
    }
  }
  expect_all_close(packed, want, "aggregate strided", type, n * d);
  recfuse::test::expect(padding, "aggregate strided padding", type, n * ld);
}

// The builders under the CUDA policy run on the host: the reference's graph bit for bit.
template <class T>
void builders(const gpu_policy& gpu, const char* type) {
  recfuse::interactions<T> data;
  data.users = 300;
  data.items = 200;
  std::mt19937_64 rng(21);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int e = 0; e < 6000; ++e) {
    data.user.push_back(static_cast<std::int32_t>(std::min(299.0, std::pow(300.0, unit(rng)) - 1)));
    data.item.push_back(static_cast<std::int32_t>(std::min(199.0, std::pow(200.0, unit(rng)) - 1)));
    data.value.push_back(T(1));
  }
  for (const auto w : {recfuse::graph::edge_weight::count, recfuse::graph::edge_weight::cosine,
                       recfuse::graph::edge_weight::jaccard}) {
    const recfuse::graph::cooccurrence_options o{5, w, 2};
    const auto want = recfuse::graph::cooccurrence_graph(ref, data.view(), o);
    const auto got = recfuse::graph::cooccurrence_graph(gpu, data.view(), o);
    recfuse::test::expect(got.offsets == want.offsets && got.indices == want.indices &&
                              got.values == want.values && want.nnz() > 0,
                          "cooccurrence_graph", type, want.nnz());
    const auto by_user = recfuse::to_csr(data.view());
    const recfuse::graph::attribute_options ao{4, w};
    const auto awant = recfuse::graph::attribute_graph<T>(ref, by_user.pattern(), ao);
    const auto agot = recfuse::graph::attribute_graph<T>(gpu, by_user.pattern(), ao);
    recfuse::test::expect(agot.offsets == awant.offsets && agot.indices == awant.indices &&
                              agot.values == awant.values,
                          "attribute_graph", type, awant.nnz());
  }
}

template <class T>
void run(const char* type, cudaStream_t stream) {
  const gpu_policy gpu{stream};
  recfuse::csr_matrix<T> one;
  one.rows = one.cols = 1;
  one.offsets = {0, 2};
  one.indices = {0, 0};
  one.values = {T(0.5), T(1.5)};
  const recfuse::csr_matrix<T> graphs[] = {
      recfuse::csr_matrix<T>{}, one, random_graph<T>(37, 11, 12), random_graph<T>(3000, 13, 300)};
  for (const auto& g : graphs) {
    for (const index_t d : {1, 9, 64}) compare_aggregate(gpu, g, d, type);
  }
  strided_output<T>(gpu, type);
  builders<T>(gpu, type);
}

}  // namespace

int main() {
  return recfuse::test::run_device_tests("recfuse_cuda_graph", [] {
    cudaStream_t stream = nullptr;
    if (cudaStreamCreate(&stream) != cudaSuccess) {
      recfuse::test::expect(false, "cudaStreamCreate", "-", 0);
      return;
    }
    run<float>("float", stream);
    run<double>("double", nullptr);  // the default stream
    cudaStreamDestroy(stream);
  });
}
