// recfuse bench, cross-backend table: the fuse row. blend of three scorers over n items,
// out[i] = sum_c w_c s_c[i]: bandwidth-bound, 3 x n x 4 bytes read + n x 4 written, held to the
// triad ceiling (the STREAM loop that reads two arrays and writes one, counted the same way).
#include <memory>
#include <span>

#include "data.hpp"
#include "harness.hpp"
#include "recfuse/fuse/blend.hpp"
#include "recfuse/xsimd/fuse/blend.hpp"

#if defined(RECFUSE_BENCH_THRUST)
#include "recfuse/thrust/fuse/blend.hpp"
#endif

namespace recfuse::bench::backends {

std::vector<row> fuse_rows(const options& o) {
  const index_t n = o.quick ? 1'000'000 : 10'000'000;
  const int threads = o.threads;
  row r;
  r.family = "fuse";
  r.component = "blend, 3 scorers";
  r.size = o.quick ? "n = 1M float" : "n = 10M float";
  r.by = bound::triad;
  r.work = 4.0 * static_cast<double>(n) * sizeof(float);
  r.kernels = {"blend_kernel"};
  r.note = "bytes = 3 n x 4 read + n x 4 written";
  r.prepare = [=] {
    struct data {
      std::vector<float> a, b, c, out;
      std::vector<vector_view<const float>> scores;
      std::vector<double> weights{0.6, 0.3, 0.1};
    };
    auto d = std::make_shared<data>();
    d->a = random_floats(n, 11);
    d->b = random_floats(n, 12);
    d->c = random_floats(n, 13);
    d->out.resize(static_cast<std::size_t>(n));
    for (const auto* s : {&d->a, &d->b, &d->c}) d->scores.emplace_back(s->data(), n);
    return std::function<void(column)>([=](column c) {
      with_column(c, threads, [&](const auto& p) {
        fuse::blend(p, std::span<const vector_view<const float>>(d->scores),
                    std::span<const double>(d->weights), vector_view<float>(d->out.data(), n));
      });
    });
  };
  return {r};
}

}  // namespace recfuse::bench::backends
