// Implicit ALS on the GPU under exec::thrust<thrust::cuda::tag>, against the reference on host
// copies. The public functions take and return host models, so this program calls the Thrust
// kernels directly on device views: gramian_kernel (0, 1, an odd count and several chunks' worth
// of strided rows), fit_implicit_als_kernel (one half sweep over 0, 1, an odd count and many
// rows, all rows or a list, CG and Cholesky, a Cholesky failure naming the first failing row)
// and fold_in_user_kernel (0, 1, an odd count and many entries), for float and double.
#include <cuda_runtime_api.h>
#include <thrust/device_vector.h>
#include <thrust/host_vector.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "device_test.hpp"
#include "recfuse/factorize/implicit_als.hpp"
#include "recfuse/thrust/all.hpp"
#include "test_data.hpp"

namespace {

using namespace recfuse;
using gpu_policy = exec::thrust<thrust::cuda::tag>;
using dev = device_memory;

template <class T>
const T* dptr(const thrust::device_vector<T>& v) {
  return thrust::raw_pointer_cast(v.data());
}
template <class T>
T* dptr(thrust::device_vector<T>& v) {
  return thrust::raw_pointer_cast(v.data());
}

// Random interactions: user u has about max_per_user / (1 + u % 13) entries (user 0 none, user 1
// one), values in [0, 4) with some exact zeros.
template <class T>
interactions<T> random_interactions(index_t users, index_t items, index_t max_per_user,
                                    std::uint64_t seed) {
  interactions<T> d;
  d.users = users;
  d.items = items;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int32_t> item(0, static_cast<std::int32_t>(items - 1));
  std::uniform_real_distribution<double> value(0.0, 4.0);
  for (index_t u = 1; u < users; ++u) {
    const index_t n = u == 1 ? 1 : max_per_user / (1 + u % 13);
    for (index_t e = 0; e < n; ++e) {
      d.user.push_back(static_cast<std::int32_t>(u));
      d.item.push_back(item(rng));
      d.value.push_back(e % 7 == 3 ? T(0) : static_cast<T>(value(rng)));
    }
  }
  return d;
}

// max over rows of k of max_j |a_j - b_j| / (1 + max_j |b_j|).
template <class T>
double max_row_error(const std::vector<T>& a, const std::vector<T>& b, index_t k) {
  if (a.size() != b.size()) return INFINITY;
  double worst = 0;
  for (std::size_t r = 0; r * static_cast<std::size_t>(k) < b.size(); ++r) {
    double scale = 0, err = 0;
    for (index_t j = 0; j < k; ++j) {
      const std::size_t at = r * static_cast<std::size_t>(k) + static_cast<std::size_t>(j);
      scale = std::max(scale, std::abs(static_cast<double>(b[at])));
      err = std::max(err, std::abs(static_cast<double>(a[at]) - static_cast<double>(b[at])));
    }
    worst = std::max(worst, err / (1 + scale));
  }
  return worst;
}

template <class T>
void check_gramian(const char* type, const gpu_policy& gpu) {
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-13;
  for (index_t k : {1, 9, 33}) {
    for (index_t n : {0, 1, 17, 5001}) {
      const auto f = test::random_vector<T>(n * (k + 3), 100 + n + k);
      const thrust::device_vector<T> df(f.begin(), f.end());
      thrust::device_vector<T> dout(static_cast<std::size_t>(k * k), T(-1));
      thrust_backend::gramian_kernel(gpu, matrix_view<const T, dev>(dptr(df), n, k, k + 3),
                                     dptr(dout));
      const auto got = test::to_host(dout);
      std::vector<T> want(static_cast<std::size_t>(k * k));
      reference_backend::gramian_kernel(exec::reference{},
                                        matrix_view<const T>(f.data(), n, k, k + 3), want.data());
      double worst = 0;
      bool symmetric = true;
      for (index_t j = 0; j < k; ++j) {
        for (index_t l = 0; l < k; ++l) {
          const double scale = std::sqrt(static_cast<double>(want[j * k + j]) * want[l * k + l]);
          worst = std::max(worst, std::abs(static_cast<double>(got[j * k + l]) - want[j * k + l]) /
                                      std::max(1.0, scale));
          symmetric = symmetric && got[j * k + l] == got[l * k + j];
        }
      }
      test::expect(worst <= tol, "gramian_kernel", type, n * 100 + k, worst, tol);
      test::expect(symmetric, "gramian_kernel symmetric", type, n * 100 + k);
    }
  }
}

// One user half sweep (all rows, then every third row listed) on the device and the host.
template <class T>
void check_sweep(const char* type, const gpu_policy& gpu, index_t users, implicit_solver solver) {
  const index_t items = 120, k = 9;
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-11;
  const auto d = random_interactions<T>(users, items, 40, 7 + users);
  const auto csr = to_csr(d.view(), csr_by::user);
  const auto y = test::random_vector<T>(items * k, 3, -0.5, 0.5);
  std::vector<T> gram(static_cast<std::size_t>(k * k));
  reference_backend::gramian_kernel(exec::reference{}, matrix_view<const T>(y.data(), items, k),
                                    gram.data());
  const auto x0 = test::random_vector<T>(users * k, 5, -0.2, 0.2);
  implicit_als_options o;
  o.regularization = 0.7;
  o.alpha = 3;
  o.solver = solver;
  std::vector<std::int32_t> listed;
  for (index_t u = 0; u < users; u += 3) listed.push_back(static_cast<std::int32_t>(u));
  const thrust::device_vector<index_t> doff(csr.offsets.begin(), csr.offsets.end());
  const thrust::device_vector<std::int32_t> dind(csr.indices.begin(), csr.indices.end());
  const thrust::device_vector<T> dval(csr.values.begin(), csr.values.end());
  const thrust::device_vector<T> dy(y.begin(), y.end()), dgram(gram.begin(), gram.end());
  const thrust::device_vector<std::int32_t> dlisted(listed.begin(), listed.end());
  const csr_view<T, std::int32_t, dev> dcsr(users, items, dptr(doff), dptr(dind), dptr(dval));
  for (bool all : {true, false}) {
    const index_t count = all ? users : static_cast<index_t>(listed.size());
    thrust::device_vector<T> dx(x0.begin(), x0.end());
    const index_t got_failed = thrust_backend::fit_implicit_als_kernel(
        gpu, dcsr, matrix_view<const T, dev>(dptr(dy), items, k), dptr(dgram),
        matrix_view<T, dev>(dptr(dx), users, k), all ? nullptr : dptr(dlisted), count, o);
    auto want = x0;
    const index_t want_failed = reference_backend::fit_implicit_als_kernel(
        exec::reference{}, csr.view(), matrix_view<const T>(y.data(), items, k), gram.data(),
        matrix_view<T>(want.data(), users, k), all ? nullptr : listed.data(), count, o);
    const double err = max_row_error(test::to_host(dx), want, k);
    const char* what = solver == implicit_solver::cholesky
                           ? (all ? "fit_implicit_als_kernel cholesky" : "refit cholesky (listed)")
                           : (all ? "fit_implicit_als_kernel cg" : "refit cg (listed)");
    test::expect(err <= tol, what, type, users, err, tol);
    test::expect(got_failed == want_failed && got_failed == -1, what, type, users,
                 static_cast<double>(got_failed), static_cast<double>(want_failed));
  }
  if (solver == implicit_solver::cholesky && users > 2) {
    // Zero fixed factors and no regularization: every row with entries fails; user 1 first.
    const thrust::device_vector<T> zero(static_cast<std::size_t>(items * k), T(0)),
        zero_gram(static_cast<std::size_t>(k * k), T(0));
    thrust::device_vector<T> dx(x0.begin(), x0.end());
    o.regularization = 0;
    const index_t failed = thrust_backend::fit_implicit_als_kernel(
        gpu, dcsr, matrix_view<const T, dev>(dptr(zero), items, k), dptr(zero_gram),
        matrix_view<T, dev>(dptr(dx), users, k), nullptr, users, o);
    test::expect(failed == 1, "cholesky failure names user 1", type, users,
                 static_cast<double>(failed), 1);
    // A short list of large ids: the smallest listed row.
    const std::vector<std::int32_t> tail = {static_cast<std::int32_t>(users - 2),
                                            static_cast<std::int32_t>(users - 1)};
    const thrust::device_vector<std::int32_t> dtail(tail.begin(), tail.end());
    const index_t tail_failed = thrust_backend::fit_implicit_als_kernel(
        gpu, dcsr, matrix_view<const T, dev>(dptr(zero), items, k), dptr(zero_gram),
        matrix_view<T, dev>(dptr(dx), users, k), dptr(dtail), 2, o);
    test::expect(tail_failed == users - 2, "cholesky failure names the smallest listed row", type,
                 users, static_cast<double>(tail_failed), static_cast<double>(users - 2));
  }
}

template <class T>
void check_fold_in(const char* type, const gpu_policy& gpu) {
  const index_t items = 3000;
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-11;
  for (index_t k : {1, 17}) {
    const auto y = test::random_vector<T>(items * k, 7 * k, -0.5, 0.5);
    std::vector<T> gram(static_cast<std::size_t>(k * k));
    reference_backend::gramian_kernel(exec::reference{}, matrix_view<const T>(y.data(), items, k),
                                      gram.data());
    const thrust::device_vector<T> dy(y.begin(), y.end()), dgram(gram.begin(), gram.end());
    for (index_t n : {0, 1, 37, 2000}) {
      std::vector<std::int32_t> ids(static_cast<std::size_t>(n));
      for (index_t e = 0; e < n; ++e) ids[e] = static_cast<std::int32_t>((e * 37 + k) % items);
      const auto values = test::random_vector<T>(n, 5 + n, 0.0, 3.0);
      const thrust::device_vector<std::int32_t> dids(ids.begin(), ids.end());
      const thrust::device_vector<T> dvalues(values.begin(), values.end());
      for (auto solver : {implicit_solver::conjugate_gradient, implicit_solver::cholesky}) {
        implicit_als_options o;
        o.regularization = 0.7;
        o.alpha = 3;
        o.solver = solver;
        const auto start = test::random_vector<T>(k, 9 + k, -0.2, 0.2);
        thrust::device_vector<T> dx(start.begin(), start.end());
        const bool got_ok = thrust_backend::fold_in_user_kernel(
            gpu, matrix_view<const T, dev>(dptr(dy), items, k), dptr(dgram), dptr(dids),
            dptr(dvalues), n, dptr(dx), o);
        auto want = start;
        const bool want_ok = reference_backend::fold_in_user_kernel(
            exec::reference{}, matrix_view<const T>(y.data(), items, k), gram.data(), ids.data(),
            values.data(), n, want.data(), o);
        const double err = max_row_error(test::to_host(dx), want, k);
        const char* what = solver == implicit_solver::cholesky ? "fold_in_user_kernel cholesky"
                                                               : "fold_in_user_kernel cg";
        test::expect(got_ok && want_ok && err <= tol, what, type, n * 100 + k, err, tol);
      }
    }
  }
}

template <class T>
void run(const char* type, cudaStream_t stream) {
  const gpu_policy gpu{stream};
  check_gramian<T>(type, gpu);
  for (auto solver : {implicit_solver::conjugate_gradient, implicit_solver::cholesky}) {
    for (index_t users : {0, 1, 37, 3001}) check_sweep<T>(type, gpu, users, solver);
  }
  check_fold_in<T>(type, gpu);
}

}  // namespace

int main() {
  return recfuse::test::run_device_tests("recfuse_cuda_factorize_implicit", [] {
    cudaStream_t stream = nullptr;
    if (cudaStreamCreate(&stream) != cudaSuccess) {
      recfuse::test::expect(false, "cudaStreamCreate", "-", 0);
      return;
    }
    run<float>("float", stream);
    run<double>("double", stream);
    cudaStreamDestroy(stream);
  });
}
