// recfuse bench, cross-backend table: the metrics row. rmse over n floats, bandwidth-bound:
// 2 x n x 4 bytes read, held to the streaming-read ceiling.
#include <memory>

#include "data.hpp"
#include "harness.hpp"
#include "recfuse/metrics/error.hpp"
#include "recfuse/xsimd/metrics/error.hpp"

#if defined(RECFUSE_BENCH_THRUST)
#include "recfuse/thrust/metrics/error.hpp"
#endif

namespace recfuse::bench::backends {

std::vector<row> metrics_rows(const options& o) {
  const index_t n = o.quick ? 1'000'000 : 10'000'000;
  row r;
  r.family = "metrics";
  r.component = "rmse";
  r.size = o.quick ? "n = 1M float" : "n = 10M float";
  r.by = bound::read;
  r.work = 2.0 * static_cast<double>(n) * sizeof(float);
  r.kernels = {"rmse_kernel"};
  r.note = "bytes = 2 n x 4 read";
  r.prepare = [n, threads = o.threads] {
    auto a = std::make_shared<std::vector<float>>(random_floats(n, 1, 1.0f, 5.0f));
    auto b = std::make_shared<std::vector<float>>(random_floats(n, 2, 1.0f, 5.0f));
    return std::function<void(column)>([a, b, threads](column c) {
      with_column(c, threads, [&](const auto& p) {
        volatile double e = rmse(p, *a, *b);
        (void)e;
      });
    });
  };
  return {r};
}

}  // namespace recfuse::bench::backends
