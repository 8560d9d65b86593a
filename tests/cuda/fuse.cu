// fuse on the GPU: blend and blend_contributions on device scores under
// exec::thrust<thrust::cuda::tag> (public functions; also in place and the two-scorer form), and
// explain_factorization_kernel for biased and implicit models called directly with device
// items, ratings, gramian and contributions (the public explain_factorization is host-only: it
// returns a host object). Each is compared with the reference on host copies, float and double,
// lengths 0, 1, odd and large.
#include <algorithm>  // test_data.hpp uses std::max without including it
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "device_test.hpp"
#include "recfuse/factorize/biased_mf.hpp"
#include "recfuse/factorize/implicit_als.hpp"
#include "recfuse/fuse/blend.hpp"
#include "recfuse/reference/fuse/explain.hpp"
#include "recfuse/thrust/fuse/blend.hpp"
#include "recfuse/thrust/fuse/explain.hpp"
#include "test_data.hpp"

namespace {

using recfuse::index_t;
using gpu_policy = recfuse::exec::thrust<thrust::cuda::tag>;
using recfuse::device_memory;
using recfuse::test::expect;
using recfuse::test::to_device;
using recfuse::test::to_host;

template <class T>
recfuse::vector_view<const T, device_memory> dview(const thrust::device_vector<T>& v) {
  return {thrust::raw_pointer_cast(v.data()), static_cast<index_t>(v.size())};
}
template <class T>
recfuse::vector_view<T, device_memory> dmview(thrust::device_vector<T>& v) {
  return {thrust::raw_pointer_cast(v.data()), static_cast<index_t>(v.size())};
}

template <class T>
void blend_checks(const gpu_policy& gpu, const char* type) {
  const recfuse::exec::reference ref;
  const double eps = std::numeric_limits<T>::epsilon();
  constexpr std::size_t count = 3;
  for (const index_t n : {index_t{0}, index_t{1}, index_t{17}, index_t{1001}, index_t{100003}}) {
    std::vector<std::vector<T>> s;
    std::vector<thrust::device_vector<T>> ds;
    std::vector<recfuse::vector_view<const T>> hv;
    std::vector<recfuse::vector_view<const T, device_memory>> dv;
    for (std::size_t c = 0; c < count; ++c) {
      s.push_back(recfuse::test::random_vector<T>(n, 100 * n + c, -3.0, 3.0));
      ds.push_back(to_device(s.back()));
    }
    for (std::size_t c = 0; c < count; ++c) {
      hv.emplace_back(s[c].data(), n);
      dv.push_back(dview(ds[c]));
    }
    const std::vector<double> w = {0.5, -1.25, 2.0};

    std::vector<T> want(static_cast<std::size_t>(n));
    recfuse::fuse::blend(ref, hv, w, recfuse::vector_view<T>(want.data(), n));
    thrust::device_vector<T> d_out(static_cast<std::size_t>(n), T(-5));
    recfuse::fuse::blend(gpu, dv, w, dmview(d_out));
    std::vector<T> got = to_host(d_out);
    bool ok = true;
    for (index_t i = 0; i < n && ok; ++i) {
      double terms = 0;
      for (std::size_t c = 0; c < count; ++c) terms += std::abs(w[c] * s[c][i]);
      ok = std::abs(static_cast<double>(got[i]) - want[i]) <= 4.0 * eps * terms + 1e-300;
      if (!ok) expect(false, "blend element", type, n, got[i], want[i]);
    }
    expect(ok, "blend", type, n);

    // In place: out is the first scorer.
    std::vector<recfuse::vector_view<const T, device_memory>> aliased = dv;
    recfuse::fuse::blend(gpu, aliased, w, dmview(ds[0]));
    expect(to_host(ds[0]) == got, "blend in place", type, n);

    // Contributions, n x 3, from the blended first scorer now in ds[0].
    s[0] = got;
    hv[0] = recfuse::vector_view<const T>(s[0].data(), n);
    std::vector<T> ce(static_cast<std::size_t>(n) * count);
    recfuse::fuse::blend_contributions(ref, hv, w,
                                       recfuse::matrix_view<T>(ce.data(), n, index_t{count}));
    thrust::device_vector<T> d_c(ce.size(), T(-5));
    recfuse::fuse::blend_contributions(
        gpu, dv, w,
        recfuse::matrix_view<T, device_memory>(thrust::raw_pointer_cast(d_c.data()), n,
                                               index_t{count}));
    const std::vector<T> cg = to_host(d_c);
    bool same = true;
    for (std::size_t j = 0; j < ce.size() && same; ++j) {
      same = recfuse::test::close(cg[j], ce[j], recfuse::test::tolerance<T>());
      if (!same) expect(false, "blend_contributions element", type, n, cg[j], ce[j]);
    }
    expect(same, "blend_contributions", type, n);

    // The two-scorer form.
    if (n > 0) {
      std::vector<T> want2(static_cast<std::size_t>(n));
      recfuse::fuse::blend(ref, 0.25, hv[1], hv[2], recfuse::vector_view<T>(want2.data(), n));
      thrust::device_vector<T> d2(static_cast<std::size_t>(n));
      recfuse::fuse::blend(gpu, 0.25, dv[1], dv[2], dmview(d2));
      const std::vector<T> got2 = to_host(d2);
      bool ok2 = true;
      for (index_t i = 0; i < n && ok2; ++i) {
        ok2 = recfuse::test::close(got2[i], want2[i], 4 * eps);
      }
      expect(ok2, "blend two-scorer", type, n);
    }
  }
}

// Ratings of `users` x `items` with about 40% density, values in [1, 5].
template <class T>
recfuse::interactions<T> make_interactions(index_t users, index_t items, std::uint64_t seed) {
  recfuse::interactions<T> d;
  d.users = users;
  d.items = items;
  const auto u01 = recfuse::test::random_vector<double>(users * items, seed, 0.0, 1.0);
  for (index_t u = 0; u < users; ++u) {
    for (index_t i = 0; i < items; ++i) {
      if (u01[u * items + i] < 0.4) {
        d.user.push_back(static_cast<std::int32_t>(u));
        d.item.push_back(static_cast<std::int32_t>(i));
        d.value.push_back(static_cast<T>(1 + 4 * u01[(u * items + i + 7) % (users * items)]));
      }
    }
  }
  return d;
}

template <class T>
void explain_checks(const gpu_policy& gpu, const char* type) {
  const recfuse::exec::reference ref;
  const index_t items = 40;
  const auto d = make_interactions<T>(25, items, 5);
  recfuse::als_options bo;
  bo.factors = 5;
  bo.iterations = 3;
  const auto biased = recfuse::fit_biased_als(ref, d.view(), bo);
  recfuse::implicit_als_options io;
  io.factors = 6;
  io.iterations = 3;
  io.regularization = 0.5;
  const auto implicit = recfuse::fit_implicit_als(ref, d.view(), io);
  const std::vector<T> gram = recfuse::gramian(ref, implicit.item_matrix());
  const thrust::device_vector<T> d_gram = to_device(gram);

  for (const index_t n : {index_t{0}, index_t{1}, index_t{7}, index_t{1001}}) {
    const auto pick = recfuse::test::random_vector<double>(n, 77 + n, 0.0, 1.0);
    std::vector<std::int32_t> rated(static_cast<std::size_t>(n));
    std::vector<T> ratings(rated.size());
    for (index_t e = 0; e < n; ++e) {
      rated[e] = static_cast<std::int32_t>(pick[e] * (items - 1));
      // implicit values: every 5th a zero (skipped), so the test covers it
      ratings[e] = e % 5 == 4 ? T(0) : static_cast<T>(1 + 4 * pick[(e + 3) % n]);
    }
    const auto d_rated = to_device(rated);
    const auto d_ratings = to_device(ratings);
    const recfuse::vector_view<const std::int32_t> h_items(rated.data(), n);
    const recfuse::vector_view<const T> h_values(ratings.data(), n);
    thrust::device_vector<double> d_c(static_cast<std::size_t>(n), -7.0);
    double* c = thrust::raw_pointer_cast(d_c.data());
    for (const index_t item : {index_t{0}, index_t{13}, items - 1}) {
      std::vector<double> want(static_cast<std::size_t>(n));
      recfuse::reference_backend::explain_factorization_kernel(ref, biased, h_items, h_values, item,
                                                               bo, want.data());
      recfuse::thrust_backend::explain_factorization_kernel(gpu, biased, dview(d_rated),
                                                            dview(d_ratings), item, bo, c);
      std::vector<double> got = to_host(d_c);
      bool ok = true;
      for (index_t e = 0; e < n && ok; ++e) ok = recfuse::test::close(got[e], want[e], 1e-10);
      expect(ok, "explain biased", type, n);

      const bool want_ok = recfuse::reference_backend::explain_factorization_kernel(
          ref, implicit, gram.data(), h_items, h_values, item, io, want.data());
      const bool got_ok = recfuse::thrust_backend::explain_factorization_kernel(
          gpu, implicit, thrust::raw_pointer_cast(d_gram.data()), dview(d_rated), dview(d_ratings),
          item, io, c);
      got = to_host(d_c);
      ok = want_ok == got_ok;
      for (index_t e = 0; e < n && ok; ++e) ok = recfuse::test::close(got[e], want[e], 1e-10);
      expect(ok, "explain implicit", type, n);
    }
  }
  // Not positive definite: regularization 0, a zero gramian, one rated item.
  const std::vector<T> zero(static_cast<std::size_t>(io.factors * io.factors), T(0));
  const auto d_zero = to_device(zero);
  const auto one_item = to_device(std::vector<std::int32_t>{3});
  const auto one_value = to_device(std::vector<T>{T(1)});
  thrust::device_vector<double> c1(1);
  recfuse::implicit_als_options singular = io;
  singular.regularization = 0;
  const bool solved = recfuse::thrust_backend::explain_factorization_kernel(
      gpu, implicit, thrust::raw_pointer_cast(d_zero.data()), dview(one_item), dview(one_value), 0,
      singular, thrust::raw_pointer_cast(c1.data()));
  expect(!solved, "explain implicit singular -> false", type, 1);
}

}  // namespace

int main() {
  return recfuse::test::run_device_tests("recfuse_cuda_fuse", [] {
    cudaStream_t stream = nullptr;
    if (cudaStreamCreate(&stream) != cudaSuccess) {
      expect(false, "cudaStreamCreate", "-", 0);
      return;
    }
    const gpu_policy gpu{stream};
    blend_checks<float>(gpu, "float");
    blend_checks<double>(gpu, "double");
    explain_checks<float>(gpu, "float");
    explain_checks<double>(gpu, "double");
    cudaStreamDestroy(stream);
  });
}
