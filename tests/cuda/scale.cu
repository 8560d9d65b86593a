// The scale family on the GPU: the Thrust kernels of standard_scaler, minmax_scaler and their
// shared transform (called directly: the scalers keep std::vector state, so they are host-only),
// and the public normalize_rows, on device data under exec::thrust<thrust::cuda::tag>, against
// the reference on host copies; float and double, 0 / 1 / odd / strided / large shapes. A plain
// program (exit status 1 on any mismatch); without a GPU it exits 77
// (ctest: skipped).
#include <cuda_runtime_api.h>
#include <thrust/device_vector.h>

#include <algorithm>  // test_data.hpp uses std::max without including it
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "device_test.hpp"
#include "recfuse/thrust/all.hpp"
#include "test_data.hpp"

namespace {

using recfuse::index_t;
using gpu_policy = recfuse::exec::thrust<thrust::cuda::tag>;
using recfuse::device_memory;
namespace ref = recfuse::reference_backend;
namespace gpu = recfuse::thrust_backend;

struct shape {
  index_t rows, cols, stride;
};
// Empty, one element, one row, odd widths, strided, one long column, wide and long.
const shape shapes[] = {{0, 5, 5},      {1, 1, 1},      {1, 7, 7},      {17, 3, 5},
                        {1000, 17, 21}, {3001, 33, 33}, {100003, 1, 1}, {300, 2500, 2503}};

template <class T>
T* raw(thrust::device_vector<T>& d) {
  return thrust::raw_pointer_cast(d.data());
}

// rows x cols at `stride` (padding -777), column j centred at 1e3 * (j % 3) so that the fits
// see offsets, with the value of column 0 constant (a constant column).
template <class T>
std::vector<T> matrix(const shape& s, std::uint64_t seed) {
  std::vector<T> m(static_cast<std::size_t>(s.rows * s.stride), T(-777));
  const auto u = recfuse::test::random_vector<T>(s.rows * s.cols, seed, -2.0, 2.0);
  for (index_t i = 0; i < s.rows; ++i) {
    for (index_t j = 0; j < s.cols; ++j) {
      m[static_cast<std::size_t>(i * s.stride + j)] =
          j == 0 && s.cols > 1 ? T(3)
                               : u[static_cast<std::size_t>(i * s.cols + j)] + T(1e3 * (j % 3));
    }
  }
  return m;
}

bool same_or_close(double a, double b, double tol, double magnitude) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::abs(a - b) <= tol * std::max({1.0, std::abs(a), std::abs(b), magnitude});
}

template <class T>
void fits_and_transform(const char* type, const gpu_policy& p, const shape& s) {
  const double tol = recfuse::test::tolerance<T>();
  const index_t n = s.rows * s.cols;
  auto host = matrix<T>(s, 7 + s.rows + s.cols);
  if (s.rows > 1 && s.cols > 2)
    host[static_cast<std::size_t>((s.rows / 2) * s.stride + 2)] =
        std::numeric_limits<T>::quiet_NaN();  // column 2 holds a NaN: non-finite fit results
  auto dx = recfuse::test::to_device(host);
  const recfuse::matrix_view<const T> hx(host.data(), s.rows, s.cols, s.stride);
  const recfuse::matrix_view<const T, device_memory> x(raw(dx), s.rows, s.cols, s.stride);
  const auto cols = static_cast<std::size_t>(s.cols);

  if (s.rows >= 1) {
    // standard_scaler_fit_kernel: all double, so within double rounding of the reference.
    std::vector<double> mean(cols), m2(cols);
    ref::standard_scaler_fit_kernel(recfuse::exec::reference{}, hx, recfuse::test::mview(mean),
                                    recfuse::test::mview(m2));
    thrust::device_vector<double> dmean(cols), dm2(cols);
    gpu::standard_scaler_fit_kernel(p, x,
                                    recfuse::vector_view<double, device_memory>(raw(dmean), s.cols),
                                    recfuse::vector_view<double, device_memory>(raw(dm2), s.cols));
    const auto gmean = recfuse::test::to_host(dmean), gm2 = recfuse::test::to_host(dm2);
    for (std::size_t j = 0; j < cols; ++j) {
      if (!std::isfinite(mean[j])) {
        recfuse::test::expect(!std::isfinite(gmean[j]), "fit non-finite mean", type, n, gmean[j],
                              mean[j]);
        continue;
      }
      recfuse::test::expect(same_or_close(gmean[j], mean[j], 1e-12, 0), "fit mean", type, n,
                            gmean[j], mean[j]);
      recfuse::test::expect(same_or_close(gm2[j], m2[j], 1e-12, 0), "fit m2", type, n, gm2[j],
                            m2[j]);
    }
    // minmax_scaler_fit_kernel: exact.
    std::vector<double> lo(cols), hi(cols);
    ref::minmax_scaler_fit_kernel(recfuse::exec::reference{}, hx, recfuse::test::mview(lo),
                                  recfuse::test::mview(hi));
    thrust::device_vector<double> dlo(cols), dhi(cols);
    gpu::minmax_scaler_fit_kernel(p, x,
                                  recfuse::vector_view<double, device_memory>(raw(dlo), s.cols),
                                  recfuse::vector_view<double, device_memory>(raw(dhi), s.cols));
    const auto glo = recfuse::test::to_host(dlo), ghi = recfuse::test::to_host(dhi);
    for (std::size_t j = 0; j < cols; ++j) {
      if (std::isnan(lo[j])) {
        recfuse::test::expect(std::isnan(glo[j]), "minmax NaN min", type, n, glo[j], lo[j]);
      } else {
        recfuse::test::expect(glo[j] == lo[j], "minmax min", type, n, glo[j], lo[j]);
        recfuse::test::expect(ghi[j] == hi[j], "minmax max", type, n, ghi[j], hi[j]);
      }
    }
  }

  // scaler_transform_kernel with per-column factors; strided out keeps its padding.
  std::vector<double> mul(cols), add(cols);
  for (std::size_t j = 0; j < cols; ++j) {
    mul[j] = 0.5 + 0.25 * static_cast<double>(j % 4);
    add[j] = -1e3 * static_cast<double>(j % 3) * mul[j];
  }
  std::vector<T> want(host.size(), T(-1));
  ref::scaler_transform_kernel(recfuse::exec::reference{}, hx,
                               recfuse::matrix_view<T>(want.data(), s.rows, s.cols, s.stride),
                               recfuse::test::cview(mul), recfuse::test::cview(add));
  thrust::device_vector<double> dmul(mul.begin(), mul.end()), dadd(add.begin(), add.end());
  thrust::device_vector<T> dout(host.size(), T(-1));
  gpu::scaler_transform_kernel(
      p, x, recfuse::matrix_view<T, device_memory>(raw(dout), s.rows, s.cols, s.stride),
      recfuse::vector_view<const double, device_memory>(raw(dmul), s.cols),
      recfuse::vector_view<const double, device_memory>(raw(dadd), s.cols));
  // In place on a copy gives the same.
  thrust::device_vector<T> dinplace = dx;
  gpu::scaler_transform_kernel(
      p, recfuse::matrix_view<const T, device_memory>(raw(dinplace), s.rows, s.cols, s.stride),
      recfuse::matrix_view<T, device_memory>(raw(dinplace), s.rows, s.cols, s.stride),
      recfuse::vector_view<const double, device_memory>(raw(dmul), s.cols),
      recfuse::vector_view<const double, device_memory>(raw(dadd), s.cols));
  const auto got = recfuse::test::to_host(dout), inplace = recfuse::test::to_host(dinplace);
  int bad = 0, padding = 0, inplace_bad = 0;
  for (index_t i = 0; i < s.rows; ++i) {
    for (index_t j = 0; j < s.stride; ++j) {
      const auto k = static_cast<std::size_t>(i * s.stride + j);
      if (j >= s.cols) {
        padding += got[k] != T(-1);
        continue;
      }
      const double mag = std::abs(static_cast<double>(host[k])) * mul[j] + std::abs(add[j]);
      bad += !same_or_close(got[k], want[k], tol, mag);
      inplace_bad += !(inplace[k] == got[k] || (std::isnan(inplace[k]) && std::isnan(got[k])));
    }
  }
  recfuse::test::expect(bad == 0, "transform", type, n, bad);
  recfuse::test::expect(padding == 0, "transform padding kept", type, n, padding);
  recfuse::test::expect(inplace_bad == 0, "transform in place", type, n, inplace_bad);
}

// The public normalize_rows on device views (a zero row, a NaN row when there are rows enough).
template <class T>
void normalize(const char* type, const gpu_policy& p, const shape& s) {
  const double tol = recfuse::test::tolerance<T>();
  auto host = matrix<T>(s, 99 + s.rows);
  if (s.rows > 2) {
    std::fill(host.begin() + s.stride, host.begin() + s.stride + s.cols, T(0));
    host[static_cast<std::size_t>(2 * s.stride)] = std::numeric_limits<T>::quiet_NaN();
  }
  std::vector<T> want(host.size(), T(-1));
  recfuse::normalize_rows(recfuse::exec::reference{},
                          recfuse::matrix_view<const T>(host.data(), s.rows, s.cols, s.stride),
                          recfuse::matrix_view<T>(want.data(), s.rows, s.cols, s.stride));
  auto dx = recfuse::test::to_device(host);
  thrust::device_vector<T> dout(host.size(), T(-1));
  recfuse::normalize_rows(
      p, recfuse::matrix_view<const T, device_memory>(raw(dx), s.rows, s.cols, s.stride),
      recfuse::matrix_view<T, device_memory>(raw(dout), s.rows, s.cols, s.stride));
  recfuse::normalize_rows(
      p, recfuse::matrix_view<const T, device_memory>(raw(dx), s.rows, s.cols, s.stride),
      recfuse::matrix_view<T, device_memory>(raw(dx), s.rows, s.cols, s.stride));
  const auto got = recfuse::test::to_host(dout), inplace = recfuse::test::to_host(dx);
  int bad = 0, inplace_bad = 0;
  for (std::size_t k = 0; k < host.size(); ++k) {
    bad += !same_or_close(got[k], want[k], tol, 0);  // padding: -1 in both
    inplace_bad += !(static_cast<std::size_t>(k % s.stride) >= static_cast<std::size_t>(s.cols) ||
                     inplace[k] == got[k] || (std::isnan(inplace[k]) && std::isnan(got[k])));
  }
  recfuse::test::expect(bad == 0, "normalize_rows", type, s.rows * s.cols, bad);
  recfuse::test::expect(inplace_bad == 0, "normalize_rows in place", type, s.rows * s.cols,
                        inplace_bad);
}

// Rows whose squares overflow, underflow or are subnormal, infinity, and a lone -2.
template <class T>
void normalize_extremes(const char* type, const gpu_policy& p) {
  const index_t cols = 19;
  std::vector<T> x(static_cast<std::size_t>(5 * cols), T(0));
  const bool is_float = std::is_same_v<T, float>;
  std::fill(x.begin(), x.begin() + cols, is_float ? T(1e30) : T(1e200));
  std::fill(x.begin() + cols, x.begin() + 2 * cols, is_float ? T(0x1p-147) : T(0x1p-1070));
  std::fill(x.begin() + 2 * cols, x.begin() + 3 * cols, is_float ? T(1e-25) : T(1e-200));
  x[3 * cols + 17] = std::numeric_limits<T>::infinity();
  x[4 * cols + 18] = T(-2);
  std::vector<T> want(x.size());
  recfuse::normalize_rows(recfuse::exec::reference{},
                          recfuse::matrix_view<const T>(x.data(), 5, cols),
                          recfuse::matrix_view<T>(want.data(), 5, cols));
  auto dx = recfuse::test::to_device(x);
  thrust::device_vector<T> dout(x.size());
  recfuse::normalize_rows(p, recfuse::matrix_view<const T, device_memory>(raw(dx), 5, cols),
                          recfuse::matrix_view<T, device_memory>(raw(dout), 5, cols));
  const auto got = recfuse::test::to_host(dout);
  int bad = 0;
  for (std::size_t k = 0; k < x.size(); ++k)
    bad += !same_or_close(got[k], want[k], recfuse::test::tolerance<T>(), 0);
  recfuse::test::expect(bad == 0, "normalize_rows extremes", type, 5 * cols, bad);
}

template <class T>
void run(const char* type, cudaStream_t stream) {
  const gpu_policy p{stream};
  for (const shape& s : shapes) {
    fits_and_transform<T>(type, p, s);
    normalize<T>(type, p, s);
  }
  normalize_extremes<T>(type, p);
}

}  // namespace

int main() {
  return recfuse::test::run_device_tests("recfuse_cuda_scale", [] {
    cudaStream_t stream = nullptr;
    if (cudaStreamCreate(&stream) != cudaSuccess) {
      recfuse::test::expect(false, "cudaStreamCreate", "-", 0);
      return;
    }
    run<float>("float", stream);
    run<double>("double", stream);
    cudaStreamSynchronize(stream);
    cudaStreamDestroy(stream);
  });
}
