// Explicit biased MF on the GPU under exec::thrust<thrust::cuda::tag>, against the reference on
// the host: the fits and refit (public functions: host data and model in, the kernels copy them
// to the device and back), predict and fold_in_user (public functions on device views), for
// float and double, with 1 rating, an odd count and a large one, and 0 / 1 / odd / large pair
// and rating lists.
#include <cuda_runtime_api.h>
#include <thrust/device_vector.h>
#include <thrust/host_vector.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "device_test.hpp"
#include "recfuse/factorize/biased_mf.hpp"
#include "recfuse/thrust/all.hpp"

namespace {

using namespace recfuse;
using gpu_policy = exec::thrust<thrust::cuda::tag>;

// n ratings 3 + u . v + noise (rank 3) on random pairs of a users x items grid.
template <class T>
interactions<T> ratings(index_t users, index_t items, index_t n, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::vector<double> uf(static_cast<std::size_t>(users * 3)),
      vf(static_cast<std::size_t>(items * 3));
  for (auto& x : uf) x = 0.7 * detail::bmf::normal(g);
  for (auto& x : vf) x = 0.7 * detail::bmf::normal(g);
  interactions<T> d;
  d.users = users;
  d.items = items;
  for (index_t e = 0; e < n; ++e) {
    const auto u = static_cast<index_t>(detail::bmf::uniform_below(g, users));
    const auto i = static_cast<index_t>(detail::bmf::uniform_below(g, items));
    double r = 3.0 + 0.1 * detail::bmf::normal(g);
    for (index_t f = 0; f < 3; ++f) r += uf[u * 3 + f] * vf[i * 3 + f];
    d.user.push_back(static_cast<std::int32_t>(u));
    d.item.push_back(static_cast<std::int32_t>(i));
    d.value.push_back(static_cast<T>(r));
  }
  return d;
}

template <class T>
double max_diff(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return INFINITY;
  double d = 0;
  for (std::size_t j = 0; j < a.size(); ++j) {
    d = std::max(d, std::abs(static_cast<double>(a[j]) - static_cast<double>(b[j])));
  }
  return d;
}

template <class T>
double model_diff(const biased_mf_model<T>& a, const biased_mf_model<T>& b) {
  return std::max({max_diff(a.user_bias, b.user_bias), max_diff(a.item_bias, b.item_bias),
                   max_diff(a.user_factors, b.user_factors),
                   max_diff(a.item_factors, b.item_factors)});
}

template <class T>
vector_view<const T, device_memory> dview(const thrust::device_vector<T>& v) {
  return {thrust::raw_pointer_cast(v.data()), static_cast<index_t>(v.size())};
}
template <class T>
vector_view<T, device_memory> dview(thrust::device_vector<T>& v) {
  return {thrust::raw_pointer_cast(v.data()), static_cast<index_t>(v.size())};
}
vector_view<const std::int32_t> hview(const std::vector<std::int32_t>& v) {
  return {v.data(), static_cast<index_t>(v.size())};
}

template <class T>
void run(const char* type, cudaStream_t stream) {
  const gpu_policy gpu{stream};
  const exec::reference ref;
  // The device contracts a * b + c into FMAs where the host may not: a few ulps per update.
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  for (index_t n : {index_t{1}, index_t{37}, index_t{30001}}) {
    const index_t users = n == 1 ? 2 : 300, items = n == 1 ? 3 : 200;
    const auto d = ratings<T>(users, items, n, 5 + n);
    // SGD, one epoch (parameters) and 20 epochs (the fit), blocks 1 and 7.
    for (int blocks : {1, 7}) {
      sgd_options o;
      o.factors = 9;
      o.epochs = 1;
      o.blocks = blocks;
      o.init_scale = 0.2;
      auto got = fit_biased_sgd(gpu, d.view(), o);
      auto want = fit_biased_sgd(ref, d.view(), o);
      double diff = model_diff(got, want);
      recfuse::test::expect(diff <= tol, "fit_biased_sgd 1 epoch", type, n, diff, tol);
      o.epochs = 20;
      got = fit_biased_sgd(gpu, d.view(), o);
      want = fit_biased_sgd(ref, d.view(), o);
      std::vector<T> pg(d.value.size()), pw(d.value.size());
      predict(ref, got, hview(d.user), hview(d.item), vector_view<T>(pg.data(), n));
      predict(ref, want, hview(d.user), hview(d.item), vector_view<T>(pw.data(), n));
      double sg = 0, sw = 0;
      for (index_t e = 0; e < n; ++e) {
        sg += (pg[e] - d.value[e]) * (pg[e] - d.value[e]);
        sw += (pw[e] - d.value[e]) * (pw[e] - d.value[e]);
      }
      sg = std::sqrt(sg / n);
      sw = std::sqrt(sw / n);
      recfuse::test::expect(std::abs(sg - sw) <= 1e-4, "fit_biased_sgd 20 epochs rmse", type, n, sg,
                            sw);
    }
    // ALS, and refit of every third item and user.
    als_options ao;
    ao.factors = 9;
    ao.iterations = 2;
    const auto got = fit_biased_als(gpu, d.view(), ao);
    const auto want = fit_biased_als(ref, d.view(), ao);
    const double adiff = model_diff(got, want);
    recfuse::test::expect(adiff <= tol, "fit_biased_als", type, n, adiff, tol);
    std::vector<std::int32_t> rows;
    for (std::int32_t r = 0; r < items; r += 3) rows.push_back(r);
    auto rg = want, rw = want;
    refit_items(gpu, rg, d.view(), hview(rows), ao);
    refit_items(ref, rw, d.view(), hview(rows), ao);
    refit_users(gpu, rg, d.view(), hview(rows), ao);
    refit_users(ref, rw, d.view(), hview(rows), ao);
    const double rdiff = model_diff(rg, rw);
    recfuse::test::expect(rdiff <= tol, "refit_items / refit_users", type, n, rdiff, tol);
  }

  // predict and fold_in_user on device views, against a fitted model.
  const auto d = ratings<T>(60, 50, 900, 77);
  sgd_options o;
  o.factors = 7;
  o.epochs = 5;
  auto m = fit_biased_sgd(ref, d.view(), o);
  for (auto& x : m.user_factors) x *= 8;  // many clipped predictions
  for (index_t n : {index_t{0}, index_t{1}, index_t{1001}, index_t{100000}}) {
    std::mt19937_64 g(static_cast<std::uint64_t>(n));
    std::vector<std::int32_t> u(static_cast<std::size_t>(n)), i(u.size());
    std::vector<T> r(u.size());
    for (index_t j = 0; j < n; ++j) {  // some unseen ids, negative ones too
      u[j] = static_cast<std::int32_t>(detail::bmf::uniform_below(g, 66)) - 3;
      i[j] = static_cast<std::int32_t>(detail::bmf::uniform_below(g, 50));
      r[j] = static_cast<T>(1 + detail::bmf::uniform_below(g, 5));
    }
    const auto du = recfuse::test::to_device(u), di = recfuse::test::to_device(i);
    const auto dr = recfuse::test::to_device(r);
    thrust::device_vector<T> dout(u.size(), T(-7));
    predict(gpu, m, dview(du), dview(di), dview(dout));
    std::vector<T> want(u.size());
    predict(ref, m, hview(u), hview(i), vector_view<T>(want.data(), n));
    const double pdiff = max_diff(recfuse::test::to_host(dout), want);
    recfuse::test::expect(pdiff <= tol, "predict", type, n, pdiff, tol);
    // fold_in_user: the items and ratings of the list (item ids in range), on device views.
    thrust::device_vector<T> dp(static_cast<std::size_t>(m.factors), T(-1));
    const T b = fold_in_user(gpu, m, dview(di), dview(dr), dview(dp), als_options{});
    std::vector<T> p(static_cast<std::size_t>(m.factors));
    const T bw = fold_in_user(ref, m, hview(i), vector_view<const T>(r.data(), n),
                              vector_view<T>(p.data(), m.factors), als_options{});
    const double fdiff =
        std::max(max_diff(recfuse::test::to_host(dp), p), std::abs(double(b) - double(bw)));
    recfuse::test::expect(fdiff <= tol, "fold_in_user", type, n, fdiff, tol);
  }
  // Device-view shapes are still checked.
  thrust::device_vector<std::int32_t> two(2, 0), one(1, 0);
  thrust::device_vector<T> out2(2);
  recfuse::test::expect(
      recfuse::test::throws_with_prefix<shape_error>(
          [&] { predict(gpu, m, dview(two), dview(one), dview(out2)); }, "recfuse::predict: "),
      "predict sizes -> shape_error", type, 2);
}

}  // namespace

int main() {
  return recfuse::test::run_device_tests("recfuse_cuda_factorize_biased", [] {
    cudaStream_t stream = nullptr;
    if (!recfuse::test::expect(cudaStreamCreate(&stream) == cudaSuccess, "cudaStreamCreate", "",
                               0)) {
      return;
    }
    run<float>("float", stream);
    run<double>("double", nullptr);
    cudaStreamDestroy(stream);
  });
}
