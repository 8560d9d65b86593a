// topk_into and topk_inner_product_into on the GPU: scores, factors, exclusion patterns and the
// output views in device memory under exec::thrust<thrust::cuda::tag>, against the reference
// (topk, topk_inner_product) on host copies of the same data. Rows 0, 1, an odd count and a large
// one; columns 0, 1, odd and large; k = 0, 1, 10 and more than the columns; scores with exact
// ties, NaN and +-inf; unsorted exclusion lists with repeats; integer factors so every inner
// product is exact and the results must be identical; strided outputs whose gaps stay untouched;
// bad device exclusion patterns, rejected by the on-device validation before anything is written.
#include <algorithm>  // test_data.hpp uses std::max without including it
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <thrust/fill.h>

#include "device_test.hpp"
#include "recfuse/select/topk.hpp"
#include "recfuse/thrust/select/topk.hpp"
#include "test_data.hpp"

namespace {

using recfuse::device_memory;
using recfuse::index_t;
using recfuse::matrix_view;
using gpu_policy = recfuse::exec::thrust<thrust::cuda::tag>;
using recfuse::test::expect;
using recfuse::test::to_device;
using recfuse::test::to_host;

template <class T>
const T* raw(const thrust::device_vector<T>& v) {
  return thrust::raw_pointer_cast(v.data());
}
template <class T>
T* raw(thrust::device_vector<T>& v) {
  return thrust::raw_pointer_cast(v.data());
}

// Exclusion lists: unsorted, with repeats, some rows empty, some longer than the row.
struct pattern {
  index_t rows = 0, cols = 0;
  std::vector<index_t> offsets{0};
  std::vector<std::int32_t> ids;
  pattern(index_t r, index_t c, std::uint64_t seed) : rows(r), cols(c) {
    std::mt19937_64 rng(seed);
    for (index_t i = 0; i < r; ++i) {
      const index_t count = c == 0 ? 0 : static_cast<index_t>(rng() % (i % 4 == 3 ? c + 5 : 21));
      for (index_t e = 0; e < count; ++e) {
        ids.push_back(static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(c)));
      }
      offsets.push_back(static_cast<index_t>(ids.size()));
    }
  }
  recfuse::csr_pattern_view<std::int32_t> host() const {
    return {rows, cols, offsets.data(), ids.data()};
  }
};

struct device_pattern {
  thrust::device_vector<index_t> offsets;
  thrust::device_vector<std::int32_t> ids;
  index_t rows, cols;
  explicit device_pattern(const pattern& p)
      : offsets(to_device(p.offsets)), ids(to_device(p.ids)), rows(p.rows), cols(p.cols) {}
  recfuse::csr_pattern_view<std::int32_t, device_memory> view() const {
    return {rows, cols, raw(offsets), raw(ids)};
  }
};

// Small integers with NaN and +-inf (ties = true: no NaN/inf, only ties).
template <class T>
std::vector<T> make_scores(index_t count, bool ties, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> small(-3, 3);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<T> v(static_cast<std::size_t>(count));
  for (auto& x : v) {
    const double r = u(rng);
    x = ties || (r >= -0.8 && r <= 0.85) ? static_cast<T>(small(rng))
        : r < -0.8                       ? std::numeric_limits<T>::quiet_NaN()
        : r > 0.9                        ? -std::numeric_limits<T>::infinity()
                                         : std::numeric_limits<T>::infinity();
  }
  return v;
}

// Compares a device result (rows x stride, k used) with the reference's rows x k, and checks
// that the stride gap still holds the sentinel 42.
template <class T>
void compare(const char* what, const char* type, index_t rows, index_t k, index_t stride,
             const thrust::device_vector<T>& d_values, const thrust::device_vector<index_t>& d_ids,
             const recfuse::topk_result<T>& want) {
  const std::vector<T> values = to_host(d_values);
  const std::vector<index_t> ids = to_host(d_ids);
  bool ok = true;
  for (index_t r = 0; r < rows; ++r) {
    for (index_t e = 0; e < stride; ++e) {
      const auto at = static_cast<std::size_t>(r * stride + e);
      if (e < k) {
        ok = ok && ids[at] == want.index(r, e) && values[at] == want.value(r, e);
      } else {
        ok = ok && ids[at] == 42 && values[at] == T(42);
      }
    }
  }
  expect(ok, what, type, rows * 100000 + k);
}

template <class T>
void topk_checks(const gpu_policy& gpu, const char* type) {
  for (const index_t rows : {index_t{0}, index_t{1}, index_t{7}, index_t{301}}) {
    for (const index_t cols : {index_t{0}, index_t{1}, index_t{33}, index_t{4099}}) {
      for (const bool ties : {true, false}) {
        const auto s = make_scores<T>(rows * cols, ties, static_cast<std::uint64_t>(rows + cols));
        const pattern ex(rows, cols, static_cast<std::uint64_t>(rows * 7 + cols));
        const auto d_s = to_device(s);
        const device_pattern d_ex(ex);
        const matrix_view<const T, device_memory> ds(raw(d_s), rows, cols);
        const std::vector<T> h_s = to_host(d_s);
        const matrix_view<const T> hs(h_s.data(), rows, cols);
        for (const index_t k : {index_t{0}, index_t{1}, index_t{10}, cols + 3}) {
          const index_t stride = k + 2;
          thrust::device_vector<T> values(static_cast<std::size_t>(rows * stride), T(42));
          thrust::device_vector<index_t> ids(static_cast<std::size_t>(rows * stride), 42);
          const matrix_view<T, device_memory> ov(raw(values), rows, k, stride);
          const matrix_view<index_t, device_memory> oi(raw(ids), rows, k, stride);
          recfuse::topk_into(gpu, ds, k, ov, oi);
          compare("topk_into", type, rows, k, stride, values, ids,
                  recfuse::topk(recfuse::exec::reference{}, hs, k));
          recfuse::topk_into(gpu, ds, k, ov, oi, d_ex.view());
          compare("topk_into exclude", type, rows, k, stride, values, ids,
                  recfuse::topk(recfuse::exec::reference{}, hs, k, ex.host()));
        }
      }
    }
  }
}

template <class T>
void inner_product_checks(const gpu_policy& gpu, const char* type) {
  for (const index_t d : {index_t{0}, index_t{17}}) {
    for (const index_t m : {index_t{0}, index_t{1}, index_t{13}, index_t{200}}) {
      for (const index_t n : {index_t{0}, index_t{1}, index_t{1001}}) {
        // Integer factors in [-2, 2]: every score is exact whatever the order or FMA.
        std::mt19937_64 rng(static_cast<std::uint64_t>(d * 1000 + m * 10 + n));
        std::uniform_int_distribution<int> small(-2, 2);
        std::vector<T> q(static_cast<std::size_t>(m * d)), x(static_cast<std::size_t>(n * d));
        for (auto& v : q) v = static_cast<T>(small(rng));
        for (auto& v : x) v = static_cast<T>(small(rng));
        if (m * d > 0) q[0] = std::numeric_limits<T>::quiet_NaN();  // query 0: all NaN
        const pattern ex(m, n, static_cast<std::uint64_t>(m + n + d));
        const auto d_q = to_device(q);
        const auto d_x = to_device(x);
        const device_pattern d_ex(ex);
        const matrix_view<const T, device_memory> dq(raw(d_q), m, d), dx(raw(d_x), n, d);
        const matrix_view<const T> hq(q.data(), m, d), hx(x.data(), n, d);
        for (const index_t k : {index_t{1}, index_t{10}, n + 3}) {
          const index_t stride = k + 1;
          thrust::device_vector<T> values(static_cast<std::size_t>(m * stride), T(42));
          thrust::device_vector<index_t> ids(static_cast<std::size_t>(m * stride), 42);
          const matrix_view<T, device_memory> ov(raw(values), m, k, stride);
          const matrix_view<index_t, device_memory> oi(raw(ids), m, k, stride);
          recfuse::topk_inner_product_into(gpu, dq, dx, k, ov, oi);
          compare("topk_inner_product_into", type, m, k, stride, values, ids,
                  recfuse::topk_inner_product(recfuse::exec::reference{}, hq, hx, k));
          recfuse::topk_inner_product_into(gpu, dq, dx, k, ov, oi, d_ex.view());
          compare("topk_inner_product_into exclude", type, m, k, stride, values, ids,
                  recfuse::topk_inner_product(recfuse::exec::reference{}, hq, hx, k, ex.host()));
        }
      }
    }
  }
}

template <class T>
void error_checks(const gpu_policy& gpu, const char* type) {
  const thrust::device_vector<T> s(6, T(1));
  thrust::device_vector<T> values(2);
  thrust::device_vector<index_t> ids(2);
  const matrix_view<const T, device_memory> ds(raw(s), 2, 3);
  const pattern wrong(3, 3, 1);
  const device_pattern d_wrong(wrong);
  const matrix_view<T, device_memory> ov(raw(values), 2, 1);
  const matrix_view<index_t, device_memory> oi(raw(ids), 2, 1);
  expect(
      recfuse::test::throws_with_prefix<recfuse::shape_error>(
          [&] { recfuse::topk_into(gpu, ds, 1, ov, oi, d_wrong.view()); }, "recfuse::topk_into: "),
      "topk_into exclude rows -> shape_error", type, 2);
  expect(recfuse::test::throws_with_prefix<recfuse::value_error>(
             [&] { recfuse::topk_into(gpu, ds, -1, ov, oi); }, "recfuse::topk_into: "),
         "topk_into k < 0 -> value_error", type, 2);
  expect(recfuse::test::throws_with_prefix<recfuse::shape_error>(
             [&] {
               recfuse::topk_inner_product_into(
                   gpu, ds, matrix_view<const T, device_memory>(raw(s), 3, 2), 1, ov, oi);
             },
             "recfuse::topk_inner_product_into: "),
         "topk_inner_product_into d mismatch -> shape_error", type, 2);
  // Device patterns are validated on the device (offsets, then ids) before anything is written.
  pattern bad_id(2, 3, 2);
  bad_id.offsets = {0, 1, 2};
  bad_id.ids = {0, 3};
  const device_pattern d_bad_id(bad_id);
  thrust::fill(values.begin(), values.end(), T(42));
  expect(recfuse::test::throws_with_prefix<recfuse::index_error>(
             [&] { recfuse::topk_into(gpu, ds, 1, ov, oi, d_bad_id.view()); },
             "recfuse::topk_into: exclude row 1 holds column id 3"),
         "topk_into device id out of range -> index_error", type, 2);
  expect(to_host(values) == std::vector<T>(2, T(42)), "topk_into error writes nothing", type, 2);
  pattern bad_offsets(2, 2, 3);
  bad_offsets.offsets = {0, 2, 1};
  bad_offsets.ids = {0, 1};
  const device_pattern d_bad_offsets(bad_offsets);
  const matrix_view<const T, device_memory> dq(raw(s), 2, 3), dx(raw(s), 2, 3);
  expect(
      recfuse::test::throws_with_prefix<recfuse::index_error>(
          [&] { recfuse::topk_inner_product_into(gpu, dq, dx, 1, ov, oi, d_bad_offsets.view()); },
          "recfuse::topk_inner_product_into: exclude offsets decrease at row 1"),
      "topk_inner_product_into device offsets decrease -> index_error", type, 2);
}

template <class T>
void run(const gpu_policy& gpu, const char* type) {
  topk_checks<T>(gpu, type);
  inner_product_checks<T>(gpu, type);
  error_checks<T>(gpu, type);
}

}  // namespace

int main() {
  return recfuse::test::run_device_tests("recfuse_cuda_select", [] {
    cudaStream_t stream = nullptr;
    if (cudaStreamCreate(&stream) != cudaSuccess) {
      expect(false, "cudaStreamCreate", "-", 0);
      return;
    }
    const gpu_policy gpu{stream};
    run<float>(gpu, "float");
    run<double>(gpu, "double");
    cudaStreamDestroy(stream);
  });
}
