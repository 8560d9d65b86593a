// The nn family on the GPU: the public recfuse::gemm on device views, and the Thrust kernels of
// the MLP scorer and its trainer (dense_forward, dense_backward_input, activation_backward,
// column_sums, first_non_finite, adam_step; called directly: mlp and adam keep std::vector
// state, so nn::forward / backward / train and adam::step are host-only), on device data under
// exec::thrust<thrust::cuda::tag>, against the reference kernels on host copies; float and
// double, empty / 1 x 1 / odd / strided / large shapes. A plain program (exit status 1 on any
// mismatch); without a GPU it exits 77
// (ctest: skipped).
#include <cuda_runtime_api.h>
#include <thrust/device_vector.h>

#include <algorithm>  // test_data.hpp uses std::max without including it
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "device_test.hpp"
#include "recfuse/nn/gemm.hpp"
#include "recfuse/thrust/all.hpp"
#include "test_data.hpp"

namespace {

using recfuse::device_memory;
using recfuse::index_t;
using recfuse::matrix_view;
using recfuse::vector_view;
using recfuse::nn::activation;
using gpu_policy = recfuse::exec::thrust<thrust::cuda::tag>;
namespace ref = recfuse::reference_backend;
namespace gpu = recfuse::thrust_backend;

template <class T>
T* raw(thrust::device_vector<T>& d) {
  return thrust::raw_pointer_cast(d.data());
}

// op(a) is m x k, op(b) is k x n.
struct gemm_shape {
  index_t m, n, k;
};
const gemm_shape shapes[] = {{0, 3, 2},   {3, 0, 2},      {2, 3, 0},     {1, 1, 1},
                             {5, 7, 3},   {17, 33, 65},   {1, 1001, 37}, {1001, 1, 37},
                             {4, 4, 300}, {300, 257, 129}};

// A host matrix rows x cols at stride cols + 3 (padding 0), random in [-1, 1).
template <class T>
std::vector<T> random_matrix(index_t rows, index_t cols, std::uint64_t seed) {
  return recfuse::test::random_vector<T>(rows * (cols + 3), seed);
}

// |got - want| <= rel * (|want| + scale) entry by entry, over a rows x cols matrix at ld.
template <class T>
bool close_matrix(const std::vector<T>& got, const std::vector<T>& want,
                  const std::vector<T>& scale, index_t rows, index_t cols, index_t ld, double rel,
                  const char* what, const char* type, index_t n) {
  for (index_t i = 0; i < rows; ++i) {
    for (index_t j = 0; j < ld; ++j) {
      const auto e = static_cast<std::size_t>(i * ld + j);
      const double w = want[e], g = got[e];
      const bool ok = j < cols
                          ? std::abs(g - w) <= rel * (std::abs(w) + std::abs(double(scale[e]))) +
                                                   4 * std::numeric_limits<T>::min()
                          : (g == w || (g != g && w != w));  // padding as the reference left it
      if (!ok) return recfuse::test::expect(false, what, type, n, g, w);
    }
  }
  return recfuse::test::expect(true, what, type, n);
}

template <class T>
void run_gemm(const char* type, const gpu_policy& p) {
  const double rel = 4 * std::numeric_limits<T>::epsilon();
  std::uint64_t seed = 1;
  for (const auto& s : shapes) {
    for (int combo = 0; combo < 4; ++combo) {
      const bool ta = combo & 1, tb = combo & 2;
      const T alpha = combo == 3 ? T(-1.5) : T(1), beta = combo == 1 ? T(0.5) : T(0);
      const index_t ar = ta ? s.k : s.m, ac = ta ? s.m : s.k;
      const index_t br = tb ? s.n : s.k, bc = tb ? s.k : s.n;
      const auto a = random_matrix<T>(ar, ac, ++seed), b = random_matrix<T>(br, bc, ++seed);
      auto c0 = random_matrix<T>(s.m, s.n, ++seed);
      if (beta == T(0)) {  // beta == 0 must not read c: NaN stays out of the result
        for (index_t i = 0; i < s.m; ++i) c0[i * (s.n + 3)] = std::numeric_limits<T>::quiet_NaN();
      }
      const matrix_view<const T> ha(a.data(), ar, ac, ac + 3), hb(b.data(), br, bc, bc + 3);
      std::vector<T> want = c0, scale(c0.size(), T(0));
      const auto opa = ta ? recfuse::op::transpose : recfuse::op::none;
      const auto opb = tb ? recfuse::op::transpose : recfuse::op::none;
      recfuse::gemm(recfuse::exec::reference{}, opa, opb, alpha, ha, hb, beta,
                    matrix_view<T>(want.data(), s.m, s.n, s.n + 3));
      // The error bound: (k + 2) * |alpha| |op(a)| |op(b)| (+ |beta c|, below through |want|).
      std::vector<T> aa(a), ab(b);
      for (auto& x : aa) x = std::abs(x);
      for (auto& x : ab) x = std::abs(x);
      recfuse::gemm(recfuse::exec::reference{}, opa, opb, T(std::abs(alpha) * (s.k + 2)),
                    matrix_view<const T>(aa.data(), ar, ac, ac + 3),
                    matrix_view<const T>(ab.data(), br, bc, bc + 3), T(0),
                    matrix_view<T>(scale.data(), s.m, s.n, s.n + 3));
      if (beta != T(0)) {
        for (std::size_t e = 0; e < scale.size(); ++e) scale[e] += std::abs(beta * c0[e]) * 2;
      }
      auto da = recfuse::test::to_device(a), db = recfuse::test::to_device(b);
      auto dc = recfuse::test::to_device(c0);
      recfuse::gemm(p, opa, opb, alpha,
                    matrix_view<const T, device_memory>(raw(da), ar, ac, ac + 3),
                    matrix_view<const T, device_memory>(raw(db), br, bc, bc + 3), beta,
                    matrix_view<T, device_memory>(raw(dc), s.m, s.n, s.n + 3));
      close_matrix(recfuse::test::to_host(dc), want, scale, s.m, s.n, s.n + 3, rel, "gemm", type,
                   s.m * s.n * s.k + combo);
    }
  }
  // Shapes are checked on device views as on host ones.
  thrust::device_vector<T> d(12, T(1));
  recfuse::test::expect(recfuse::test::throws_with_prefix<recfuse::shape_error>(
                            [&] {
                              recfuse::gemm(p, recfuse::op::none, recfuse::op::none, T(1),
                                            matrix_view<const T, device_memory>(raw(d), 2, 3),
                                            matrix_view<const T, device_memory>(raw(d), 2, 3), T(0),
                                            matrix_view<T, device_memory>(raw(d), 2, 3));
                            },
                            "recfuse::gemm: "),
                        "gemm inner mismatch -> shape_error", type, 0);
}

// One dense layer forward and backward: batch x in input, out x in weights.
template <class T>
void run_layers(const char* type, const gpu_policy& p) {
  // exp (sigmoid) may differ by a few ulps between the CUDA and host libraries, the sums by FMA.
  const double rel = 16 * std::numeric_limits<T>::epsilon();
  const gemm_shape layers[] = {{0, 4, 3}, {1, 1, 1}, {7, 5, 3}, {33, 17, 65}, {1000, 64, 129}};
  std::uint64_t seed = 500;
  for (const auto& s : layers) {
    const index_t batch = s.m, out = s.n, in = s.k;
    for (activation act : {activation::identity, activation::relu, activation::sigmoid}) {
      const auto x = random_matrix<T>(batch, in, ++seed), w = random_matrix<T>(out, in, ++seed);
      const auto bias = recfuse::test::random_vector<T>(out, ++seed);
      const auto y0 = random_matrix<T>(batch, out, ++seed);
      const matrix_view<const T> hx(x.data(), batch, in, in + 3), hw(w.data(), out, in, in + 3);
      const vector_view<const T> hb(bias.data(), out);
      // Forward.
      std::vector<T> want = y0, scale(y0.size(), T(0));
      ref::dense_forward_kernel(ref::policy{}, hx, hw, hb, act,
                                matrix_view<T>(want.data(), batch, out, out + 3));
      std::vector<T> ax(x), aw(w);
      for (auto& v : ax) v = std::abs(v);
      for (auto& v : aw) v = std::abs(v);
      ref::gemm_kernel(ref::policy{}, false, true, T(in + 2),
                       matrix_view<const T>(ax.data(), batch, in, in + 3),
                       matrix_view<const T>(aw.data(), out, in, in + 3), T(0),
                       matrix_view<T>(scale.data(), batch, out, out + 3));
      for (index_t i = 0; i < batch; ++i) {
        for (index_t j = 0; j < out; ++j) scale[i * (out + 3) + j] += std::abs(bias[j]) + 1;
      }
      auto dx = recfuse::test::to_device(x), dw = recfuse::test::to_device(w);
      auto db = recfuse::test::to_device(bias), dy = recfuse::test::to_device(y0);
      const matrix_view<const T, device_memory> gx(raw(dx), batch, in, in + 3),
          gw(raw(dw), out, in, in + 3);
      gpu::dense_forward_kernel(p, gx, gw, vector_view<const T, device_memory>(raw(db), out), act,
                                matrix_view<T, device_memory>(raw(dy), batch, out, out + 3));
      close_matrix(recfuse::test::to_host(dy), want, scale, batch, out, out + 3, rel,
                   "dense_forward", type, batch * out * in);

      // Backward into the input: delta (batch x out) w (out x in) * act'(h), h batch x in.
      const auto delta = random_matrix<T>(batch, out, ++seed);
      auto h = random_matrix<T>(batch, in, ++seed);
      if (act == activation::sigmoid) {
        for (auto& v : h) v = T(0.5) + v / T(4);  // a sigmoid's outputs lie in (0, 1)
      }
      const auto o0 = random_matrix<T>(batch, in, ++seed);
      std::vector<T> want_in = o0, scale_in(o0.size(), T(0)), adelta(delta);
      for (auto& v : adelta) v = std::abs(v);
      ref::dense_backward_input_kernel(ref::policy{},
                                       matrix_view<const T>(delta.data(), batch, out, out + 3), hw,
                                       act, matrix_view<const T>(h.data(), batch, in, in + 3),
                                       matrix_view<T>(want_in.data(), batch, in, in + 3));
      ref::gemm_kernel(ref::policy{}, false, false, T(out + 2),
                       matrix_view<const T>(adelta.data(), batch, out, out + 3),
                       matrix_view<const T>(aw.data(), out, in, in + 3), T(0),
                       matrix_view<T>(scale_in.data(), batch, in, in + 3));
      auto ddelta = recfuse::test::to_device(delta), dh = recfuse::test::to_device(h);
      auto dout = recfuse::test::to_device(o0);
      const matrix_view<const T, device_memory> gdelta(raw(ddelta), batch, out, out + 3),
          gh(raw(dh), batch, in, in + 3);
      gpu::dense_backward_input_kernel(p, gdelta, gw, act, gh,
                                       matrix_view<T, device_memory>(raw(dout), batch, in, in + 3));
      close_matrix(recfuse::test::to_host(dout), want_in, scale_in, batch, in, in + 3, rel,
                   "dense_backward_input", type, batch * out * in);

      // activation_backward in place (delta aliases grad), as backward runs it: exact.
      std::vector<T> want_d = delta;
      const matrix_view<T> hd(want_d.data(), batch, out, out + 3);
      ref::activation_backward_kernel(ref::policy{}, act,
                                      matrix_view<const T>(y0.data(), batch, out, out + 3),
                                      matrix_view<const T>(hd), hd);
      auto dy0 = recfuse::test::to_device(y0);
      const matrix_view<T, device_memory> gd(raw(ddelta), batch, out, out + 3);
      gpu::activation_backward_kernel(
          p, act, matrix_view<const T, device_memory>(raw(dy0), batch, out, out + 3),
          matrix_view<const T, device_memory>(gd), gd);
      recfuse::test::expect(recfuse::test::to_host(ddelta) == want_d, "activation_backward", type,
                            batch * out);
    }
    // column_sums over the batch (bias gradients): the reference's double sum, exactly.
    const auto a = random_matrix<T>(batch, out, ++seed);
    std::vector<T> want(static_cast<std::size_t>(out), T(7));
    ref::column_sums_kernel(ref::policy{}, matrix_view<const T>(a.data(), batch, out, out + 3),
                            vector_view<T>(want.data(), out));
    auto da = recfuse::test::to_device(a);
    thrust::device_vector<T> dsum(static_cast<std::size_t>(out), T(7));
    gpu::column_sums_kernel(p, matrix_view<const T, device_memory>(raw(da), batch, out, out + 3),
                            vector_view<T, device_memory>(raw(dsum), out));
    recfuse::test::expect(recfuse::test::to_host(dsum) == want, "column_sums", type, batch * out);
  }
}

template <class T>
void run_train(const char* type, const gpu_policy& p) {
  const recfuse::nn::adam_step_constants c{
      1e-2, 0.9, 0.999, 1e-8, 1e-3, 1.0 - std::pow(0.9, 3), std::sqrt(1.0 - std::pow(0.999, 3))};
  for (index_t n : recfuse::test::sizes) {
    auto g = recfuse::test::random_vector<T>(n, 900 + n);
    auto dg = recfuse::test::to_device(g);
    const vector_view<const T, device_memory> gg(raw(dg), n);
    index_t got = gpu::first_non_finite_kernel(p, gg);
    recfuse::test::expect(got == -1, "first_non_finite (none)", type, n, double(got), -1);
    if (n > 0) {  // an infinity late, a NaN earlier: the NaN's index is the first
      g[n - 1] = std::numeric_limits<T>::infinity();
      g[n / 2] = std::numeric_limits<T>::quiet_NaN();
      dg = recfuse::test::to_device(g);
      got = gpu::first_non_finite_kernel(p, vector_view<const T, device_memory>(raw(dg), n));
      const index_t want =
          ref::first_non_finite_kernel(ref::policy{}, vector_view<const T>(g.data(), n));
      recfuse::test::expect(got == want, "first_non_finite", type, n, double(got), double(want));
      g = recfuse::test::random_vector<T>(n, 900 + n);
      dg = recfuse::test::to_device(g);
    }
    // Adam: each element in double, rounded once: the reference's results up to FMA contraction.
    const auto param = recfuse::test::random_vector<T>(n, 1900 + n);
    const auto m = recfuse::test::random_vector<T>(n, 2900 + n);
    auto v = recfuse::test::random_vector<T>(n, 3900 + n);
    for (auto& x : v) x = std::abs(x);
    std::vector<T> hp = param, hm = m, hv = v;
    ref::adam_step_kernel(ref::policy{}, vector_view<T>(hp.data(), n),
                          vector_view<const T>(g.data(), n), vector_view<T>(hm.data(), n),
                          vector_view<T>(hv.data(), n), c);
    auto dp = recfuse::test::to_device(param), dm = recfuse::test::to_device(m);
    auto dv = recfuse::test::to_device(v);
    gpu::adam_step_kernel(p, vector_view<T, device_memory>(raw(dp), n),
                          vector_view<const T, device_memory>(raw(dg), n),
                          vector_view<T, device_memory>(raw(dm), n),
                          vector_view<T, device_memory>(raw(dv), n), c);
    // The moments' error is relative to their terms, not to the sum: m = b1 m + (1 - b1) g can
    // cancel, and the device contracts it into an FMA (seen on an H200: double m off by 1.7e-14
    // of m where the terms were larger), so each element's scale is |m| + |g| (v: |v| + g^2).
    const std::vector<T> ones(static_cast<std::size_t>(n), T(1));
    std::vector<T> m_terms(ones.size()), v_terms(ones.size());
    for (std::size_t e = 0; e < ones.size(); ++e) {
      m_terms[e] = std::abs(m[e]) + std::abs(g[e]);
      v_terms[e] = std::abs(v[e]) + g[e] * g[e];
    }
    const double rel = 4 * std::numeric_limits<T>::epsilon();
    close_matrix(recfuse::test::to_host(dp), hp, ones, 1, n, n, rel, "adam param", type, n);
    close_matrix(recfuse::test::to_host(dm), hm, m_terms, 1, n, n, rel, "adam m", type, n);
    close_matrix(recfuse::test::to_host(dv), hv, v_terms, 1, n, n, rel, "adam v", type, n);
  }
}

}  // namespace

int main() {
  return recfuse::test::run_device_tests("recfuse_cuda_nn", [] {
    cudaStream_t stream = nullptr;
    if (cudaStreamCreate(&stream) != cudaSuccess) {
      recfuse::test::expect(false, "cudaStreamCreate", "-", 0);
      return;
    }
    const gpu_policy on_stream{stream}, default_stream{};
    run_gemm<float>("float", on_stream);
    run_gemm<double>("double", default_stream);
    run_layers<float>("float", on_stream);
    run_layers<double>("double", default_stream);
    run_train<float>("float", on_stream);
    run_train<double>("double", default_stream);
    cudaStreamDestroy(stream);
  });
}
