// recfuse bench, cross-backend table: the select rows.
//   topk over a precomputed m x n score matrix: bandwidth-bound, m x n x 4 bytes read (read
//   ceiling);
//   topk_inner_product (fused: m queries x n items of d factors, scores never stored):
//   compute-bound, 2 x m x n x d FLOPs (fp32 FMA ceiling).
#include <memory>

#include "data.hpp"
#include "harness.hpp"
#include "recfuse/select/topk.hpp"
#include "recfuse/xsimd/select/topk.hpp"

#if defined(RECFUSE_BENCH_THRUST)
#include "recfuse/thrust/select/topk.hpp"
#endif

namespace recfuse::bench::backends {

std::vector<row> select_rows(const options& o) {
  const int threads = o.threads;
  constexpr index_t k = 10;
  std::vector<row> v;

  const index_t rows = o.quick ? 20 : 100, cols = 100'000;
  row topk_row;
  topk_row.family = "select";
  topk_row.component = "topk";
  topk_row.size = std::to_string(rows) + " x 100,000 scores, k = 10";
  topk_row.by = bound::read;
  topk_row.work = static_cast<double>(rows * cols) * sizeof(float);
  topk_row.kernels = {"topk_kernel"};
  topk_row.note = "bytes = m x n x 4 scores read";
  topk_row.prepare = [=] {
    auto s = std::make_shared<std::vector<float>>(random_floats(rows * cols, 42));
    return std::function<void(column)>([=](column c) {
      with_column(c, threads, [&](const auto& p) {
        auto r = topk(p, matrix_view<const float>(s->data(), rows, cols), k);
        volatile auto first = r.indices.empty() ? 0 : r.indices[0];
        (void)first;
      });
    });
  };
  v.push_back(topk_row);

  const index_t m = o.quick ? 20 : 200, n = o.quick ? 20'000 : 100'000, d = 64;
  row ip;
  ip.family = "select";
  ip.component = "topk_inner_product";
  ip.size = std::to_string(m) + " x " + (o.quick ? "20,000" : "100,000") + ", d = 64, k = 10";
  ip.by = bound::fp32_fma;
  ip.work = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(d);
  ip.kernels = {"topk_inner_product_kernel"};
  ip.note = "FLOPs = 2 m n d";
  ip.prepare = [=] {
    auto q = std::make_shared<std::vector<float>>(random_floats(m * d, 7));
    auto x = std::make_shared<std::vector<float>>(random_floats(n * d, 8));
    return std::function<void(column)>([=](column c) {
      with_column(c, threads, [&](const auto& p) {
        auto r = topk_inner_product(p, matrix_view<const float>(q->data(), m, d),
                                    matrix_view<const float>(x->data(), n, d), k);
        volatile auto first = r.indices.empty() ? 0 : r.indices[0];
        (void)first;
      });
    });
  };
  v.push_back(ip);
  return v;
}

}  // namespace recfuse::bench::backends
